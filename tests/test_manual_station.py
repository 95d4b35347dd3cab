"""The manual (single-drive, no robot) station against the simulated optical drive.

The drive is the real driver running the simulator's xorriso stand-in; the operator's hands
are the simulator's `insert_blank`/`remove_disc`; time is a fake clock that `sleep` moves.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from appliance.media.copies import CopyType
from appliance.media.labels import LabelData
from appliance.media.profiles import Medium
from appliance.publishing.station import DiscFailed, DiscOrder, DiscStep, FaultKind, StationFault
from appliance.publishing.stations.manual_station import LABEL_NOTE, ManualStation
from drivers.optical import simulator as sim
from drivers.optical.driver import DriveOptions, OpticalDrive
from statemachines.optical_drive import OpticalState

POLL, WAIT = 5.0, 30.0
INSERT = "Insert a blank DVD in drive sr-test; the job goes on by itself."


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Rig:
    def __init__(self, root: Path, *, loaded: bool = True) -> None:
        self.state = sim.create(root / "drive", media="DVD+R", loaded=loaded)
        self.image = root / "disc.iso"
        self.image.write_bytes(os.urandom(300 * 1024))
        self.time = FakeTime()
        drive = OpticalDrive.open(
            DriveOptions(device="/dev/sr0", command=sim.command(self.state), query_timeout=30)
        )
        self.station = ManualStation(
            drive,
            name="sr-test",
            media=frozenset({Medium.CD, Medium.DVD}),
            clock=self.time.clock,
            sleep=self.time.sleep,
            poll_seconds=POLL,
            wait_seconds=WAIT,
        )
        self.steps: list[tuple[DiscStep, float]] = []
        self.disc_id = 0

    def order(self, medium: Medium = Medium.DVD) -> DiscOrder:
        self.disc_id += 1
        label = LabelData((), "Clinic", 1, 1, CopyType.PATIENT, "KILN", "patient")
        return DiscOrder(
            job_id=7,
            disc_id=self.disc_id,
            image=self.image,
            image_bytes=self.image.stat().st_size,
            medium=medium,
            label=label,
            label_artwork=None,
        )

    def make(self, medium: Medium = Medium.DVD) -> None:
        self.station.make_disc(self.order(medium), lambda s, f: self.steps.append((s, f)))

    def fault(self, medium: Medium = Medium.DVD) -> StationFault:
        with pytest.raises(StationFault) as raised:
            self.make(medium)
        return raised.value

    def drive(self) -> sim.DriveState:
        return sim.load_state(self.state)

    def burned(self) -> bool:
        disc = sim.disc_path(self.state)
        data = self.image.read_bytes()
        return disc.is_file() and disc.read_bytes()[: len(data)] == data


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path)


def test_no_disc_asks_the_operator_and_the_status_shows_it(tmp_path: Path) -> None:
    rig = Rig(tmp_path, loaded=False)
    fault = rig.fault()
    assert (fault.kind, fault.sentence, fault.retry_after) == (FaultKind.OPERATOR, INSERT, POLL)
    status = rig.station.status()
    assert status["request"] == INSERT
    assert status["drive"] == OpticalState.EMPTY.value
    assert rig.steps == []

    sim.insert_blank(rig.state)  # the operator puts a disc in: the job goes on
    rig.make()
    assert rig.burned()
    assert rig.station.status()["request"] == ""


def test_a_blank_disc_is_burned_verified_and_ejected(rig: Rig) -> None:
    rig.make()

    assert rig.burned()
    state = rig.drive()
    assert state.tray_open and state.disc is not None and state.disc.state == "closed"
    steps = [step for step, _ in rig.steps]
    assert steps[0] is DiscStep.BURNING and steps[-1] is DiscStep.UNLOADING
    assert DiscStep.VERIFYING in steps and DiscStep.PRINTING not in steps
    assert steps.index(DiscStep.VERIFYING) > max(
        i for i, s in enumerate(steps) if s is DiscStep.BURNING
    )
    assert rig.steps[-1] == (DiscStep.UNLOADING, 1.0)
    assert all(0.0 <= fraction <= 1.0 for _, fraction in rig.steps)
    status = rig.station.status()
    assert status["drive"] == OpticalState.TRAY_OPEN.value
    assert status["label"] == LABEL_NOTE and status["disc"] is None


def test_after_a_disc_the_tray_stays_open_for_the_operator_then_the_next_disc_goes_on(
    rig: Rig,
) -> None:
    rig.make()
    rig.time.now += 10  # within wait_seconds: the station does not close the tray
    fault = rig.fault()
    assert fault.kind is FaultKind.OPERATOR and fault.sentence.endswith(INSERT)
    assert fault.retry_after == pytest.approx(WAIT - 10)
    assert rig.drive().tray_open

    rig.time.now += WAIT  # nobody came: the look closes the tray on the finished disc
    fault = rig.fault()
    assert "still holds a closed DVD+R disc" in fault.sentence
    assert "eject button" in fault.sentence and fault.retry_after == POLL
    assert not rig.drive().tray_open  # not ejected a second time

    sim.insert_blank(rig.state)
    rig.make()
    assert rig.burned()


def test_a_used_disc_is_ejected_once_and_the_operator_asked_for_a_blank(rig: Rig) -> None:
    sim.inject(rig.state, sim.SimFault.NOT_BLANK)
    fault = rig.fault()
    assert fault.kind is FaultKind.OPERATOR and fault.code == "not-blank"
    assert "holds a closed DVD+R disc, not a blank DVD; the box ejected it" in fault.sentence
    assert fault.sentence.endswith(INSERT) and fault.retry_after == WAIT
    assert rig.drive().tray_open


def test_a_disc_of_the_wrong_type_is_ejected(rig: Rig) -> None:
    fault = rig.fault(Medium.CD)  # a blank DVD+R in the drive, a CD asked for
    assert "not a blank CD" in fault.sentence and fault.kind is FaultKind.OPERATOR
    assert rig.drive().tray_open
    assert not rig.burned()


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        (sim.SimFault.WRITE_ERROR, "Writing the disc in drive sr-test failed"),
        (sim.SimFault.VERIFY_MISMATCH, "did not read back the same"),
    ],
)
def test_a_spoiled_disc_is_ejected_and_fails(rig: Rig, fault: sim.SimFault, said: str) -> None:
    sim.inject(rig.state, fault)
    with pytest.raises(DiscFailed) as raised:
        rig.make()
    assert said in raised.value.sentence
    assert raised.value.sentence.endswith("take the disc out, it is unusable.")
    assert rig.drive().tray_open
    assert rig.station.status()["request"] == raised.value.sentence


def test_a_disc_too_small_is_ejected_and_fails_without_being_written(rig: Rig) -> None:
    sim.inject(rig.state, sim.SimFault.TOO_SMALL, 64)
    with pytest.raises(DiscFailed) as raised:
        rig.make()
    assert raised.value.code == "TooSmall" and "too small" in raised.value.sentence
    assert raised.value.sentence.endswith("take the disc out.")
    assert rig.drive().tray_open and not rig.burned()


def test_a_drive_still_reading_the_disc_is_waited_for(rig: Rig) -> None:
    sim.inject(rig.state, sim.SimFault.NOT_READY, 2)
    rig.make()
    assert rig.time.slept == [POLL, POLL]
    assert rig.burned()


def test_a_drive_that_stays_not_ready_is_a_retry_fault(rig: Rig) -> None:
    sim.inject(rig.state, sim.SimFault.NOT_READY, 100)
    fault = rig.fault()
    assert fault.kind is FaultKind.RETRY and "not ready" in fault.sentence
    assert sum(rig.time.slept) == WAIT  # bounded by wait_seconds
    assert not rig.burned()


@pytest.mark.parametrize(
    ("fault", "kind", "said"),
    [
        (sim.SimFault.BUSY, FaultKind.RETRY, "Another program is using drive sr-test"),
        (sim.SimFault.TRAY_OPEN, FaultKind.OPERATOR, "The tray of drive sr-test is open"),
    ],
)
def test_drive_faults_stop_the_station(
    rig: Rig, fault: sim.SimFault, kind: FaultKind, said: str
) -> None:
    sim.inject(rig.state, fault)
    raised = rig.fault()
    assert raised.kind is kind and said in raised.sentence
    assert raised.retry_after is not None and raised.retry_after > 0

    sim.clear_faults(rig.state)  # cleared: the same station goes on
    sim.close_tray(rig.state)
    rig.make()
    assert rig.burned()


def test_no_xorriso_is_fatal(tmp_path: Path) -> None:
    drive = OpticalDrive.open(DriveOptions(command=(str(tmp_path / "no-xorriso"),)))
    station = ManualStation(drive, name="sr-test", media=frozenset({Medium.DVD}))
    rig = Rig(tmp_path)
    with pytest.raises(StationFault) as raised:
        station.make_disc(rig.order(), lambda s, f: None)
    assert raised.value.kind is FaultKind.FATAL and "xorriso" in raised.value.sentence


def test_recover_ejects_a_disc_left_in_the_drive(rig: Rig) -> None:
    sim.inject(rig.state, sim.SimFault.WRITE_ERROR)
    with pytest.raises(DiscFailed):
        rig.make()
    sim.close_tray(rig.state)  # the half-written disc went back in; the box restarts

    rig.station.recover()
    assert rig.drive().tray_open
    assert "ejected it" in str(rig.station.status()["request"])


def test_recover_leaves_a_blank_disc_alone(rig: Rig) -> None:
    rig.station.recover()
    assert not rig.drive().tray_open
    assert rig.station.status()["request"] == ""
    rig.make()
    assert rig.burned()


def test_an_order_for_media_the_station_does_not_take_is_fatal(rig: Rig) -> None:
    fault = rig.fault(Medium.BD)
    assert fault.kind is FaultKind.FATAL and fault.code == "medium"


def test_an_unreadable_image_leaves_the_station_able_to_go_on(rig: Rig) -> None:
    order = rig.order()
    rig.image.rename(rig.image.with_suffix(".gone"))
    with pytest.raises(OSError):
        rig.station.make_disc(order, lambda s, f: None)
    assert rig.station.status()["drive"] == OpticalState.ERROR.value

    rig.image.with_suffix(".gone").rename(rig.image)
    rig.make()  # the drive state machine found its way out of ERROR
    assert rig.burned()
