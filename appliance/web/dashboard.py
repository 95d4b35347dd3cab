"""The status page's snapshot, built from the status report, the job store and the index."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from appliance.config.schema import KilnConfig
from appliance.publishing.job_states import (
    DiscState,
    JobEvent,
    JobState,
    TransitionRefused,
    next_job_state,
)
from appliance.publishing.jobs_store import Disc as StoredDisc
from appliance.publishing.jobs_store import Job as StoredJob
from appliance.publishing.jobs_store import JobStore
from appliance.status import collect
from appliance.storage.queries import StudyQueries
from appliance.web.alarm_source import AlarmsFactory, report_alarms
from appliance.web.models import (
    Alarm,
    Counts,
    Dashboard,
    Disc,
    Disk,
    Job,
    JobDetail,
    Role,
    Service,
    Station,
    Study,
    Worklist,
)
from appliance.web.models import (
    JobEvent as JobEventView,
)
from appliance.web.print_view import PRINT_JOBS_SHOWN, printers, recent_print_jobs

JOBS_SHOWN = 20
STUDIES_SHOWN = 10


def allowed(state: JobState, event: JobEvent) -> bool:
    try:
        next_job_state(state, event)
    except TransitionRefused:
        return False
    return True


def roles_from(report: dict[str, Any]) -> list[Role]:
    return [
        Role(
            role=name,
            up=bool(r.get("up")),
            pid=int(r.get("pid", 0)),
            since=float(r.get("since", 0)),
            last_seen=float(r.get("last_seen", 0)),
        )
        for name, r in sorted(report["roles"].items())
    ]


def stations_from(report: dict[str, Any]) -> tuple[list[Station], dict[str, str]]:
    """The stations in the devices role's heartbeat; an entry that does not parse is a
    problem to show, not a reason for the page to fail."""
    devices = report["roles"].get("devices", {})
    stations, problems = [], {str(k): str(v) for k, v in devices.get("problems", {}).items()}
    for raw in devices.get("devices", []):
        try:
            stations.append(Station.model_validate(raw))
        except ValidationError:
            name = str(raw.get("station", "?")) if isinstance(raw, dict) else "?"
            problems[name] = f"Station {name} reported a status the page cannot read."
    return stations, problems


def settled(stations: list[Station], store: JobStore) -> list[Station]:
    """The stations with what the job store knows since their heartbeat. The devices role
    beats every few seconds; the store is written the moment a disc is made. A station
    whose disc the store no longer has in progress has finished it: it is shown without
    the disc and its last step, not with them for one more beat."""
    return [s if _up_to_date(s, store) else s.model_copy(update=IDLE) for s in stations]


IDLE: dict[str, object] = {"disc": None, "step": "", "fraction": 0.0}


def _up_to_date(station: Station, store: JobStore) -> bool:
    """False when the heartbeat names a disc the store no longer has in progress."""
    if station.disc is None:
        return True
    try:
        return store.disc(station.disc).state is DiscState.IN_PROGRESS
    except LookupError:
        return False


def disc_progress(disc: StoredDisc, progress: dict[int, float]) -> float | None:
    """A disc being made: its station's fraction of the current step; a disc made: full.
    Any other disc has no progress bar (a heartbeat older than the disc's end is ignored)."""
    if disc.state is DiscState.DONE:
        return 1.0
    if disc.state is DiscState.IN_PROGRESS:
        return progress.get(disc.id)
    return None


def disc_view(disc: StoredDisc, progress: dict[int, float]) -> Disc:
    return Disc(
        id=disc.id,
        slot=disc.slot,
        volume=disc.volume,
        volumes=disc.volumes,
        copy_type=disc.copy_type.value,
        copy_number=disc.copy_number,
        medium=disc.medium.value,
        attempt=disc.attempt,
        state=disc.state.value,
        station=disc.station,
        step="" if disc.state is DiscState.DONE else disc.step,  # a made disc has no step
        error=disc.error,
        progress=disc_progress(disc, progress),
    )


def job_view(store: JobStore, job: StoredJob, progress: dict[int, float]) -> Job:
    discs = [disc_view(d, progress) for d in store.latest(job.id)]
    return Job(
        id=job.id,
        state=job.state.value,
        priority=job.priority,
        profile=job.profile,
        origin=job.origin,
        studies=list(job.studies),
        message=job.message,
        created_at=job.created_at,
        updated_at=job.updated_at,
        discs=discs,
        discs_done=sum(d.state == "done" for d in discs),
        can_retry=allowed(job.state, JobEvent.RETRY),
        can_cancel=allowed(job.state, JobEvent.CANCEL),
    )


def job_detail(store: JobStore, job_id: int, progress: dict[int, float]) -> JobDetail:
    """Raises UnknownJob."""
    job = store.job(job_id)
    summary = job_view(store, job, progress)
    return JobDetail(
        **summary.model_dump(exclude={"discs"}),
        discs=summary.discs,
        attempts=[disc_view(d, progress) for d in store.discs(job_id)],
        events=[
            JobEventView(id=e.id, at=e.at, disc_id=e.disc_id, event=e.event, detail=e.detail)
            for e in store.history(job_id)
        ],
    )


def progress_of(stations: list[Station]) -> dict[int, float]:
    return {s.disc: s.fraction for s in stations if s.disc is not None}


def recent_studies(conn: sqlite3.Connection, limit: int) -> list[Study]:
    return [
        Study(
            study_uid=s["study_uid"],
            patient_name=s["patient_name"],
            patient_id=s["patient_id"],
            study_date=s["study_date"],
            study_description=s["study_description"],
            accession_number=s["accession_number"],
            modalities=s["modalities"] or "",
            series=s["series"],
            instances=s["instances"],
            bytes=s["bytes"],
            state=s["state"],
            last_received=s["last_received"],
        )
        for s in StudyQueries(conn).list(limit)
    ]


def build_dashboard(
    conn: sqlite3.Connection,
    config: KilnConfig,
    clock: Callable[[], float],
    alarms: AlarmsFactory | None,
) -> Dashboard:
    report = collect(conn, config)
    roles = roles_from(report)
    stations, problems = stations_from(report)
    store = JobStore(conn, clock)
    stations = settled(stations, store)
    progress = progress_of(stations)
    active: list[Alarm] = (
        alarms(conn).active() if alarms is not None else report_alarms(stations, problems, roles)
    )
    return Dashboard(
        box=report["box"],
        time=report["time"],
        services=[Service.model_validate(s) for s in report["services"]],
        roles=roles,
        stations=stations,
        device_problems=problems,
        alarms=active,
        jobs=[job_view(store, j, progress) for j in store.jobs(limit=JOBS_SHOWN)],
        jobs_by_state=report["jobs"],
        studies=recent_studies(conn, STUDIES_SHOWN),
        counts=Counts.model_validate(report["counts"]),
        worklist=Worklist(
            scheduled=report["worklist"]["scheduled"], finished=report["worklist"]["finished"]
        ),
        mpps=report["mpps"],
        outbox=report["outbox"],
        disk=Disk.model_validate(report["disk"]),
        print_enabled=bool(report["print"]["enabled"]),
        printers=printers(conn, config, clock()),
        print_jobs=recent_print_jobs(conn, PRINT_JOBS_SHOWN),
        print_jobs_by_state=dict(report["print"]["jobs"]),
    )
