"""The PTBurn station against the hot-folder simulator: every way a disc can end, in the
station contract's terms, and no job left behind in the shared folder."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from appliance.media.copies import CopyType
from appliance.media.labels import LabelData
from appliance.media.profiles import Medium
from appliance.publishing.station import DiscFailed, DiscOrder, DiscStep, FaultKind, StationFault
from appliance.publishing.stations.ptburn_station import PtburnStation
from drivers.primera.error_codes import describe
from drivers.primera.ptburn_driver import (
    PtburnJob,
    PtburnOptions,
    PtburnProgress,
    PtburnPublisher,
)
from drivers.primera.ptburn_errors import RobotFault
from drivers.primera.ptburn_protocol import JobFileState
from drivers.primera.ptburn_simulator import PtburnSimulator, SimFault, SimulatorOptions
from drivers.primera.ptburn_transport import JobFolder

IMAGE_BYTES = 1 << 20
POLL = 0.01
FAST = PtburnOptions(pickup_timeout=0.5, stale_after=0.5, poll_interval=0.005, retryable_grace=5)
STEP_ORDER = [DiscStep.PICKING, DiscStep.BURNING, DiscStep.VERIFYING, DiscStep.PRINTING]


class World:
    def __init__(self, root: Path) -> None:
        self.jobs = root / "PTBurnJobs"
        self.jobs.mkdir()
        self.output = root / "discs"
        self.image = root / "study.iso"
        self.image.write_bytes(os.urandom(IMAGE_BYTES))
        self.label = root / "label.png"
        Image.new("RGB", (40, 40), (20, 90, 200)).save(self.label)
        self.folder = JobFolder(self.jobs)
        self.simulator: PtburnSimulator | None = None
        self.steps: list[tuple[DiscStep, float]] = []
        self.disc_id = 30

    def start(self, **changes: object) -> PtburnSimulator:
        options = SimulatorOptions(
            output_dir=self.output, bytes_per_second=8e6, poll_interval=0.005
        )
        options = replace(options, **changes)  # type: ignore[arg-type]
        self.simulator = PtburnSimulator(self.jobs, options).start()
        return self.simulator

    def station(self, options: PtburnOptions = FAST, name: str = "ptb") -> PtburnStation:
        return PtburnStation(
            PtburnPublisher(self.folder, options),
            self.folder,
            name=name,
            media=frozenset({Medium.CD, Medium.DVD}),
            bins={Medium.DVD: 1, Medium.CD: 2},
            poll_seconds=POLL,
            abort_seconds=5.0,
        )

    def order(self, *, copies: int = 1, label: Path | None = None) -> DiscOrder:
        self.disc_id += 1
        data = LabelData((), "Clinic", 1, 1, CopyType.PATIENT, "KILN", "patient")
        return DiscOrder(7, self.disc_id, self.image, IMAGE_BYTES, Medium.DVD, data, label, copies)

    def make(self, station: PtburnStation, **order: object) -> None:
        station.make_disc(self.order(**order), lambda s, f: self.steps.append((s, f)))  # type: ignore[arg-type]

    def discs(self) -> list[Path]:
        return sorted(self.output.glob("*.iso"))

    def rejects(self) -> list[Path]:
        return sorted((self.output / "reject").glob("*.iso"))

    def left_over(self) -> dict[str, JobFileState]:
        return {name: state for name, (state, _) in self.folder.jobs().items()}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    world = World(tmp_path)
    yield world
    if world.simulator is not None:
        world.simulator.stop()


def eventually(check: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_happy_path_the_disc_equals_the_image_and_carries_the_label(world: World) -> None:
    simulator = world.start()
    station = world.station()
    world.make(station, label=world.label)

    assert [disc.read_bytes() for disc in world.discs()] == [world.image.read_bytes()]
    printed = list(world.output.glob("*.label.bmp"))  # the PNG went to PTBurn as BMP
    assert len(printed) == 1
    with Image.open(printed[0]) as label:
        assert label.getpixel((5, 5)) == (20, 90, 200)
    assert simulator.bins == (49, 0)  # DVD from BinID 1, the left bin
    assert world.left_over() == {}  # the job's files are removed
    steps = [step for step, _ in world.steps]
    assert DiscStep.BURNING in steps
    ranks = [STEP_ORDER.index(s) for s in steps if s in STEP_ORDER]
    assert ranks == sorted(ranks)
    assert world.steps[-1] == (DiscStep.UNLOADING, 1.0)


def test_copies_are_made_by_ptburn_in_one_job(world: World) -> None:
    world.start()
    world.make(world.station(), copies=2)
    assert [disc.read_bytes() for disc in world.discs()] == [world.image.read_bytes()] * 2
    assert world.left_over() == {}


@pytest.mark.parametrize(
    ("fault", "label", "code", "said"),
    [
        (SimFault.INPUT_EMPTY, False, "SYSERR_INPUT_EMPTY", "Load blank discs into the input bin."),
        (SimFault.COVER_OPEN, False, "SYSERR_COVER_OPEN", "Close the cover."),
        (SimFault.INK_OUT, True, "SYSERR_BOTH_EMPTY_FINAL", "Replace both cartridges."),
    ],
)
def test_an_operator_alarm_is_an_operator_fault_and_the_job_is_withdrawn(
    world: World, fault: SimFault, label: bool, code: str, said: str
) -> None:
    simulator = world.start()
    simulator.inject(fault)
    station = world.station()
    with pytest.raises(StationFault) as raised:
        world.make(station, label=world.label if label else None)
    assert (raised.value.kind, raised.value.code) == (FaultKind.OPERATOR, code)
    assert raised.value.sentence.startswith("Disc robot: ") and said in raised.value.sentence
    assert raised.value.retry_after == POLL
    assert world.left_over() == {}  # aborted at the host, then removed
    assert station.status()["alarm"] == {
        "code": _number(code),
        "name": code,
        "class": "operator-fixable",
        "sentence": describe(_number(code)).sentence,
    }

    simulator.clear()  # the operator fixed it: the next disc is made
    eventually(lambda: station.status()["alarm"] is None)  # the host rewrote its status
    world.make(station)
    assert world.discs()[-1].read_bytes() == world.image.read_bytes()


def _number(name: str) -> int:
    return next(code for code in range(1, 60) if describe(code).name == name)


def test_a_lasting_pick_failure_is_a_retry_fault(world: World) -> None:
    simulator = world.start(transient_seconds=30)
    simulator.inject(SimFault.PICK_FAILURE)
    station = world.station(replace(FAST, retryable_grace=0.1))
    with pytest.raises(StationFault) as raised:
        world.make(station)
    assert (raised.value.kind, raised.value.code) == (FaultKind.RETRY, "SYSERR_PICK")
    assert "could not pick a disc" in raised.value.sentence
    assert world.left_over() == {}


def test_a_fatal_alarm_is_a_fatal_fault(world: World) -> None:
    world.start()

    class ArmStuck(PtburnPublisher):
        def wait(
            self,
            job_id: str,
            *,
            timeout: float | None = None,
            on_progress: Callable[[PtburnProgress], None] | None = None,
        ) -> PtburnProgress:
            raise RobotFault(describe(9), job_id)  # the simulator has no fatal fault

    station = PtburnStation(
        ArmStuck(world.folder, FAST),
        world.folder,
        name="ptb",
        media=frozenset({Medium.DVD}),
        bins={},
        poll_seconds=POLL,
        abort_seconds=5.0,
    )
    with pytest.raises(StationFault) as raised:
        world.make(station)
    assert (raised.value.kind, raised.value.code) == (FaultKind.FATAL, "SYSERR_ARM_MOVE")
    assert raised.value.retry_after is None
    assert "call service" in raised.value.sentence
    assert world.left_over() == {}  # the job it had submitted is withdrawn


@pytest.mark.parametrize(
    ("fault", "number", "advice"),
    [
        (SimFault.NOT_BLANK, 12, "Use blank discs"),
        (SimFault.WRITE_ERROR, 18, "try another batch of discs"),
        (SimFault.VERIFY_MISMATCH, 19, "the discs or a drive are failing"),
    ],
)
def test_a_rejected_disc_is_a_failed_disc(
    world: World, fault: SimFault, number: int, advice: str
) -> None:
    # A second per disc: the station's abort reaches the host before it could redo the disc
    # by itself, however loaded this machine is.
    simulator = world.start(bytes_per_second=IMAGE_BYTES)
    simulator.inject(fault)
    with pytest.raises(DiscFailed) as raised:
        world.make(world.station())
    assert raised.value.code == f"ptburn-disc-{number}"
    assert "reject bin" in raised.value.sentence and advice in raised.value.sentence
    assert world.discs() == []  # no good disc: the runner makes it again
    assert world.left_over() == {}


def test_ptburn_offline_is_a_retry_fault_and_the_request_is_withdrawn(world: World) -> None:
    simulator = world.start()
    simulator.inject(SimFault.OFFLINE)
    station = world.station()
    with pytest.raises(StationFault) as raised:
        world.make(station)
    assert (raised.value.kind, raised.value.code) == (FaultKind.RETRY, "offline")
    assert raised.value.retry_after == POLL and "does not answer" in raised.value.sentence
    assert world.left_over() == {}
    assert list(world.jobs.glob("kiln-*")) == []  # the staged image is gone too
    eventually(lambda: station.status()["online"] is False, seconds=2)


def test_a_job_ptburn_refuses_is_fatal(world: World) -> None:
    world.start()
    station = world.station(replace(FAST, host_root="D:\\Elsewhere"))  # wrong host path
    with pytest.raises(StationFault) as raised:
        world.make(station)
    assert (raised.value.kind, raised.value.code) == (FaultKind.FATAL, "ptburn-job-4")
    assert "host_root" in raised.value.sentence
    assert world.left_over() == {}


def test_a_pdf_label_is_refused_before_anything_is_written(world: World) -> None:
    world.start()
    pdf = world.label.with_suffix(".pdf")
    pdf.write_bytes(b"%PDF-1.4\n")
    with pytest.raises(StationFault) as raised:
        world.make(world.station(), label=pdf)
    assert (raised.value.kind, raised.value.code) == (FaultKind.FATAL, "label")
    assert "PNG or BMP" in raised.value.sentence
    assert list(world.jobs.glob("kiln-*")) == []


def test_recover_removes_this_stations_leftovers_and_only_those(world: World) -> None:
    publisher = PtburnPublisher(world.folder, FAST)
    image = world.image
    for name in ["kiln-ptb-1-1", "kiln-ptb-1-2", "kiln-ptb2-1-3", "other-9"]:
        publisher.submit(PtburnJob(name, image))
    (world.jobs / "kiln-ptb-1-2.JRQ").rename(world.jobs / "kiln-ptb-1-2.DON")  # finished

    world.station().recover()

    assert world.left_over() == {
        "kiln-ptb2-1-3": JobFileState.SUBMITTED,
        "other-9": JobFileState.SUBMITTED,
    }
    assert not (world.jobs / "kiln-ptb-1-1").exists()


def test_recover_aborts_a_running_job_and_a_later_disc_removes_it(world: World) -> None:
    simulator = world.start(bytes_per_second=1e5)  # slow: the job is still running
    publisher = PtburnPublisher(world.folder, FAST)
    publisher.submit(PtburnJob("kiln-ptb-5-50", world.image))
    eventually(lambda: world.left_over().get("kiln-ptb-5-50") is JobFileState.IN_PROGRESS)

    station = world.station()  # the box restarted
    station.recover()
    eventually(lambda: world.left_over().get("kiln-ptb-5-50") is JobFileState.FAILED)

    simulator.options = replace(simulator.options, bytes_per_second=8e6)
    world.make(station)
    assert world.left_over() == {}
    made = world.output / f"kiln-ptb-7-{world.disc_id}-1.iso"
    assert made.read_bytes() == world.image.read_bytes()
    aborted = world.output / "kiln-ptb-5-50-1.iso"  # the simulator leaves it half-written
    assert not aborted.exists() or aborted.stat().st_size < IMAGE_BYTES


def test_status_shows_bins_ink_and_no_alarm(world: World) -> None:
    world.start(left_bin=20, ink_black=70, ink_color=40)
    station = world.station()
    eventually(lambda: station.status().get("online") is True)
    status = station.status()
    assert status["alarm"] is None and status["bins"] == {"dvd": 1, "cd": 2}
    robots = status["robots"]
    assert isinstance(robots, list) and len(robots) == 1
    assert robots[0]["left_bin"] == 20
    assert {cart["kind"]: cart["percent"] for cart in robots[0]["ink"]} == {
        "black": 70,
        "color": 40,
    }
