"""HTML from the Jinja2 templates: whole pages, and the dashboard's live sections (the
same templates the page starts with, so a live update looks exactly like a reload)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from appliance.web.auth import Visitor
from appliance.web.models import Dashboard
from appliance.web.site import Site

SECTIONS = (
    "alarms",
    "services",
    "stations",
    "jobs",
    "queues",
    "printers",
    "print_jobs",
    "studies",
)


def when(timestamp: float | None) -> str:
    if not timestamp:
        return ""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def size(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(count) < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} TB"


def percent(fraction: float | None) -> str:
    if fraction is None or math.isnan(fraction):
        return ""
    return f"{round(max(0.0, min(1.0, fraction)) * 100)}%"


def register_filters(site: Site) -> None:
    site.templates.filters.update(when=when, size=size, percent=percent)


def context(site: Site, visitor: Visitor, **values: Any) -> dict[str, Any]:
    return {
        "box": site.config.box.name,
        "user": visitor.user,
        "csrf": visitor.csrf,
        "public": site.public,
        "can_ack": site.alarms is not None,
        **values,
    }


def page(site: Site, visitor: Visitor, name: str, status: int = 200, **values: Any) -> HTMLResponse:
    html = site.templates.get_template(name).render(context(site, visitor, **values))
    return HTMLResponse(html, status_code=status)


def sections(site: Site, visitor: Visitor, dashboard: Dashboard) -> dict[str, str]:
    values = context(site, visitor, d=dashboard)
    return {name: site.templates.get_template(f"_{name}.html").render(values) for name in SECTIONS}


def wants_html(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith("/api") or path == "/metrics")
