"""`PaperPrinter`: one CUPS queue. Submit a document, follow its job, read the printer's
state, resume the queue, cancel a job; typed errors (errors.py) for everything that
goes wrong. Reads are retried once on no answer (a busy cupsd); a submission is not,
since a Print-Job that timed out may still have been queued.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from drivers.cups_printer.errors import (
    CupsFailed,
    JobMissing,
    JobRefused,
    NotPermitted,
    PrinterUnreachable,
    QueueMissing,
)
from drivers.cups_printer.protocol import (
    JOB_ATTRIBUTES,
    PRINTER_ATTRIBUTES,
    DicomPrinterStatus,
    JobReport,
    MalformedAttributes,
    PrinterReport,
    dicom_status,
    parse_job,
    parse_printer,
)
from drivers.cups_printer.transport import (
    IPP_FORBIDDEN,
    IPP_NOT_AUTHORIZED,
    IPP_NOT_FOUND,
    CupsCallFailed,
    CupsNoAnswer,
    CupsTransport,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

IPP_NOT_POSSIBLE = 0x0404  # e.g. cancelling a job that has ended


@dataclass(frozen=True)
class PaperOptions:
    """What every job on this queue asks for unless the submission says otherwise
    (CUPS option names: media, InputSlot, copies, sides, print-scaling...)."""

    job_options: Mapping[str, str] = field(default_factory=lambda: {"media": "A4"})
    read_retries: int = 1  # extra tries of a read that got no answer
    retry_pause: float = 0.5

    @property
    def media(self) -> str | None:
        return self.job_options.get("media")


class PaperPrinter:
    def __init__(
        self, transport: CupsTransport, queue_name: str, options: PaperOptions | None = None
    ) -> None:
        self.transport = transport
        self.queue = queue_name
        self.options = options or PaperOptions()

    @property
    def server(self) -> str:
        return self.transport.server.label

    def submit(self, path: Path, title: str, options: Mapping[str, str] | None = None) -> int:
        """Queue the document; its CUPS job id. Options add to (and override) the
        queue's `job_options`; values are CUPS option strings ("copies": "2")."""
        try:
            readable = path.is_file() and os.access(path, os.R_OK)
        except OSError:
            readable = False
        if not readable:
            raise JobRefused(self.queue, f"the document {path} does not exist or is unreadable")
        wanted = {**self.options.job_options, **(options or {})}
        try:
            job_id = self.transport.print_file(self.queue, path, title, wanted)
        except CupsNoAnswer as error:
            raise PrinterUnreachable(self.server, str(error)) from error
        except CupsCallFailed as error:
            # libcups looks the queue up before Print-Job and reports a missing one as
            # an internal error ("No such file or directory"): ask for the queue itself.
            if error.status == IPP_NOT_FOUND or not self._queue_exists():
                raise QueueMissing(self.queue, self.server) from error
            detail = error.message or f"IPP status {error.status:#06x}"
            raise JobRefused(self.queue, detail) from error
        if job_id <= 0:
            raise JobRefused(self.queue, "the print server gave no job id")
        log.info("%s: job %d queued (%s) %s", self.queue, job_id, title, wanted)
        return job_id

    def job(self, job_id: int) -> JobReport:
        def read() -> JobReport:
            attributes = self.transport.job_attributes(job_id, JOB_ATTRIBUTES)
            return parse_job(job_id, attributes)

        try:
            return self._read("Get-Job-Attributes", read)
        except CupsCallFailed as error:
            if error.status == IPP_NOT_FOUND:
                raise JobMissing(job_id, self.server) from error
            raise CupsFailed(error.operation, error.status, error.message) from error

    def status(self) -> PrinterReport:
        def read() -> PrinterReport:
            attributes = self.transport.printer_attributes(self.queue, PRINTER_ATTRIBUTES)
            return parse_printer(self.queue, attributes)

        try:
            return self._read("Get-Printer-Attributes", read)
        except CupsCallFailed as error:
            if error.status == IPP_NOT_FOUND:
                raise QueueMissing(self.queue, self.server) from error
            raise CupsFailed(error.operation, error.status, error.message) from error

    def dicom_status(self) -> DicomPrinterStatus:
        """The DICOM Printer Status pair for this queue now (raises like `status`)."""
        return dicom_status(self.status(), self.options.media)

    def resume(self) -> None:
        """Enable the queue (cupsenable): CUPS stops a queue when the printer runs out of
        paper or toner; its waiting jobs print once it is enabled again."""
        self._admin("resuming the queue", lambda: self.transport.enable(self.queue))
        log.info("%s: queue resumed", self.queue)

    def cancel(self, job_id: int) -> None:
        """Cancel a job; one that already ended is left alone."""
        try:
            self.transport.cancel(job_id)
        except CupsNoAnswer as error:
            raise PrinterUnreachable(self.server, str(error)) from error
        except CupsCallFailed as error:
            if error.status == IPP_NOT_FOUND:
                raise JobMissing(job_id, self.server) from error
            if error.status in (IPP_NOT_AUTHORIZED, IPP_FORBIDDEN):
                raise NotPermitted("cancelling a job", self.queue, error.message) from error
            if error.status == IPP_NOT_POSSIBLE:
                return
            raise CupsFailed(error.operation, error.status, error.message) from error
        log.info("%s: job %d cancelled", self.queue, job_id)

    def wait(
        self,
        job_id: int,
        until: Callable[[JobReport], bool],
        timeout: float,
        interval: float = 0.2,
    ) -> JobReport:
        """Poll the job until `until(report)` holds; TimeoutError after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            report = self.job(job_id)
            if until(report):
                return report
            if time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} still {report.state.name} after {timeout:g} s")
            time.sleep(interval)

    # --- helpers --------------------------------------------------------------------------

    def _read(self, operation: str, read: Callable[[], T]) -> T:
        tries = 1 + max(0, self.options.read_retries)
        for attempt in range(tries):
            try:
                return read()
            except CupsNoAnswer as error:
                if attempt + 1 >= tries:
                    raise PrinterUnreachable(self.server, str(error)) from error
                log.debug("%s: %s got no answer, trying again", self.queue, operation)
                time.sleep(self.options.retry_pause)
            except MalformedAttributes as error:
                raise CupsFailed(operation, 0, str(error)) from error
        raise AssertionError("unreachable")  # pragma: no cover

    def _queue_exists(self) -> bool:
        try:
            self.transport.printer_attributes(self.queue, ("printer-state",))
        except CupsCallFailed as error:
            return error.status != IPP_NOT_FOUND
        except CupsNoAnswer:
            return True  # unknown: report what Print-Job said
        return True

    def _admin(self, operation: str, call: Callable[[], None]) -> None:
        try:
            call()
        except CupsNoAnswer as error:
            raise PrinterUnreachable(self.server, str(error)) from error
        except CupsCallFailed as error:
            if error.status == IPP_NOT_FOUND:
                raise QueueMissing(self.queue, self.server) from error
            if error.status in (IPP_NOT_AUTHORIZED, IPP_FORBIDDEN):
                raise NotPermitted(operation, self.queue, error.message) from error
            raise CupsFailed(error.operation, error.status, error.message) from error
