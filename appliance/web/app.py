"""FastAPI application: the status page, its JSON API and /metrics.

Errors become HTTP errors here, once: a sentence in `{"detail": ...}` for the API, the
same sentence on an error page for a browser.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from appliance import __version__
from appliance.config.schema import KilnConfig
from appliance.db.database import connect
from appliance.status import collect
from appliance.storage.queries import StudyQueries
from appliance.storage.uids import InvalidUID, check_uid
from appliance.web.alarm_source import AlarmsFactory
from appliance.web.api_devices import devices_router
from appliance.web.api_events import dashboard_router, events_router
from appliance.web.api_jobs import jobs_router
from appliance.web.api_print import print_router
from appliance.web.auth import Guards, LoginNeeded, SessionCookie
from appliance.web.controls import controls_router
from appliance.web.login import login_router
from appliance.web.metrics import metrics_router
from appliance.web.models import Problem, StatusReport, StudyListing
from appliance.web.pages import pages_router
from appliance.web.rendering import page, register_filters, wants_html
from appliance.web.sessions import signing_key
from appliance.web.site import HERE, Site, public_status, template_environment
from appliance.web.worklist_api import worklist_router

# Every error is {"detail": sentence}: said so in the description (not FastAPI's default 422).
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem} for code in (400, 401, 403, 404, 422)
}


def create_app(
    config: KilnConfig,
    connect_db: Callable[[], sqlite3.Connection] | None = None,
    *,
    alarms: AlarmsFactory | None = None,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    app = FastAPI(title="Kiln", version=__version__)
    site = Site(
        config=config,
        connect=connect_db or (lambda: connect(config.box.data_dir)),
        key=signing_key(config.web.session_secret.get_secret_value()),
        clock=clock,
        public=public_status(config),
        alarms=alarms,
        templates=template_environment(),
    )
    register_filters(site)
    guards = Guards(site)
    db = site.db
    reader = [Depends(guards.api_reader)]

    @app.get("/api/status", dependencies=reader, responses=PROBLEMS)
    def status(conn: sqlite3.Connection = Depends(db)) -> StatusReport:  # noqa: B008
        """The box at a glance: roles, services, counts, queues, printers, disk, alarms."""
        return StatusReport.model_validate(collect(conn, config))

    @app.get("/api/studies", dependencies=reader, responses=PROBLEMS)
    def studies(limit: int = 100, conn: sqlite3.Connection = Depends(db)) -> list[StudyListing]:  # noqa: B008
        """The most recently received studies first (at most `limit`, 1-1000)."""
        return [
            StudyListing.model_validate({**row, "modalities": row["modalities"] or ""})
            for row in StudyQueries(conn).list(min(max(limit, 1), 1000))
        ]

    @app.get("/api/studies/{study_uid}", dependencies=reader, responses=PROBLEMS)
    def study(study_uid: str, conn: sqlite3.Connection = Depends(db)) -> dict[str, Any]:  # noqa: B008
        try:
            uid = check_uid(study_uid, "Study Instance UID")
        except InvalidUID as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        found = StudyQueries(conn).show(uid)
        if found is None:
            raise HTTPException(status_code=404, detail=f"no study {uid} on this box")
        return found

    app.include_router(worklist_router(config, db), dependencies=reader, responses=PROBLEMS)
    for router in (
        dashboard_router,
        events_router,
        jobs_router,
        print_router,
        devices_router,
        metrics_router,
        login_router,
        pages_router,
        controls_router,
    ):
        app.include_router(router(site, guards))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(SessionCookie)
    _error_handlers(app, site, guards)
    return app


def _error_handlers(app: FastAPI, site: Site, guards: Guards) -> None:
    def answer(request: Request, status: int, sentence: str, headers: Any = None) -> Response:
        if wants_html(request):
            return page(
                site, guards.visitor(request), "error.html", status, code=status, sentence=sentence
            )
        return JSONResponse({"detail": sentence}, status_code=status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return answer(request, exc.status_code, str(exc.detail), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        return answer(request, 422, validation_sentence(exc))

    @app.exception_handler(LoginNeeded)
    async def login_needed(request: Request, exc: LoginNeeded) -> Response:
        return RedirectResponse(f"/login?next={quote(exc.next_path)}", status_code=303)


def validation_sentence(exc: RequestValidationError) -> str:
    """The first problem as a sentence: where, and what was wrong."""
    errors = exc.errors()
    if not errors:
        return "The request could not be read."
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "the request"
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return f"{where}: {first.get('msg', 'is not valid')}{more}; nothing was changed."
