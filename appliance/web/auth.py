"""Who is asking: the session cookie, the login guard for pages and the API, and the
operator guard for controls (a logged-in user with the session's CSRF token, or a
program with the [web] api_token as a bearer token)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from fastapi import HTTPException, Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from appliance.web.forms import field, read_form
from appliance.web.sessions import COOKIE, LIFETIME, Session, decode, encode, new_session
from appliance.web.site import Site
from appliance.web.users import UserStore

API_TOKEN_USER = "api-token"  # noqa: S105 - the audit name of the token, not a secret


@dataclass(frozen=True)
class Visitor:
    session: Session

    @property
    def user(self) -> str:
        return self.session.user

    @property
    def csrf(self) -> str:
        return self.session.csrf


class LoginNeeded(Exception):
    """A page that needs a login: answered with a redirect to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def issue(site: Site, request: Request, session: Session) -> None:
    """Send `session` as the cookie with this request's response (SessionCookie)."""
    request.state.set_cookie = (
        f"{COOKIE}={encode(site.key, session)}; Path=/; HttpOnly; SameSite=Strict; "
        f"Max-Age={int(LIFETIME)}"
    )
    request.state.visitor = Visitor(session)


class Guards:
    def __init__(self, site: Site) -> None:
        self.site = site

    def visitor(self, request: Request) -> Visitor:
        known = getattr(request.state, "visitor", None)
        if isinstance(known, Visitor):
            return known
        now = self.site.clock()
        session = decode(self.site.key, request.cookies.get(COOKIE, ""), now)
        if session is not None and session.user and not self._still_valid(session):
            session = None  # removed, or the password changed since
        if session is None:
            issue(self.site, request, new_session(now))
        else:
            request.state.visitor = Visitor(session)
        visitor: Visitor = request.state.visitor
        return visitor

    def _still_valid(self, session: Session) -> bool:
        conn = self.site.connect()
        try:
            user = UserStore(conn, self.site.clock).get(session.user)
        finally:
            conn.close()
        return user is not None and user.password_changed_at == session.password_changed_at

    def _bearer(self, request: Request) -> bool:
        token = self.site.config.web.api_token.get_secret_value()
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        return (
            bool(token)
            and scheme.lower() == "bearer"
            and hmac.compare_digest(given.strip().encode(), token.encode())
        )

    def api_reader(self, request: Request) -> Visitor:
        visitor = self.visitor(request)
        if self.site.public or visitor.user or self._bearer(request):
            return visitor
        raise HTTPException(401, "log in on the status page or send the API bearer token")

    def page_reader(self, request: Request) -> Visitor:
        visitor = self.visitor(request)
        if self.site.public or visitor.user:
            return visitor
        raise LoginNeeded(request.url.path)

    async def operator(self, request: Request) -> str:
        """The name to audit the action under; refuses anyone else."""
        if self._bearer(request):
            return API_TOKEN_USER  # a program: no cookie, so no cross-site forgery to stop
        visitor = self.visitor(request)
        if not visitor.user:
            raise HTTPException(401, "log in first: only users of this box may do that")
        given = request.headers.get("x-csrf-token", "")
        if not given and request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            given = field(await read_form(request), "csrf")
        if not given or not hmac.compare_digest(given.encode(), visitor.csrf.encode()):
            raise HTTPException(
                403,
                "the page was out of date (its security token did not match); reload it "
                "and try again",
            )
        return visitor.user


class SessionCookie:
    """ASGI middleware: adds the cookie a guard issued to the response, streaming or not."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = scope.get("state", {}).get("set_cookie")
                if cookie:
                    MutableHeaders(scope=message).append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, sending)
