"""Relay a print request to a DICOM film printer, as Print SCU, and say what the queue does next.

`relay(request, printer)` converts the request the Print SCP accepted (film.py) into the
driver's datasets, prints it in one film session and answers with a small typed result:

    Done(detail, warnings)             every film printed (warnings: B6xx, SUPPLY LOW...)
    RetryLater(status_info, sentence)  the printer is unreachable, or reports FAILURE
                                       (out of film, printer down), or its queue is
                                       full: the queue keeps the job and tries again
    Failed(sentence)                   the printer refused the job in a way that will
                                       never succeed (film size or medium not supported,
                                       image too large, no color): the job fails

`FilmRelay` is one film output: the driver, the film printer state machine fed by every
answer, the last Printer N-GET (as the `PrinterReport` the Print SCP gives modalities),
and the timed retry out of the error states (`poll`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from pydicom.dataset import Dataset

from appliance.printing.backend import PrinterReport
from appliance.printing.backend import PrinterStatus as ReportedStatus
from appliance.printing.film import (
    FilmBoxSpec,
    FilmSessionSpec,
    ImageBoxSpec,
    LutSpec,
    PrintRequest,
)
from drivers.film_printer.driver import FilmPrinter, FilmToPrint, PrintOutcome
from drivers.film_printer.errors import (
    FilmPrinterError,
    FilmPrinterFailure,
    FilmPrinterUnreachable,
    PrintRefused,
)
from drivers.film_printer.protocol import (
    PrinterState,
    PrinterStatus,
    color_image_item,
    film_box_attributes,
    film_session_attributes,
    grayscale_image_item,
    image_box_attributes,
    presentation_lut_attributes,
)
from drivers.film_printer.transport import FilmPrinterTarget
from statemachines.film_printer import (
    ERROR_STATES,
    FilmPrinterEvent,
    FilmPrinterMachine,
    FilmPrinterState,
    event_for_error,
    event_for_printer,
)

log = logging.getLogger(__name__)

OFFLINE = "PRINTER OFFLINE"  # Printer Status Info reported while the printer is unreachable
QUEUED = "QUEUED"  # Execution Status Info while the printer's own queue is full


@dataclass(frozen=True)
class Done:
    detail: str  # e.g. "2 films printed on SIMFILM@127.0.0.1:11112"
    warnings: tuple[str, ...] = ()
    films_printed: int = 0
    print_jobs: tuple[str, ...] = ()  # the printer's Print Job UIDs


@dataclass(frozen=True)
class RetryLater:
    status_info: str  # Execution Status Info for the modality, e.g. SUPPLY EMPTY
    sentence: str  # for the operator: what happened, what Kiln does, what to do
    films_done: int = 0  # films of the request printed; pass as start_film next time


@dataclass(frozen=True)
class Failed:
    sentence: str  # the printer will never print this job


RelayResult = Done | RetryLater | Failed


# -- the request as the driver's datasets -------------------------------------------------------


def session_dataset(session: FilmSessionSpec, copies: int | None = None) -> Dataset:
    """Film Session N-CREATE attributes; `copies` overrides the modality's Number of Copies."""
    return film_session_attributes(
        copies=copies if copies else session.number_of_copies,
        priority=session.print_priority,
        medium=session.medium_type,
        destination=session.film_destination,
        label=session.film_session_label,
        memory_allocation=session.memory_allocation,
        owner_id=session.owner_id,
    )


def lut_dataset(lut: LutSpec) -> Dataset:
    return presentation_lut_attributes(
        shape=lut.shape, descriptor=lut.descriptor, data=lut.data, explanation=lut.explanation
    )


def image_box_dataset(box: ImageBoxSpec) -> Dataset:
    """Image Box N-SET: 8/12-bit MONOCHROME2 or 8-bit RGB (planar configuration 1)."""
    if box.color:
        item = color_image_item(box.pixels, box.pixel_aspect_ratio)
    else:
        item = grayscale_image_item(box.pixels, box.bits_stored, box.pixel_aspect_ratio)
    return image_box_attributes(
        box.position,
        item,
        color=box.color,
        polarity=box.polarity,
        magnification_type=box.magnification_type,
        smoothing_type=box.smoothing_type,
        requested_image_size=box.requested_image_size,
        configuration_information=box.configuration_information,
    )


def film_to_print(film: FilmBoxSpec) -> FilmToPrint:
    """One film box. Illumination and Reflected Ambient Light go with a Presentation LUT."""
    lut = film.presentation_lut
    attributes = film_box_attributes(
        image_display_format=film.image_display_format,
        film_orientation=film.film_orientation,
        film_size_id=film.film_size_id,
        magnification_type=film.magnification_type,
        smoothing_type=film.smoothing_type,
        border_density=film.border_density,
        empty_image_density=film.empty_image_density,
        min_density=film.min_density,
        max_density=film.max_density,
        trim=film.trim,
        configuration_information=film.configuration_information,
        requested_resolution_id=film.requested_resolution_id,
        illumination=film.illumination if lut else None,
        reflected_ambient_light=film.reflected_ambient_light if lut else None,
    )
    return FilmToPrint(
        film_box=attributes,
        image_boxes={box.position: image_box_dataset(box) for box in film.image_boxes},
        presentation_lut=lut_dataset(lut) if lut else None,
    )


# -- one attempt ------------------------------------------------------------------------------


def relay(
    request: PrintRequest,
    printer: FilmPrinter,
    *,
    copies: int | None = None,
    start_film: int = 0,
) -> RelayResult:
    """Print the request's films from `start_film` on, in one film session."""
    result, _, _ = _attempt(request, printer, copies, start_film)
    return result


def _attempt(
    request: PrintRequest, printer: FilmPrinter, copies: int | None, start_film: int
) -> tuple[RelayResult, FilmPrinterError | None, PrintOutcome | None]:
    films = [film_to_print(film) for film in request.films[start_film:]]
    if not films:
        return Done("no films left to print", films_printed=0), None, None
    try:
        outcome = printer.print_session(session_dataset(request.session, copies), films)
    except FilmPrinterError as error:
        log.warning("print job %s: %s", request.job_uid, error.sentence)
        return result_for_error(error, start_film), error, None
    detail = f"{outcome.films_printed} film(s) printed on {printer.target.label}"
    if outcome.printer.name:
        detail += f" ({outcome.printer.name})"
    warnings = tuple(str(w) for w in outcome.warnings)
    log.info("print job %s: %s", request.job_uid, detail)
    done = Done(detail, warnings, start_film + outcome.films_printed, outcome.print_jobs)
    return done, None, outcome


def result_for_error(error: FilmPrinterError, start_film: int = 0) -> RelayResult:
    """What the queue does with a driver error: retry later or fail the job."""
    done = start_film + error.films_printed
    if isinstance(error, FilmPrinterUnreachable):
        return RetryLater(OFFLINE, error.sentence, done)
    if isinstance(error, FilmPrinterFailure):
        return RetryLater(error.status_info, error.sentence, done)
    if isinstance(error, PrintRefused) and error.transient:
        return RetryLater(QUEUED, error.sentence, done)
    return Failed(error.sentence)


# -- one film output ---------------------------------------------------------------------------


def report_for(state: PrinterState) -> PrinterReport:
    """A Printer N-GET answer as what the Print SCP reports to modalities."""
    return PrinterReport(
        status=ReportedStatus(state.status.value),
        status_info=state.info,
        printer_name=state.name,
        manufacturer=state.manufacturer or "Kiln",
        model_name=state.model,
        serial_number=state.serial_number,
        software_versions=state.software_versions,
    )


class FilmRelay:
    """One DICOM film printer as an output: its driver, state machine and last status.

    `retry_seconds` is how long an error state (out of film, failed, unreachable) is kept
    before `poll` asks the printer again; a print handed over by the queue always tries.
    """

    def __init__(
        self,
        target: FilmPrinterTarget,
        *,
        name: str = "",
        retry_seconds: float = 30.0,
        printer: FilmPrinter | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.target = target
        self.name = name or target.label
        self.retry_seconds = retry_seconds
        self.printer = printer or FilmPrinter(target)
        self.machine = FilmPrinterMachine(self.name)
        self._clock = clock
        self._since = clock()  # when the machine entered its state
        self._last: PrinterState | None = None
        self._lock = threading.Lock()
        self.machine.subscribe(lambda _: self._entered())

    @property
    def state(self) -> FilmPrinterState:
        return self.machine.state

    def report(self) -> PrinterReport:
        """The printer's condition as last seen, without asking it."""
        state = self.machine.state
        if state is FilmPrinterState.UNREACHABLE:
            return PrinterReport(ReportedStatus.FAILURE, OFFLINE, self._printer_name())
        if self._last is None:
            return PrinterReport(ReportedStatus.WARNING, "UNKNOWN", self._printer_name())
        return report_for(self._last)

    def poll(self) -> PrinterReport:
        """Ask the printer (Printer N-GET) unless an error state's retry time is not over."""
        with self._lock:
            if self.machine.state in ERROR_STATES:
                if self._clock() - self._since < self.retry_seconds:
                    return self.report()
                self.machine.fire(FilmPrinterEvent.RETRY_TIMEOUT)
            try:
                printer = self.printer.status()
            except FilmPrinterError as error:
                self.machine.fire(event_for_error(error))
                return self.report()
            self._last = printer
            self.machine.observe(event_for_printer(printer))
            return self.report()

    def print_request(
        self, request: PrintRequest, *, copies: int | None = None, start_film: int = 0
    ) -> RelayResult:
        """Relay one request; the state machine follows what happened."""
        with self._lock:
            if self.machine.state in ERROR_STATES:
                self.machine.fire(FilmPrinterEvent.RETRY_TIMEOUT)  # the queue's retry
            self.machine.fire(FilmPrinterEvent.PRINT_STARTED)
            result, error, outcome = _attempt(request, self.printer, copies, start_film)
            if error is not None:
                if isinstance(error, FilmPrinterFailure):
                    self._last = PrinterState(
                        PrinterStatus.FAILURE, error.status_info, self._printer_name()
                    )
                self.machine.fire(event_for_error(error))
            else:
                self.machine.fire(FilmPrinterEvent.PRINT_DONE)
                if outcome is not None:
                    self._last = outcome.printer
                    if outcome.printer.status is PrinterStatus.WARNING:
                        self.machine.observe(FilmPrinterEvent.STATUS_WARNING)
            return result

    def _entered(self) -> None:
        self._since = self._clock()

    def _printer_name(self) -> str:
        return self._last.name if self._last and self._last.name else self.name
