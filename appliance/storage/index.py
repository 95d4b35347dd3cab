"""The index of received instances, studies and associations in the database."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

import orjson

from appliance.db.database import rollback
from appliance.storage.header import InstanceHeader

_STUDY_COLUMNS = (
    "patient_id",
    "patient_name",
    "patient_birth_date",
    "patient_sex",
    "study_date",
    "study_time",
    "accession_number",
    "study_id",
    "study_description",
    "referring_physician",
    "institution_name",
    "character_set",
)
_SERIES_COLUMNS = ("modality", "series_number", "series_description", "body_part")


_SERIES_SQL = (
    f"INSERT INTO series (series_uid, study_uid, {', '.join(_SERIES_COLUMNS)}) "  # noqa: S608 - constant column names
    f"VALUES (?, ?, {', '.join('?' * len(_SERIES_COLUMNS))}) ON CONFLICT (series_uid) DO NOTHING"
)


@dataclass(frozen=True)
class StoredInstance:
    id: int
    sop_class_uid: str
    path: str
    size: int
    crc32: int
    study_uid: str


@dataclass(frozen=True)
class NewInstance:
    header: InstanceHeader
    transfer_syntax: str
    path: str
    size: int
    crc32: int
    calling_ae: str
    called_ae: str
    association_id: int | None


class Index:
    """All SQL about received data lives here; callers pass a connection in."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def find(self, sop_instance_uid: str) -> list[StoredInstance]:
        rows = self.conn.execute(
            "SELECT id, sop_class_uid, path, size, crc32, study_uid FROM instances "
            "WHERE sop_instance_uid = ? ORDER BY id",
            (sop_instance_uid,),
        ).fetchall()
        return [StoredInstance(*row) for row in rows]

    def has_path(self, path: str) -> bool:
        row = self.conn.execute("SELECT 1 FROM instances WHERE path = ?", (path,)).fetchone()
        return row is not None

    def add(
        self,
        item: NewInstance,
        *,
        replace_id: int | None = None,
        known_series: bool = False,
        linked: bool = False,
    ) -> int:
        """Index an instance (and its study and series) in one transaction."""
        h = item.header
        now = time.time()
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            study_values = [h.values.get(c, "") for c in _STUDY_COLUMNS]
            conn.execute(
                f"INSERT INTO studies (study_uid, {', '.join(_STUDY_COLUMNS)}, first_received, "  # noqa: S608 - constant column names
                f"last_received) VALUES (?, {', '.join('?' * len(_STUDY_COLUMNS))}, ?, ?) "
                "ON CONFLICT (study_uid) DO UPDATE SET last_received = excluded.last_received, "
                "state = 'receiving', completed_at = NULL",
                (h.study_uid, *study_values, now, now),
            )
            if not known_series:
                conn.execute(
                    _SERIES_SQL,
                    (h.series_uid, h.study_uid, *[h.values.get(c, "") for c in _SERIES_COLUMNS]),
                )
            values = (
                h.sop_instance_uid,
                h.sop_class_uid,
                h.series_uid,
                h.study_uid,
                h.values.get("instance_number", ""),
                item.transfer_syntax,
                item.path,
                item.size,
                item.crc32,
                item.calling_ae,
                item.called_ae,
                item.association_id,
                now,
                orjson.dumps(h.media).decode() if h.media else "{}",
            )
            if replace_id is not None:
                conn.execute(
                    "UPDATE instances SET sop_instance_uid = ?, sop_class_uid = ?, series_uid = ?, "
                    "study_uid = ?, instance_number = ?, transfer_syntax = ?, path = ?, size = ?, "
                    "crc32 = ?, calling_ae = ?, called_ae = ?, association_id = ?, "
                    "received_at = ?, media_keys = ? WHERE id = ?",
                    (*values, replace_id),
                )
                row_id = replace_id
            else:
                cursor = conn.execute(
                    "INSERT INTO instances (sop_instance_uid, sop_class_uid, series_uid, "
                    "study_uid, instance_number, transfer_syntax, path, size, crc32, calling_ae, "
                    "called_ae, association_id, received_at, media_keys) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    values,
                )
                row_id = int(cursor.lastrowid or 0)
            if item.association_id is not None and not linked:
                conn.execute(
                    "INSERT OR IGNORE INTO association_studies (association_id, study_uid) "
                    "VALUES (?, ?)",
                    (item.association_id, h.study_uid),
                )

            conn.execute("COMMIT")
        except BaseException:
            rollback(conn)
            raise
        return row_id

    def touch_study(self, study_uid: str, association_id: int) -> None:
        """A duplicate still counts as activity on its study."""
        self.conn.execute(
            "INSERT OR IGNORE INTO association_studies (association_id, study_uid) VALUES (?, ?)",
            (association_id, study_uid),
        )


class Associations:
    """Open and closed associations, so completeness knows who is still sending."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def open(self, calling: str, called: str, host: str, port: int, pid: int) -> int:
        cursor = self.conn.execute(
            "INSERT INTO associations (calling_ae, called_ae, peer_host, peer_port, pid, "
            "opened_at, state) VALUES (?, ?, ?, ?, ?, ?, 'open')",
            (calling, called, host, port, pid, time.time()),
        )
        return int(cursor.lastrowid or 0)

    def close(self, association_id: int, *, aborted: bool) -> None:
        self.conn.execute(
            "UPDATE associations SET state = ?, closed_at = ? WHERE id = ? AND state = 'open'",
            ("aborted" if aborted else "released", time.time(), association_id),
        )

    def abort_stale(self, pid: int | None = None) -> int:
        """Associations left 'open' by a process that died are closed as aborted."""
        sql = "UPDATE associations SET state = 'aborted', closed_at = ? WHERE state = 'open'"
        params: tuple[float | int, ...] = (time.time(),)
        if pid is not None:
            sql += " AND pid = ?"
            params += (pid,)
        return self.conn.execute(sql, params).rowcount

    def open_count(self) -> int:
        row = self.conn.execute("SELECT count(*) FROM associations WHERE state = 'open'").fetchone()
        return int(row[0])
