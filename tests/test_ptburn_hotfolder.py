"""PtburnPublisher against the hot-folder simulator: every way a job can end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from drivers.primera.error_codes import ErrorClass
from drivers.primera.ptburn_driver import (
    PtburnJob,
    PtburnOptions,
    PtburnProgress,
    PtburnPublisher,
    PublisherState,
)
from drivers.primera.ptburn_errors import (
    DiscRejected,
    JobAborted,
    JobNotFound,
    PublisherOffline,
    RobotFault,
    UnsupportedLabel,
)
from drivers.primera.ptburn_protocol import JobFileState
from drivers.primera.ptburn_simulator import (
    FAULT_FILE,
    PtburnSimulator,
    SimFault,
    SimulatorOptions,
)
from drivers.primera.ptburn_transport import JobFolder

IMAGE_BYTES = 256 * 1024
FAST = PtburnOptions(pickup_timeout=0.5, stale_after=0.5, poll_interval=0.01, retryable_grace=5.0)


class World:
    def __init__(self, root: Path) -> None:
        self.jobs = root / "PTBurnJobs"
        self.jobs.mkdir()
        self.output = root / "discs"
        self.image = root / "study.iso"
        self.image.write_bytes(os.urandom(IMAGE_BYTES))
        self.label = root / "label.png"
        Image.new("RGB", (40, 40), (200, 30, 30)).save(self.label)
        self.sim_options = SimulatorOptions(
            output_dir=self.output, bytes_per_second=8e6, poll_interval=0.005
        )
        self.simulator: PtburnSimulator | None = None
        self.publisher = PtburnPublisher(JobFolder(self.jobs), FAST)

    def start(self, **changes: object) -> PtburnSimulator:
        options = replace(self.sim_options, **changes)  # type: ignore[arg-type]
        self.simulator = PtburnSimulator(self.jobs, options).start()
        return self.simulator

    def job(self, name: str = "kiln-1-1", **changes: object) -> PtburnJob:
        return replace(PtburnJob(name, self.image), **changes)  # type: ignore[arg-type]

    def fault_file(self, line: str) -> None:
        temporary = self.jobs / f".{FAULT_FILE}.tmp"
        temporary.write_text(line + "\n")
        os.replace(temporary, self.jobs / FAULT_FILE)

    def settle(self) -> None:
        """Wait until the host shows the alarm cleared (it rescans every few ms)."""
        deadline = time.monotonic() + 5
        while self.publisher.system_status().sys_error is not None:
            assert time.monotonic() < deadline
            time.sleep(0.005)

    def discs(self) -> list[Path]:
        return sorted(self.output.glob("*.iso"))

    def rejects(self) -> list[Path]:
        return sorted((self.output / "reject").glob("*.iso"))


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    world = World(tmp_path)
    yield world
    if world.simulator is not None:
        world.simulator.stop()


def test_happy_path_two_labelled_copies_equal_the_image(world: World) -> None:
    simulator = world.start()
    seen: list[PtburnProgress] = []
    job_id = world.publisher.submit(world.job(copies=2, label=world.label))
    result = world.publisher.wait(job_id, timeout=20, on_progress=seen.append)

    assert result.state is PublisherState.DONE
    assert (result.copies, result.copies_done, result.percent) == (2, 2, 100.0)
    assert [disc.read_bytes() for disc in world.discs()] == [world.image.read_bytes()] * 2
    printed = sorted(world.output.glob("*.label.bmp"))
    assert len(printed) == 2
    with Image.open(printed[0]) as label:
        assert label.getpixel((5, 5)) == (200, 30, 30)
    assert simulator.bins == (48, 0)
    assert PublisherState.IN_PROGRESS in {p.state for p in seen}
    percents = [p.percent for p in seen]
    assert percents == sorted(percents)

    found = JobFolder(world.jobs).job_file(job_id)
    assert found is not None and found[0] is JobFileState.DONE
    assert not (world.jobs / job_id).exists()  # DeleteFiles=YES: PTBurn removed the image
    world.publisher.cleanup(job_id)
    assert JobFolder(world.jobs).jobs() == {}


def test_system_status_shows_bins_ink_and_no_alarm(world: World) -> None:
    world.start()
    deadline = time.monotonic() + 5
    while not (world.jobs / "Status" / "SystemStatus.txt").exists():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    status = world.publisher.system_status()
    robot = status.robot(None)
    assert robot is not None and robot.name == "Disc Publisher SE"
    assert robot.discs_left_bin == 50
    assert [c.fill_percent for c in robot.cartridges] == [80, 80]
    assert status.sys_error is None


@pytest.mark.parametrize(
    ("fault", "code", "error_class", "label"),
    [
        (SimFault.INPUT_EMPTY, 3, ErrorClass.OPERATOR_FIXABLE, False),
        (SimFault.COVER_OPEN, 15, ErrorClass.OPERATOR_FIXABLE, False),
        (SimFault.INK_OUT, 51, ErrorClass.OPERATOR_FIXABLE, True),
    ],
)
def test_robot_alarm_comes_out_typed_and_the_job_goes_on_once_cleared(
    world: World, fault: SimFault, code: int, error_class: ErrorClass, label: bool
) -> None:
    simulator = world.start()
    simulator.inject(fault)
    job_id = world.publisher.submit(world.job(label=world.label if label else None))
    with pytest.raises(RobotFault) as caught:
        world.publisher.wait(job_id, timeout=20)
    assert caught.value.info.code == code
    assert caught.value.info.error_class is error_class
    assert caught.value.job_name == job_id
    assert f"Primera error {code}" in caught.value.info.sentence

    simulator.clear()  # the operator closed the cover / loaded discs / changed ink
    world.settle()
    result = world.publisher.wait(job_id, timeout=20)
    assert result.state is PublisherState.DONE
    assert [disc.read_bytes() for disc in world.discs()] == [world.image.read_bytes()]


def test_cover_opened_mid_recording_leaves_a_half_written_disc(world: World) -> None:
    simulator = world.start()
    simulator.inject(SimFault.COVER_OPEN)
    job_id = world.publisher.submit(world.job())
    with pytest.raises(RobotFault) as caught:
        world.publisher.wait(job_id, timeout=20)
    assert caught.value.info.name == "SYSERR_COVER_OPEN"
    [partial] = world.discs()
    assert IMAGE_BYTES // 2 <= partial.stat().st_size < IMAGE_BYTES
    progress = world.publisher.poll(job_id)
    assert progress.state is PublisherState.IN_PROGRESS
    assert progress.robot_error is not None and progress.robot_error.code == 15


def test_a_pick_failure_that_clears_itself_is_ridden_out(world: World) -> None:
    simulator = world.start(transient_seconds=0.1)
    simulator.inject(SimFault.PICK_FAILURE)
    job_id = world.publisher.submit(world.job())
    seen: list[PtburnProgress] = []
    result = world.publisher.wait(job_id, timeout=20, on_progress=seen.append)
    assert result.state is PublisherState.DONE
    assert any(p.robot_error is not None and p.robot_error.code == 8 for p in seen)


def test_a_pick_failure_that_lasts_is_a_retryable_fault(world: World) -> None:
    simulator = world.start(transient_seconds=30)
    simulator.inject(SimFault.PICK_FAILURE)
    publisher = PtburnPublisher(JobFolder(world.jobs), replace(FAST, retryable_grace=0.1))
    job_id = publisher.submit(world.job())
    with pytest.raises(RobotFault) as caught:
        publisher.wait(job_id, timeout=20)
    assert caught.value.info.code == 8
    assert caught.value.info.error_class is ErrorClass.RETRYABLE


@pytest.mark.parametrize(
    ("fault", "error", "rejected_disc_on_file"),
    [
        (SimFault.NOT_BLANK, 12, False),
        (SimFault.WRITE_ERROR, 18, True),
        (SimFault.VERIFY_MISMATCH, 19, True),
    ],
)
def test_a_bad_disc_is_rejected_and_the_job_stopped(
    world: World, fault: SimFault, error: int, rejected_disc_on_file: bool
) -> None:
    # A disc takes about a second here, so Kiln's abort reaches the host while it is on the
    # second copy, as with a real burner, however busy this machine is.
    simulator = world.start(bytes_per_second=IMAGE_BYTES)
    simulator.inject(fault)
    job_id = world.publisher.submit(world.job(copies=2))
    with pytest.raises(DiscRejected) as caught:
        world.publisher.wait(job_id, timeout=20)
    assert caught.value.error.error.number == error
    assert caught.value.error.disc == 1
    assert caught.value.good_discs == 0
    # stop_on_reject: Kiln aborted the job so that PTBurn does not redo it on its own.
    with pytest.raises(JobAborted):
        world.publisher.wait(job_id, timeout=20)
    assert world.discs() == []
    # The bad disc, and a second copy the abort caught half written, are in the reject bin.
    rejects = world.rejects()
    assert len(rejects) <= 2
    if rejected_disc_on_file:
        assert rejects[0].name.endswith("-1.iso")
    assert all(reject.read_bytes() != world.image.read_bytes() for reject in rejects)


def test_without_stop_on_reject_ptburn_redoes_the_disc(world: World) -> None:
    simulator = world.start()
    simulator.inject(SimFault.WRITE_ERROR)
    publisher = PtburnPublisher(JobFolder(world.jobs), replace(FAST, stop_on_reject=False))
    job_id = publisher.submit(world.job())
    result = publisher.wait(job_id, timeout=20)
    assert result.state is PublisherState.DONE
    assert (result.copies_done, result.bad_discs) == (1, 1)
    assert [disc.read_bytes() for disc in world.discs()] == [world.image.read_bytes()]


def test_too_many_rejects_fails_the_job_as_a_disc_problem(world: World) -> None:
    simulator = world.start(reject_limit=1)
    simulator.inject(SimFault.VERIFY_MISMATCH)
    publisher = PtburnPublisher(JobFolder(world.jobs), replace(FAST, stop_on_reject=False))
    job_id = publisher.submit(world.job())
    with pytest.raises(DiscRejected) as caught:
        publisher.wait(job_id, timeout=20)
    assert caught.value.error.error.number == 19
    progress = publisher.poll(job_id)
    assert progress.state is PublisherState.FAILED
    assert progress.job_error is not None and progress.job_error.number == 20


def test_ptburn_not_running_means_offline(world: World) -> None:
    job_id = world.publisher.submit(world.job())  # nobody watches the folder
    with pytest.raises(PublisherOffline, match="did not pick up"):
        world.publisher.wait(job_id, timeout=20)
    with pytest.raises(PublisherOffline, match="no PTBurn status"):
        world.publisher.system_status()


def test_a_host_that_stops_answering_mid_job_is_offline(world: World) -> None:
    simulator = world.start(bytes_per_second=50e3)  # slow: the job is still running
    job_id = world.publisher.submit(world.job())
    deadline = time.monotonic() + 10
    while world.publisher.poll(job_id).state is not PublisherState.IN_PROGRESS:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    simulator.inject(SimFault.OFFLINE)
    with pytest.raises(PublisherOffline, match="not updated its status"):
        world.publisher.wait(job_id, timeout=20)


def test_a_missing_job_folder_is_offline(tmp_path: Path) -> None:
    publisher = PtburnPublisher(JobFolder(tmp_path / "unmounted"), FAST)
    image = tmp_path / "x.iso"
    image.write_bytes(b"x")
    with pytest.raises(PublisherOffline, match="is not there"):
        publisher.submit(PtburnJob("kiln-9-9", image))


def test_cancel_a_running_job(world: World) -> None:
    world.start(bytes_per_second=50e3)
    job_id = world.publisher.submit(world.job(copies=3))
    deadline = time.monotonic() + 10
    while world.publisher.poll(job_id).state is not PublisherState.IN_PROGRESS:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    world.publisher.cancel(job_id)
    with pytest.raises(JobAborted):
        world.publisher.wait(job_id, timeout=20)
    assert list(world.jobs.glob("*.PTM")) == []  # PTBurn consumed the message
    world.publisher.cancel(job_id)  # a finished job: nothing to do, no error


def test_cancel_before_pickup_withdraws_the_request(world: World) -> None:
    job_id = world.publisher.submit(world.job())
    world.publisher.cancel(job_id)
    assert JobFolder(world.jobs).jobs() == {}
    assert not (world.jobs / job_id).exists()
    with pytest.raises(JobNotFound):
        world.publisher.poll(job_id)


def test_faults_from_the_fault_file(world: World) -> None:
    world.start()
    world.fault_file("cover-open")
    job_id = world.publisher.submit(world.job())
    with pytest.raises(RobotFault) as caught:
        world.publisher.wait(job_id, timeout=20)
    assert caught.value.info.code == 15
    assert not (world.jobs / FAULT_FILE).exists()
    world.fault_file("clear")
    world.settle()
    assert world.publisher.wait(job_id, timeout=20).state is PublisherState.DONE


def test_labels_kiln_cannot_print_are_refused_before_anything_is_written(
    world: World,
) -> None:
    pdf = world.label.with_suffix(".pdf")
    pdf.write_bytes(b"%PDF-1.4\n")
    with pytest.raises(UnsupportedLabel):
        world.publisher.submit(world.job(label=pdf))
    assert list(world.jobs.iterdir()) == []


def test_the_simulator_as_a_process_and_killed(world: World) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "drivers.primera.ptburn_simulator",
            str(world.jobs),
            "--output",
            str(world.output),
            "--poll",
            "0.01",
        ],
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        publisher = PtburnPublisher(JobFolder(world.jobs), replace(FAST, pickup_timeout=10))
        job_id = publisher.submit(world.job())
        assert publisher.wait(job_id, timeout=20).state is PublisherState.DONE
        assert [disc.read_bytes() for disc in world.discs()] == [world.image.read_bytes()]
        publisher.system_status()
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=5)
        deadline = time.monotonic() + 5
        with pytest.raises(PublisherOffline):
            while time.monotonic() < deadline:
                publisher.system_status()
                time.sleep(0.05)
    finally:
        process.kill()
        process.wait(timeout=5)
