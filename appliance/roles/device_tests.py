"""Device tests handed to the running devices role (migration 0010).

While the devices role runs it holds the stations and the LEDs, so `appliance device test
NAME` does not open them a second time: it writes a request row, the role's tester thread
claims it, runs it on the devices it already has open (a station's status and its robot's,
asked between discs; the LEDs' lamp test through their service) and writes the checks
back; the CLI reads them. A request the CLI stopped waiting for is expired and never run;
one the role was running when it stopped is expired at its next start. Test prints need
none of this: they go through the print queue.

Test burns (`appliance device test-burn NAME`, migration 0011) are requests of another
kind, served by a thread of their own (a burn takes minutes; self-tests do not wait for
it): the role borrows the station from its job runner between discs, makes the test disc
and records the outcome as one check, with the disc's step and fraction meanwhile. The
request may be expired while it is queued or still waiting for the station (a patient
disc is finished first); once its disc is started it is followed to the end.
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


class TestKind(StrEnum):
    __test__ = False

    TEST = "test"  # a self-test or lamp test
    BURN = "test-burn"  # a test disc


WAITING = "waiting"  # a test burn's step until it has its station


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
    kind: TestKind = TestKind.TEST
    station: str = ""  # a test burn's borrowed station
    step: str = ""  # a test burn's step: waiting, picking, burning...
    fraction: float = 0.0  # of that step


def request(
    conn: sqlite3.Connection,
    device: str,
    who: str,
    now: float,
    kind: TestKind = TestKind.TEST,
) -> int:
    cursor = conn.execute(
        "INSERT INTO device_tests (device, kind, state, requested_by, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (device, kind.value, TestState.QUEUED.value, who[:128], now, now),
    )
    return int(cursor.lastrowid or 0)


def result(conn: sqlite3.Connection, test_id: int) -> TestResult:
    row = conn.execute(
        "SELECT id, device, state, passed, checks, kind, station, step, fraction "
        "FROM device_tests WHERE id = ?",
        (test_id,),
    ).fetchone()
    if row is None:
        raise KeyError(test_id)
    checks = [Check(c["check"], bool(c["passed"]), c["detail"]) for c in json.loads(row[4])]
    passed = None if row[3] is None else bool(row[3])
    return TestResult(
        int(row[0]),
        str(row[1]),
        TestState(row[2]),
        passed,
        checks,
        TestKind(row[5]),
        str(row[6]),
        str(row[7]),
        float(row[8]),
    )


def expire(conn: sqlite3.Connection, test_id: int, now: float) -> bool:
    """The CLI stops waiting: a request not yet claimed (or a test burn still waiting for
    its station) is never run. False if it runs."""
    cursor = conn.execute(
        "UPDATE device_tests SET state = ?, updated_at = ? WHERE id = ? "
        "AND (state = ? OR (state = ? AND kind = ? AND step = ?))",
        (
            TestState.EXPIRED.value,
            now,
            test_id,
            TestState.QUEUED.value,
            TestState.RUNNING.value,
            TestKind.BURN.value,
            WAITING,
        ),
    )
    return cursor.rowcount == 1


def progress(
    conn: sqlite3.Connection,
    test_id: int,
    step: str,
    fraction: float,
    now: float,
    station: str | None = None,
) -> bool:
    """A running request's step (and its station, once it has one); False when it is no
    longer running (the CLI expired it while it waited): the caller gives up."""
    cursor = conn.execute(
        "UPDATE device_tests SET step = ?, fraction = ?, station = coalesce(?, station), "
        "updated_at = ? WHERE id = ? AND state = ?",
        (step, fraction, station, now, test_id, TestState.RUNNING.value),
    )
    return cursor.rowcount == 1


def claim(
    conn: sqlite3.Connection, now: float, kind: TestKind = TestKind.TEST
) -> tuple[int, str] | None:
    """The oldest queued request of `kind`, now running (None when there is none)."""
    with transaction(conn):
        row = conn.execute(
            "SELECT id, device FROM device_tests WHERE kind = ? AND state = ? ORDER BY id LIMIT 1",
            (kind.value, TestState.QUEUED.value),
        ).fetchone()
        if row is None:
            return None
        conn.execute(
            "UPDATE device_tests SET state = ?, updated_at = ? WHERE id = ?",
            (TestState.RUNNING.value, now, row[0]),
        )
    return int(row[0]), str(row[1])


def finish(conn: sqlite3.Connection, test_id: int, checks: list[Check], now: float) -> None:
    """A running request is done (one expired meanwhile stays expired)."""
    conn.execute(
        "UPDATE device_tests SET state = ?, passed = ?, checks = ?, updated_at = ? "
        "WHERE id = ? AND state = ?",
        (
            TestState.DONE.value,
            int(all(c.passed for c in checks)),
            json.dumps([c.to_json() for c in checks]),
            now,
            test_id,
            TestState.RUNNING.value,
        ),
    )


def expire_leftovers(conn: sqlite3.Connection, now: float, kind: TestKind = TestKind.TEST) -> int:
    """At the role's start: requests of `kind` it was running when it stopped (a test
    burn's station was lent only in that process: nothing else to give back), and old
    queued ones."""
    cursor = conn.execute(
        "UPDATE device_tests SET state = ?, updated_at = ? WHERE kind = ? AND (state = ? "
        "OR (state = ? AND created_at < ?))",
        (
            TestState.EXPIRED.value,
            now,
            kind.value,
            TestState.RUNNING.value,
            TestState.QUEUED.value,
            now - STALE_QUEUED_SECONDS,
        ),
    )
    return cursor.rowcount


class Tester:
    """The devices role's side: one thread per kind takes the requests in order and runs
    each with `run(test_id, device) -> checks` (a test that raises is one failed check,
    never a dead thread)."""

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        run: Callable[[int, str], list[Check]],
        clock: Callable[[], float] = time.time,
        kind: TestKind = TestKind.TEST,
    ) -> None:
        self._connect = connect
        self._run = run
        self._clock = clock
        self._kind = kind

    def serve(self, stop: threading.Event) -> None:
        conn = self._connect()
        try:
            expire_leftovers(conn, self._clock(), self._kind)
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
        claimed = claim(conn, self._clock(), self._kind)
        if claimed is None:
            return False
        test_id, device = claimed
        log.info("device %s %d: %s", self._kind.value, test_id, device)
        try:
            checks = self._run(test_id, device)
        except Exception as error:  # a driver's failure is the test's result
            log.exception("device %s %d (%s) failed", self._kind.value, test_id, device)
            checks = [Check("test", False, f"the test stopped with an error: {error}")]
        finish(conn, test_id, checks, self._clock())
        return True
