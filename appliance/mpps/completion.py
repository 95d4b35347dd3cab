"""A study is complete at once when a COMPLETED step's referenced instances have all arrived.

The N-SET that completes a step settles it in its own transaction when everything is already
here; otherwise the dicom role's housekeeping calls `complete_by_mpps` every second, so the
study completes within a second of its last referenced instance.
"""

from __future__ import annotations

import json
import sqlite3
import time

from appliance.db.database import rollback

_READY = (
    "SELECT m.sop_instance_uid FROM mpps m WHERE m.completion = 'waiting' {only}"
    "AND NOT EXISTS (SELECT 1 FROM mpps_instances r WHERE r.sop_instance_uid = "
    "m.sop_instance_uid AND NOT EXISTS (SELECT 1 FROM instances i "
    "WHERE i.sop_instance_uid = r.referenced_uid))"
)


def settle(conn: sqlite3.Connection, now: float, uid: str | None = None) -> list[str]:
    """In the caller's transaction: complete the studies of ready steps; returns their UIDs."""
    only, params = ("AND m.sop_instance_uid = ? ", (uid,)) if uid else ("", ())
    completed: list[str] = []
    for (step,) in conn.execute(_READY.format(only=only), params).fetchall():
        studies = conn.execute(
            "SELECT DISTINCT i.study_uid FROM mpps_instances r JOIN instances i "
            "ON i.sop_instance_uid = r.referenced_uid WHERE r.sop_instance_uid = ?",
            (step,),
        ).fetchall()
        for (study_uid,) in studies:
            # A study the idle rule has already completed gets no second event.
            changed = conn.execute(
                "UPDATE studies SET state = 'complete', completed_at = ? "
                "WHERE study_uid = ? AND state = 'receiving'",
                (now, study_uid),
            ).rowcount
            if not changed:
                continue
            count = conn.execute(
                "SELECT count(*) FROM instances WHERE study_uid = ?", (study_uid,)
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO study_events (study_uid, event, at, detail) "
                "VALUES (?, 'complete', ?, ?)",
                (
                    study_uid,
                    now,
                    json.dumps({"instances": count, "rule": "mpps", "mpps": step}),
                ),
            )
            completed.append(study_uid)
        conn.execute("UPDATE mpps SET completion = 'done' WHERE sop_instance_uid = ?", (step,))
    return completed


def complete_by_mpps(conn: sqlite3.Connection, now: float | None = None) -> list[str]:
    """Housekeeping: settle every waiting step whose last instance has arrived."""
    now = time.time() if now is None else now
    # Most seconds nothing waits: look before taking the write lock.
    if conn.execute("SELECT 1 FROM mpps WHERE completion = 'waiting' LIMIT 1").fetchone() is None:
        return []
    conn.execute("BEGIN IMMEDIATE")
    try:
        completed = settle(conn, now)
        conn.execute("COMMIT")
    except BaseException:
        rollback(conn)
        raise
    return completed
