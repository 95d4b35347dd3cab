"""Each role records that it is alive, so the status page and CLI can tell."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from typing import Any


def beat(conn: sqlite3.Connection, role: str, started_at: float, detail: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO role_heartbeats (role, pid, started_at, last_seen, detail) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (role) DO UPDATE SET pid = excluded.pid, "
        "started_at = excluded.started_at, last_seen = excluded.last_seen, "
        "detail = excluded.detail",
        (role, os.getpid(), started_at, time.time(), json.dumps(detail)),
    )


def stopped(conn: sqlite3.Connection, role: str) -> None:
    conn.execute("DELETE FROM role_heartbeats WHERE role = ? AND pid = ?", (role, os.getpid()))
