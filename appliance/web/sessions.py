"""Session cookies signed with HMAC-SHA256 over [web] session_secret.

Every visitor gets a session (so the login form has a CSRF token too); logging in issues
a new one. The cookie holds the user, the CSRF token, when it was issued and when the
user's password last changed, so a new password or a removed user ends old sessions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass

log = logging.getLogger(__name__)

COOKIE = "kiln_session"
LIFETIME = 12 * 3600.0  # one working day; then log in again
WEAK_SECRETS = {"", "change-me"}


@dataclass(frozen=True)
class Session:
    user: str  # "" for a visitor who has not logged in
    csrf: str
    issued: float
    password_changed_at: float = 0.0


def signing_key(configured: str) -> bytes:
    """The key sessions are signed with.

    The shipped placeholder is public, so with it (or none) a random key is used instead:
    anyone could forge a session with the placeholder; a random key only costs a new
    login after each restart of the web role.
    """
    if configured in WEAK_SECRETS:
        log.warning(
            "[web] session_secret is not set: sessions end when the web role restarts; "
            "set it to a long random string to keep them"
        )
        return secrets.token_bytes(32)
    return hashlib.sha256(b"kiln-session\0" + configured.encode("utf-8")).digest()


def new_session(now: float, user: str = "", password_changed_at: float = 0.0) -> Session:
    return Session(user, secrets.token_urlsafe(24), now, password_changed_at)


def _mac(key: bytes, payload: bytes) -> str:
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def encode(key: bytes, session: Session) -> str:
    body = json.dumps(
        {
            "u": session.user,
            "c": session.csrf,
            "t": session.issued,
            "p": session.password_changed_at,
        },
        separators=(",", ":"),
    ).encode("utf-8")
    payload = base64.urlsafe_b64encode(body).rstrip(b"=")
    return f"{payload.decode('ascii')}.{_mac(key, payload)}"


def decode(key: bytes, cookie: str, now: float) -> Session | None:
    """The session in `cookie`, or None if it is forged, damaged or too old."""
    payload, _, mac = cookie.partition(".")
    if not payload or not hmac.compare_digest(_mac(key, payload.encode("ascii", "replace")), mac):
        return None
    try:
        body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        session = Session(str(body["u"]), str(body["c"]), float(body["t"]), float(body["p"]))
    except (ValueError, KeyError, TypeError):
        return None
    if not 0 <= now - session.issued <= LIFETIME:
        return None
    return session
