"""`appliance device test`: ask each of a station's devices for its status.

Nothing is burned, moved or printed: the robot is asked for its status (bins, cover, ink,
error), each drive for the disc it holds, a PTBurn host for its system status. Each check
is reported with what was seen, so a field engineer knows which part answers.

With the devices role stopped the CLI opens the devices itself (`station_checks`,
`led_checks`); while it runs, the role runs the test on the devices it holds
(`live_station_checks`, `live_led_checks`, through appliance/roles/device_tests.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.config.schema import KilnConfig
from appliance.publishing.stations.settings import (
    SIMULATED,
    DriveSettings,
    StationKind,
    StationSettings,
)
from appliance.roles.device_tests import Check
from drivers.optical import simulator as drive_sim
from drivers.optical.driver import DriveOptions, OpticalDrive
from drivers.optical.errors import DriveError

if TYPE_CHECKING:
    from appliance.leds.service import LedService
    from appliance.publishing.station import Station

LEDS = "leds"
__all__ = ["LEDS", "Check", "led_checks", "live_led_checks", "live_station_checks"]


def _robot_summary(status: dict[str, Any]) -> tuple[bool, str]:
    bins = ", ".join(
        f"{b.get('name')} {b.get('discs', '?')}/{b.get('capacity', '?')}"
        for b in status.get("bins", [])
    )
    ink = ", ".join(
        f"{c['ink_percent']:.0f} %"
        for c in status.get("cartridges", [])
        if c.get("ink_percent") is not None
    )
    cover = "open" if status.get("cover_open") else "closed"
    error = int(status.get("error_code") or 0)
    detail = f"bins {bins or '-'}; cover {cover}; ink {ink or '-'}; error code {error}"
    return not status.get("cover_open") and error == 0, detail


def _drive_options(settings: DriveSettings, sim_dir: Path) -> DriveOptions:
    # The same choice build_stations makes: sim:// is the stand-in over the station's
    # simulated disc (which build_stations has created by now).
    if settings.device.startswith(SIMULATED):
        return DriveOptions(device=f"{SIMULATED}{sim_dir}", command=drive_sim.command(sim_dir))
    return DriveOptions(device=settings.device, command=tuple(settings.xorriso))


def _drive_check(index: int, settings: DriveSettings, sim_dir: Path) -> Check:
    name = f"drive {index} ({settings.device})"
    try:
        info = OpticalDrive.open(_drive_options(settings, sim_dir)).media_info()
    except DriveError as error:
        return Check(name, False, f"the drive did not answer: {error.message}")
    disc = (
        "no disc"
        if info.state.value == "none"
        else f"{info.media.profile or 'disc'} {info.state.value}, {info.free_bytes / 1e6:.0f} MB "
        "free"
    )
    return Check(name, True, f"{info.drive or 'drive'} answers: {disc}")


def station_checks(name: str, settings: StationSettings, data_dir: Path) -> list[Check]:
    """Open the station as the devices role would, ask every device, close it again."""
    from appliance.publishing.stations.factory import build_stations

    built = build_stations({name: settings}, data_dir)
    try:
        if name in built.problems:
            return [Check("open devices", False, built.problems[name])]
        checks = [Check("open devices", True, f"{len(built.stations)} station(s) opened")]
        robot_asked = False
        # A PTBurn host writes its status file every few seconds (a simulator just started
        # has not yet): give it a few of its intervals before calling it offline.
        patience = 3 * settings.ptburn.poll_interval if settings.kind is StationKind.PTBURN else 0
        for station in built.stations:
            try:
                status = _answer(station.status, patience)
            except Exception as error:  # a device's own failure is this check's result
                checks.append(Check(f"status {station.name}", False, str(error)))
                continue
            checks.append(_status_check(station.name, status))
            robot_status = getattr(station, "robot_status", None)
            if callable(robot_status) and not robot_asked:
                robot_asked = True  # one robot serves all the drive stations
                checks.append(_robot_check(settings, robot_status))
        if settings.kind is not StationKind.PTBURN:  # PTBurn's drives are the host's
            sim_root = data_dir / "simulators" / name
            for index, drive in enumerate(settings.drives):
                checks.append(_drive_check(index, drive, sim_root / f"drive{index}"))
        return checks
    finally:
        built.close()


def live_station_checks(
    name: str, settings: StationSettings, stations: Sequence[Station], problem: str | None
) -> list[Check]:
    """The test in the running devices role: its open stations asked for their status (as
    its heartbeat does; a disc being made is not disturbed) and the robot for bins, cover
    and ink. The drives are not opened a second time: each station says what its drive
    does."""
    if problem:
        return [Check("open devices", False, problem)]
    if not stations:
        return [Check("open devices", False, f"the devices role has no station {name} open")]
    checks = [
        Check("open devices", True, f"{len(stations)} station(s) held by the running devices role")
    ]
    patience = 3 * settings.ptburn.poll_interval if settings.kind is StationKind.PTBURN else 0
    robot_asked = False
    for station in stations:
        try:
            status = _answer(station.status, patience)
        except Exception as error:  # a device's own failure is this check's result
            checks.append(Check(f"status {station.name}", False, str(error)))
            continue
        checks.append(_status_check(station.name, status))
        robot_status = getattr(station, "robot_status", None)
        if callable(robot_status) and not robot_asked:
            robot_asked = True
            checks.append(_robot_check(settings, robot_status))
    return checks


def _answer(ask: Callable[[], dict[str, object]], patience: float) -> dict[str, object]:
    deadline = time.monotonic() + patience
    status = ask()
    while status.get("online") is False and time.monotonic() < deadline:
        time.sleep(0.2)
        status = ask()
    return status


def _status_check(name: str, status: dict[str, object]) -> Check:
    if status.get("online") is False:
        return Check(f"status {name}", False, str(status.get("sentence", "offline")))
    keys = ("robot_state", "drive_state") if "drive_state" in status else ("drive",)
    words = ", ".join(f"{k} {status[k]}" for k in keys if k in status) or "answers"
    if "ptburn_version" in status:
        words = f"PTBurn {status['ptburn_version']} answers"
    return Check(f"status {name}", True, words)


def _robot_check(settings: StationSettings, ask: Callable[[], Any]) -> Check:
    name = f"robot ({settings.robot.model}, {settings.robot.port})"
    try:
        passed, detail = _robot_summary(ask())
    except Exception as error:  # the robot's own failure is this check's result
        return Check(name, False, f"the robot did not answer: {error}")
    return Check(name, passed, detail)


def live_led_checks(
    service: LedService | None, config: KilnConfig, sleep: Callable[[float], None] = time.sleep
) -> list[Check]:
    """The lamp test in the running devices role, through its LED service."""
    settings = config.leds
    if service is None:
        return [Check("open leds", False, "the running devices role could not open the LEDs")]
    leds = ", ".join(service.leds)
    checks = [Check("open leds", True, f"{settings.kind} at {settings.address}: {leds}")]
    service.lamp_test(settings.lamp_test_seconds)
    sleep(settings.lamp_test_seconds)
    if service.problem:
        return [*checks, Check("lamp test", False, service.problem)]
    return [*checks, _lamp_passed(settings.lamp_test_seconds, "went back to the box's state")]


def _lamp_passed(seconds: float, after: str = "turned off") -> Check:
    return Check(
        "lamp test",
        True,
        f"every LED was lit for {seconds:g} s and {after}: look at the front panel — an "
        "LED that stayed dark is broken or wired to another channel",
    )


def led_checks(
    config: KilnConfig, data_dir: Path, sleep: Callable[[float], None] = time.sleep
) -> list[Check] | None:
    """The lamp test: every LED on for `[leds] lamp_test_seconds`, then off (docs/leds.md).
    None on a box whose LEDs are switched off (`[leds] enabled = false`)."""
    from appliance.leds.factory import build_leds
    from appliance.leds.service import lamp_test
    from drivers.leds.errors import LedError

    settings = config.leds
    if not settings.enabled:
        return None
    try:
        built = build_leds(settings, data_dir, time.time)
    except LedError as error:  # the LED device's own failure is this check's result
        return [Check("open leds", False, f"the LEDs could not be opened: {error}")]
    try:
        leds = ", ".join(built.driver.leds)
        checks = [Check("open leds", True, f"{settings.kind} at {settings.address}: {leds}")]
        lamp_test(built.driver, settings.lamp_test_seconds, sleep)
    except LedError as error:  # as above
        return [*checks, Check("lamp test", False, f"the LEDs did not take it: {error}")]
    finally:
        built.close()
    return [*checks, _lamp_passed(settings.lamp_test_seconds)]
