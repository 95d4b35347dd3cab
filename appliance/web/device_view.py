"""One station for its page and /api/devices/NAME: its status and its discs' recent
state changes (from the job history, which records the station of every change)."""

from __future__ import annotations

import json
import sqlite3
import time

from appliance.config.schema import KilnConfig
from appliance.publishing.jobs_store import JobStore
from appliance.status import collect
from appliance.web.dashboard import settled, stations_from
from appliance.web.models import Device, Station, Transition

TRANSITIONS_SHOWN = 50


def stations(conn: sqlite3.Connection, config: KilnConfig) -> list[Station]:
    return settled(stations_from(collect(conn, config))[0], JobStore(conn, time.time))


def transitions(conn: sqlite3.Connection, name: str, limit: int) -> list[Transition]:
    # Disc events name the station only when it changes hands; the disc's own row says
    # which station made it, so the events of those discs are this station's history.
    rows = conn.execute(
        "SELECT e.at, e.job_id, e.disc_id, e.event, e.detail FROM job_events e "
        "JOIN job_discs d ON d.id = e.disc_id WHERE d.station = ? "
        "ORDER BY e.id DESC LIMIT ?",
        (name, limit),
    ).fetchall()
    found = []
    for at, job_id, disc_id, event, detail in rows:
        values = json.loads(detail)
        if "before" in values and "after" in values:
            found.append(
                Transition(
                    at=at,
                    job_id=job_id,
                    disc_id=disc_id,
                    event=event,
                    before=str(values["before"]),
                    after=str(values["after"]),
                )
            )
    return found


def device_view(conn: sqlite3.Connection, config: KilnConfig, name: str) -> Device | None:
    for station in stations(conn, config):
        if station.station == name:
            return Device(station=station, transitions=transitions(conn, name, TRANSITIONS_SHOWN))
    return None
