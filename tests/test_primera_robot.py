"""The Primera robot driver against its pty simulator: a whole disc, every fault class."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.primera.error_codes import ErrorClass
from drivers.primera.flavors import CartridgeKind, SystemAction, Timings, flavor
from drivers.primera.robot_driver import Destination, RobotDriver, RobotOptions, connect
from drivers.primera.robot_errors import (
    CommandRefused,
    RobotNeedsOperator,
    RobotOffline,
    RobotRetryable,
    RobotSystemError,
)
from drivers.primera.robot_simulator import RobotSimulator, SimulatorOptions
from drivers.primera.serial_transport import NodeKind

ROOT = Path(__file__).resolve().parent.parent
SE = flavor("disc-publisher-se")
FAST = Timings(
    reply_timeout=0.3,
    poll_interval=0.005,
    move_timeout=3.0,
    print_timeout=3.0,
    reconnect_delay=0.01,
    offline_after=2,
)
LABEL = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


class Rig:
    def __init__(self, simulator: RobotSimulator, driver: RobotDriver) -> None:
        self.sim = simulator
        self.robot = driver
        self.drive_events: list[tuple[int, bool]] = []


@pytest.fixture
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    options = getattr(request, "param", SimulatorOptions())
    events: list[tuple[int, bool]] = []
    simulator = RobotSimulator(
        SE, options, drive_hook=lambda d, inserted: events.append((d, inserted))
    )
    simulator.start()
    driver = connect(RobotOptions(simulator.path, timings=FAST))
    rig = Rig(simulator, driver)
    rig.drive_events = events
    try:
        yield rig
    finally:
        driver.close()
        simulator.close()


def raised(error: pytest.ExceptionInfo[RobotSystemError], code: int, kind: ErrorClass) -> None:
    assert error.value.info.code == code
    assert error.value.error_class is kind
    assert str(code) in error.value.info.sentence


def test_a_whole_disc_cycle_moves_discs_and_uses_ink(rig: Rig) -> None:
    robot, sim = rig.robot, rig.sim
    before = robot.status()
    assert before.idle
    assert before.bin("input").discs == 20
    assert before.bin("output").discs == 0

    robot.load_drive("input", 0, clear_drive=True)
    loaded = robot.status()
    assert loaded.drive(0).has_disc
    assert loaded.bin("input").discs == 19
    assert rig.drive_events == [(0, True)]

    robot.load_printer_from_drive(0)
    in_printer = robot.status()
    assert in_printer.disc_in_printer
    assert not in_printer.drive(0).has_disc
    assert rig.drive_events == [(0, True), (0, False)]

    robot.print_label(LABEL)
    printed = robot.status()
    assert sim.labels == [LABEL]
    assert all(c.ink_percent == 98.0 for c in printed.cartridges)

    robot.unload_printer(Destination.BIN, "output")
    after = robot.status()
    assert after.idle
    assert not after.disc_in_printer
    assert after.bin("output").discs == 1
    assert after.bin("input").discs == 19
    assert not after.picker_has_disc


def test_a_label_file_is_sent_as_its_bytes(rig: Rig, tmp_path: Path) -> None:
    label = tmp_path / "label.png"
    label.write_bytes(LABEL[:100])
    rig.robot.load_drive(None, 0)
    rig.robot.unload_drive(0, Destination.PRINTER)
    rig.robot.print_label(label)
    assert rig.sim.labels == [LABEL[:100]]


def test_a_bad_disc_goes_to_the_reject_bin(rig: Rig) -> None:
    rig.robot.load_drive("input", 0)
    rig.robot.unload_drive(0, Destination.REJECT)
    assert rig.sim.rejected == 1
    assert not rig.robot.status().drive(0).has_disc


def test_input_bin_empty_needs_the_operator_then_recovers(rig: Rig) -> None:
    rig.sim.empty_bin("input")
    with pytest.raises(RobotNeedsOperator) as error:
        rig.robot.load_drive("input", 0)
    raised(error, 3, ErrorClass.OPERATOR_FIXABLE)
    assert rig.robot.status().error_code == 3

    rig.sim.load_discs("input", 5)
    assert rig.robot.clear_error().idle
    rig.robot.load_drive("input", 0)
    assert rig.robot.status().bin("input").discs == 4


def test_a_missed_pick_is_retried_by_the_driver(rig: Rig) -> None:
    rig.sim.fail_picks(1)
    rig.robot.load_drive("input", 0)
    status = rig.robot.status()
    assert status.drive(0).has_disc
    assert status.bin("input").discs == 19  # the missed pick took nothing


def test_picks_that_keep_failing_end_retryable_and_recover_after_clear(rig: Rig) -> None:
    rig.sim.fail_picks(3)  # the first try and both retries
    with pytest.raises(RobotRetryable) as error:
        rig.robot.load_drive("input", 0)
    raised(error, 8, ErrorClass.RETRYABLE)
    rig.robot.clear_error()
    rig.robot.load_drive("input", 0)
    assert rig.robot.status().drive(0).has_disc


@pytest.mark.parametrize("rig", [SimulatorOptions(motion_seconds=0.5)], indirect=True)
def test_cover_opened_mid_job_stops_the_robot_until_closed(rig: Rig) -> None:
    opener = threading.Timer(0.1, rig.sim.open_cover)
    opener.start()
    with pytest.raises(RobotNeedsOperator) as error:
        rig.robot.load_drive("input", 0)
    opener.join()
    raised(error, 15, ErrorClass.OPERATOR_FIXABLE)
    stopped = rig.robot.status()
    assert stopped.cover_open
    assert stopped.picker_has_disc
    assert not stopped.drive(0).has_disc

    with pytest.raises(RobotNeedsOperator):  # still open: the error comes back
        rig.robot.clear_error()
    with pytest.raises(RobotNeedsOperator):  # a robot in error refuses to move
        rig.robot.load_drive("input", 0)

    rig.sim.close_cover()
    cleared = rig.robot.clear_error()
    assert cleared.idle
    assert not cleared.picker_has_disc
    assert rig.sim.rejected == 1  # the stranded disc


def test_ink_out_stops_the_print_until_the_cartridge_is_replaced(rig: Rig) -> None:
    rig.robot.load_drive("input", 0)
    rig.robot.load_printer_from_drive(0)
    rig.sim.ink_out(CartridgeKind.BLACK)
    with pytest.raises(RobotNeedsOperator) as error:
        rig.robot.print_label(LABEL)
    raised(error, 50, ErrorClass.OPERATOR_FIXABLE)
    assert rig.sim.labels == []
    assert rig.robot.status().lowest_ink() == 0.0

    rig.sim.replace_cartridges()
    rig.robot.clear_error()
    rig.robot.print_label(LABEL)
    assert rig.sim.labels == [LABEL]


def test_a_disc_dropped_on_the_way_to_a_drive_is_picked_again(rig: Rig) -> None:
    rig.sim.drop_next_disc()
    rig.robot.load_drive("input", 0)
    status = rig.robot.status()
    assert status.drive(0).has_disc
    assert status.bin("input").discs == 18  # one fell, one arrived


def test_a_disc_dropped_at_the_printer_is_left_to_the_caller(rig: Rig) -> None:
    rig.robot.load_drive("input", 0)
    rig.sim.drop_next_disc()
    with pytest.raises(RobotRetryable) as error:
        rig.robot.load_printer_from_drive(0)
    raised(error, 33, ErrorClass.RETRYABLE)
    rig.robot.clear_error()
    status = rig.robot.status()
    assert not status.disc_in_printer
    assert not status.drive(0).has_disc


def test_a_full_output_bin_needs_the_operator(rig: Rig) -> None:
    rig.robot.load_drive("input", 0)
    rig.sim.fill_bin("output")
    with pytest.raises(RobotNeedsOperator) as error:
        rig.robot.unload_drive(0, Destination.BIN, "output")
    raised(error, 48, ErrorClass.OPERATOR_FIXABLE)

    rig.sim.take_discs("output")
    assert rig.robot.clear_error().idle
    assert rig.sim.rejected == 1  # the disc held when the bin was full


def test_the_robot_going_offline_and_coming_back(rig: Rig) -> None:
    rig.sim.go_offline()
    with pytest.raises(RobotOffline) as error:
        rig.robot.status()
    assert error.value.info.code == 14
    with pytest.raises(RobotOffline):
        rig.robot.load_drive("input", 0)

    rig.sim.come_online()
    assert rig.robot.status().idle
    rig.robot.load_drive("input", 0)
    assert rig.robot.status().drive(0).has_disc


def test_requests_the_robot_cannot_start_are_refused(rig: Rig) -> None:
    with pytest.raises(CommandRefused) as no_disc:
        rig.robot.unload_drive(0, Destination.REJECT)
    assert no_disc.value.code == 525
    with pytest.raises(CommandRefused) as bad_bin:
        rig.robot.load_drive("left", 0)
    assert bad_bin.value.code == 515
    with pytest.raises(CommandRefused) as bad_drive:
        rig.robot.load_drive("input", 1)
    assert bad_drive.value.code == 503
    assert rig.robot.status().idle


def test_a_printer_class_node_is_driven_with_plain_reads_and_writes(rig: Rig) -> None:
    # The pty is not a /dev/usb/lp node, but plain I/O on it is what usblp gets.
    robot = connect(RobotOptions(rig.sim.path, kind=NodeKind.USBLP, timings=FAST))
    try:
        robot.load_drive("input", 0)
        robot.unload_drive(0, Destination.PRINTER)
        robot.print_label(LABEL)
        assert rig.sim.labels == [LABEL]
        assert robot.status().disc_in_printer
    finally:
        robot.close()


def test_system_actions_the_model_supports_and_does_not() -> None:
    xi = flavor("disc-publisher-xi")
    with RobotSimulator(xi) as simulator:
        robot = connect(RobotOptions(simulator.path, model="disc-publisher-xi", timings=FAST))
        try:
            assert robot.system_action(SystemAction.CHECK_DISCS).idle
            with pytest.raises(CommandRefused) as refused:
                robot.system_action(SystemAction.ALIGN_PRINTER)  # Pro, XRP and SE only
            assert refused.value.code == 519
        finally:
            robot.close()


def test_device_traffic_is_logged_only_when_asked(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="drivers.primera.traffic"):
        rig.robot.status()
        assert not [r for r in caplog.records if r.name == "drivers.primera.traffic"]
        logged = connect(RobotOptions(rig.sim.path, timings=FAST, log_traffic=True))
        try:
            logged.status()
        finally:
            logged.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "drivers.primera.traffic"]
    assert any("> b'ST\\r'" in line for line in lines)
    assert any("< b'ST sys=0" in line for line in lines)


def test_the_simulator_as_a_process_can_be_killed() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "drivers.primera.robot_simulator", "--motion-seconds", "0.01"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        path = process.stdout.readline().strip()
        assert path.startswith("/dev/pts/")
        robot = connect(RobotOptions(path, timings=FAST))
        try:
            robot.load_drive("input", 0)
            assert robot.status().drive(0).has_disc
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
            with pytest.raises(RobotOffline):
                robot.status()
        finally:
            robot.close()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
