"""The box's devices: what the configuration names, joined with what the devices role saw.

One entry per configured station (`[publishing.stations.NAME]`), with its devices and
addresses, the runtime stations it became (a robot's drives are stations `NAME-d0`...),
their conditions and states from the devices role's heartbeat, and why it was not
opened, if it was not. `appliance device`, the support bundle and the web page share it.
"""

from __future__ import annotations

from typing import Any

from appliance.config.schema import KilnConfig
from appliance.publishing.stations.settings import SIMULATED, StationKind, StationSettings

# Worst last: the station's summary is its worst runtime station.
CONDITION_ORDER = ("ready", "paused", "retrying", "waiting-operator", "out-of-service")


def runtime_names(name: str, settings: StationSettings) -> list[str]:
    """The stations the job runner makes of one configured station (factory.py names them)."""
    if settings.kind is StationKind.ROBOT:
        return [f"{name}-d{index}" for index in range(len(settings.drives))]
    return [name]


def devices_of(settings: StationSettings) -> list[dict[str, Any]]:
    if settings.kind is StationKind.PTBURN:
        ptburn = settings.ptburn
        return [
            {
                "device": "ptburn-host",
                "address": ptburn.address,
                "folder": str(ptburn.folder) if ptburn.folder else "",
                "simulated": ptburn.address.startswith(SIMULATED),
            }
        ]
    found: list[dict[str, Any]] = []
    if settings.kind is StationKind.ROBOT:
        found.append(
            {
                "device": "robot",
                "address": settings.robot.port,
                "model": settings.robot.model,
                "simulated": settings.robot.port.startswith(SIMULATED),
            }
        )
    for index, drive in enumerate(settings.drives):
        found.append(
            {
                "device": f"drive {index}",
                "address": drive.device,
                "simulated": drive.device.startswith(SIMULATED),
            }
        )
    return found


def _summary(views: list[dict[str, Any]], problem: str | None, role_up: bool) -> str:
    if not role_up:
        return "unknown (devices role not running)"
    if problem:
        return "not-opened"
    if not views:
        return "unknown"
    conditions = [str(v.get("condition", "ready")) for v in views]
    return max(conditions, key=lambda c: CONDITION_ORDER.index(c) if c in CONDITION_ORDER else 0)


def inventory(config: KilnConfig, report: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Every configured station with its devices and, from `report`, their states."""
    devices_role = (report or {}).get("roles", {}).get("devices") or {}
    role_up = bool(devices_role.get("up"))
    views = {v["station"]: v for v in devices_role.get("devices", [])}
    problems: dict[str, str] = devices_role.get("problems", {})
    entries = []
    for name, settings in config.publishing.stations.items():
        mine = [views[n] for n in runtime_names(name, settings) if n in views]
        problem = problems.get(name)
        entries.append(
            {
                "name": name,
                "kind": settings.kind.value,
                "media": [m.value for m in settings.media],
                "station_names": runtime_names(name, settings),
                "devices": devices_of(settings),
                "condition": _summary(mine, problem, role_up),
                "problem": problem,
                "stations": [
                    {
                        "station": view["station"],
                        "condition": view.get("condition"),
                        "sentence": view.get("sentence") or "",
                        "step": view.get("step"),
                        "disc": view.get("disc"),
                        "lent_to": view.get("lent_to") or "",  # a test burn has it
                        "device": view.get("device", {}),
                    }
                    for view in mine
                ]
                if role_up
                else [],
            }
        )
    return entries


def states(station: dict[str, Any]) -> str:
    """A runtime station's device states in one word ("idle/empty"), for text output."""
    device = station.get("device") or {}
    kind = device.get("kind")
    if kind == "robot":
        return f"robot {device.get('robot_state')}, drive {device.get('drive_state')}"
    if kind == "manual":
        return f"drive {device.get('drive')}"
    if kind == "ptburn":
        return "host online" if device.get("online", True) else "host offline"
    return str(device.get("error", ""))


def printer_condition(status: str, role_up: bool, problem: str | None) -> str:
    """A print output's summary: the devices role's view of it, in one word."""
    if not role_up:
        return "unknown (devices role not running)"
    if problem:
        return "not-opened"
    return {"NORMAL": "ready", "WARNING": "warning", "FAILURE": "failure"}.get(status, "unknown")


def printer_inventory(config: KilnConfig, report: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Every print output of `[print.outputs]`: its device, what modalities are told
    (Printer Status and Info), the device state machine's state, the jobs waiting."""
    devices_role = (report or {}).get("roles", {}).get("devices") or {}
    role_up = bool(devices_role.get("up"))
    printing = devices_role.get("printers") or {}
    problems: dict[str, str] = printing.get("problems", {})
    running: dict[str, Any] = printing.get("outputs", {})
    reported = {o["output"]: o for o in (report or {}).get("print", {}).get("outputs", [])}
    entries = []
    for name, output in config.print.outputs.items():
        seen = reported.get(name, {})
        status = str(seen.get("status", "FAILURE"))
        entries.append(
            {
                "name": name,
                "kind": output.kind.value,
                "device": "printer",
                "ae_title": output.ae_title,
                "address": output.address,
                "simulated": output.address.startswith(SIMULATED),
                "description": output.description,
                "condition": printer_condition(status, role_up, problems.get(name)),
                "problem": problems.get(name),
                "status": status,
                "status_info": str(seen.get("status_info", "")),
                "state": str(seen.get("state", "unknown")),
                "message": str(seen.get("message", "")),
                "waiting": int(seen.get("waiting", 0)),
                "printing_job": (running.get(name) or {}).get("job") if role_up else None,
            }
        )
    return entries
