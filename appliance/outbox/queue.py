"""Outbox rows: enqueue, claim, settle with retry and exponential backoff."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from appliance.db.database import rollback


class OutboxState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class OutboxItem:
    id: int
    kind: str
    destination: str
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class Backoff:
    initial: float
    maximum: float
    limit: int

    def delay(self, attempts: int) -> float:
        return float(min(self.maximum, self.initial * (2 ** max(0, attempts - 1))))


class Outbox:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def put(
        self, kind: str, destination: str, payload: dict[str, Any], *, claimed_by: int | None = None
    ) -> int:
        """Store a message; `claimed_by` keeps it for that process (same-association delivery)."""
        now = time.time()
        cursor = self.conn.execute(
            "INSERT INTO outbox (kind, destination, payload, state, next_attempt_at, created_at, "
            "claimed_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                kind,
                destination,
                json.dumps(payload, sort_keys=True),
                OutboxState.SENDING if claimed_by else OutboxState.PENDING,
                now,
                now,
                claimed_by,
            ),
        )
        return int(cursor.lastrowid or 0)

    def claim_due(self, kind: str, pid: int, limit: int = 20) -> list[OutboxItem]:
        now = time.time()
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            rows = self.conn.execute(
                "SELECT id, kind, destination, payload, attempts FROM outbox "
                "WHERE state = 'pending' AND kind = ? AND next_attempt_at <= ? "
                "ORDER BY next_attempt_at, id LIMIT ?",
                (kind, now, limit),
            ).fetchall()
            for row in rows:
                self.conn.execute(
                    "UPDATE outbox SET state = 'sending', claimed_by = ? WHERE id = ?",
                    (pid, row[0]),
                )
            self.conn.execute("COMMIT")
        except BaseException:
            rollback(self.conn)
            raise
        return [OutboxItem(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows]

    def get(self, item_id: int) -> OutboxItem | None:
        row = self.conn.execute(
            "SELECT id, kind, destination, payload, attempts FROM outbox WHERE id = ?", (item_id,)
        ).fetchone()
        return OutboxItem(row[0], row[1], row[2], json.loads(row[3]), row[4]) if row else None

    def update_payload(self, item_id: int, payload: dict[str, Any]) -> None:
        self.conn.execute(
            "UPDATE outbox SET payload = ? WHERE id = ?",
            (json.dumps(payload, sort_keys=True), item_id),
        )

    def sent(self, item_id: int) -> None:
        self.conn.execute(
            "UPDATE outbox SET state = 'sent', sent_at = ?, claimed_by = NULL, last_error = '', "
            "attempts = attempts + 1 WHERE id = ?",
            (time.time(), item_id),
        )

    def retry(self, item_id: int, error: str, backoff: Backoff, *, count: bool = True) -> None:
        """Back to pending after a failed attempt, or failed for good past the limit."""
        row = self.conn.execute("SELECT attempts FROM outbox WHERE id = ?", (item_id,)).fetchone()
        attempts = int(row[0]) + (1 if count else 0)
        if attempts >= backoff.limit:
            self.fail(item_id, f"gave up after {attempts} attempts: {error}")
            return
        delay = backoff.delay(attempts) if count else 0.0
        self.conn.execute(
            "UPDATE outbox SET state = 'pending', attempts = ?, next_attempt_at = ?, "
            "last_error = ?, claimed_by = NULL WHERE id = ?",
            (attempts, time.time() + delay, error, item_id),
        )

    def fail(self, item_id: int, error: str) -> None:
        self.conn.execute(
            "UPDATE outbox SET state = 'failed', last_error = ?, claimed_by = NULL WHERE id = ?",
            (error, item_id),
        )

    def release_claims(self, pid: int | None = None) -> int:
        """Messages held by a process that died go back to pending, due now."""
        sql = "UPDATE outbox SET state = 'pending', claimed_by = NULL WHERE state = 'sending'"
        params: tuple[int, ...] = ()
        if pid is not None:
            sql += " AND claimed_by = ?"
            params = (pid,)
        return self.conn.execute(sql, params).rowcount

    def counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall()
        found = {state.value: 0 for state in OutboxState}
        found.update({row[0]: int(row[1]) for row in rows})
        return found
