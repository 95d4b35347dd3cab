"""The audit trail: one row per control action through the web page or API (who, when,
what, and what came of it), kept in `web_audit` (migration 0007)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum


class Result(Enum):
    DONE = "done"
    REFUSED = "refused"


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: float
    who: str
    action: str
    target: str
    result: str
    detail: str


class AuditLog:
    def __init__(self, conn: sqlite3.Connection, clock: Callable[[], float]) -> None:
        self.conn = conn
        self.clock = clock

    def record(self, who: str, action: str, target: str, result: Result, detail: str) -> int:
        cursor = self.conn.execute(
            "INSERT INTO web_audit (at, who, action, target, result, detail) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (self.clock(), who[:128], action, target[:512], result.value, detail[:2000]),
        )
        return int(cursor.lastrowid or 0)

    def entry(self, entry_id: int) -> AuditEntry | None:
        row = self.conn.execute(
            "SELECT id, at, who, action, target, result, detail FROM web_audit WHERE id = ?",
            (entry_id,),
        ).fetchone()
        return None if row is None else AuditEntry(*row)

    def recent(self, limit: int = 100) -> list[AuditEntry]:
        rows = self.conn.execute(
            "SELECT id, at, who, action, target, result, detail FROM web_audit "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [AuditEntry(*row) for row in rows]
