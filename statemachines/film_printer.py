"""One DICOM film printer as one transition table.

The owner (the film relay) polls the printer (Printer N-GET) and prints on it; what it
finds is fired as an event. UNKNOWN means "not looked at yet, or look again". The error
states OUT_OF_FILM (Printer Status FAILURE with a supply term: SUPPLY EMPTY, NO SUPPLY
MGZ, EMPTY 14X17...), FAILED (any other FAILURE: PRINTER DOWN, FILM JAM...) and
UNREACHABLE (no association) each have a timed way out, RETRY_TIMEOUT -> UNKNOWN, so the
box never stays on an old error; a poll that finds the printer well leaves them at once.
A refused print (the printer is fine, the job is not) ends printing with PRINT_REFUSED.

`event_for_printer` and `event_for_error` say which event a driver answer stands for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import Enum

from drivers.film_printer.errors import (
    FilmPrinterError,
    FilmPrinterFailure,
    FilmPrinterUnreachable,
)
from drivers.film_printer.protocol import PrinterState, PrinterStatus, is_out_of_film
from statemachines.table_machine import TableMachine
from statemachines.table_machine import Transition as TableTransition

log = logging.getLogger(__name__)


class FilmPrinterState(Enum):
    UNKNOWN = "unknown"  # not looked at yet (or look again)
    IDLE = "idle"  # NORMAL
    WARNING = "warning"  # WARNING (e.g. SUPPLY LOW): prints
    PRINTING = "printing"
    OUT_OF_FILM = "out of film"
    FAILED = "failed"
    UNREACHABLE = "unreachable"


class FilmPrinterEvent(Enum):
    STATUS_NORMAL = "status normal"
    STATUS_WARNING = "status warning"
    STATUS_OUT_OF_FILM = "status out of film"
    STATUS_FAILURE = "status failure"
    UNREACHABLE = "unreachable"
    PRINT_STARTED = "print started"
    PRINT_DONE = "print done"
    PRINT_REFUSED = "print refused"
    RETRY_TIMEOUT = "retry timeout"


S, E = FilmPrinterState, FilmPrinterEvent

# What a look at the printer may find, from any state where it is not printing.
_LOOKED = {
    E.STATUS_NORMAL: S.IDLE,
    E.STATUS_WARNING: S.WARNING,
    E.STATUS_OUT_OF_FILM: S.OUT_OF_FILM,
    E.STATUS_FAILURE: S.FAILED,
    E.UNREACHABLE: S.UNREACHABLE,
}
_NOT_PRINTING = (S.UNKNOWN, S.IDLE, S.WARNING, S.OUT_OF_FILM, S.FAILED, S.UNREACHABLE)
_ERRORS = (S.OUT_OF_FILM, S.FAILED, S.UNREACHABLE)

# (state, event) -> next state. A pair that is not here is refused.
TABLE: dict[tuple[FilmPrinterState, FilmPrinterEvent], FilmPrinterState] = {
    **{(state, event): after for state in _NOT_PRINTING for event, after in _LOOKED.items()},
    # The driver asks the printer first thing, so an unknown printer may be printed on.
    (S.UNKNOWN, E.PRINT_STARTED): S.PRINTING,
    (S.IDLE, E.PRINT_STARTED): S.PRINTING,
    (S.WARNING, E.PRINT_STARTED): S.PRINTING,
    (S.PRINTING, E.PRINT_DONE): S.IDLE,
    (S.PRINTING, E.PRINT_REFUSED): S.IDLE,  # the job is refused, the printer is well
    (S.PRINTING, E.STATUS_OUT_OF_FILM): S.OUT_OF_FILM,
    (S.PRINTING, E.STATUS_FAILURE): S.FAILED,
    (S.PRINTING, E.UNREACHABLE): S.UNREACHABLE,
    **{(state, E.RETRY_TIMEOUT): S.UNKNOWN for state in _ERRORS},
}
del S, E

ERROR_STATES = frozenset(_ERRORS)
READY_STATES = frozenset({FilmPrinterState.IDLE, FilmPrinterState.WARNING})


class FilmPrinterTransitionRefused(Exception):
    """The table does not allow this event in this state (a bug in the caller)."""

    def __init__(self, state: FilmPrinterState, event: FilmPrinterEvent) -> None:
        super().__init__(f"film printer: {event.value!r} is not allowed in state {state.value!r}")
        self.state = state
        self.event = event


def next_state(state: FilmPrinterState, event: FilmPrinterEvent) -> FilmPrinterState:
    try:
        return TABLE[(state, event)]
    except KeyError:
        raise FilmPrinterTransitionRefused(state, event) from None


def event_for_printer(printer: PrinterState) -> FilmPrinterEvent:
    """The event a Printer N-GET answer stands for."""
    if printer.status is PrinterStatus.NORMAL:
        return FilmPrinterEvent.STATUS_NORMAL
    if printer.status is PrinterStatus.WARNING:
        return FilmPrinterEvent.STATUS_WARNING
    if is_out_of_film(printer.info):
        return FilmPrinterEvent.STATUS_OUT_OF_FILM
    return FilmPrinterEvent.STATUS_FAILURE


def event_for_error(error: FilmPrinterError) -> FilmPrinterEvent:
    """The event a driver error stands for (PrintRefused and the rest: PRINT_REFUSED)."""
    if isinstance(error, FilmPrinterUnreachable):
        return FilmPrinterEvent.UNREACHABLE
    if isinstance(error, FilmPrinterFailure):
        if is_out_of_film(error.status_info):
            return FilmPrinterEvent.STATUS_OUT_OF_FILM
        return FilmPrinterEvent.STATUS_FAILURE
    return FilmPrinterEvent.PRINT_REFUSED


Transition = TableTransition[FilmPrinterState, FilmPrinterEvent]
Listener = Callable[[Transition], None]


class FilmPrinterMachine(TableMachine[FilmPrinterState, FilmPrinterEvent]):
    """One film printer's state, moved only through `TABLE`; `name` labels the log."""

    def __init__(self, name: str, state: FilmPrinterState = FilmPrinterState.UNKNOWN) -> None:
        super().__init__(TABLE, state, name=name, refuse=FilmPrinterTransitionRefused, log=log)
