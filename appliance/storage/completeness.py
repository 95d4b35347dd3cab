"""A study is complete after an idle time with no open association that sent to it."""

from __future__ import annotations

import json
import sqlite3
import time

from appliance.db.database import rollback


def mark_complete(
    conn: sqlite3.Connection, idle_seconds: float, now: float | None = None
) -> list[str]:
    """Mark idle studies complete and record one durable 'complete' event each."""
    now = time.time() if now is None else now
    conn.execute("BEGIN IMMEDIATE")
    try:
        rows = conn.execute(
            "SELECT s.study_uid, "
            "(SELECT count(*) FROM instances i WHERE i.study_uid = s.study_uid) "
            "FROM studies s WHERE s.state = 'receiving' AND s.last_received <= ? "
            "AND NOT EXISTS (SELECT 1 FROM association_studies a JOIN associations o "
            "ON o.id = a.association_id WHERE a.study_uid = s.study_uid AND o.state = 'open')",
            (now - idle_seconds,),
        ).fetchall()
        for study_uid, count in rows:
            conn.execute(
                "UPDATE studies SET state = 'complete', completed_at = ? WHERE study_uid = ?",
                (now, study_uid),
            )
            conn.execute(
                "INSERT INTO study_events (study_uid, event, at, detail) "
                "VALUES (?, 'complete', ?, ?)",
                (study_uid, now, json.dumps({"instances": count, "rule": "idle"})),
            )
        conn.execute("COMMIT")
    except BaseException:
        rollback(conn)
        raise
    return [row[0] for row in rows]
