"""The durable outbox's retry arithmetic and the study-completeness rule, on a real database."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from appliance.db.database import _migrations, connect, migrate
from appliance.outbox.queue import Backoff, Outbox
from appliance.storage.completeness import mark_complete
from appliance.storage.header import InstanceHeader
from appliance.storage.index import Associations, Index, NewInstance


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    migrate(tmp_path)
    return connect(tmp_path)


def test_migrations_are_numbered_and_idempotent(tmp_path: Path) -> None:
    numbers = [number for number, _, _ in _migrations()]
    assert numbers == list(range(1, len(numbers) + 1))  # no gap, no duplicate
    assert migrate(tmp_path) == numbers[-1]
    assert migrate(tmp_path) == numbers[-1]
    c = connect(tmp_path)
    assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [r[0] for r in c.execute("SELECT version FROM schema_migrations")] == numbers


def test_backoff_doubles_up_to_the_maximum() -> None:
    b = Backoff(initial=5, maximum=60, limit=10)
    assert [b.delay(n) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]


def test_outbox_retries_then_gives_up(conn: sqlite3.Connection) -> None:
    box = Outbox(conn)
    item = box.put("k", "MR1", {"a": 1})
    backoff = Backoff(initial=0.0001, maximum=0.0001, limit=3)
    for attempt in range(1, 3):
        claimed = box.claim_due("k", 99)
        assert [c.id for c in claimed] == [item]
        box.retry(item, f"down {attempt}", backoff)
        time.sleep(0.001)
    assert box.counts()["pending"] == 1
    box.claim_due("k", 99)
    box.retry(item, "down 3", backoff)
    row = conn.execute("SELECT state, last_error, attempts FROM outbox").fetchone()
    assert row[0] == "failed" and "gave up after 3 attempts" in row[1]


def test_claims_of_a_dead_process_are_released(conn: sqlite3.Connection) -> None:
    box = Outbox(conn)
    held = box.put("k", "MR1", {}, claimed_by=1234)
    assert box.claim_due("k", 1) == []
    assert box.release_claims(1234) == 1
    assert [c.id for c in box.claim_due("k", 1)] == [held]


def _add(conn: sqlite3.Connection, study: str, assoc: int, sop: str) -> None:
    header = InstanceHeader("1.2.840.10008.5.1.4.1.1.2", sop, study, study + ".1", {})
    Index(conn).add(
        NewInstance(header, "1.2.840.10008.1.2.1", f"dicom/{sop}.dcm", 10, 0, "MOD", "KILN", assoc)
    )


def test_study_completes_after_idle_and_only_when_no_sender_is_open(
    conn: sqlite3.Connection,
) -> None:
    associations = Associations(conn)
    a = associations.open("MOD", "KILN", "127.0.0.1", 1, 1)
    _add(conn, "1.2.3", a, "1.2.3.1.1")
    later = time.time() + 100
    assert mark_complete(conn, 10, now=later) == []  # the association is still open
    associations.close(a, aborted=False)
    assert mark_complete(conn, 10, now=time.time()) == []  # not idle long enough
    assert mark_complete(conn, 10, now=later) == ["1.2.3"]
    assert mark_complete(conn, 10, now=later + 100) == []  # recorded once
    events = conn.execute("SELECT study_uid, event FROM study_events").fetchall()
    assert [tuple(e) for e in events] == [("1.2.3", "complete")]
