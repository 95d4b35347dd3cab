"""Stations from `[publishing.stations]`: the devices opened, simulators started.

The address of each device picks how it is reached (`ADDRESS_SCHEMES`): `sim://` starts
the device's simulator and hands out its address (the robot's pty, the drive's stand-in
xorriso command, the PTBurn simulator's folder); anything else is the real device's node
or folder. The stations use the same drivers either way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from appliance.media.profiles import Medium
from appliance.publishing.station import Station
from appliance.publishing.stations.settings import (
    SIMULATED,
    DiscType,
    DriveSettings,
    StationKind,
    StationSettings,
)
from drivers.optical import simulator as drive_sim
from drivers.optical.driver import DriveOptions, OpticalDrive

log = logging.getLogger(__name__)

MEDIUM = {
    DiscType.CD: Medium.CD,
    DiscType.DVD: Medium.DVD,
    DiscType.DVD_DL: Medium.DVD_DL,
    DiscType.BD: Medium.BD,
}


class Closeable(Protocol):
    def close(self) -> None: ...


@dataclass
class Built:
    stations: list[Station] = field(default_factory=list)
    # Simulators and drivers to close when the role stops, after the stations.
    resources: list[Closeable] = field(default_factory=list)
    # Simulated devices by name, for tests and `appliance device` to inject faults.
    simulators: dict[str, object] = field(default_factory=dict)
    # Stations that could not be opened, with the operator's sentence.
    problems: dict[str, str] = field(default_factory=dict)

    def close(self) -> None:
        for station in self.stations:
            station.close()
        for resource in reversed(self.resources):
            try:
                resource.close()
            except Exception as error:  # shutdown: report and go on
                log.warning("closing %r: %s", resource, error)


def _scheme(address: str) -> str:
    return address.split("://", 1)[0] + "://" if "://" in address else ""


def _real_drive(settings: DriveSettings, _sim_dir: Path, _loaded: bool) -> DriveOptions:
    return DriveOptions(device=settings.device, command=tuple(settings.xorriso))


def _simulated_drive(settings: DriveSettings, sim_dir: Path, loaded: bool) -> DriveOptions:
    """A drive whose xorriso is the simulator's stand-in over a file-backed disc."""
    if not (sim_dir / drive_sim.STATE_FILE).exists():
        drive_sim.create(sim_dir, media=settings.sim_media, speed=settings.sim_speed, loaded=loaded)
    # The device name only labels the drive in logs and status: the stand-in owns the disc.
    return DriveOptions(device=f"{SIMULATED}{sim_dir}", command=drive_sim.command(sim_dir))


DriveFor = Callable[[DriveSettings, Path, bool], DriveOptions]
DRIVES: dict[str, DriveFor] = {SIMULATED: _simulated_drive}


def _drive(settings: DriveSettings, sim_dir: Path, *, loaded: bool) -> OpticalDrive:
    options = DRIVES.get(_scheme(settings.device), _real_drive)(settings, sim_dir, loaded)
    return OpticalDrive.open(options)


def _robot(name: str, settings: StationSettings, data_dir: Path, built: Built) -> None:
    from appliance.publishing.stations.robot_station import RobotArm, RobotDriveStation
    from drivers.primera.robot_driver import RobotOptions, connect

    sim_root = data_dir / "simulators" / name
    drive_dirs = {n: sim_root / f"drive{n}" for n in range(len(settings.drives))}
    drives = [_drive(drive, drive_dirs[n], loaded=False) for n, drive in enumerate(settings.drives)]
    port = ROBOT_PORTS.get(_scheme(settings.robot.port), _real_port)(
        name, settings, drive_dirs, built
    )
    driver = connect(
        RobotOptions(
            port,
            model=settings.robot.model,
            retries=settings.robot.retries,
            log_traffic=settings.robot.log_traffic,
        )
    )
    built.resources.append(driver)
    arm = RobotArm(driver, name)
    media = frozenset(MEDIUM[m] for m in settings.media)
    bins = {MEDIUM[m]: b for m, b in settings.robot.bins.items()}
    for index, drive in enumerate(drives):
        built.stations.append(
            RobotDriveStation(arm, drive, index, name=f"{name}-d{index}", media=media, bins=bins)
        )


PortFor = Callable[[str, StationSettings, dict[int, Path], Built], str]


def _real_port(_name: str, settings: StationSettings, _dirs: dict[int, Path], _b: Built) -> str:
    return settings.robot.port


def _simulated_robot(
    name: str, settings: StationSettings, drive_dirs: dict[int, Path], built: Built
) -> str:
    """A robot model behind a pty whose picker puts blank discs into the simulated drives."""
    from drivers.primera.flavors import flavor
    from drivers.primera.robot_simulator import RobotSimulator, SimulatorOptions

    media = {n: settings.drives[n].sim_media for n in drive_dirs}
    sim_root = data_dir_of(drive_dirs)

    def hand(drive: int, inserted: bool) -> None:
        folder = drive_dirs.get(drive)
        if folder is None or not (folder / drive_sim.STATE_FILE).exists():
            return  # a real drive next to a simulated robot: nothing to pretend
        if inserted:
            drive_sim.insert_blank(folder, media=media[drive])
            return
        _keep_disc(drive_sim.disc_path(folder), sim_root / "discs", drive)
        drive_sim.remove_disc(folder)

    simulator = RobotSimulator(
        flavor(settings.robot.model),
        SimulatorOptions(
            motion_seconds=settings.robot.sim_motion_seconds,
            print_seconds=settings.robot.sim_print_seconds,
        ),
        drive_hook=hand,
    ).start()
    built.resources.append(simulator)
    built.simulators[name] = simulator
    return simulator.path


KEEP_DISCS = 20  # simulated discs kept after they leave a drive, newest first


def data_dir_of(drive_dirs: dict[int, Path]) -> Path:
    return next(iter(drive_dirs.values())).parent


def _keep_disc(disc: Path, discs: Path, drive: int) -> None:
    """A simulated disc leaving its drive keeps its content (`discs/`, the last few), so
    what was burned can be read back after it reached a bin."""
    if not disc.exists():
        return
    discs.mkdir(parents=True, exist_ok=True)
    disc.rename(discs / f"{time.time_ns()}-drive{drive}.iso")
    for old in sorted(discs.glob("*.iso"), reverse=True)[KEEP_DISCS:]:
        old.unlink(missing_ok=True)


ROBOT_PORTS: dict[str, PortFor] = {SIMULATED: _simulated_robot}


def _manual(name: str, settings: StationSettings, data_dir: Path, built: Built) -> None:
    from appliance.publishing.stations.manual_station import ManualStation

    drive = _drive(settings.drives[0], data_dir / "simulators" / name / "drive0", loaded=True)
    built.stations.append(
        ManualStation(
            drive,
            name=name,
            media=frozenset(MEDIUM[m] for m in settings.media),
            poll_seconds=settings.poll_seconds,
        )
    )


FolderFor = Callable[[str, StationSettings, Path, Built], Path]


def _real_folder(_name: str, settings: StationSettings, _data_dir: Path, _b: Built) -> Path:
    if settings.ptburn.folder is None:
        raise ValueError("[ptburn] folder: the mounted job folder of the PTBurn host is needed")
    return settings.ptburn.folder


def _simulated_ptburn(name: str, settings: StationSettings, data_dir: Path, built: Built) -> Path:
    """A PTBurn host following the job-folder protocol on a folder of its own."""
    from drivers.primera.ptburn_simulator import PtburnSimulator
    from drivers.primera.ptburn_simulator import SimulatorOptions as PtburnSimOptions

    root = data_dir / "simulators" / name
    folder = settings.ptburn.folder or root / "jobs"
    folder.mkdir(parents=True, exist_ok=True)
    options = PtburnSimOptions(output_dir=root / "discs", host_root=settings.ptburn.host_root)
    if settings.ptburn.sim_speed:
        options = replace(options, bytes_per_second=float(settings.ptburn.sim_speed))
    simulator = PtburnSimulator(folder, options)
    simulator.start()
    built.resources.append(_Stopper(simulator.stop))
    built.simulators[name] = simulator
    return folder


@dataclass
class _Stopper:
    stop: Callable[[], None]

    def close(self) -> None:
        self.stop()


PTBURN_FOLDERS: dict[str, FolderFor] = {SIMULATED: _simulated_ptburn}


def _ptburn(name: str, settings: StationSettings, data_dir: Path, built: Built) -> None:
    from appliance.publishing.stations.ptburn_station import PtburnStation
    from drivers.primera.ptburn_driver import PtburnOptions, PtburnPublisher
    from drivers.primera.ptburn_transport import JobFolder

    ptburn = settings.ptburn
    folder = PTBURN_FOLDERS.get(_scheme(ptburn.address), _real_folder)(
        name, settings, data_dir, built
    )
    jobs = JobFolder(folder)
    publisher = PtburnPublisher(
        jobs,
        PtburnOptions(
            host_root=ptburn.host_root,
            client_id=ptburn.client_id,
            robot_name=ptburn.robot_name,
            pickup_timeout=ptburn.pickup_timeout,
            poll_interval=ptburn.poll_interval,
        ),
    )
    built.stations.append(
        PtburnStation(
            publisher,
            jobs,
            name=name,
            media=frozenset(MEDIUM[m] for m in settings.media),
            bins={MEDIUM[m]: b for m, b in ptburn.bins.items()},
            poll_seconds=ptburn.poll_interval,
        )
    )


Builder = Callable[[str, StationSettings, Path, Built], None]
BUILDERS: dict[StationKind, Builder] = {
    StationKind.ROBOT: _robot,
    StationKind.PTBURN: _ptburn,
    StationKind.MANUAL: _manual,
}


def build_stations(stations: dict[str, StationSettings], data_dir: Path) -> Built:
    """Every configured station, its devices opened; close the result when done."""
    built = Built()
    for name, settings in stations.items():
        try:
            BUILDERS[settings.kind](name, settings, data_dir, built)
        except Exception as error:  # one station's device must not stop the others
            sentence = (
                f"Station {name} cannot be opened ({error}): its discs wait for another "
                f"station. Check the device and [publishing.stations.{name}], then restart "
                "the devices role."
            )
            log.error("%s", sentence)
            built.problems[name] = sentence
    return built
