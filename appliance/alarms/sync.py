"""Alarms derived from the status report: raise what is true now, clear what no longer is.

`sync_alarms` is cheap and idempotent, so a role can call it every few seconds with a fresh
`appliance.status.collect` report; two processes calling it at once is safe (one
transaction each). Alarms of sources it does not derive (USB, LEDs) are left alone:
whoever raises those clears them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from appliance.alarms.store import Alarm, AlarmSource, AlarmStore, Severity
from appliance.db.database import transaction

Wanted = dict[tuple[AlarmSource, str], tuple[Severity, str]]

# What stops while a role is down, for its alarm sentence.
ROLE_DUTIES = {
    "dicom": "studies are not received and the worklist is not answered",
    "devices": "no discs are made and the device states on this page are not updated",
    "web": "the status page and its API do not answer",
}

STATION_SEVERITY = {
    "waiting-operator": Severity.ATTENTION,
    "retrying": Severity.ATTENTION,
    "out-of-service": Severity.ERROR,
}


@dataclass
class SyncResult:
    raised: list[Alarm] = field(default_factory=list)  # new alarms only
    cleared: list[Alarm] = field(default_factory=list)


def _clock(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def role_alarms(report: dict[str, Any]) -> Wanted:
    wanted: Wanted = {}
    for name, role in report.get("roles", {}).items():
        if role.get("up"):
            continue
        duty = ROLE_DUTIES.get(name, "its work is not being done")
        wanted[(AlarmSource.ROLE, name)] = (
            Severity.ERROR,
            f"The {name} role has not reported since {_clock(role['last_seen'])}: {duty}. "
            "The box restarts a stopped role by itself; if this alarm stays, restart it "
            f"(systemctl restart kiln-{name}) and send 'appliance diagnostics' to support.",
        )
    return wanted


def device_sentence(device: dict[str, Any]) -> str:
    """A station's own alarm: a sentence (robot), or a dict with one (PTBurn's alarm)."""
    alarm = device.get("alarm")
    if isinstance(alarm, dict):
        alarm = alarm.get("sentence")
    return str(alarm or device.get("sentence") or "")


def station_alarms(devices: dict[str, Any]) -> Wanted:
    """From the devices role's heartbeat: each station not ready, and those not opened."""
    wanted: Wanted = {}
    for station in devices.get("devices", []):
        severity = STATION_SEVERITY.get(station.get("condition", ""))
        if severity is None:
            continue
        name = station["station"]
        device = station.get("device") or {}
        sentence = (
            station.get("sentence")
            or device_sentence(device)
            or f"Station {name} is {station['condition']}: its discs wait. Look at the station "
            f"and run 'appliance device test {name}' if it stays so."
        )
        wanted[(AlarmSource.STATION, name)] = (severity, str(sentence))
    for name, sentence in devices.get("problems", {}).items():
        wanted[(AlarmSource.STATION, name)] = (Severity.ERROR, str(sentence))
    return wanted


def outbox_alarms(report: dict[str, Any]) -> Wanted:
    failed = int(report.get("outbox", {}).get("failed", 0))
    if not failed:
        return {}
    return {
        (AlarmSource.OUTBOX, "failed"): (
            Severity.ERROR,
            f"{failed} outbound DICOM message(s) (MPPS relay, storage commitment reports) "
            "failed after all their retries: the box keeps them but no longer sends them. "
            "Check that the destination is up and reachable ('appliance outbox ls --state "
            "failed' says why), then 'appliance outbox retry --all-failed'.",
        )
    }


def disk_alarms(report: dict[str, Any]) -> Wanted:
    disk = report.get("disk", {})
    reserve, free = int(disk.get("reserve", 0)), int(disk.get("free", 0))
    if not reserve or free >= reserve:
        return {}
    return {
        (AlarmSource.DISK, "data"): (
            Severity.ERROR,
            f"The data disk has {free / 1e9:.1f} GB free, below the reserve of "
            f"{reserve / 1e9:.1f} GB: the box refuses new studies (Out of Resources) until "
            "space is freed. Delete studies that are no longer needed or add storage.",
        )
    }


def job_alarms(conn: sqlite3.Connection) -> Wanted:
    """Parked and failed jobs wait for an operator: their message says what to do."""
    wanted: Wanted = {}
    rows = conn.execute(
        "SELECT id, state, message FROM jobs WHERE state IN ('parked', 'failed') ORDER BY id"
    )
    for job_id, state, message in rows:
        sentence = message or (
            f"the box stopped working on it. See 'appliance jobs show {job_id}', then "
            f"'appliance jobs retry {job_id}' or 'appliance jobs cancel {job_id}'."
        )
        wanted[(AlarmSource.JOBS, str(job_id))] = (
            Severity.ERROR,
            f"Disc job {job_id} is {state}: {sentence}",
        )
    return wanted


PRINTER_SEVERITY = {"WARNING": Severity.ATTENTION, "FAILURE": Severity.ERROR}


def print_alarms(conn: sqlite3.Connection, report: dict[str, Any]) -> Wanted:
    """A print output that warns or fails, and print jobs that failed."""
    wanted: Wanted = {}
    for output in report.get("print", {}).get("outputs", []):
        severity = PRINTER_SEVERITY.get(output["status"])
        if severity is None or output["status_info"] == "PRINTER INIT":
            continue
        name = output["output"]
        waiting = int(output.get("waiting", 0))
        queued = f" {waiting} print job(s) wait for it." if waiting else ""
        sentence = output.get("message") or (f"The {name} printer reports {output['status_info']}.")
        wanted[(AlarmSource.PRINT, f"output:{name}")] = (
            severity,
            f"Printer {name} ({output['status']}, {output['status_info']}): {sentence}{queued}",
        )
    printers = report.get("roles", {}).get("devices", {}).get("printers", {})
    for name, problem in printers.get("problems", {}).items():
        wanted[(AlarmSource.PRINT, f"output:{name}")] = (Severity.ERROR, str(problem))
    rows = conn.execute(
        "SELECT id, output, message FROM print_jobs WHERE state = 'failed' ORDER BY id"
    )
    for job_id, output, message in rows:
        wanted[(AlarmSource.PRINT, f"job:{job_id}")] = (
            Severity.ERROR,
            f"Print job {job_id} on {output} failed: {message or 'see appliance print show'}. "
            f"Retry it with 'appliance print retry {job_id}' or cancel it.",
        )
    return wanted


def derive(conn: sqlite3.Connection, report: dict[str, Any]) -> tuple[Wanted, set[AlarmSource]]:
    """The alarms the report calls for, and the sources whose other alarms are over."""
    wanted: Wanted = {}
    settled = {AlarmSource.ROLE, AlarmSource.OUTBOX, AlarmSource.DISK, AlarmSource.JOBS}
    wanted.update(role_alarms(report))
    wanted.update(outbox_alarms(report))
    wanted.update(disk_alarms(report))
    wanted.update(job_alarms(conn))
    devices = report.get("roles", {}).get("devices")
    if devices is None or devices.get("up"):
        # Up: its heartbeat is the truth. Absent: it stopped cleanly, so no station runs.
        # Silent but not stopped: nothing is known, and the station alarms stay as they are.
        wanted.update(station_alarms(devices or {}))
        wanted.update(print_alarms(conn, report))
        settled.update((AlarmSource.STATION, AlarmSource.PRINT))
    return wanted, settled


def sync_alarms(conn: sqlite3.Connection, report: dict[str, Any]) -> SyncResult:
    """Raise the alarms the report calls for; clear the derived ones it no longer does."""
    wanted, settled = derive(conn, report)
    store = AlarmStore(conn)
    result = SyncResult()
    with transaction(conn):
        for (source, key), (severity, sentence) in wanted.items():
            alarm, new = store.raise_alarm(source, key, severity, sentence)
            if new:
                result.raised.append(alarm)
        for alarm in store.active():
            if alarm.source in settled and (AlarmSource(alarm.source), alarm.key) not in wanted:
                cleared = store.clear(alarm.source, alarm.key)
                if cleared is not None:
                    result.cleared.append(cleared)
    return result
