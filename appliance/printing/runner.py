"""The print runner (devices role): one thread per output, printing its queue in order.

Each turn an output's thread reads the device's condition and writes it to the database
(the Print SCP answers Printer N-GET from it), then prints the next queued job if the
device can print. A job whose output is down goes back to the queue with a growing
delay; one that waits longer than [print] give_up_hours fails with an operator sentence.
A job found printing after a crash is printed again, or, when its output had already
accepted it (a CUPS job id), followed to its end, so nothing is printed twice or lost.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from appliance.printing.archive import archive_pdf
from appliance.printing.backend import PrinterReport, PrinterStatus
from appliance.printing.film import load
from appliance.printing.job_states import PrintJobEvent, PrintJobRefused, PrintJobState
from appliance.printing.output import (
    OutputCondition,
    Printed,
    PrintOutput,
    Refused,
    RetryLater,
)
from appliance.printing.queue import OutputState, PrintJob, PrintQueue
from appliance.printing.settings import ArchiveKind, PrintSettings

log = logging.getLogger(__name__)
CLEANUP_SECONDS = 3600.0
QUEUE_TICK = 0.2  # seconds between looks at the queue


class PrintRunner:
    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        settings: PrintSettings,
        outputs: dict[str, PrintOutput],
        data_dir: Path,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.connect = connect
        self.settings = settings
        self.outputs = outputs
        self.data_dir = data_dir
        self.clock = clock
        self.wake = threading.Event()  # set to look at the queues now (CLI retry, tests)
        self._conditions: dict[str, OutputCondition] = {}
        self._current: dict[str, int | None] = {}
        self._lock = threading.Lock()

    # -- the loop -------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        threads = [
            threading.Thread(target=self._serve, args=(name, stop), name=f"print-{name}")
            for name in self.outputs
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _serve(self, name: str, stop: threading.Event) -> None:
        output = self.outputs[name]
        poll = self.settings.outputs[name].poll_period
        conn = self.connect()
        queue = PrintQueue(conn, self.clock)
        try:
            restarted = queue.restart_printing(name)
            if restarted:
                log.warning("%s: print job(s) %s were printing at the last stop", name, restarted)
            next_cleanup = 0.0
            next_poll = 0.0
            condition: OutputCondition | None = None
            while not stop.is_set():
                if condition is None or time.monotonic() >= next_poll:
                    condition = self._poll(name, output, queue)
                    next_poll = time.monotonic() + poll
                    self._give_up_old(name, queue)
                    if self.clock() >= next_cleanup:
                        self._clean_up(queue)
                        next_cleanup = self.clock() + CLEANUP_SECONDS
                # The queue is looked at more often than the printer: a film queued by the
                # dicom role starts within a tick, not a printer poll.
                job = queue.next_for(name) if condition.can_print else None
                if job is None:
                    self.wake.wait(min(QUEUE_TICK, poll))
                    self.wake.clear()
                    continue
                self._print(output, queue, job)
                condition = None  # look at the printer again after each job
        except Exception:
            log.exception("%s: the print runner stopped", name)
            raise
        finally:
            conn.close()

    def _poll(self, name: str, output: PrintOutput, queue: PrintQueue) -> OutputCondition:
        try:
            condition = output.condition()
        except Exception as error:  # a driver bug must not stop the queue's thread
            log.exception("%s: reading the printer's state failed", name)
            report = PrinterReport(PrinterStatus.FAILURE, "PRINTER DOWN", name)
            condition = OutputCondition(report, "error", f"The printer's state is unknown: {error}")
        with self._lock:
            before = self._conditions.get(name)
            self._conditions[name] = condition
        if before is None or before.report != condition.report:
            log.info(
                "%s: %s %s %s",
                name,
                condition.report.status.value,
                condition.report.status_info,
                condition.message,
            )
        try:
            queue.set_output(
                OutputState(
                    name,
                    output.kind,
                    condition.report,
                    condition.state,
                    condition.message,
                    self.clock(),
                )
            )
        except sqlite3.Error as error:  # busy: the next poll writes it
            log.warning("%s: printer state not stored: %s", name, error)
        return condition

    def _print(self, output: PrintOutput, queue: PrintQueue, job: PrintJob) -> None:
        name = output.name
        job = queue.change(job.id, PrintJobEvent.START, status_info="PRINTING", message="")
        with self._lock:
            self._current[name] = job.id
        try:
            try:
                request = load(self.data_dir / job.folder)
            except (OSError, ValueError, KeyError) as error:
                queue.change(
                    job.id,
                    PrintJobEvent.REFUSED,
                    status_info="FAILURE",
                    message=f"The films of this job cannot be read ({error}); print it again "
                    "from the modality.",
                )
                return

            def progress(status_info: str, sentence: str, external_id: str) -> None:
                queue.note(
                    job.id, status_info=status_info, message=sentence, external_id=external_id
                )

            try:
                outcome = output.print_request(request, job.copies, job.external_id, progress)
            except Exception as error:  # a driver bug: keep the job, try again later
                log.exception("%s: print job %d failed unexpectedly", name, job.id)
                outcome = RetryLater("PRINTER DOWN", f"The printer could not be used: {error}")
            self._settle(queue, job, outcome)
            if isinstance(outcome, Printed) and self.settings.archive is ArchiveKind.PDF:
                archive_pdf(self.data_dir, job.id, request, self.clock())
        finally:
            with self._lock:
                self._current[name] = None

    def _settle(
        self, queue: PrintQueue, job: PrintJob, outcome: Printed | RetryLater | Refused
    ) -> None:
        try:
            self._record(queue, job, outcome)
        except PrintJobRefused:
            # An operator cancelled it while it printed: the cancel stands.
            log.info("print job %d was cancelled while printing (%s)", job.id, outcome)

    def _record(
        self, queue: PrintQueue, job: PrintJob, outcome: Printed | RetryLater | Refused
    ) -> None:
        if isinstance(outcome, Printed):
            queue.change(
                job.id,
                PrintJobEvent.PRINTED,
                detail=outcome.detail,
                status_info="NORMAL",
                message="; ".join(outcome.warnings),
                external_id=outcome.external_id or None,
                scale=outcome.scale,
            )
            log.info("print job %d (%s) done: %s", job.id, job.job_uid, outcome.detail)
        elif isinstance(outcome, RetryLater):
            delay = min(
                self.settings.retry_initial_seconds * 2 ** max(job.attempts - 1, 0),
                self.settings.retry_max_seconds,
            )
            queue.change(
                job.id,
                PrintJobEvent.OUTPUT_DOWN,
                detail=outcome.sentence,
                status_info=outcome.status_info,
                message=outcome.sentence,
                retry_in=delay,
            )
            log.warning("print job %d waits %.0f s: %s", job.id, delay, outcome.sentence)
        else:
            queue.change(
                job.id,
                PrintJobEvent.REFUSED,
                detail=outcome.sentence,
                status_info="FAILURE",
                message=outcome.sentence,
            )
            log.error("print job %d failed: %s", job.id, outcome.sentence)

    def _give_up_old(self, name: str, queue: PrintQueue) -> None:
        limit = self.clock() - self.settings.give_up_hours * 3600
        for job in queue.queued_before(name, limit):
            queue.change(
                job.id,
                PrintJobEvent.REFUSED,
                status_info="FAILURE",
                message=f"The {name} printer could not print this job for "
                f"{self.settings.give_up_hours:g} hours; fix the printer, then retry "
                f"it (appliance print retry {job.id}).",
            )

    def _clean_up(self, queue: PrintQueue) -> None:
        """Films of jobs finished more than keep_days ago are deleted; their rows stay."""
        limit = self.clock() - self.settings.keep_days * 86_400
        finished = (PrintJobState.DONE, PrintJobState.FAILED, PrintJobState.CANCELLED)
        for job in queue.recent(limit=500, states=finished):
            if job.finished_at is not None and job.finished_at < limit:
                shutil.rmtree(self.data_dir / job.folder, ignore_errors=True)

    # -- for the heartbeat ------------------------------------------------------------
    def status(self) -> dict[str, dict[str, object]]:
        with self._lock:
            return {
                name: {
                    "status": condition.report.status.value,
                    "status_info": condition.report.status_info,
                    "state": condition.state,
                    "message": condition.message,
                    "job": self._current.get(name),
                }
                for name, condition in self._conditions.items()
            }

    def close(self) -> None:
        for output in self.outputs.values():
            try:
                output.close()
            except Exception as error:  # shutdown: report and go on
                log.warning("closing the %s output: %s", output.name, error)
