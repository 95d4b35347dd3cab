"""Worklist items in SQLite: add, replace, status changes, removal, and query candidates."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from appliance.db.database import transaction
from appliance.worklist.item import FINISHED, Item, ItemError, default_key, normalise, step_of

_SELECT = "SELECT id, item_key, source, status, item, created_at, updated_at FROM worklist_items"


# Items are read in batches of this many ids: few statements, and a hit limit still stops
# reading soon after it is reached.
_BATCH = 128


@dataclass(frozen=True)
class StoredItem:
    id: int
    key: str
    source: str
    status: str
    item: Item
    created_at: float
    updated_at: float

    def summary(self) -> dict[str, Any]:
        step = step_of(self.item)
        return {
            "id": self.id,
            "key": self.key,
            "source": self.source,
            "status": self.status,
            "patient_id": self.item.get("PatientID", ""),
            "patient_name": self.item.get("PatientName", ""),
            "accession_number": self.item.get("AccessionNumber", ""),
            "modality": step.get("Modality", ""),
            "station_ae": step.get("ScheduledStationAETitle", ""),
            "start": (
                step.get("ScheduledProcedureStepStartDate", "")
                + " "
                + step.get("ScheduledProcedureStepStartTime", "")
            ).strip(),
            "description": step.get("ScheduledProcedureStepDescription", "")
            or self.item.get("RequestedProcedureDescription", ""),
            "study_uid": self.item.get("StudyInstanceUID", ""),
        }


def _row(row: tuple[Any, ...]) -> StoredItem:
    return StoredItem(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5], row[6])


@dataclass(frozen=True)
class Prefilter:
    """Conditions SQLite can use; the exact PS3.4 matching follows in Python."""

    where: list[str]
    params: list[Any]


class WorklistStore:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    # -- writing --------------------------------------------------------------------------
    def _write(self, item: Item, source: str, key: str, now: float) -> tuple[int, bool]:
        step = step_of(item)
        values = (
            source,
            step.get("ScheduledProcedureStepStatus", "SCHEDULED"),
            item.get("PatientID", ""),
            str(item.get("PatientName", "")).upper(),
            item.get("AccessionNumber", ""),
            item.get("RequestedProcedureID", ""),
            item.get("StudyInstanceUID", ""),
            step.get("ScheduledProcedureStepID", ""),
            step.get("Modality", ""),
            step.get("ScheduledProcedureStepStartDate", ""),
            step.get("ScheduledProcedureStepStartTime", ""),
            json.dumps(item, ensure_ascii=False, sort_keys=True),
        )
        row = self.conn.execute(
            "SELECT id FROM worklist_items WHERE item_key = ?", (key,)
        ).fetchone()
        if row is not None:
            self.conn.execute(
                "UPDATE worklist_items SET source = ?, status = ?, patient_id = ?, "
                "patient_name = ?, accession_number = ?, requested_procedure_id = ?, "
                "study_uid = ?, sps_id = ?, modality = ?, sps_start_date = ?, "
                "sps_start_time = ?, item = ?, updated_at = ? WHERE id = ?",
                (*values, now, row[0]),
            )
            return int(row[0]), False
        cursor = self.conn.execute(
            "INSERT INTO worklist_items (source, status, patient_id, patient_name, "
            "accession_number, requested_procedure_id, study_uid, sps_id, modality, "
            "sps_start_date, sps_start_time, item, item_key, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*values, key, now, now),
        )
        return int(cursor.lastrowid or 0), True

    def put(self, raw: Item, *, source: str, key: str | None = None) -> tuple[StoredItem, bool]:
        """Add an item, or replace the one with the same key. Returns (item, created)."""
        item = normalise(raw)
        key = key or default_key(item)
        now = time.time()
        with transaction(self.conn):
            item_id, created = self._write(item, source, key, now)
        stored = self.get(item_id)
        assert stored is not None
        return stored, created

    def put_many(self, raws: Iterable[tuple[Item, str | None]], *, source: str) -> int:
        """Add or replace many items in one transaction: all are stored or none."""
        now = time.time()
        count = 0
        with transaction(self.conn):
            for raw, key in raws:
                count += 1
                try:
                    item = normalise(raw)
                except ItemError as exc:
                    raise ItemError(f"item {count}: {exc}") from None
                self._write(item, source, key or default_key(item), now)
        return count

    def replace_source(self, raws: Iterable[tuple[Item, str | None]], *, source: str) -> int:
        """Make `source`'s items exactly these (an upstream cache refresh), atomically."""
        now = time.time()
        keys: list[str] = []
        with transaction(self.conn):
            for raw, given in raws:
                item = normalise(raw)
                key = given or default_key(item)
                self._write(item, source, key, now)
                keys.append(key)
            self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS kept_keys (key TEXT PRIMARY KEY)")
            self.conn.execute("DELETE FROM kept_keys")
            self.conn.executemany(
                "INSERT OR IGNORE INTO kept_keys VALUES (?)", [(k,) for k in keys]
            )
            # Steps a modality has started stay, so their MPPS still finds them.
            self.conn.execute(
                "DELETE FROM worklist_items WHERE source = ? AND status = 'SCHEDULED' "
                "AND item_key NOT IN (SELECT key FROM kept_keys)",
                (source,),
            )
            self.conn.execute("DELETE FROM kept_keys")
        return len(keys)

    def set_status(self, item_id: int, status: str) -> None:
        """Follow the step's progress (MPPS, HL7 cancel): column and item stay in step.

        Inside a caller's transaction (an MPPS request) this is part of it.
        """
        with transaction(self.conn):
            stored = self.get(item_id)
            if stored is None:
                return  # removed from the worklist since
            step_of(stored.item)["ScheduledProcedureStepStatus"] = status
            self.conn.execute(
                "UPDATE worklist_items SET status = ?, item = ?, updated_at = ? WHERE id = ?",
                (
                    status,
                    json.dumps(stored.item, ensure_ascii=False, sort_keys=True),
                    time.time(),
                    item_id,
                ),
            )

    def remove(self, ident: str) -> bool:
        with transaction(self.conn):
            cursor = self.conn.execute(
                "DELETE FROM worklist_items WHERE item_key = ? OR CAST(id AS TEXT) = ?",
                (ident, ident),
            )
        return cursor.rowcount > 0

    # -- reading --------------------------------------------------------------------------
    def get(self, ident: int | str) -> StoredItem | None:
        if isinstance(ident, int):
            row = self.conn.execute(_SELECT + " WHERE id = ?", (ident,)).fetchone()
        else:
            row = self.conn.execute(
                _SELECT + " WHERE item_key = ? OR CAST(id AS TEXT) = ? "
                "ORDER BY item_key = ? DESC LIMIT 1",
                (ident, ident, ident),
            ).fetchone()
        return _row(row) if row else None

    def list(
        self, *, include_finished: bool = False, date: str = "", limit: int = 200
    ) -> list[StoredItem]:
        where, params = [], []
        if not include_finished:
            where.append(f"status NOT IN ({','.join('?' * len(FINISHED))})")
            params.extend(sorted(FINISHED))
        if date:
            where.append("sps_start_date = ?")
            params.append(date)
        sql = _SELECT
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY sps_start_date, sps_start_time, id LIMIT ?"
        return [_row(r) for r in self.conn.execute(sql, (*params, limit)).fetchall()]

    def find_by(self, column: str, value: str) -> StoredItem | None:
        """The newest unfinished item with this key value (MPPS check, HL7 updates)."""
        if column not in {
            "study_uid",
            "accession_number",
            "requested_procedure_id",
            "patient_id",
            "sps_id",
        }:
            raise ValueError(f"not a worklist key column: {column}")
        row = self.conn.execute(
            f"{_SELECT} WHERE {column} = ? "  # column: from the fixed set above
            "ORDER BY status IN ('COMPLETED', 'DISCONTINUED', 'CANCELED'), id DESC LIMIT 1",
            (value,),
        ).fetchone()
        return _row(row) if row else None

    def candidates(self, prefilter: Prefilter) -> Iterator[tuple[int, str]]:
        """(id, item JSON) rows that may match, in a stable order (date, time, id).

        Ids are sorted first and items read in small batches: the sort never carries the
        JSON, and a hit limit stops the reading.
        """
        sql = "SELECT id FROM worklist_items"
        if prefilter.where:
            sql += " WHERE " + " AND ".join(prefilter.where)
        sql += " ORDER BY sps_start_date, sps_start_time, id"
        ids = [row[0] for row in self.conn.execute(sql, prefilter.params)]
        for start in range(0, len(ids), _BATCH):
            batch = ids[start : start + _BATCH]
            marks = ",".join("?" * len(batch))
            rows = dict(
                self.conn.execute(
                    f"SELECT id, item FROM worklist_items WHERE id IN ({marks})",  # noqa: S608 - placeholders only
                    batch,
                ).fetchall()
            )
            for item_id in batch:
                if item_id in rows:  # else removed since the ids were read
                    yield item_id, rows[item_id]

    def count(self) -> dict[str, int]:
        rows = self.conn.execute(
            "SELECT status, count(*) FROM worklist_items GROUP BY status"
        ).fetchall()
        return {row[0]: int(row[1]) for row in rows}
