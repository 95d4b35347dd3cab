"""Password hashes with hashlib.scrypt: `scrypt$n$r$p$salt$hash`, salt and hash base64.

The cost parameters travel with each hash, so they can be raised later without locking
anyone out; verification compares in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

N, R, P = 2**14, 8, 1  # about 16 MiB and tens of milliseconds per check
MAX_N = 2**20  # never let a stored hash ask for more memory than this


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, n: int = N, r: int = R, p: int = P) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=2**26, dklen=32
    )
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt" or int(n) > MAX_N:
            return False
        expected = base64.b64decode(digest)
        given = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=2**28,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False  # a damaged hash never lets anyone in
    return hmac.compare_digest(given, expected)
