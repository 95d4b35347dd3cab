"""/api/devices (the disc stations with their states and alarm sentences), pausing and
resuming a station, /api/alarms, and acknowledging an alarm when the alarms store is
wired in."""

from __future__ import annotations

import sqlite3

from fastapi import APIRouter, Depends, HTTPException
from fastapi import Path as PathParam

from appliance.status import collect
from appliance.web.actions import Actions, Refused
from appliance.web.alarm_source import report_alarms
from appliance.web.auth import Guards
from appliance.web.dashboard import roles_from, stations_from
from appliance.web.device_view import device_view, stations
from appliance.web.models import (
    ActionDone,
    Alarm,
    Device,
    PauseRequest,
    Problem,
    Station,
    StationHold,
)
from appliance.web.site import Site

ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": Problem} for code in (401, 403, 404, 409, 422)
}


def devices_router(site: Site, guards: Guards) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["devices"], responses=ERRORS)
    db = Depends(site.db)
    reader = [Depends(guards.api_reader)]

    @router.get("/devices", dependencies=reader)
    def devices(conn: sqlite3.Connection = db) -> list[Station]:
        return stations(conn, site.config)

    @router.get("/devices/{name}", dependencies=reader)
    def device(name: str = PathParam(max_length=200), conn: sqlite3.Connection = db) -> Device:
        found = device_view(conn, site.config, name)
        if found is None:
            raise HTTPException(404, f"There is no station {name!r} on this box.")
        return found

    @router.post("/devices/{name}/pause")
    def pause(
        body: PauseRequest | None = None,
        name: str = PathParam(max_length=200),
        who: str = Depends(guards.operator),
        conn: sqlite3.Connection = db,
    ) -> StationHold:
        """Pause a station: it takes no new disc; a disc in progress is finished."""
        reason = body.reason if body is not None else ""
        try:
            message = Actions(conn, site.clock, who).pause_station(site.config, name, reason)
        except Refused as exc:
            raise HTTPException(exc.status, exc.sentence) from None
        return StationHold(message=message, station=name, paused=True)

    @router.post("/devices/{name}/resume")
    def resume(
        name: str = PathParam(max_length=200),
        who: str = Depends(guards.operator),
        conn: sqlite3.Connection = db,
    ) -> StationHold:
        """Resume a paused station: it takes discs again at its next look."""
        try:
            message = Actions(conn, site.clock, who).resume_station(site.config, name)
        except Refused as exc:
            raise HTTPException(exc.status, exc.sentence) from None
        return StationHold(message=message, station=name, paused=False)

    @router.get("/alarms", dependencies=reader)
    def alarms(conn: sqlite3.Connection = db) -> list[Alarm]:
        if site.alarms is not None:
            return site.alarms(conn).active()
        report = collect(conn, site.config)
        found, problems = stations_from(report)
        return report_alarms(found, problems, roles_from(report))

    @router.post("/alarms/{alarm_id}/ack")
    def acknowledge(
        alarm_id: str = PathParam(max_length=200),
        who: str = Depends(guards.operator),
        conn: sqlite3.Connection = db,
    ) -> ActionDone:
        try:
            return ActionDone(
                message=Actions(conn, site.clock, who).acknowledge(site.alarms, alarm_id)
            )
        except Refused as exc:
            raise HTTPException(exc.status, exc.sentence) from None

    return router
