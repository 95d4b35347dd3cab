"""A paper output: films composed into a PDF at true size and printed through CUPS.

The PDF is written into the job's folder before it is submitted, and the CUPS job id is
recorded as soon as CUPS accepts it: after a crash the runner follows that CUPS job
instead of printing the films a second time. A CUPS queue that stops (out of paper, a
jam, the printer offline) keeps the job; Kiln reports the printer's state to the
modalities, answers the job "retry later", and re-enables the queue every
`retry_seconds` so CUPS tries again — a printer whose fault is fixed prints without
anyone touching the box.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from appliance.printing.backend import OutputKind, PrinterReport, PrinterStatus
from appliance.printing.compose.layout import film_size_mm
from appliance.printing.compose.pdf import film_scale, paper_pdf
from appliance.printing.compose.render import MIN_DPI, compose_film
from appliance.printing.film import PrintRequest
from appliance.printing.output import (
    Outcome,
    OutputCondition,
    Printed,
    Progress,
    Refused,
    RetryLater,
)
from appliance.printing.settings import OutputSettings
from drivers.cups_printer.driver import PaperPrinter
from drivers.cups_printer.errors import (
    JobMissing,
    JobRefused,
    NotPermitted,
    PrinterError,
    QueueMissing,
)
from drivers.cups_printer.protocol import JobReport, JobState, PrinterState, Reason, dicom_status
from drivers.cups_printer.protocol import PrinterReport as CupsPrinterReport
from statemachines.paper_printer import (
    ERROR_STATES,
    PaperPrinterEvent,
    PaperPrinterMachine,
    PaperPrinterState,
    event_for_error,
    event_for_job,
    event_for_status,
)

log = logging.getLogger(__name__)

PDF_NAME = "paper.pdf"
FOLLOW_INTERVAL = 0.25
# How long one attempt follows a CUPS job before handing the runner back its thread; the
# next attempt goes on following the same CUPS job.
FOLLOW_SECONDS = 600.0
ENDED_BADLY = (JobState.CANCELED, JobState.ABORTED)


class PaperOutput:
    kind = OutputKind.PAPER

    def __init__(
        self,
        name: str,
        settings: OutputSettings,
        printer: PaperPrinter,
        data_dir: Path,
        follow_seconds: float = FOLLOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.settings = settings
        self.printer = printer
        self.data_dir = data_dir
        self.follow_seconds = follow_seconds
        self.clock = clock
        self.machine = PaperPrinterMachine(name)
        self._stopped_since: float | None = None
        self._resume_problem = ""

    # -- state ----------------------------------------------------------------------------
    def condition(self) -> OutputCondition:
        try:
            report = self.printer.status()
        except PrinterError as error:
            self.machine.observe(event_for_error(error))
            return OutputCondition(
                PrinterReport(PrinterStatus.FAILURE, "PRINTER OFFLINE", self.name),
                self.machine.state.value,
                str(error),
            )
        report = self._retry_stopped_queue(report)
        if self.machine.state is not PaperPrinterState.PRINTING:
            self.machine.observe(event_for_status(report))
        dicom = dicom_status(report, self.printer.options.media)
        status = PrinterStatus(dicom.status)
        message = "" if status is PrinterStatus.NORMAL else _sentence(self.name, dicom.info, report)
        if self._resume_problem and status is not PrinterStatus.NORMAL:
            message = f"{message} {self._resume_problem}"
        return OutputCondition(
            PrinterReport(status, dicom.info, self.name, model_name=f"CUPS queue {report.queue}"),
            self.machine.state.value,
            message,
        )

    def _retry_stopped_queue(self, report: CupsPrinterReport) -> CupsPrinterReport:
        """The timed way out of a stopped queue: CUPS stops a queue whose printer ran out
        of paper (or jammed) and waits for someone to enable it again; Kiln enables it every
        `retry_seconds`, so a printer whose fault is fixed prints without anyone touching
        the box. A queue an administrator paused (no fault reason) is left alone."""
        faulted = report.state is PrinterState.STOPPED and any(
            reason.keyword != "paused" for reason in report.reasons
        )
        if not faulted:
            self._stopped_since = None
            return report
        now = self.clock()
        if self._stopped_since is None:
            self._stopped_since = now
            return report
        if now - self._stopped_since < self.settings.retry_seconds:
            return report
        log.info(
            "%s: the queue was stopped %.0f s ago; enabling it again",
            self.name,
            now - self._stopped_since,
        )
        self._stopped_since = None
        try:
            self.printer.resume()
        except NotPermitted as error:
            # Kiln's user is not in lpadmin: say so in the printer's sentence.
            self._resume_problem = (
                f"{error} Enable the queue by hand (cupsenable {self.printer.queue}) once the "
                "printer is fixed, or add Kiln's user to the lpadmin group."
            )
            return report
        self._resume_problem = ""
        if self.machine.state in ERROR_STATES:
            self.machine.fire(PaperPrinterEvent.RETRY_TIMEOUT)
        return self.printer.status()

    # -- printing ---------------------------------------------------------------------------
    def print_request(
        self, request: PrintRequest, copies: int, external_id: str, progress: Progress
    ) -> Outcome:
        folder = self.data_dir / "print" / request.job_uid
        try:
            if external_id:
                job_id = int(external_id)
                try:
                    return self._follow(job_id, request, progress, _scale_of(folder))
                except JobMissing:
                    log.warning("%s: CUPS forgot job %d; printing it again", self.name, job_id)
            scale = self._compose(request, folder)
            job_id = self.printer.submit(
                folder / PDF_NAME,
                f"{request.calling_ae} {request.session.film_session_label}".strip(),
                {
                    "copies": str(copies),
                    "media": self.settings.paper_size.value,
                    **({"InputSlot": self.settings.tray} if self.settings.tray else {}),
                    "print-scaling": "none",  # the PDF is laid out at true size already
                },
            )
            if self.machine.state in ERROR_STATES:
                self.machine.fire(PaperPrinterEvent.RETRY_TIMEOUT)
            self.machine.observe(PaperPrinterEvent.JOB_SUBMITTED)
            progress("PRINTING", "", str(job_id))
            return self._follow(job_id, request, progress, scale)
        except QueueMissing as error:
            return Refused(str(error))
        except JobRefused as error:
            return RetryLater("PRINTER DOWN", str(error))
        except PrinterError as error:
            self.machine.observe(event_for_error(error))
            return RetryLater("PRINTER OFFLINE", str(error))
        except ValueError as error:  # composition: a film the SCP let through but cannot lay out
            return Refused(f"The films cannot be laid out for paper: {error}")

    def _compose(self, request: PrintRequest, folder: Path) -> float:
        caption = " ".join(
            part for part in (request.calling_ae, request.session.film_session_label) if part
        )
        paper = self.settings.paper_size.value
        films = []
        for film in request.films:
            # A film larger than the paper is printed smaller: compose it only as finely as
            # the printed page shows it.
            width, height = film_size_mm(film.film_size_id, film.film_orientation)
            scale = film_scale(width, height, paper, caption=caption)
            films.append(compose_film(film, dpi=max(MIN_DPI, self.settings.dpi * scale)))
        pdf = paper_pdf(films, paper, caption=caption)
        (folder / PDF_NAME).write_bytes(pdf.data)
        scale = min(pdf.scales)
        (folder / "scale.txt").write_text(f"{scale}\n")
        for note in (*pdf.notes, *(n for film in films for n in film.notes)):
            log.info("%s: %s", self.name, note)
        return scale

    def _follow(
        self, job_id: int, request: PrintRequest, progress: Progress, scale: float | None
    ) -> Outcome:
        deadline = self.clock() + self.follow_seconds
        while True:
            report = self.printer.job(job_id)
            ended = event_for_job(report)
            if ended is not None:
                self.machine.observe(ended)
            if report.state is JobState.COMPLETED:
                return Printed(
                    f"CUPS job {job_id} on {self.printer.queue} completed",
                    external_id=str(job_id),
                    scale=scale,
                    warnings=(f"printed at {scale:.0%} of true size",)
                    if scale is not None and scale < 1
                    else (),
                )
            if report.state in ENDED_BADLY:
                # Cancelled at the printer or aborted by CUPS: print it again next time.
                progress("PRINTER DOWN", _job_sentence(self.name, report), "")
                return RetryLater("PRINTER DOWN", _job_sentence(self.name, report))
            waiting_for_printer = "printer-stopped" in report.reasons
            if report.state in (JobState.STOPPED, JobState.HELD) or waiting_for_printer:
                self.machine.observe(PaperPrinterEvent.JOB_FAILED)
                printer = self.condition()
                info = printer.report.status_info
                return RetryLater(
                    "QUEUED" if printer.report.status is PrinterStatus.NORMAL else info,
                    printer.message or _job_sentence(self.name, report),
                )
            if self.clock() >= deadline:
                return RetryLater("PRINTING", f"CUPS job {job_id} is still printing")
            time.sleep(FOLLOW_INTERVAL)

    def close(self) -> None:
        pass


def _scale_of(folder: Path) -> float | None:
    try:
        return float((folder / "scale.txt").read_text())
    except (OSError, ValueError):
        return None


# What a person at the printer does about each reason.
_ADVICE = {
    Reason.MEDIA_EMPTY: "it is out of paper: load paper",
    Reason.MEDIA_NEEDED: "it wants other paper: load the paper size the box prints on",
    Reason.MEDIA_LOW: "paper is running low: add paper",
    Reason.MEDIA_JAM: "paper is jammed: clear the jam",
    Reason.TONER_EMPTY: "it is out of toner: replace the toner",
    Reason.MARKER_SUPPLY_EMPTY: "it is out of toner or ink: replace it",
    Reason.TONER_LOW: "toner is low: have a cartridge ready",
    Reason.MARKER_SUPPLY_LOW: "toner or ink is low: have a cartridge ready",
    Reason.COVER_OPEN: "a cover is open: close it",
    Reason.DOOR_OPEN: "a door is open: close it",
    Reason.INTERLOCK_OPEN: "an interlock is open: close it",
    Reason.INPUT_TRAY_MISSING: "a paper tray is missing: put it back",
    Reason.OUTPUT_AREA_FULL: "the output tray is full: empty it",
    Reason.OFFLINE: "it does not answer: switch it on and check its cable or network",
    Reason.SHUTDOWN: "it is switched off: switch it on",
}


def _sentence(name: str, info: str, report: CupsPrinterReport) -> str:
    advice = [_ADVICE[r.reason] for r in report.reasons if r.reason in _ADVICE]
    if not advice and report.state is PrinterState.STOPPED:
        advice = ["its print queue is stopped: look at the printer"]
    what = "; ".join(dict.fromkeys(advice)) or "look at the printer"
    detail = f" (the printer says: {report.message})" if report.message else ""
    return (
        f"Paper printer {name} reports {info}{detail} — {what}. Waiting print jobs go on by "
        "themselves once it is fixed."
    )


def _job_sentence(name: str, report: JobReport) -> str:
    state = report.state.name.lower()
    detail = f": {report.message}" if report.message else ""
    return f"The {name} printer's CUPS job {report.job_id} is {state}{detail}."
