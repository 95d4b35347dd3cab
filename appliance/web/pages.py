"""The HTML pages: dashboard, study, job, print job, device (station) and the audit trail."""

from __future__ import annotations

import sqlite3
from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse

from appliance.printing.queue import UnknownPrintJob
from appliance.publishing.jobs_store import JobStore, UnknownJob
from appliance.publishing.settings import publishing_settings
from appliance.status import collect
from appliance.storage.queries import StudyQueries
from appliance.storage.uids import InvalidUID, check_uid
from appliance.web.audit import AuditLog
from appliance.web.auth import Guards, Visitor
from appliance.web.dashboard import build_dashboard, job_detail, progress_of, stations_from
from appliance.web.device_view import device_view
from appliance.web.print_view import print_job_detail, printers
from appliance.web.rendering import page
from appliance.web.site import Site

MAX_JOB_ID = 2**63 - 1
INSTANCES_SHOWN = 500  # per series; a 3000-slice CT would make the page slow on a phone


def pages_router(site: Site, guards: Guards) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    reader = Depends(guards.page_reader)
    db = Depends(site.db)

    def notice(conn: sqlite3.Connection, visitor: Visitor, done: int) -> dict[str, Any] | None:
        """The sentence of the user's own last action (after the redirect that follows it)."""
        if not done or not visitor.user:
            return None
        entry = AuditLog(conn, site.clock).entry(done)
        if entry is None or entry.who != visitor.user:
            return None
        return {"result": entry.result, "text": entry.detail}

    @router.get("/", response_class=HTMLResponse)
    def dashboard(
        done: int = 0, visitor: Visitor = reader, conn: sqlite3.Connection = db
    ) -> HTMLResponse:
        d = build_dashboard(conn, site.config, site.clock, site.alarms)
        profiles = sorted(publishing_settings(site.config).profiles)
        return page(
            site,
            visitor,
            "dashboard.html",
            d=d,
            profiles=profiles,
            notice=notice(conn, visitor, done),
        )

    @router.get("/print/{job_id}", response_class=HTMLResponse)
    def print_job(
        job_id: int = PathParam(ge=1, le=MAX_JOB_ID),
        done: int = 0,
        visitor: Visitor = reader,
        conn: sqlite3.Connection = db,
    ) -> HTMLResponse:
        try:
            detail = print_job_detail(conn, job_id)
        except UnknownPrintJob:
            raise HTTPException(404, f"There is no print job {job_id}.") from None
        output = next(
            (p for p in printers(conn, site.config, site.clock()) if p.output == detail.output),
            None,
        )
        return page(
            site,
            visitor,
            "print_job.html",
            p=detail,
            printer=output,
            notice=notice(conn, visitor, done),
        )

    @router.get("/studies/{study_uid}", response_class=HTMLResponse)
    def study(
        study_uid: str, visitor: Visitor = reader, conn: sqlite3.Connection = db
    ) -> HTMLResponse:
        try:
            uid = check_uid(study_uid, "Study Instance UID")
        except InvalidUID as exc:
            raise HTTPException(400, str(exc)) from None
        found = StudyQueries(conn).show(uid)
        if found is None:
            raise HTTPException(404, f"There is no study {uid} on this box.")
        profiles = sorted(publishing_settings(site.config).profiles)
        return page(site, visitor, "study.html", s=found, shown=INSTANCES_SHOWN, profiles=profiles)

    @router.get("/jobs/{job_id}", response_class=HTMLResponse)
    def job(
        job_id: int = PathParam(ge=1, le=MAX_JOB_ID),
        done: int = 0,
        visitor: Visitor = reader,
        conn: sqlite3.Connection = db,
    ) -> HTMLResponse:
        stations, _ = stations_from(collect(conn, site.config))
        try:
            detail = job_detail(JobStore(conn, site.clock), job_id, progress_of(stations))
        except UnknownJob:
            raise HTTPException(404, f"There is no job {job_id}.") from None
        return page(site, visitor, "job.html", j=detail, notice=notice(conn, visitor, done))

    @router.get("/devices/{name}", response_class=HTMLResponse)
    def device(
        name: str, done: int = 0, visitor: Visitor = reader, conn: sqlite3.Connection = db
    ) -> HTMLResponse:
        found = device_view(conn, site.config, name)
        if found is None:
            raise HTTPException(404, f"There is no station {name!r} on this box.")
        return page(site, visitor, "device.html", dev=found, notice=notice(conn, visitor, done))

    @router.get("/audit", response_class=HTMLResponse)
    def audit(
        visitor: Visitor = Depends(guards.visitor),  # noqa: B008
        conn: sqlite3.Connection = db,
    ) -> HTMLResponse:
        if not visitor.user:
            raise HTTPException(401, "Log in to see who did what on this box.")
        return page(site, visitor, "audit.html", rows=AuditLog(conn, site.clock).recent(200))

    return router
