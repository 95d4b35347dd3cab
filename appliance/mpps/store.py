"""MPPS rows in SQLite. Writers run inside the caller's transaction: one request, one commit."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from appliance.mpps.attributes import Reference, Summary
from statemachines.mpps import MppsState


@dataclass(frozen=True)
class StoredStep:
    uid: str
    state: MppsState
    calling_ae: str
    attributes: bytes


_NAMES = [
    "sop_instance_uid",
    "state",
    "calling_ae",
    "called_ae",
    "study_uid",
    "accession_number",
    "patient_id",
    "patient_name",
    "modality",
    "pps_id",
    "started",
    "ended",
    "completion",
    "created_at",
    "updated_at",
]
_LIST = (
    "SELECT sop_instance_uid, state, calling_ae, called_ae, study_uid, accession_number, "
    "patient_id, patient_name, modality, pps_id, started, ended, completion, created_at, "
    "updated_at FROM mpps WHERE (? = '' OR state = ?) "
    "ORDER BY updated_at DESC, sop_instance_uid LIMIT ?"
)
_SHOW = (
    "SELECT sop_instance_uid, state, calling_ae, called_ae, study_uid, accession_number, "
    "patient_id, patient_name, modality, pps_id, started, ended, completion, created_at, "
    "updated_at, attributes FROM mpps WHERE sop_instance_uid = ?"
)


class MppsStore:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    # -- one request ----------------------------------------------------------------------
    def get(self, uid: str) -> StoredStep | None:
        row = self.conn.execute(
            "SELECT sop_instance_uid, state, calling_ae, attributes FROM mpps "
            "WHERE sop_instance_uid = ?",
            (uid,),
        ).fetchone()
        return StoredStep(row[0], MppsState(row[1]), row[2], bytes(row[3])) if row else None

    def create(
        self,
        uid: str,
        state: MppsState,
        calling_ae: str,
        called_ae: str,
        summary: Summary,
        attributes: bytes,
        now: float,
    ) -> None:
        self.conn.execute(
            "INSERT INTO mpps (sop_instance_uid, state, calling_ae, called_ae, study_uid, "
            "accession_number, patient_id, patient_name, modality, pps_id, started, ended, "
            "attributes, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                uid,
                state.value,
                calling_ae,
                called_ae,
                summary.study_uid,
                summary.accession_number,
                summary.patient_id,
                summary.patient_name,
                summary.modality,
                summary.pps_id,
                summary.started,
                summary.ended,
                attributes,
                now,
                now,
            ),
        )

    def update(
        self, uid: str, state: MppsState, summary: Summary, attributes: bytes, now: float
    ) -> None:
        self.conn.execute(
            "UPDATE mpps SET state = ?, ended = ?, attributes = ?, updated_at = ? "
            "WHERE sop_instance_uid = ?",
            (state.value, summary.ended, attributes, now, uid),
        )

    def add_event(
        self,
        uid: str,
        operation: str,
        state: MppsState,
        calling_ae: str,
        transfer_syntax: str,
        dataset: bytes,
        now: float,
    ) -> None:
        self.conn.execute(
            "INSERT INTO mpps_events (sop_instance_uid, operation, state, calling_ae, at, "
            "transfer_syntax, dataset) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (uid, operation, state.value, calling_ae, now, transfer_syntax, dataset),
        )

    def link_worklist(self, uid: str, item_ids: list[int]) -> None:
        self.conn.executemany(
            "INSERT OR IGNORE INTO mpps_worklist (sop_instance_uid, item_id) VALUES (?, ?)",
            [(uid, item_id) for item_id in item_ids],
        )

    def linked_items(self, uid: str) -> list[int]:
        rows = self.conn.execute(
            "SELECT item_id FROM mpps_worklist WHERE sop_instance_uid = ? ORDER BY item_id",
            (uid,),
        ).fetchall()
        return [int(r[0]) for r in rows]

    def set_references(self, uid: str, references: list[Reference]) -> None:
        """The Performed Series Sequence as a whole: a new one replaces the old."""
        self.conn.execute("DELETE FROM mpps_instances WHERE sop_instance_uid = ?", (uid,))
        self.conn.executemany(
            "INSERT OR IGNORE INTO mpps_instances (sop_instance_uid, referenced_uid, "
            "sop_class_uid, series_uid) VALUES (?, ?, ?, ?)",
            [(uid, r.sop_instance_uid, r.sop_class_uid, r.series_uid) for r in references],
        )

    def reference_count(self, uid: str) -> int:
        row = self.conn.execute(
            "SELECT count(*) FROM mpps_instances WHERE sop_instance_uid = ?", (uid,)
        ).fetchone()
        return int(row[0])

    def set_completion(self, uid: str, completion: str) -> None:
        self.conn.execute(
            "UPDATE mpps SET completion = ? WHERE sop_instance_uid = ?", (completion, uid)
        )

    # -- reading (CLI) --------------------------------------------------------------------
    def list(self, *, state: str = "", limit: int = 50) -> list[dict[str, Any]]:
        rows = self.conn.execute(_LIST, (state, state, limit)).fetchall()
        return [dict(zip(_NAMES, row, strict=True)) for row in rows]

    def show(self, uid: str) -> dict[str, Any] | None:
        row = self.conn.execute(_SHOW, (uid,)).fetchone()
        if row is None:
            return None
        step: dict[str, Any] = dict(zip([*_NAMES, "attributes"], row, strict=True))
        step["events"] = [
            {"operation": r[0], "state": r[1], "calling_ae": r[2], "at": r[3]}
            for r in self.conn.execute(
                "SELECT operation, state, calling_ae, at FROM mpps_events "
                "WHERE sop_instance_uid = ? ORDER BY id",
                (uid,),
            )
        ]
        step["worklist_items"] = self.linked_items(uid)
        step["references"] = [
            {"sop_instance_uid": r[0], "series_uid": r[1], "received": bool(r[2])}
            for r in self.conn.execute(
                "SELECT r.referenced_uid, r.series_uid, EXISTS (SELECT 1 FROM instances i "
                "WHERE i.sop_instance_uid = r.referenced_uid) FROM mpps_instances r "
                "WHERE r.sop_instance_uid = ? ORDER BY r.series_uid, r.referenced_uid",
                (uid,),
            )
        ]
        return step
