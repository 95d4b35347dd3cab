"""/metrics in the Prometheus text format (version 0.0.4), from the same status report as
the page: stored instances and studies, queues, station conditions, print jobs and
printers, roles, disk, errors."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse

from appliance.printing.backend import PrinterStatus
from appliance.printing.job_states import PrintJobState
from appliance.status import collect
from appliance.web.auth import Guards
from appliance.web.dashboard import roles_from, stations_from
from appliance.web.site import Site

CONDITIONS = ("ready", "waiting-operator", "retrying", "out-of-service")
JOB_STATES = (
    "queued",
    "preparing",
    "publishing",
    "waiting-operator",
    "parked",
    "done",
    "failed",
    "cancelled",
)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Exposition:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def metric(
        self, name: str, kind: str, help_text: str, samples: Iterable[tuple[dict[str, str], float]]
    ) -> None:
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        for labels, value in samples:
            shown = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
            self.lines.append(f"{name}{{{shown}}} {value:g}" if shown else f"{name} {value:g}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def render_metrics(conn: sqlite3.Connection, report: dict[str, object]) -> str:
    counts = report["counts"]
    assert isinstance(counts, dict)
    out = Exposition()
    out.metric("kiln_instances", "gauge", "DICOM instances held", [({}, counts["instances"])])
    out.metric(
        "kiln_stored_bytes", "gauge", "Bytes of DICOM instances held", [({}, counts["bytes"])]
    )
    out.metric(
        "kiln_studies",
        "gauge",
        "Studies held, by state",
        [
            ({"state": "complete"}, counts["studies_complete"]),
            ({"state": "receiving"}, counts["studies"] - counts["studies_complete"]),
        ],
    )
    associations = dict(
        conn.execute("SELECT state, count(*) FROM associations GROUP BY state").fetchall()
    )
    out.metric(
        "kiln_associations",
        "gauge",
        "DICOM associations recorded, by state",
        [({"state": s}, associations.get(s, 0)) for s in ("open", "released", "aborted")],
    )
    jobs = report["jobs"]
    assert isinstance(jobs, dict)
    out.metric(
        "kiln_jobs",
        "gauge",
        "Disc jobs, by state",
        [({"state": s}, jobs.get(s, 0)) for s in JOB_STATES],
    )
    outbox = report["outbox"]
    assert isinstance(outbox, dict)
    out.metric(
        "kiln_outbox_messages",
        "gauge",
        "Relay and report messages, by state",
        [({"state": s}, n) for s, n in sorted(outbox.items())],
    )
    worklist = report["worklist"]
    mpps = report["mpps"]
    assert isinstance(worklist, dict) and isinstance(mpps, dict)
    out.metric(
        "kiln_worklist_items",
        "gauge",
        "Worklist items, scheduled or finished",
        [({"status": s}, worklist[s]) for s in ("scheduled", "finished")],
    )
    out.metric(
        "kiln_mpps",
        "gauge",
        "MPPS instances, by state",
        [({"state": s}, n) for s, n in mpps.items()],
    )
    discs = dict(conn.execute("SELECT state, count(*) FROM job_discs GROUP BY state").fetchall())
    out.metric(
        "kiln_disc_errors",
        "gauge",
        "Disc attempts that went wrong: rejected (bad disc), interrupted (station fault), failed",
        [({"state": s}, discs.get(s, 0)) for s in ("rejected", "interrupted", "failed")],
    )
    stations, problems = stations_from(report)
    out.metric(
        "kiln_station_condition",
        "gauge",
        "1 for each disc station's present condition",
        [
            ({"station": s.station, "condition": c}, float(s.condition == c))
            for s in stations
            for c in CONDITIONS
        ],
    )
    out.metric(
        "kiln_station_progress",
        "gauge",
        "Fraction done of the step a station is working on",
        [({"station": s.station, "step": s.step}, s.fraction) for s in stations],
    )
    out.metric(
        "kiln_station_unavailable",
        "gauge",
        "Stations that could not be opened",
        [({"station": name}, 1) for name in sorted(problems)],
    )
    printing = report["print"]
    assert isinstance(printing, dict)
    print_jobs = printing["jobs"]
    out.metric(
        "kiln_print_jobs",
        "gauge",
        "Print jobs, by state",
        [({"state": s.value}, print_jobs.get(s.value, 0)) for s in PrintJobState],
    )
    outputs = printing["outputs"]
    out.metric(
        "kiln_printer_status",
        "gauge",
        "1 for each print output's present Printer Status (what a Printer N-GET answers)",
        [
            ({"output": o["output"], "status": s.value}, float(o["status"] == s.value))
            for o in outputs
            for s in PrinterStatus
        ],
    )
    out.metric(
        "kiln_printer_waiting_jobs",
        "gauge",
        "Print jobs queued or printing, by output",
        [({"output": o["output"]}, o["waiting"]) for o in outputs],
    )
    out.metric(
        "kiln_role_up",
        "gauge",
        "1 while a role's heartbeat is fresh",
        [({"role": r.role}, float(r.up)) for r in roles_from(report)],
    )
    disk = report["disk"]
    assert isinstance(disk, dict)
    out.metric(
        "kiln_disk_free_bytes", "gauge", "Free space in the data directory", [({}, disk["free"])]
    )
    out.metric(
        "kiln_disk_total_bytes",
        "gauge",
        "Size of the data directory's file system",
        [({}, disk["total"])],
    )
    out.metric(
        "kiln_disk_reserve_bytes",
        "gauge",
        "Space below which receiving stops",
        [({}, disk["reserve"])],
    )
    return out.text()


def metrics_router(site: Site, guards: Guards) -> APIRouter:
    router = APIRouter(tags=["status"])

    @router.get(
        "/metrics",
        response_class=PlainTextResponse,
        dependencies=[Depends(guards.api_reader)],
        responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format"}},
    )
    def metrics(conn: sqlite3.Connection = Depends(site.db)) -> PlainTextResponse:  # noqa: B008
        return PlainTextResponse(
            render_metrics(conn, collect(conn, site.config)), media_type=CONTENT_TYPE
        )

    return router
