"""Alarms in the database: raise, clear, acknowledge, list.

An alarm is one operator sentence (what happened, what the box did, what to do) about one
thing (`source`, `key`): a station, a role, the outbox, the disk, a job. While it is
active, raising it again updates the same row, so a fault that lasts is one alarm; once
cleared, the next occurrence is a new row and the old one stays as history.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from appliance.db.database import transaction


class AlarmSource(StrEnum):
    STATION = "station"  # a disc station: waiting for the operator, retrying, out of service
    ROLE = "role"  # a process of the box stopped reporting
    OUTBOX = "outbox"  # outbound DICOM messages given up after their retries
    DISK = "disk"  # free space below the reserve
    JOBS = "jobs"  # a disc job parked or failed
    USB = "usb"  # USB export (raised by whoever runs the export)
    PRINT = "print"  # printing (raised by the print service)
    LEDS = "leds"  # the front panel


class Severity(StrEnum):
    ATTENTION = "attention"  # someone should act; the box goes on meanwhile
    ERROR = "error"  # something the box should do is not being done


RANK = {Severity.ATTENTION: 1, Severity.ERROR: 2}


class UnknownAlarm(LookupError):
    def __init__(self, alarm_id: int) -> None:
        super().__init__(f"there is no alarm {alarm_id}")
        self.alarm_id = alarm_id


@dataclass(frozen=True)
class Alarm:
    id: int
    source: str  # an AlarmSource value; kept as text so a newer source still lists
    key: str
    severity: Severity
    sentence: str
    raised_at: float
    updated_at: float
    cleared_at: float | None
    acknowledged_at: float | None
    acknowledged_by: str

    @property
    def active(self) -> bool:
        return self.cleared_at is None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "key": self.key,
            "severity": self.severity.value,
            "sentence": self.sentence,
            "active": self.active,
            "raised_at": self.raised_at,
            "updated_at": self.updated_at,
            "cleared_at": self.cleared_at,
            "acknowledged_at": self.acknowledged_at,
            "acknowledged_by": self.acknowledged_by,
        }


COLUMNS = (
    "id, source, key, severity, sentence, raised_at, updated_at, cleared_at, "
    "acknowledged_at, acknowledged_by"
)


def _alarm(row: sqlite3.Row | tuple[Any, ...]) -> Alarm:
    return Alarm(
        id=int(row[0]),
        source=str(row[1]),
        key=str(row[2]),
        severity=Severity(row[3]),
        sentence=str(row[4]),
        raised_at=float(row[5]),
        updated_at=float(row[6]),
        cleared_at=row[7],
        acknowledged_at=row[8],
        acknowledged_by=str(row[9]),
    )


class AlarmStore:
    def __init__(self, conn: sqlite3.Connection, clock: Callable[[], float] = time.time) -> None:
        self.conn = conn
        self.clock = clock

    def raise_alarm(
        self, source: AlarmSource, key: str, severity: Severity, sentence: str
    ) -> tuple[Alarm, bool]:
        """The active alarm for (source, key), and whether it is new.

        An active alarm keeps its id, raised time and acknowledgement when its sentence
        changes (a count going up is the same fault); only a rise from attention to error
        asks for a new acknowledgement.
        """
        now = self.clock()
        with transaction(self.conn):
            current = self._active(source, key)
            if current is None:
                cursor = self.conn.execute(
                    "INSERT INTO alarms (source, key, severity, sentence, raised_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (source.value, key, severity.value, sentence, now, now),
                )
                return self._get(int(cursor.lastrowid or 0)), True
            if current.severity is severity and current.sentence == sentence:
                return current, False
            escalated = RANK[severity] > RANK[current.severity]
            self.conn.execute(
                "UPDATE alarms SET severity = ?, sentence = ?, updated_at = ?, "
                "acknowledged_at = CASE WHEN ? THEN NULL ELSE acknowledged_at END, "
                "acknowledged_by = CASE WHEN ? THEN '' ELSE acknowledged_by END WHERE id = ?",
                (severity.value, sentence, now, escalated, escalated, current.id),
            )
            return self._get(current.id), False

    def clear(self, source: AlarmSource | str, key: str) -> Alarm | None:
        """Clear the active alarm for (source, key); None if there was none."""
        with transaction(self.conn):
            current = self._active(source, key)
            if current is None:
                return None
            now = self.clock()
            self.conn.execute(
                "UPDATE alarms SET cleared_at = ?, updated_at = ? WHERE id = ?",
                (now, now, current.id),
            )
            return self._get(current.id)

    def acknowledge(self, alarm_id: int, by: str) -> tuple[Alarm, bool]:
        """Record who has seen the alarm; False if it was acknowledged already (kept)."""
        with transaction(self.conn):
            alarm = self.get(alarm_id)
            if alarm is None:
                raise UnknownAlarm(alarm_id)
            if alarm.acknowledged_at is not None:
                return alarm, False
            self.conn.execute(
                "UPDATE alarms SET acknowledged_at = ?, acknowledged_by = ? WHERE id = ?",
                (self.clock(), by, alarm_id),
            )
            return self._get(alarm_id), True

    def get(self, alarm_id: int) -> Alarm | None:
        row = self.conn.execute(
            f"SELECT {COLUMNS} FROM alarms WHERE id = ?",  # noqa: S608 - fixed column list
            (alarm_id,),
        ).fetchone()
        return _alarm(row) if row else None

    def active(self) -> list[Alarm]:
        """Active alarms, errors first, then oldest first."""
        rows = self.conn.execute(
            f"SELECT {COLUMNS} FROM alarms WHERE cleared_at IS NULL "  # noqa: S608
            "ORDER BY severity = 'error' DESC, raised_at, id"
        ).fetchall()
        return [_alarm(r) for r in rows]

    def recent(self, limit: int = 100) -> list[Alarm]:
        """Active and cleared alarms, newest first."""
        rows = self.conn.execute(
            f"SELECT {COLUMNS} FROM alarms ORDER BY raised_at DESC, id DESC LIMIT ?",  # noqa: S608
            (limit,),
        ).fetchall()
        return [_alarm(r) for r in rows]

    def _active(self, source: AlarmSource | str, key: str) -> Alarm | None:
        row = self.conn.execute(
            f"SELECT {COLUMNS} FROM alarms "  # noqa: S608 - fixed column list
            "WHERE source = ? AND key = ? AND cleared_at IS NULL",
            (str(source), key),
        ).fetchone()
        return _alarm(row) if row else None

    def _get(self, alarm_id: int) -> Alarm:
        alarm = self.get(alarm_id)
        assert alarm is not None  # read inside the transaction that wrote it
        return alarm


def has_alarms(conn: sqlite3.Connection) -> bool:
    """Whether migration 0006 is applied: the roles apply migrations when they start, so a
    CLI run against a box not restarted since an upgrade finds no table yet."""
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alarms'"
    ).fetchone()
    return row is not None


def active_alarms(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """The status report's view: every active alarm, none before the migration."""
    if not has_alarms(conn):
        return []
    return [alarm.to_json() for alarm in AlarmStore(conn).active()]
