"""The web page's local users (migration 0007): names and password hashes."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from appliance.web.passwords import hash_password, verify_password

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # hashing a megabyte on every attempt is a denial of service
# Checked against for unknown names: same cost as a real hash, matches no password.
UNKNOWN_USER_HASH = "scrypt$16384$8$1$" + "A" * 22 + "==$" + "A" * 43 + "="


class UserRefused(Exception):
    """A name or password the box will not take; `sentence` says why."""

    def __init__(self, sentence: str) -> None:
        super().__init__(sentence)
        self.sentence = sentence


@dataclass(frozen=True)
class User:
    name: str
    created_at: float
    password_changed_at: float


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise UserRefused(
            f"{name!r} cannot be a user name: use 1 to 64 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit."
        )
    return name


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise UserRefused(
            f"A password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters; nothing was changed."
        )
    return password


class UserStore:
    def __init__(self, conn: sqlite3.Connection, clock: Callable[[], float]) -> None:
        self.conn = conn
        self.clock = clock

    def add(self, name: str, password: str) -> None:
        now = self.clock()
        try:
            self.conn.execute(
                "INSERT INTO web_users (name, password, created_at, password_changed_at) "
                "VALUES (?, ?, ?, ?)",
                (check_name(name), hash_password(check_password(password)), now, now),
            )
        except sqlite3.IntegrityError:
            raise UserRefused(
                f"There is already a user {name!r}; use 'appliance users passwd {name}'."
            ) from None

    def set_password(self, name: str, password: str) -> None:
        changed = self.conn.execute(
            "UPDATE web_users SET password = ?, password_changed_at = ? WHERE name = ?",
            (hash_password(check_password(password)), self.clock(), name),
        ).rowcount
        if not changed:
            raise UserRefused(f"There is no user {name!r}; see 'appliance users ls'.")

    def remove(self, name: str) -> None:
        if not self.conn.execute("DELETE FROM web_users WHERE name = ?", (name,)).rowcount:
            raise UserRefused(f"There is no user {name!r}; see 'appliance users ls'.")

    def get(self, name: str) -> User | None:
        row = self.conn.execute(
            "SELECT name, created_at, password_changed_at FROM web_users WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else User(row[0], row[1], row[2])

    def all(self) -> list[User]:
        rows = self.conn.execute(
            "SELECT name, created_at, password_changed_at FROM web_users ORDER BY name"
        ).fetchall()
        return [User(r[0], r[1], r[2]) for r in rows]

    def authenticate(self, name: str, password: str) -> User | None:
        row = self.conn.execute("SELECT password FROM web_users WHERE name = ?", (name,)).fetchone()
        if len(password) > MAX_PASSWORD:
            return None
        # An unknown name costs one hash too, so timing does not tell which names exist.
        stored = row[0] if row is not None else UNKNOWN_USER_HASH
        if not verify_password(password, stored) or row is None:
            return None
        return self.get(name)
