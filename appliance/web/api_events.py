"""/api/events: the dashboard as server-sent events.

The status is looked at twice a second; a snapshot is sent when it changed, and at least
every two seconds. Each carries the JSON snapshot (`status`, the /api/dashboard model) and
the page's live sections rendered to HTML (`html`), so the page's script only swaps them
in. A stream ends after ten minutes (the browser reconnects by itself after `retry`), so
no connection is held for ever.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from appliance.web.auth import Guards, Visitor
from appliance.web.dashboard import build_dashboard
from appliance.web.models import Dashboard, Problem
from appliance.web.rendering import sections
from appliance.web.site import Site

CHECK_EVERY = 0.5
SEND_EVERY = 2.0
STREAM_FOR = 600.0


def events_router(site: Site, guards: Guards) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["status"])

    def snapshot(visitor: Visitor) -> tuple[str, str]:
        conn = site.connect()
        try:
            dashboard = build_dashboard(conn, site.config, site.clock, site.alarms)
        finally:
            conn.close()
        status = dashboard.model_dump(mode="json")
        changed = hashlib.sha256(
            json.dumps({**status, "time": 0}, sort_keys=True).encode()
        ).hexdigest()
        payload = {"status": status, "html": sections(site, visitor, dashboard)}
        return changed, json.dumps(payload, separators=(",", ":"))

    async def stream(request: Request, visitor: Visitor, count: int) -> AsyncIterator[str]:
        yield f"retry: {int(SEND_EVERY * 1000)}\n\n"
        started = last_sent = time.monotonic()
        last, sent = "", 0
        while time.monotonic() - started < STREAM_FOR:
            digest, payload = await run_in_threadpool(snapshot, visitor)
            if digest != last or time.monotonic() - last_sent >= SEND_EVERY:
                sent += 1
                last, last_sent = digest, time.monotonic()
                yield f"event: snapshot\nid: {sent}\ndata: {payload}\n\n"
                if count and sent >= count:
                    return
            await asyncio.sleep(CHECK_EVERY)
            if await request.is_disconnected():
                return

    @router.get(
        "/events",
        response_class=StreamingResponse,
        responses={
            200: {
                "content": {"text/event-stream": {}},
                "description": "`snapshot` events: {status: Dashboard, html: {section: html}}",
            },
            401: {"model": Problem},
        },
    )
    async def events(
        request: Request,
        count: int = Query(0, ge=0, le=10000, description="stop after this many; 0: no limit"),
        visitor: Visitor = Depends(guards.api_reader),  # noqa: B008
    ) -> StreamingResponse:
        return StreamingResponse(
            stream(request, visitor, count),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    return router


def dashboard_router(site: Site, guards: Guards) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["status"])

    @router.get(
        "/dashboard",
        dependencies=[Depends(guards.api_reader)],
        responses={401: {"model": Problem}},
    )
    def dashboard() -> Dashboard:
        """What the status page shows, in one snapshot (the events stream sends the same)."""
        conn = site.connect()
        try:
            return build_dashboard(conn, site.config, site.clock, site.alarms)
        finally:
            conn.close()

    return router
