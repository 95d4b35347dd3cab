"""/api/print and /api/printers: the print jobs with their history, the outputs with their
live state, and the controls (retry, cancel, test print) for users (session cookie and
X-CSRF-Token) or the API token."""

from __future__ import annotations

import sqlite3

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi import Path as PathParam

from appliance.printing.job_states import PrintJobState
from appliance.printing.queue import UnknownPrintJob
from appliance.printing.settings import OUTPUT_NAME
from appliance.web.actions import Actions, Refused
from appliance.web.auth import Guards
from appliance.web.models import (
    PrintActionDone,
    Printer,
    PrintJob,
    PrintJobDetail,
    PrintTestRequest,
    Problem,
)
from appliance.web.print_view import print_job_detail, printers, recent_print_jobs
from appliance.web.site import Site

MAX_JOB_ID = 2**63 - 1
ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": Problem} for code in (401, 403, 404, 409, 422)
}


def print_router(site: Site, guards: Guards) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["print"], responses=ERRORS)
    db = Depends(site.db)
    reader = [Depends(guards.api_reader)]
    operator = Depends(guards.operator)

    @router.get("/printers", dependencies=reader)
    def printer_list(conn: sqlite3.Connection = db) -> list[Printer]:
        """Each print output: its AE title, what a Printer N-GET answers now (status and
        Printer Status Info), its device's state and message, and the jobs waiting."""
        return printers(conn, site.config, site.clock())

    @router.get("/print/jobs", dependencies=reader)
    def print_jobs(
        state: PrintJobState | None = None,
        limit: int = Query(50, ge=1, le=1000),
        conn: sqlite3.Connection = db,
    ) -> list[PrintJob]:
        """Newest first."""
        return recent_print_jobs(conn, limit, () if state is None else (state,))

    @router.get("/print/jobs/{job_id}", dependencies=reader)
    def print_job(
        job_id: int = PathParam(ge=1, le=MAX_JOB_ID), conn: sqlite3.Connection = db
    ) -> PrintJobDetail:
        try:
            return print_job_detail(conn, job_id)
        except UnknownPrintJob:
            raise HTTPException(404, f"There is no print job {job_id}.") from None

    @router.post("/print/jobs/{job_id}/retry")
    def retry(
        job_id: int = PathParam(ge=1, le=MAX_JOB_ID),
        who: str = operator,
        conn: sqlite3.Connection = db,
    ) -> PrintActionDone:
        """Send a failed or cancelled print job back to the queue."""
        try:
            message = Actions(conn, site.clock, who).retry_print_job(job_id)
        except Refused as exc:
            raise HTTPException(exc.status, exc.sentence) from None
        return PrintActionDone(message=message, print_job_id=job_id)

    @router.post("/print/jobs/{job_id}/cancel")
    def cancel(
        job_id: int = PathParam(ge=1, le=MAX_JOB_ID),
        who: str = operator,
        conn: sqlite3.Connection = db,
    ) -> PrintActionDone:
        """Cancel a queued or printing job (a film already on its way is finished)."""
        try:
            message = Actions(conn, site.clock, who).cancel_print_job(job_id)
        except Refused as exc:
            raise HTTPException(exc.status, exc.sentence) from None
        return PrintActionDone(message=message, print_job_id=job_id)

    @router.post(
        "/printers/{output}/test",
        status_code=201,
        responses={503: {"model": Problem}},
    )
    def test_print(
        body: PrintTestRequest | None = None,
        output: str = PathParam(max_length=32, pattern=OUTPUT_NAME),
        who: str = operator,
        conn: sqlite3.Connection = db,
    ) -> PrintActionDone:
        """Queue a test film (gray wedge, grid, gradient, circle) on an output, from the
        calling AE title KILN_TEST, like any modality's film."""
        film_size = body.film_size if body is not None else None
        try:
            job_id, message = Actions(conn, site.clock, who).test_print(
                site.config, site.connect, output, film_size
            )
        except Refused as exc:
            raise HTTPException(exc.status, exc.sentence) from None
        return PrintActionDone(message=message, print_job_id=job_id)

    return router
