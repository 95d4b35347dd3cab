"""Work a CLI process does that the box's LEDs and status should show (migration 0010).

A USB export runs in the `appliance export usb` process, not in a role, so no heartbeat
tells of it. While it runs it keeps a row in `activities`: its phase (the USB export
state: writing, verifying...) and how far it is, refreshed every `REFRESH_SECONDS` by a
small thread so a long file does not look like a dead process. The row is deleted when
the work ends; a row not refreshed for `STALE_AFTER` seconds belongs to a process that
died and is not shown. `appliance.status.collect` lists the live ones; the LED policy
turns them into activity (docs/leds.md).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

log = logging.getLogger(__name__)
REFRESH_SECONDS = 2.0
STALE_AFTER = 10.0
WRITE_EVERY = 0.5  # progress is written at most this often (a phase change at once)
USB_EXPORT = "usb-export"
PREPARING = "preparing"  # building the file-set, before the stick is asked for
# USB export phases in which nothing is being done: waiting for a stick, or finished.
IDLE_PHASES = frozenset({"absent", "safe to remove"})


class Activity:
    """`with Activity(connect, "usb-export") as activity: activity.update(...)`."""

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        kind: str,
        *,
        phase: str = "",
        detail: str = "",
        clock: Callable[[], float] = time.time,
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        self._connect = connect
        self._kind = kind
        self._phase = phase
        self._detail = detail
        self._clock = clock
        self._refresh_seconds = refresh_seconds
        self._conn: sqlite3.Connection | None = None
        self._id = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._written = 0.0

    def __enter__(self) -> Activity:
        try:
            self._conn = self._connect()
            now = self._clock()
            cursor = self._conn.execute(
                "INSERT INTO activities (kind, pid, phase, detail, started_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (self._kind, os.getpid(), self._phase, self._detail, now, now),
            )
            self._id = int(cursor.lastrowid or 0)
        except sqlite3.Error as error:  # the work goes on; only the LEDs miss it
            log.warning("%s: not recorded as an activity (%s)", self._kind, error)
            self._close()
            return self
        self._thread = threading.Thread(target=self._refresh, name="activity", daemon=True)
        self._thread.start()
        return self

    def update(self, phase: str, done: int | None = None, total: int | None = None) -> None:
        changed = phase != self._phase
        self._phase = phase
        now = self._clock()
        if not changed and now - self._written < WRITE_EVERY:
            return
        sets, params = ["phase = ?", "updated_at = ?"], [phase, now]
        if done is not None and total is not None:
            sets += ["done = ?", "total = ?"]
            params += [done, total]
        sql = f"UPDATE activities SET {', '.join(sets)} WHERE id = ?"  # noqa: S608 - fixed names
        self._write(sql, (*params, self._id))
        self._written = now

    def _refresh(self) -> None:
        while not self._stop.wait(self._refresh_seconds):
            self._write(
                "UPDATE activities SET updated_at = ? WHERE id = ?", (self._clock(), self._id)
            )

    def _write(self, sql: str, params: tuple[object, ...]) -> None:
        with self._lock:
            if self._conn is None:
                return
            try:
                self._conn.execute(sql, params)
            except sqlite3.Error as error:  # busy: the next write tries again
                log.warning("%s: activity not updated (%s)", self._kind, error)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._write("DELETE FROM activities WHERE id = ?", (self._id,))
        self._close()

    def _close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def current(conn: sqlite3.Connection, now: float) -> list[dict[str, Any]]:
    """The activities whose process refreshed them in the last `STALE_AFTER` seconds."""
    rows = conn.execute(
        "SELECT kind, pid, phase, done, total, detail, started_at, updated_at FROM activities "
        "WHERE updated_at > ? ORDER BY id",
        (now - STALE_AFTER,),
    ).fetchall()
    keys = ("kind", "pid", "phase", "done", "total", "detail", "started_at", "updated_at")
    return [dict(zip(keys, row, strict=True)) for row in rows]
