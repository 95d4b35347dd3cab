"""Paused stations (migration 0008): the CLI and the web role write them, the job runner
reads them at each station step and gives a paused station no new disc."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Hold:
    name: str
    paused_by: str
    paused_at: float
    reason: str

    def sentence(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.paused_at))
        text = (
            f"Paused by {self.paused_by} at {when}; resume it on the page or with "
            f"'appliance device resume {self.name}'."
        )
        return f"{text} Reason: {self.reason}" if self.reason else text


def held(conn: sqlite3.Connection, name: str) -> Hold | None:
    row = conn.execute(
        "SELECT name, paused_by, paused_at, reason FROM station_holds WHERE name = ?", (name,)
    ).fetchone()
    return None if row is None else Hold(*row)


def pause(conn: sqlite3.Connection, name: str, who: str, at: float, reason: str = "") -> bool:
    """Pause NAME; False when it was already paused (nothing changed)."""
    cursor = conn.execute(
        "INSERT OR IGNORE INTO station_holds (name, paused_by, paused_at, reason) "
        "VALUES (?, ?, ?, ?)",
        (name, who[:128], at, reason[:500]),
    )
    return cursor.rowcount == 1


def resume(conn: sqlite3.Connection, name: str) -> bool:
    """Resume NAME; False when it was not paused."""
    return conn.execute("DELETE FROM station_holds WHERE name = ?", (name,)).rowcount == 1
