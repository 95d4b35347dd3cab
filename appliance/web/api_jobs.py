"""/api/jobs: the disc job queue, one job with its discs and history, and the controls
(retry, cancel, burn) for users (session cookie and X-CSRF-Token) or the API token."""

from __future__ import annotations

import sqlite3

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi import Path as PathParam

from appliance.publishing.job_states import JobState
from appliance.publishing.jobs_store import JobStore, UnknownJob
from appliance.status import collect
from appliance.web.actions import Actions, Refused
from appliance.web.auth import Guards
from appliance.web.dashboard import job_detail, job_view, progress_of, stations_from
from appliance.web.models import ActionDone, BurnRequest, Job, JobDetail, Problem
from appliance.web.site import Site

MAX_JOB_ID = 2**63 - 1
ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": Problem} for code in (400, 401, 403, 404, 409, 422)
}


def jobs_router(site: Site, guards: Guards) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["jobs"], responses=ERRORS)
    db = Depends(site.db)
    reader = [Depends(guards.api_reader)]
    operator = Depends(guards.operator)

    def progress(conn: sqlite3.Connection) -> dict[int, float]:
        return progress_of(stations_from(collect(conn, site.config))[0])

    @router.get("/jobs", dependencies=reader)
    def jobs(
        state: JobState | None = None,
        limit: int = Query(50, ge=1, le=1000),
        conn: sqlite3.Connection = db,
    ) -> list[Job]:
        """Newest first, each with the newest attempt of each of its discs."""
        store = JobStore(conn, site.clock)
        found = store.jobs(None if state is None else [state], limit=limit)
        shown = progress(conn)
        return [job_view(store, j, shown) for j in found]

    @router.get("/jobs/{job_id}", dependencies=reader)
    def job(
        job_id: int = PathParam(ge=1, le=MAX_JOB_ID), conn: sqlite3.Connection = db
    ) -> JobDetail:
        try:
            return job_detail(JobStore(conn, site.clock), job_id, progress(conn))
        except UnknownJob:
            raise HTTPException(404, f"There is no job {job_id}.") from None

    def act(conn: sqlite3.Connection, who: str) -> Actions:
        return Actions(conn, site.clock, who)

    @router.post("/jobs/{job_id}/retry")
    def retry(
        job_id: int = PathParam(ge=1, le=MAX_JOB_ID),
        who: str = operator,
        conn: sqlite3.Connection = db,
    ) -> ActionDone:
        try:
            return ActionDone(message=act(conn, who).retry_job(job_id), job_id=job_id)
        except Refused as exc:
            raise HTTPException(exc.status, exc.sentence) from None

    @router.post("/jobs/{job_id}/cancel")
    def cancel(
        job_id: int = PathParam(ge=1, le=MAX_JOB_ID),
        who: str = operator,
        conn: sqlite3.Connection = db,
    ) -> ActionDone:
        try:
            return ActionDone(message=act(conn, who).cancel_job(job_id), job_id=job_id)
        except Refused as exc:
            raise HTTPException(exc.status, exc.sentence) from None

    @router.post("/burns", status_code=201)
    def burn(body: BurnRequest, who: str = operator, conn: sqlite3.Connection = db) -> ActionDone:
        """Queue a disc job for studies on this box; the devices role burns it."""
        try:
            job_id, sentence = act(conn, who).burn(site.config, body)
        except Refused as exc:
            raise HTTPException(exc.status, exc.sentence) from None
        return ActionDone(message=sentence, job_id=job_id)

    return router
