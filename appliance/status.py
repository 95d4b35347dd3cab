"""The box's status as one dictionary: used by /api/status and `appliance status`."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from typing import Any

from appliance.activities import current as current_activities
from appliance.alarms.store import active_alarms
from appliance.config.schema import KilnConfig
from appliance.outbox.queue import Outbox
from appliance.printing.database_backend import printer_report
from appliance.printing.queue import PrintQueue

STALE_AFTER = 10.0


def collect(conn: sqlite3.Connection, config: KilnConfig) -> dict[str, Any]:
    now = time.time()
    roles = {}
    for row in conn.execute("SELECT role, pid, started_at, last_seen, detail FROM role_heartbeats"):
        roles[row[0]] = {
            "pid": row[1],
            "up": now - row[3] < STALE_AFTER,
            "since": row[2],
            "last_seen": row[3],
            **json.loads(row[4]),
        }

    def one(sql: str) -> int:
        return int(conn.execute(sql).fetchone()[0])

    usage = shutil.disk_usage(config.box.data_dir)
    dicom = roles.get("dicom", {})
    return {
        "box": config.box.name,
        "time": now,
        "roles": roles,
        "services": [
            {
                "service": "dicom",
                "listening": bool(dicom.get("up")),
                "bind": config.dicom.bind,
                "port": config.dicom.port,
                "ae_titles": list(config.dicom.ae_titles),
                "open_associations": one("SELECT count(*) FROM associations WHERE state = 'open'"),
            },
            {"service": "web", "listening": True, "bind": config.web.bind, "port": config.web.port},
            *(
                [
                    {
                        "service": "hl7",
                        "listening": bool(dicom.get("up")),
                        "bind": config.hl7.bind,
                        "port": config.hl7.port,
                    }
                ]
                if config.hl7.enabled
                else []
            ),
        ],
        "counts": {
            "studies": one("SELECT count(*) FROM studies"),
            "studies_complete": one("SELECT count(*) FROM studies WHERE state = 'complete'"),
            "series": one("SELECT count(*) FROM series"),
            "instances": one("SELECT count(*) FROM instances"),
            "bytes": one("SELECT coalesce(sum(size), 0) FROM instances"),
            "associations_total": one("SELECT count(*) FROM associations"),
        },
        "worklist": {
            "scheduled": one(
                "SELECT count(*) FROM worklist_items WHERE status NOT IN "
                "('COMPLETED', 'DISCONTINUED', 'CANCELED')"
            ),
            "finished": one(
                "SELECT count(*) FROM worklist_items WHERE status IN "
                "('COMPLETED', 'DISCONTINUED', 'CANCELED')"
            ),
            "upstream": dicom.get("upstream_worklist"),
        },
        "mpps": {
            state: one(f"SELECT count(*) FROM mpps WHERE state = '{state}'")  # noqa: S608 - fixed names
            for state in ("IN PROGRESS", "COMPLETED", "DISCONTINUED")
        },
        "outbox": Outbox(conn).counts(),
        "jobs": {
            state: count
            for state, count in conn.execute("SELECT state, count(*) FROM jobs GROUP BY state")
        },
        "print": print_status(conn, config),
        "disk": {
            "total": usage.total,
            "free": usage.free,
            "reserve": config.storage.reserve_mb * 1024 * 1024,
        },
        "alarms": active_alarms(conn),
        "activities": current_activities(conn, now),
    }


def print_status(conn: sqlite3.Connection, config: KilnConfig) -> dict[str, Any]:
    """Print jobs by state, and each output as modalities see it (Printer N-GET)."""
    queue = PrintQueue(conn)
    states = queue.outputs()
    now = time.time()
    outputs = []
    for name, output in config.print.outputs.items():
        state = states.get(name)
        report = printer_report(name, output, state, now)
        outputs.append(
            {
                "output": name,
                "kind": output.kind.value,
                "ae_title": output.ae_title,
                "status": report.status.value,
                "status_info": report.status_info,
                "state": state.state if state else "unknown",
                "message": state.message if state else "",
                "waiting": queue.waiting(name),
                "address": output.address,
                "updated_at": state.updated_at if state else None,
            }
        )
    return {"enabled": config.print.enabled, "jobs": queue.counts(), "outputs": outputs}
