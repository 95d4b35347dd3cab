"""Open the database with the house pragmas and apply numbered migrations."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

log = logging.getLogger(__name__)

DB_NAME = "kiln.db"


def _migrations() -> list[tuple[int, str, str]]:
    found = []
    for entry in resources.files("appliance.db").joinpath("migrations").iterdir():
        name = entry.name
        if name.endswith(".sql"):
            found.append((int(name.split("_", 1)[0]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def connect(
    data_dir: Path, *, durable: bool = True, checkpoints: bool = True
) -> sqlite3.Connection:
    """A connection in WAL mode; `durable` makes each commit survive power loss.

    Without `checkpoints` the connection never copies the WAL back into the database
    itself (a checkpoint syncs twice); the dicom role's housekeeping does it instead, so
    the receive path never waits for one.
    """
    conn = sqlite3.connect(
        data_dir / DB_NAME, timeout=30.0, isolation_level=None, check_same_thread=False
    )
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    if not checkpoints:
        conn.execute("PRAGMA wal_autocheckpoint=0")
    return conn


def rollback(conn: sqlite3.Connection) -> None:
    """Undo the open transaction, if SQLite has not already (it does on a full disk, and a
    second ROLLBACK would hide that error behind "no transaction is active")."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """All or nothing on an autocommit connection; inside another transaction, its part.

    `with conn:` does not begin a transaction when isolation_level is None (as here), so
    writes that must land together use this.
    """
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        rollback(conn)
        raise
    conn.execute("COMMIT")


def checkpoint(conn: sqlite3.Connection) -> None:
    """Copy what the WAL holds into the database without blocking writers."""
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")


def migrate(data_dir: Path) -> int:
    """Apply pending migrations; returns the schema version now in force."""
    data_dir.mkdir(parents=True, exist_ok=True)
    conn = connect(data_dir)
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
        )
        conn.execute("BEGIN IMMEDIATE")
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        version = max(done, default=0)
        for number, name, sql in _migrations():
            if number in done:
                continue
            log.info("applying migration %s", name)
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (number, name, time.time()),
            )
            version = number
        conn.execute("COMMIT")
        return version
    except BaseException:
        if conn.in_transaction:
            rollback(conn)
        raise
    finally:
        conn.close()


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (executescript would commit our transaction)."""
    parts, current = [], []
    for line in sql.splitlines():
        if line.strip().startswith("--"):
            continue
        current.append(line)
        if sqlite3.complete_statement("\n".join(current)):
            parts.append("\n".join(current).strip())
            current = []
    return [p for p in parts if p]
