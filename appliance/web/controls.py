"""The page's control forms: each posts here, is checked by the operator guard (login and
CSRF token), runs the action (audited) and redirects back to show what came of it."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from appliance.web.actions import Actions, Refused
from appliance.web.auth import Guards
from appliance.web.forms import field, read_form
from appliance.web.models import BurnRequest
from appliance.web.site import Site

MAX_JOB_ID = 2**63 - 1
BACK = re.compile(r"^/(?:jobs/\d+|print/\d+|studies/[0-9.]+|devices/[^/?#]+)?$")


def back_to(path: str) -> str:
    """Only this site's own pages: a form cannot send the user elsewhere."""
    return path if BACK.match(path) else "/"


def controls_router(site: Site, guards: Guards) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    operator = Depends(guards.operator)
    db = Depends(site.db)

    def redirect(path: str, actions: Actions) -> RedirectResponse:
        return RedirectResponse(f"{back_to(path)}?done={actions.audit_id}", status_code=303)

    def job_control(act: Callable[[Actions, int], object], page: str) -> Callable[..., Any]:
        """Retry or cancel a disc or print job: one form, one guard, one audit each."""

        async def control(
            request: Request,
            job_id: int = PathParam(ge=1, le=MAX_JOB_ID),
            who: str = operator,
            conn: sqlite3.Connection = db,
        ) -> RedirectResponse:
            actions = Actions(conn, site.clock, who)
            with suppress(Refused):  # audited; the page shows its sentence
                act(actions, job_id)
            back = field(await read_form(request), "back") or page.format(job_id=job_id)
            return redirect(back, actions)

        return control

    for path, act, page in (
        ("/jobs/{job_id}/retry", Actions.retry_job, "/jobs/{job_id}"),
        ("/jobs/{job_id}/cancel", Actions.cancel_job, "/jobs/{job_id}"),
        ("/print/{job_id}/retry", Actions.retry_print_job, "/print/{job_id}"),
        ("/print/{job_id}/cancel", Actions.cancel_print_job, "/print/{job_id}"),
    ):
        router.post(path)(job_control(act, page))

    @router.post("/printers/{output}/test")
    async def test_print(
        request: Request, output: str, who: str = operator, conn: sqlite3.Connection = db
    ) -> RedirectResponse:
        form = await read_form(request)
        actions = Actions(conn, site.clock, who)
        try:
            job_id, _ = actions.test_print(
                site.config, site.connect, output[:64], field(form, "film_size")[:16] or None
            )
        except Refused:  # audited; the page shows its sentence
            return redirect(field(form, "back"), actions)
        return redirect(f"/print/{job_id}", actions)

    @router.post("/burn")
    async def burn(
        request: Request, who: str = operator, conn: sqlite3.Connection = db
    ) -> RedirectResponse:
        form = await read_form(request)
        studies = [u for text in form.get("studies", []) for u in text.split()]
        actions = Actions(conn, site.clock, who)
        try:
            wanted = BurnRequest(
                studies=studies,
                profile=field(form, "profile") or None,
                copies=int(field(form, "copies")) if field(form, "copies") else None,
            )
        except (ValidationError, ValueError):
            actions.refuse(
                "burn",
                " ".join(studies),
                422,
                "Name 1 to 100 Study Instance UIDs (digits and dots) and 0 to 20 copies; "
                "nothing was queued.",
            )
            return redirect(field(form, "back"), actions)
        try:
            job_id, _ = actions.burn(site.config, wanted)
        except Refused:
            return redirect(field(form, "back"), actions)
        return redirect(f"/jobs/{job_id}", actions)

    @router.post("/devices/{name}/pause")
    async def pause(
        request: Request, name: str, who: str = operator, conn: sqlite3.Connection = db
    ) -> RedirectResponse:
        form = await read_form(request)
        actions = Actions(conn, site.clock, who)
        with suppress(Refused):  # audited; the page shows its sentence
            actions.pause_station(site.config, name[:200], field(form, "reason")[:500])
        return redirect(field(form, "back"), actions)

    @router.post("/devices/{name}/resume")
    async def resume(
        request: Request, name: str, who: str = operator, conn: sqlite3.Connection = db
    ) -> RedirectResponse:
        actions = Actions(conn, site.clock, who)
        with suppress(Refused):  # audited; the page shows its sentence
            actions.resume_station(site.config, name[:200])
        return redirect(field(await read_form(request), "back"), actions)

    @router.post("/alarms/{alarm_id}/ack")
    async def acknowledge(
        request: Request, alarm_id: str, who: str = operator, conn: sqlite3.Connection = db
    ) -> RedirectResponse:
        actions = Actions(conn, site.clock, who)
        with suppress(Refused):  # audited; the page shows its sentence
            actions.acknowledge(site.alarms, alarm_id[:200])
        return redirect(field(await read_form(request), "back"), actions)

    return router
