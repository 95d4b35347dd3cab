"""Device tests handed to the running devices role (migration 0010).

While the devices role runs it holds the stations and the LEDs, so `appliance device test
NAME` does not open them a second time: it writes a request row, the role's tester thread
claims it, runs it on the devices it already has open (a station's status and its robot's,
asked between discs; the LEDs' lamp test through their service) and writes the checks
back; the CLI reads them. A request the CLI stopped waiting for is expired and never run;
one the role was running when it stopped is expired at its next start. Test prints need
none of this: they go through the print queue.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from appliance.db.database import transaction

log = logging.getLogger(__name__)
LOOK_SECONDS = 0.2
STALE_QUEUED_SECONDS = 600.0  # a request nobody waits for any more


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"check": self.name, "passed": self.passed, "detail": self.detail}


class TestState(StrEnum):
    __test__ = False  # not a pytest class

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    EXPIRED = "expired"


@dataclass(frozen=True)
class TestResult:
    __test__ = False

    id: int
    device: str
    state: TestState
    passed: bool | None
    checks: list[Check]


def request(conn: sqlite3.Connection, device: str, who: str, now: float) -> int:
    cursor = conn.execute(
        "INSERT INTO device_tests (device, state, requested_by, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (device, TestState.QUEUED.value, who[:128], now, now),
    )
    return int(cursor.lastrowid or 0)


def result(conn: sqlite3.Connection, test_id: int) -> TestResult:
    row = conn.execute(
        "SELECT id, device, state, passed, checks FROM device_tests WHERE id = ?", (test_id,)
    ).fetchone()
    if row is None:
        raise KeyError(test_id)
    checks = [Check(c["check"], bool(c["passed"]), c["detail"]) for c in json.loads(row[4])]
    passed = None if row[3] is None else bool(row[3])
    return TestResult(int(row[0]), str(row[1]), TestState(row[2]), passed, checks)


def expire(conn: sqlite3.Connection, test_id: int, now: float) -> bool:
    """The CLI stops waiting: a request not yet claimed is never run. False if it runs."""
    cursor = conn.execute(
        "UPDATE device_tests SET state = ?, updated_at = ? WHERE id = ? AND state = ?",
        (TestState.EXPIRED.value, now, test_id, TestState.QUEUED.value),
    )
    return cursor.rowcount == 1


def claim(conn: sqlite3.Connection, now: float) -> tuple[int, str] | None:
    """The oldest queued request, now running (None when there is none)."""
    with transaction(conn):
        row = conn.execute(
            "SELECT id, device FROM device_tests WHERE state = ? ORDER BY id LIMIT 1",
            (TestState.QUEUED.value,),
        ).fetchone()
        if row is None:
            return None
        conn.execute(
            "UPDATE device_tests SET state = ?, updated_at = ? WHERE id = ?",
            (TestState.RUNNING.value, now, row[0]),
        )
    return int(row[0]), str(row[1])


def finish(conn: sqlite3.Connection, test_id: int, checks: list[Check], now: float) -> None:
    conn.execute(
        "UPDATE device_tests SET state = ?, passed = ?, checks = ?, updated_at = ? WHERE id = ?",
        (
            TestState.DONE.value,
            int(all(c.passed for c in checks)),
            json.dumps([c.to_json() for c in checks]),
            now,
            test_id,
        ),
    )


def expire_leftovers(conn: sqlite3.Connection, now: float) -> int:
    """At the role's start: requests it was running when it stopped, and old queued ones."""
    cursor = conn.execute(
        "UPDATE device_tests SET state = ?, updated_at = ? WHERE state = ? "
        "OR (state = ? AND created_at < ?)",
        (
            TestState.EXPIRED.value,
            now,
            TestState.RUNNING.value,
            TestState.QUEUED.value,
            now - STALE_QUEUED_SECONDS,
        ),
    )
    return cursor.rowcount


class Tester:
    """The devices role's side: one thread takes the requests in order and runs each with
    `run(device) -> checks` (a test that raises is one failed check, never a dead thread)."""

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        run: Callable[[str], list[Check]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._connect = connect
        self._run = run
        self._clock = clock

    def serve(self, stop: threading.Event) -> None:
        conn = self._connect()
        try:
            expire_leftovers(conn, self._clock())
            while not stop.is_set():
                try:
                    if not self.once(conn):
                        stop.wait(LOOK_SECONDS)
                except sqlite3.Error as error:  # busy: look again
                    log.warning("device tests: %s", error)
                    stop.wait(LOOK_SECONDS)
        finally:
            conn.close()

    def once(self, conn: sqlite3.Connection) -> bool:
        """Run the next request, if any; True when one was run."""
        claimed = claim(conn, self._clock())
        if claimed is None:
            return False
        test_id, device = claimed
        log.info("device test %d: %s", test_id, device)
        try:
            checks = self._run(device)
        except Exception as error:  # a driver's failure is the test's result
            log.exception("device test %d (%s) failed", test_id, device)
            checks = [Check("test", False, f"the test stopped with an error: {error}")]
        finish(conn, test_id, checks, self._clock())
        return True
