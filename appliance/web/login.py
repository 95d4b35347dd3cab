"""/login and /logout. Logging in issues a new session (a new CSRF token too), so a
session fixed before the login is worth nothing after it."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from appliance.web.audit import AuditLog, Result
from appliance.web.auth import Guards, Visitor, issue
from appliance.web.forms import field, read_form
from appliance.web.rendering import page
from appliance.web.sessions import new_session
from appliance.web.site import Site
from appliance.web.users import UserStore

TRIES = 5
WINDOW = 300.0  # seconds: five wrong passwords for a name, then it waits this long
LOCAL = re.compile(r"^/(?!/)[^\s\\]*$")


def local_path(path: str) -> str:
    """Where to go after the login: a path on this site only."""
    return path if LOCAL.match(path) else "/"


def login_router(site: Site, guards: Guards) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/login", response_class=HTMLResponse)
    def login_form(
        next: str = "/",
        visitor: Visitor = Depends(guards.visitor),  # noqa: B008
    ) -> HTMLResponse:
        return page(site, visitor, "login.html", next=local_path(next), error="")

    @router.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        visitor = guards.visitor(request)
        form = await read_form(request)
        name, password = field(form, "name")[:64], field(form, "password")
        target = local_path(field(form, "next") or "/")
        if field(form, "csrf") != visitor.csrf:
            return page(
                site,
                visitor,
                "login.html",
                403,
                next=target,
                error="The login form was out of date; it has been reloaded — try again.",
            )
        now = site.clock()
        recent = [t for t in site.failures.get(name, []) if now - t < WINDOW]
        site.failures[name] = recent
        conn = site.connect()
        try:
            audit = AuditLog(conn, site.clock)
            if len(recent) >= TRIES:
                sentence = "Too many wrong passwords for this name; wait five minutes."
                audit.record(name, "login", "", Result.REFUSED, sentence)
                return page(site, visitor, "login.html", 429, next=target, error=sentence)
            user = UserStore(conn, site.clock).authenticate(name, password)
            if user is None:
                recent.append(now)
                sentence = "Wrong name or password."
                audit.record(name, "login", "", Result.REFUSED, sentence)
                return page(site, visitor, "login.html", 401, next=target, error=sentence)
            site.failures.pop(name, None)
            audit.record(user.name, "login", "", Result.DONE, "logged in")
        finally:
            conn.close()
        issue(site, request, new_session(now, user.name, user.password_changed_at))
        return RedirectResponse(target, status_code=303)

    @router.post("/logout")
    async def logout(request: Request) -> RedirectResponse:
        visitor = guards.visitor(request)
        if field(await read_form(request), "csrf") != visitor.csrf:
            raise HTTPException(403, "The page was out of date; reload it and log out again.")
        if visitor.user:
            conn = site.connect()
            try:
                AuditLog(conn, site.clock).record(
                    visitor.user, "logout", "", Result.DONE, "logged out"
                )
            finally:
                conn.close()
        issue(site, request, new_session(site.clock()))
        return RedirectResponse("/", status_code=303)

    return router
