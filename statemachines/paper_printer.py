"""One paper printer (a CUPS queue) as one transition table.

The owner (the paper output) submits jobs, follows them and polls the queue; what it
finds is fired as an event. UNKNOWN means "not looked at yet, or look again".

- IDLE: the queue takes and prints jobs; PRINTING: a job of ours is at the printer.
- STOPPED: the printer needs a person, or its queue was stopped: paper out, jam, cover
  open, toner out, the queue disabled or rejecting jobs (CUPS stops a queue whose
  backend reports paper or toner out).
- OFFLINE: CUPS answers but the printer does not (off, unplugged, off the network).
- UNREACHABLE: CUPS itself does not answer, or has no such queue.

Warnings (toner low, paper low) change no state: the printer prints on. The owner keeps
the report's reasons (which fault, which warning) next to the state for the status page,
the LEDs and the DICOM Printer Status; the table only says what may happen next.

Every error state has a timed way out, RETRY_TIMEOUT -> UNKNOWN: the owner then resumes
the queue (cupsenable: the operator loaded paper but nobody pressed anything) and looks
again. A poll that finds the printer well leaves an error state at once. A job's end
moves PRINTING to IDLE and changes nothing elsewhere (a job cancelled while the queue is
stopped leaves it stopped).

`event_for_status`, `event_for_job` and `event_for_error` say which event a driver answer
stands for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import Enum

from drivers.cups_printer.errors import (
    JobMissing,
    JobRefused,
    PrinterError,
    PrinterUnreachable,
    QueueMissing,
)
from drivers.cups_printer.protocol import (
    JobReport,
    JobState,
    PrinterReport,
    PrinterState,
    Reason,
)
from statemachines.table_machine import TableMachine
from statemachines.table_machine import Transition as TableTransition

log = logging.getLogger(__name__)


class PaperPrinterState(Enum):
    UNKNOWN = "unknown"  # not looked at yet (or look again)
    IDLE = "idle"
    PRINTING = "printing"
    STOPPED = "stopped"  # needs a person: paper, jam, cover, toner, queue disabled
    OFFLINE = "offline"  # the printer does not answer CUPS
    UNREACHABLE = "unreachable"  # CUPS does not answer, or has no such queue


class PaperPrinterEvent(Enum):
    STATUS_READY = "status ready"  # prints (perhaps with a warning); no job of ours there
    STATUS_BUSY = "status busy"  # prints, and a job of ours is at the printer
    STATUS_STOPPED = "status stopped"
    STATUS_OFFLINE = "status offline"
    UNREACHABLE = "unreachable"
    JOB_SUBMITTED = "job submitted"
    JOB_DONE = "job done"
    JOB_FAILED = "job failed"  # cancelled, aborted, or refused by CUPS
    RETRY_TIMEOUT = "retry timeout"


S, E = PaperPrinterState, PaperPrinterEvent

# What a look at the queue may find.
_LOOKED = {
    E.STATUS_READY: S.IDLE,
    E.STATUS_BUSY: S.PRINTING,
    E.STATUS_STOPPED: S.STOPPED,
    E.STATUS_OFFLINE: S.OFFLINE,
    E.UNREACHABLE: S.UNREACHABLE,
}
_NOT_PRINTING = (S.UNKNOWN, S.IDLE, S.STOPPED, S.OFFLINE, S.UNREACHABLE)
_ERRORS = (S.STOPPED, S.OFFLINE, S.UNREACHABLE)

# (state, event) -> next state. A pair that is not here is refused.
TABLE: dict[tuple[PaperPrinterState, PaperPrinterEvent], PaperPrinterState] = {
    **{(state, event): after for state in _NOT_PRINTING for event, after in _LOOKED.items()},
    # A job ends: PRINTING is over; anywhere else the printer's state is what it was.
    **{(state, E.JOB_DONE): state for state in _NOT_PRINTING},
    **{(state, E.JOB_FAILED): state for state in _NOT_PRINTING},
    # CUPS queues a job whatever the printer's state, but Kiln sends one only to a queue
    # that is well or not looked at yet; in an error state jobs wait in Kiln's queue.
    (S.UNKNOWN, E.JOB_SUBMITTED): S.PRINTING,
    (S.IDLE, E.JOB_SUBMITTED): S.PRINTING,
    (S.PRINTING, E.JOB_SUBMITTED): S.PRINTING,
    (S.PRINTING, E.JOB_DONE): S.IDLE,
    (S.PRINTING, E.JOB_FAILED): S.IDLE,
    (S.PRINTING, E.STATUS_BUSY): S.PRINTING,
    (S.PRINTING, E.STATUS_STOPPED): S.STOPPED,
    (S.PRINTING, E.STATUS_OFFLINE): S.OFFLINE,
    (S.PRINTING, E.UNREACHABLE): S.UNREACHABLE,
    **{(state, E.RETRY_TIMEOUT): S.UNKNOWN for state in _ERRORS},
}
del S, E

ERROR_STATES = frozenset(_ERRORS)
READY_STATES = frozenset({PaperPrinterState.IDLE, PaperPrinterState.UNKNOWN})


class PaperPrinterTransitionRefused(Exception):
    """The table does not allow this event in this state (a bug in the caller)."""

    def __init__(self, state: PaperPrinterState, event: PaperPrinterEvent) -> None:
        super().__init__(f"paper printer: {event.value!r} is not allowed in state {state.value!r}")
        self.state = state
        self.event = event


def next_state(state: PaperPrinterState, event: PaperPrinterEvent) -> PaperPrinterState:
    try:
        return TABLE[(state, event)]
    except KeyError:
        raise PaperPrinterTransitionRefused(state, event) from None


_OFFLINE_REASONS = frozenset({Reason.OFFLINE, Reason.SHUTDOWN})


def event_for_status(report: PrinterReport, job: JobReport | None = None) -> PaperPrinterEvent:
    """The event a look at the queue stands for. `job` is the owner's job at the
    printer, if any (a job held back by the backend's "retry later" means the printer
    does not answer, even though the queue itself looks idle)."""
    blocking = report.blocking
    if any(r.reason in _OFFLINE_REASONS for r in blocking):
        return PaperPrinterEvent.STATUS_OFFLINE
    active = job is not None and not job.finished
    if active and job is not None and "resources-are-not-ready" in job.reasons:
        return PaperPrinterEvent.STATUS_OFFLINE
    if blocking or report.state is PrinterState.STOPPED or not report.accepting:
        return PaperPrinterEvent.STATUS_STOPPED
    return PaperPrinterEvent.STATUS_BUSY if active else PaperPrinterEvent.STATUS_READY


def event_for_job(job: JobReport) -> PaperPrinterEvent | None:
    """JOB_DONE or JOB_FAILED for a job that has ended; None while it is still going."""
    if job.state is JobState.COMPLETED:
        return PaperPrinterEvent.JOB_DONE
    if job.finished:
        return PaperPrinterEvent.JOB_FAILED
    return None


def event_for_error(error: PrinterError) -> PaperPrinterEvent:
    """The event a driver error stands for. A refused or vanished job is JOB_FAILED (look
    at the queue next to learn whether the printer is the cause); NotPermitted (the queue
    could not be resumed) and other CUPS failures are STATUS_STOPPED."""
    if isinstance(error, PrinterUnreachable | QueueMissing):
        return PaperPrinterEvent.UNREACHABLE
    if isinstance(error, JobRefused | JobMissing):
        return PaperPrinterEvent.JOB_FAILED
    return PaperPrinterEvent.STATUS_STOPPED


Transition = TableTransition[PaperPrinterState, PaperPrinterEvent]
Listener = Callable[[Transition], None]


class PaperPrinterMachine(TableMachine[PaperPrinterState, PaperPrinterEvent]):
    """One paper printer's state, moved only through `TABLE`; `name` labels the log."""

    def __init__(self, name: str, state: PaperPrinterState = PaperPrinterState.UNKNOWN) -> None:
        super().__init__(TABLE, state, name=name, refuse=PaperPrinterTransitionRefused, log=log)
