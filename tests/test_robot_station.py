"""A robot's drive as a station, on the robot simulator (a pty) and the drive simulator
(the stand-in xorriso over a file-backed disc): the real drivers end to end.

The drive hook given to the robot simulator is the test's hand: it puts a blank disc in
the simulated drive when the picker loads it (with a fault the test asked for), and keeps
what was burned when the disc leaves the drive.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from appliance.media.copies import CopyType
from appliance.media.disc_image import ImageKind, build_image
from appliance.media.labels import LabelData
from appliance.media.profiles import Medium
from appliance.publishing.station import DiscFailed, DiscOrder, DiscStep, FaultKind, StationFault
from appliance.publishing.stations.robot_station import RobotArm, RobotDriveStation
from drivers.optical import simulator as drive_sim
from drivers.optical.driver import DriveOptions, OpticalDrive
from drivers.primera.flavors import flavor
from drivers.primera.robot_driver import RobotOptions, connect
from drivers.primera.robot_simulator import RobotSimulator, SimulatorOptions
from statemachines.disc_robot import DiscRobotState
from statemachines.optical_drive import OpticalState

MODEL = "disc-publisher-pro"


@dataclass
class Hand:
    """What the robot's picker does to the simulated drives."""

    drives: dict[int, Path]
    fault: drive_sim.SimFault | None = None
    kept: list[Path] = field(default_factory=list)

    def __call__(self, drive: int, inserted: bool) -> None:
        folder = self.drives[drive]
        if inserted:
            drive_sim.insert_blank(folder, media="CD-R")
            if self.fault is not None:
                drive_sim.inject(folder, self.fault)
                self.fault = None
            return
        disc = drive_sim.disc_path(folder)
        if disc.exists():
            kept = folder.parent / f"kept-{len(self.kept)}.iso"
            disc.rename(kept)
            self.kept.append(kept)
        drive_sim.remove_disc(folder)


@dataclass
class Rig:
    robot: RobotSimulator
    hand: Hand
    stations: list[RobotDriveStation]
    image: Path
    label: Path


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    drives = {n: tmp_path / f"drive{n}" for n in (0, 1)}
    for folder in drives.values():
        drive_sim.create(folder, media="CD-R", loaded=False)
    hand = Hand(drives)
    robot = RobotSimulator(
        flavor(MODEL), SimulatorOptions(motion_seconds=0.01, print_seconds=0.01), hand
    ).start()
    driver = connect(RobotOptions(robot.path, model=MODEL))
    arm = RobotArm(driver, "robot1")
    stations = [
        RobotDriveStation(
            arm,
            OpticalDrive.open(DriveOptions(command=drive_sim.command(folder))),
            n,
            name=f"robot1-d{n}",
            media=frozenset({Medium.CD}),
            bins={},
            sleep=lambda _s: None,
        )
        for n, folder in drives.items()
    ]
    source = tmp_path / "fileset"
    (source / "DICOM").mkdir(parents=True)
    (source / "DICOMDIR").write_bytes(b"D" * 5000)
    (source / "DICOM" / "IM000001").write_bytes(bytes(range(256)) * 4000)
    image = tmp_path / "disc.iso"
    build_image(source, image, volume_id="KILN", kind=ImageKind.ISO9660_JOLIET_RR)
    label = tmp_path / "label.png"
    label.write_bytes(b"\x89PNG\r\n\x1a\nlabel artwork")
    try:
        yield Rig(robot, hand, stations, image, label)
    finally:
        driver.close()
        robot.close()


def robot_state(station: RobotDriveStation) -> DiscRobotState:
    """A call, so mypy does not carry a narrowed state across actions."""
    return station.robot_machine.state


def order(rig: Rig, *, label: bool = True) -> DiscOrder:
    return DiscOrder(
        job_id=1,
        disc_id=1,
        image=rig.image,
        image_bytes=rig.image.stat().st_size,
        medium=Medium.CD,
        label=LabelData((), "", 1, 1, CopyType.PATIENT, "KILN", "STD-GEN-CD"),
        label_artwork=rig.label if label else None,
    )


def holds(disc: Path, image: Path) -> bool:
    """The disc starts with the image, byte for byte (the burn pads the session's end)."""
    data = image.read_bytes()
    return hashlib.sha256(disc.read_bytes()[: len(data)]).digest() == hashlib.sha256(data).digest()


def test_a_disc_is_picked_burned_verified_labelled_and_unloaded(rig: Rig) -> None:
    steps: list[DiscStep] = []
    before = rig.robot.discs_in("right"), rig.robot.discs_in("left")
    rig.stations[0].make_disc(order(rig), lambda step, _f: steps.append(step))
    # One blank disc left the input bin and a finished one reached the output bin.
    after = rig.robot.discs_in("right"), rig.robot.discs_in("left")
    assert sum(after) == sum(before)
    assert after != before
    assert rig.robot.labels == [rig.label.read_bytes()]
    assert [holds(p, rig.image) for p in rig.hand.kept] == [True]  # the disc holds the image
    assert rig.robot.rejected == 0
    for step in (DiscStep.PICKING, DiscStep.BURNING, DiscStep.VERIFYING, DiscStep.PRINTING):
        assert step in steps
    assert steps[-1] is DiscStep.UNLOADING
    assert robot_state(rig.stations[0]) is DiscRobotState.IDLE
    assert rig.stations[0].drive_machine.state is OpticalState.EMPTY


def test_a_disc_without_artwork_goes_straight_to_the_output_bin(rig: Rig) -> None:
    rig.stations[1].make_disc(order(rig, label=False), lambda _s, _f: None)
    assert rig.robot.labels == []
    assert [holds(p, rig.image) for p in rig.hand.kept] == [True]


@pytest.mark.parametrize(
    ("fault", "code", "said"),
    [
        (drive_sim.SimFault.NOT_BLANK, "NotBlank", "already has data"),
        (drive_sim.SimFault.WRITE_ERROR, "WriteFailed", "writ"),
        (drive_sim.SimFault.VERIFY_MISMATCH, "VerifyMismatch", "read back"),
    ],
)
def test_a_bad_disc_goes_to_the_reject_bin(
    rig: Rig, fault: drive_sim.SimFault, code: str, said: str
) -> None:
    rig.hand.fault = fault
    with pytest.raises(DiscFailed) as failed:
        rig.stations[0].make_disc(order(rig), lambda _s, _f: None)
    assert failed.value.code == code
    assert said in failed.value.sentence.lower()
    assert rig.robot.rejected == 1
    assert rig.robot.labels == []
    assert robot_state(rig.stations[0]) is DiscRobotState.IDLE
    # The next disc is good again.
    rig.stations[0].make_disc(order(rig), lambda _s, _f: None)
    assert rig.robot.labels == [rig.label.read_bytes()]


def test_cover_open_waits_for_the_operator_then_goes_on(rig: Rig) -> None:
    rig.robot.open_cover()
    with pytest.raises(StationFault) as fault:
        rig.stations[0].make_disc(order(rig), lambda _s, _f: None)
    assert fault.value.kind is FaultKind.OPERATOR
    assert "cover" in fault.value.sentence.lower()
    assert robot_state(rig.stations[0]) is DiscRobotState.OPERATOR_NEEDED
    assert rig.stations[0].status()["alarm"] == fault.value.sentence
    rig.robot.close_cover()
    rig.stations[0].make_disc(order(rig), lambda _s, _f: None)
    assert robot_state(rig.stations[0]) is DiscRobotState.IDLE
    assert rig.stations[0].status()["alarm"] == ""
    assert len(rig.robot.labels) == 1


def test_an_empty_input_bin_asks_for_discs(rig: Rig) -> None:
    for name in ("right", "left"):
        rig.robot.empty_bin(name)
    with pytest.raises(StationFault) as fault:
        rig.stations[0].make_disc(order(rig), lambda _s, _f: None)
    assert fault.value.kind is FaultKind.OPERATOR
    assert "input" in fault.value.sentence.lower() or "bin" in fault.value.sentence.lower()


def test_a_robot_that_does_not_answer_is_retried(rig: Rig) -> None:
    rig.robot.go_offline()
    with pytest.raises(StationFault) as fault:
        rig.stations[0].make_disc(order(rig), lambda _s, _f: None)
    assert fault.value.kind is FaultKind.RETRY
    assert robot_state(rig.stations[0]) is DiscRobotState.OFFLINE
    rig.robot.come_online()
    rig.stations[0].make_disc(order(rig), lambda _s, _f: None)
    assert robot_state(rig.stations[0]) is DiscRobotState.IDLE


def test_recover_moves_a_disc_left_in_a_drive_to_the_reject_bin(rig: Rig) -> None:
    driver = rig.stations[0]._arm.driver
    driver.load_drive(None, 0)  # a crash left this disc in drive 0
    assert driver.status().drives[0].has_disc
    rig.stations[0].recover()
    assert not driver.status().drives[0].has_disc
    assert rig.robot.rejected == 1
