"""The Print SCP's backend: `[print]` routing, the durable queue and the outputs' state.

The dicom role's workers use it. A request is written to <data>/print/<job UID>/ and
synced, then its row is committed, before the SCP answers Success; the devices role
prints it. The printers' live state comes from the devices role through the database:
when that role has not reported for a while the box says so (FAILURE, PRINTER OFFLINE)
rather than pretend the printer is fine.
"""

from __future__ import annotations

import datetime
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from appliance.config.schema import KilnConfig
from appliance.printing.backend import (
    OutputRoute,
    PrinterReport,
    PrinterStatus,
    PrintJobReport,
    QueueFull,
)
from appliance.printing.film import PrintRequest, save
from appliance.printing.job_states import EXECUTION_STATUS
from appliance.printing.queue import OutputState, PrintQueue
from appliance.printing.settings import OutputSettings

PRINT_DIR = "print"
# A report older than this many poll periods (plus a margin) means nobody is watching.
STALE_POLLS = 3
STALE_MARGIN_SECONDS = 10.0


def output_route(name: str, output: OutputSettings) -> OutputRoute:
    return OutputRoute(
        name=name,
        kind=output.kind,
        film_sizes=tuple(output.film_sizes),
        medium_types=tuple(output.medium_types),
        min_density=output.min_density,
        max_density=output.max_density,
        color=output.color,
        max_films_queued=output.max_queued,
    )


def printer_report(
    name: str, output: OutputSettings, state: OutputState | None, now: float
) -> PrinterReport:
    """The output's state as the devices role last wrote it, unless that is too old."""
    if state is None:
        return PrinterReport(PrinterStatus.WARNING, "PRINTER INIT", name)
    stale_after = STALE_POLLS * output.poll_period + STALE_MARGIN_SECONDS
    if now - state.updated_at > stale_after:
        return PrinterReport(PrinterStatus.FAILURE, "PRINTER OFFLINE", name)
    return state.report


def request_folder(data_dir: Path, job_uid: str) -> Path:
    # Print Job UIDs are the box's own (scp creates them), never a peer's string.
    return data_dir / PRINT_DIR / job_uid


class DatabasePrintBackend:
    def __init__(
        self,
        config: KilnConfig,
        connect: Callable[[], sqlite3.Connection],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.settings = config.print
        self.connect = connect
        self.clock = clock

    def route(self, called_ae: str) -> OutputRoute | None:
        found = self.settings.by_ae_title(called_ae) if self.settings.enabled else None
        return output_route(*found) if found else None

    def enqueue(self, request: PrintRequest) -> None:
        found = self.settings.by_ae_title(request.called_ae)
        if found is None:
            raise QueueFull(f"the called AE title {request.called_ae} prints nowhere")
        name, output = found
        folder = request_folder(self.config.box.data_dir, request.job_uid)
        conn = self.connect()
        try:
            queue = PrintQueue(conn, self.clock)
            if queue.waiting(name) >= output.max_queued:
                raise QueueFull(f"{output.max_queued} print jobs are waiting for {name}")
            folder.parent.mkdir(parents=True, exist_ok=True)
            save(request, folder)
            copies = output.copies or request.session.number_of_copies or 1
            try:
                queue.add(request, name, str(folder.relative_to(self.config.box.data_dir)), copies)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
        finally:
            conn.close()

    def printer(self, called_ae: str) -> PrinterReport:
        found = self.settings.by_ae_title(called_ae)
        if found is None:
            return PrinterReport(PrinterStatus.FAILURE, "PRINTER DOWN", called_ae.strip())
        name, output = found
        conn = self.connect()
        try:
            state = PrintQueue(conn, self.clock).outputs().get(name)
        finally:
            conn.close()
        return printer_report(name, output, state, self.clock())

    def job(self, job_uid: str) -> PrintJobReport | None:
        conn = self.connect()
        try:
            job = PrintQueue(conn, self.clock).find(job_uid)
        finally:
            conn.close()
        if job is None:
            return None
        created = datetime.datetime.fromtimestamp(job.created_at)
        return PrintJobReport(
            execution_status=EXECUTION_STATUS[job.state],
            execution_status_info=job.status_info,
            print_priority=job.priority,
            creation_date=created.strftime("%Y%m%d"),
            creation_time=created.strftime("%H%M%S"),
            printer_name=job.output,
            originator=job.calling_ae,
        )
