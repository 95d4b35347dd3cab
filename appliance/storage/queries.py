"""Read-side queries on received studies for the CLI and the API."""

from __future__ import annotations

import sqlite3
from typing import Any


class StudyQueries:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def list(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT s.*, (SELECT count(*) FROM series r WHERE r.study_uid = s.study_uid) AS series,"
            " (SELECT count(*) FROM instances i WHERE i.study_uid = s.study_uid) AS instances,"
            " (SELECT coalesce(sum(size), 0) FROM instances i WHERE i.study_uid = s.study_uid)"
            " AS bytes,"
            " (SELECT group_concat(DISTINCT modality) FROM series r"
            "  WHERE r.study_uid = s.study_uid) AS modalities"
            " FROM studies s ORDER BY s.last_received DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [dict(row) for row in rows]

    def show(self, study_uid: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT * FROM studies WHERE study_uid = ?", (study_uid,)
        ).fetchone()
        if row is None:
            return None
        study = dict(row)
        series = []
        for s in self.conn.execute(
            "SELECT * FROM series WHERE study_uid = ? ORDER BY series_number, series_uid",
            (study_uid,),
        ).fetchall():
            item = dict(s)
            item["instances"] = [
                dict(i)
                for i in self.conn.execute(
                    "SELECT sop_instance_uid, sop_class_uid, instance_number, transfer_syntax, "
                    "path, size, calling_ae, received_at FROM instances WHERE series_uid = ? "
                    "ORDER BY CAST(instance_number AS INTEGER), id",
                    (s["series_uid"],),
                ).fetchall()
            ]
            series.append(item)
        study["series"] = series
        study["events"] = [
            dict(e)
            for e in self.conn.execute(
                "SELECT event, at, detail FROM study_events WHERE study_uid = ? ORDER BY id",
                (study_uid,),
            ).fetchall()
        ]
        return study
