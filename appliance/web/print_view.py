"""The print server as the page and the API show it: each output (what modalities are told
and what its device is doing) and the print jobs with their history."""

from __future__ import annotations

import sqlite3

from appliance.config.schema import KilnConfig
from appliance.printing.database_backend import printer_report
from appliance.printing.job_states import PrintJobEvent, PrintJobRefused, PrintJobState, next_state
from appliance.printing.queue import PrintJob as StoredPrintJob
from appliance.printing.queue import PrintQueue
from appliance.web.models import Printer, PrintJob, PrintJobDetail
from appliance.web.models import PrintJobEvent as PrintJobEventView

PRINT_JOBS_SHOWN = 20


def print_allowed(state: PrintJobState, event: PrintJobEvent) -> bool:
    try:
        next_state(state, event)
    except PrintJobRefused:
        return False
    return True


def printers(conn: sqlite3.Connection, config: KilnConfig, now: float) -> list[Printer]:
    """Every configured output, in the config's order. Its status is what a Printer N-GET
    answers right now (FAILURE, PRINTER OFFLINE when the devices role stopped reporting)."""
    queue = PrintQueue(conn)
    states = queue.outputs()
    shown = []
    for name, output in config.print.outputs.items():
        state = states.get(name)
        report = printer_report(name, output, state, now)
        shown.append(
            Printer(
                output=name,
                kind=output.kind.value,
                ae_title=output.ae_title,
                description=output.description,
                status=report.status.value,
                status_info=report.status_info,
                state=state.state if state else "unknown",
                message=state.message if state else "The devices role has not reported it yet.",
                waiting=queue.waiting(name),
                updated_at=state.updated_at if state else None,
                film_sizes=list(output.film_sizes),
                medium_types=list(output.medium_types),
            )
        )
    return shown


def print_job_view(job: StoredPrintJob) -> PrintJob:
    return PrintJob(
        id=job.id,
        job_uid=job.job_uid,
        output=job.output,
        state=job.state.value,
        calling_ae=job.calling_ae,
        called_ae=job.called_ae,
        films=job.films,
        images=job.images,
        copies=job.copies,
        priority=job.priority,
        medium=job.medium,
        film_size=job.film_size,
        label=job.label,
        attempts=job.attempts,
        status_info=job.status_info,
        message=job.message,
        scale=job.scale,
        created_at=job.created_at,
        updated_at=job.updated_at,
        finished_at=job.finished_at,
        can_retry=print_allowed(job.state, PrintJobEvent.RETRY),
        can_cancel=print_allowed(job.state, PrintJobEvent.CANCEL),
    )


def recent_print_jobs(
    conn: sqlite3.Connection, limit: int, states: tuple[PrintJobState, ...] = ()
) -> list[PrintJob]:
    return [print_job_view(job) for job in PrintQueue(conn).recent(limit, states)]


def print_job_detail(conn: sqlite3.Connection, job_id: int) -> PrintJobDetail:
    """Raises UnknownPrintJob."""
    queue = PrintQueue(conn)
    job = queue.get(job_id)
    return PrintJobDetail(
        **print_job_view(job).model_dump(),
        external_id=job.external_id,
        events=[
            PrintJobEventView(at=e.at, state=e.state.value, detail=e.detail)
            for e in queue.events(job_id)
        ],
    )
