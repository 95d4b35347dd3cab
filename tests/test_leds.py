"""Front-panel LEDs: each aggregate state gives the documented pattern on each simulated
driver, the lamp test, and each driver against its simulator (faults included)."""

from __future__ import annotations

import copy
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pydantic
import pytest

from appliance.leds.factory import Built, build_leds
from appliance.leds.policy import DARK, LAMP_TEST, PATTERNS, AggregateState, Led, Thresholds
from appliance.leds.service import LedService, lamp_test
from appliance.leds.settings import LedKind, LedSettings
from drivers.leds import sysfs_fake
from drivers.leds.board_protocol import (
    Command,
    Request,
    decode_reply,
    decode_request,
    encode_request,
    request_for,
)
from drivers.leds.board_simulator import BoardSimulator
from drivers.leds.errors import (
    BoardProtocolError,
    BoardRefused,
    BoardTimeout,
    LedUnavailable,
    UnknownLed,
)
from drivers.leds.gpio import GpiodLines, GpioLeds
from drivers.leds.gpio_fake import FakeChip
from drivers.leds.pattern import Blink, Pattern
from drivers.leds.serial_board import open_board
from drivers.leds.sysfs import SysfsLeds

ROOT = Path(__file__).resolve().parent.parent
A = AggregateState
STEP = 1 / 16  # a tick: exact in binary, so blink edges fall on ticks
LIMITS = Thresholds(roles=("dicom", "devices", "web"))
GB = 1024**3


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def documented() -> dict[str, dict[Led, Pattern]]:
    """The state table of docs/leds.md, row name -> pattern per LED."""
    text = (ROOT / "docs" / "leds.md").read_text()
    table = text.split("## States and patterns", 1)[1].split("\n\n", 2)[1]
    rows = [r.strip("|").split("|") for r in table.splitlines()[2:]]
    columns = (Led.POWER, Led.ACTIVITY, Led.ATTENTION, Led.ERROR)
    return {
        cells[0].strip(): {
            led: Pattern(c.strip()) for led, c in zip(columns, cells[1:], strict=True)
        }
        for cells in rows
    }


def report_in(state: AggregateState) -> dict[str, Any]:
    """A status report (as `appliance.status.collect` makes) that puts the box in `state`."""
    report: dict[str, Any] = {
        "roles": {"dicom": {"up": True}, "web": {"up": True}, "devices": {"up": True}},
        "services": [{"service": "dicom", "open_associations": 0}],
        "outbox": {"failed": 0, "sending": 0},
        "jobs": {},
        "disk": {"total": 100 * GB, "free": 60 * GB, "reserve": GB},
    }
    if state is A.ACTIVITY:
        report["services"][0]["open_associations"] = 1
    elif state is A.ATTENTION:
        report["jobs"]["parked"] = 1
    elif state is A.ERROR:
        report["roles"]["web"]["up"] = False
    elif state is A.STARTING:  # just after the start (within the grace): no heartbeat yet
        del report["roles"]["web"]
    return report


class Rig:
    def __init__(self, built: Built, clock: FakeClock, report: dict[str, Any]) -> None:
        self.built = built
        self.clock = clock
        self.report = report
        self.status_error: Exception | None = None
        self.service = LedService(built.driver, self.status, LIMITS, clock=clock, retry_seconds=5.0)

    def status(self) -> dict[str, Any]:
        if self.status_error is not None:
            raise self.status_error
        return self.report

    def run_for(self, seconds: float) -> None:
        """Tick every STEP for `seconds` of fake time."""
        for _ in range(round(seconds / STEP)):
            self.service.tick()
            self.clock.now += STEP
        self.clock.now -= STEP  # `now` is the last tick's time

    def shown(self) -> dict[Led, Pattern]:
        assert self.built.simulator is not None
        return {led: self.built.simulator.shown(led, self.clock.now) for led in Led}


@pytest.fixture(params=list(LedKind), ids=[k.value for k in LedKind])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    clock = FakeClock()
    built = build_leds(LedSettings(kind=request.param, address="sim://"), tmp_path, clock)
    try:
        yield Rig(built, clock, report_in(A.READY))
    finally:
        built.close()


# --- the Proof: documented patterns on every simulated driver ---------------------------


def test_the_documented_table_is_the_policy() -> None:
    table = documented()
    assert {state.value: PATTERNS[state] for state in A} == {s.value: table[s.value] for s in A}
    assert table["lamp test"] == LAMP_TEST
    assert table["stopped"] == DARK


@pytest.mark.parametrize("state", list(A), ids=[s.value for s in A])
def test_each_state_shows_its_documented_pattern(rig: Rig, state: AggregateState) -> None:
    if state is A.STARTING:
        rig.service = LedService(
            rig.built.driver, rig.status, LIMITS, clock=rig.clock, startup_grace_seconds=10.0
        )
    rig.report = report_in(state)
    rig.run_for(2.0)
    assert rig.service.state is state
    assert rig.shown() == documented()[state.value]
    assert rig.service.problem == ""


def test_a_missing_heartbeat_is_starting_within_the_grace_then_an_error(rig: Rig) -> None:
    rig.service = LedService(
        rig.built.driver, rig.status, LIMITS, clock=rig.clock, startup_grace_seconds=3.0
    )
    rig.report = report_in(A.STARTING)
    rig.run_for(2.0)
    assert rig.service.state is A.STARTING and rig.shown() == documented()["starting"]
    assert rig.service.assessment.reasons == ("the web role is starting",)
    rig.run_for(3.0)  # the grace is over and the web role never came
    assert rig.service.assessment.state is A.ERROR and rig.shown() == documented()["error"]


def test_a_change_of_state_changes_the_leds(rig: Rig) -> None:
    rig.run_for(1.5)
    assert rig.shown() == documented()["ready"]
    rig.report = report_in(A.ERROR)
    rig.run_for(2.0)
    assert rig.shown() == documented()["error"]
    rig.report = report_in(A.READY)
    rig.run_for(2.0)
    assert rig.shown() == documented()["ready"]


def test_the_service_lamp_test_lights_all_then_returns_to_the_state(rig: Rig) -> None:
    rig.report = report_in(A.ATTENTION)
    rig.run_for(1.5)
    rig.service.lamp_test(3.0)
    rig.run_for(2.0)
    assert rig.shown() == documented()["lamp test"]
    rig.run_for(3.0)
    assert rig.shown() == documented()["attention"]


def test_the_standalone_lamp_test_lights_all_for_the_time_then_darkens(rig: Rig) -> None:
    during: list[dict[Led, Pattern]] = []
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        rig.clock.now += 1.5  # a second and more of steady light, for the gpio chip's look
        during.append(rig.shown())

    lamp_test(rig.built.driver, 5.0, sleep)
    rig.clock.now += 1.5
    assert slept == [5.0]
    assert during == [documented()["lamp test"]]
    assert rig.shown() == documented()["stopped"]


def test_stopping_the_service_darkens_the_leds(rig: Rig) -> None:
    rig.report = report_in(A.ACTIVITY)
    rig.run_for(1.5)
    rig.service.close()
    rig.clock.now += 1.5
    assert rig.shown() == documented()["stopped"]


def test_an_unreadable_status_keeps_the_last_state(rig: Rig) -> None:
    rig.report = report_in(A.ATTENTION)
    rig.run_for(1.5)
    rig.status_error = sqlite3.OperationalError("database is locked")
    rig.run_for(2.0)
    assert rig.service.state is A.ATTENTION
    assert rig.shown() == documented()["attention"]


# --- sysfs against a fake class directory ------------------------------------------------


@pytest.fixture
def class_dir(tmp_path: Path) -> Path:
    sysfs_fake.create(tmp_path, ["kiln:red:error"])
    return tmp_path


def test_sysfs_steady_light_is_trigger_none_and_full_brightness(class_dir: Path) -> None:
    leds = SysfsLeds(class_dir, {"error": "kiln:red:error"})
    leds.set("error", Pattern.ON)
    led = class_dir / "kiln:red:error"
    assert (led / "trigger").read_text() == "none"
    assert (led / "brightness").read_text() == "255"
    leds.set("error", Pattern.OFF)
    assert (led / "brightness").read_text() == "0"


def test_sysfs_blinking_is_the_timer_trigger_with_its_delays(class_dir: Path) -> None:
    leds = SysfsLeds(class_dir, {"error": "kiln:red:error"})
    leds.set("error", Pattern.FAST)
    led = class_dir / "kiln:red:error"
    assert (led / "trigger").read_text() == "timer"
    assert ((led / "delay_on").read_text(), (led / "delay_off").read_text()) == ("125", "125")
    leds.set("error", Pattern.SLOW)
    assert ((led / "delay_on").read_text(), (led / "delay_off").read_text()) == ("500", "500")
    assert sysfs_fake.shown(class_dir, "kiln:red:error") is Pattern.SLOW


def test_sysfs_reads_the_kernels_trigger_list(class_dir: Path) -> None:
    assert sysfs_fake.trigger(class_dir, "kiln:red:error") == "none"
    assert sysfs_fake.shown(class_dir, "kiln:red:error") is Pattern.OFF


def test_sysfs_missing_led_is_unavailable(class_dir: Path) -> None:
    with pytest.raises(LedUnavailable, match="kiln:green:nope"):
        SysfsLeds(class_dir, {"power": "kiln:green:nope"})


def test_sysfs_attribute_that_cannot_be_written_is_unavailable(class_dir: Path) -> None:
    leds = SysfsLeds(class_dir, {"error": "kiln:red:error"})
    trigger = class_dir / "kiln:red:error" / "trigger"
    trigger.unlink()
    trigger.mkdir()  # refuses the write as a read-only attribute would, even for root
    with pytest.raises(LedUnavailable, match="is a directory"):
        leds.set("error", Pattern.ON)


def test_sysfs_unknown_led_name(class_dir: Path) -> None:
    with pytest.raises(UnknownLed):
        SysfsLeds(class_dir, {"error": "kiln:red:error"}).set("power", Pattern.ON)


# --- gpio against the fake chip ----------------------------------------------------------


def gpio_rig() -> tuple[FakeClock, FakeChip, GpioLeds]:
    clock = FakeClock()
    chip = FakeChip(clock)
    return clock, chip, GpioLeds(chip, {"power": 17, "error": 23}, clock)


def test_gpio_fast_blink_toggles_every_eighth_second() -> None:
    clock, chip, leds = gpio_rig()
    start = clock.now
    leds.set("error", Pattern.FAST)
    for _ in range(8):
        clock.now += STEP
        leds.refresh(clock.now)
    assert [(x.time - start, x.active) for x in chip.history] == [
        (0.0, True),
        (0.125, False),
        (0.25, True),
        (0.375, False),
        (0.5, True),
    ]


def test_gpio_slow_blink_is_half_a_second_each_way() -> None:
    clock, chip, leds = gpio_rig()
    leds.set("power", Pattern.SLOW)
    levels = []
    for _ in range(32):
        leds.refresh(clock.now)
        levels.append(chip.level(17, clock.now))
        clock.now += STEP
    assert levels == ([True] * 8 + [False] * 8) * 2


def test_gpio_steady_patterns_write_once() -> None:
    clock, chip, leds = gpio_rig()
    leds.set("power", Pattern.ON)
    leds.set("error", Pattern.OFF)
    for _ in range(20):
        clock.now += STEP
        leds.refresh(clock.now)
    assert [(x.offset, x.active) for x in chip.history] == [(17, True), (23, False)]
    leds.close()
    assert chip.closed


def test_gpio_unknown_led_and_missing_line() -> None:
    clock, chip, leds = gpio_rig()
    with pytest.raises(UnknownLed):
        leds.set("activity", Pattern.ON)
    with pytest.raises(ValueError, match="no line 40"):
        GpioLeds(chip, {"power": 40}, clock).set("power", Pattern.ON)


def test_a_missing_gpio_chip_is_unavailable(tmp_path: Path) -> None:
    pytest.importorskip("gpiod", reason="the gpiod package (pyproject dependency) is missing")
    with pytest.raises(LedUnavailable, match="No such file"):
        GpiodLines(str(tmp_path / "gpiochip9"), [17, 23])


# --- the serial board on a pty -----------------------------------------------------------


@pytest.fixture
def board() -> Iterator[BoardSimulator]:
    with BoardSimulator(leds=4) as simulator:
        yield simulator


def test_board_keeps_each_leds_state(board: BoardSimulator) -> None:
    leds = open_board(board.path, {"power": 1, "error": 4}, timeout=1.0)
    try:
        leds.set("power", Pattern.ON)
        leds.set("error", Pattern.SLOW)
        assert board.led(1).lit and board.led(1).blink is None
        assert board.led(4).blink == Blink(500, 500)
        assert board.shown(2) is Pattern.OFF
        leds.set("error", Pattern.OFF)
        assert board.shown(4) is Pattern.OFF
    finally:
        leds.close()


def test_board_refuses_an_led_it_does_not_have(board: BoardSimulator) -> None:
    leds = open_board(board.path, {"spare": 9}, timeout=1.0)
    try:
        with pytest.raises(BoardRefused, match="no LED 9"):
            leds.set("spare", Pattern.ON)
    finally:
        leds.close()


def test_a_silent_board_times_out_then_answers_again(board: BoardSimulator) -> None:
    leds = open_board(board.path, {"power": 1}, timeout=0.2)
    try:
        board.go_silent()
        with pytest.raises(BoardTimeout):
            leds.set("power", Pattern.ON)
        board.come_back()
        leds.set("power", Pattern.FAST)
        assert board.shown(1) is Pattern.FAST
    finally:
        leds.close()


def test_no_board_on_the_port_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(LedUnavailable):
        open_board(str(tmp_path / "ttyACM9"), {"power": 1})


def test_a_board_fault_becomes_one_sentence_and_is_retried(tmp_path: Path) -> None:
    clock = FakeClock()
    built = build_leds(LedSettings(kind=LedKind.SERIAL, reply_timeout=0.2), tmp_path, clock)
    rig = Rig(built, clock, report_in(A.READY))
    try:
        rig.run_for(0.5)
        board = built.resources[0]
        assert isinstance(board, BoardSimulator)
        board.go_silent()
        rig.report = report_in(A.ERROR)
        rig.run_for(1.5)
        assert rig.service.problem.startswith("The front-panel LEDs cannot be set")
        assert "tries again every 5 s" in rig.service.problem
        board.come_back()
        asked = board.requests
        rig.run_for(1.0)  # still within the retry time: nothing is sent
        assert board.requests == asked
        rig.run_for(5.0)
        assert rig.service.problem == ""
        assert rig.shown() == documented()["error"]
    finally:
        built.close()


def test_only_changed_leds_are_sent(tmp_path: Path) -> None:
    clock = FakeClock()
    built = build_leds(LedSettings(kind=LedKind.SERIAL), tmp_path, clock)
    simulator = built.resources[0]
    assert isinstance(simulator, BoardSimulator)
    rig = Rig(built, clock, report_in(A.READY))
    try:
        rig.run_for(3.0)
        assert simulator.requests == 1 + 4  # ID, then each LED once
        rig.report = report_in(A.ACTIVITY)
        rig.run_for(1.0)
        assert simulator.requests == 1 + 4 + 1  # only the activity LED changed
    finally:
        built.close()


# --- the board protocol ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "line"),
    [
        (Request(Command.ID), b"ID\n"),
        (request_for(3, Pattern.ON), b"L3 ON\n"),
        (request_for(12, Pattern.OFF), b"L12 OFF\n"),
        (request_for(1, Pattern.FAST), b"L1 BLINK 125 125\n"),
    ],
)
def test_board_requests_round_trip(request_: Request, line: bytes) -> None:
    assert encode_request(request_) == line
    assert decode_request(line[:-1] + b"\r") == request_


@pytest.mark.parametrize(
    "line", [b"L0 ON", b"L1 BLINK 500", b"L1 ON 5 5", b"L1 BLINK 0 10", b"LX ON", b"HELLO"]
)
def test_board_rejects_bad_requests(line: bytes) -> None:
    with pytest.raises(BoardProtocolError):
        decode_request(line)


def test_board_replies() -> None:
    assert decode_reply(b"ID\n", b"OK KILN 1\r") == "KILN 1"
    assert decode_reply(b"L1 ON\n", b"OK") == ""
    with pytest.raises(BoardRefused, match="L1 ON: refused: busy"):
        decode_reply(b"L1 ON\n", b"ERR busy")
    with pytest.raises(BoardProtocolError):
        decode_reply(b"L1 ON\n", b"\x00garbage")


# --- settings ------------------------------------------------------------------------------


def test_settings_reject_unknown_keys_schemes_and_bad_channels() -> None:
    with pytest.raises(pydantic.ValidationError, match="blink_rate"):
        LedSettings.model_validate({"blink_rate": 2})
    with pytest.raises(pydantic.ValidationError, match="sim://"):
        LedSettings(address="usb://board")
    with pytest.raises(pydantic.ValidationError, match="gpio line offset"):
        LedSettings(kind=LedKind.GPIO, channels={Led.POWER: "kiln:green"})
    with pytest.raises(pydantic.ValidationError, match="board LED number"):
        LedSettings(kind=LedKind.SERIAL, channels={Led.ERROR: "100"})


def test_channels_default_per_kind_and_can_be_renamed() -> None:
    settings = LedSettings(kind=LedKind.GPIO, channels={Led.ERROR: "5"})
    assert settings.channel_map() == {
        Led.POWER: "17",
        Led.ACTIVITY: "27",
        Led.ATTENTION: "22",
        Led.ERROR: "5",
    }


def test_sysfs_simulator_is_a_fake_class_directory_under_the_data_dir(tmp_path: Path) -> None:
    built = build_leds(LedSettings(), tmp_path, FakeClock())
    built.driver.set("power", Pattern.ON)
    led = tmp_path / "simulators" / "leds" / "sys-class-leds" / "kiln:green:power"
    assert (led / "brightness").read_text() == "255"
    assert re.fullmatch(r"none", (led / "trigger").read_text())


def test_report_helper_is_consistent() -> None:
    """The rig's reports give the state they are named for (guards the Proof tests)."""
    from appliance.leds.policy import assess

    for state in A:
        limits = replace(LIMITS, starting=state is A.STARTING)
        assert assess(copy.deepcopy(report_in(state)), limits).state is state
