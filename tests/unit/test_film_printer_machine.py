"""The film printer table: one case per (state, event) cell, written out independently here."""

from __future__ import annotations

import pytest

from drivers.film_printer.errors import (
    FilmPrinterFailure,
    FilmPrinterUnreachable,
    PrintRefused,
)
from drivers.film_printer.protocol import PrinterState, PrinterStatus
from statemachines.film_printer import (
    ERROR_STATES,
    TABLE,
    FilmPrinterEvent,
    FilmPrinterMachine,
    FilmPrinterState,
    FilmPrinterTransitionRefused,
    Transition,
    event_for_error,
    event_for_printer,
    next_state,
)

S, E = FilmPrinterState, FilmPrinterEvent


def _looks(
    state: FilmPrinterState,
) -> dict[tuple[FilmPrinterState, FilmPrinterEvent], FilmPrinterState]:
    """What a Printer N-GET (or failing to reach the printer) may find."""
    return {
        (state, E.STATUS_NORMAL): S.IDLE,
        (state, E.STATUS_WARNING): S.WARNING,
        (state, E.STATUS_OUT_OF_FILM): S.OUT_OF_FILM,
        (state, E.STATUS_FAILURE): S.FAILED,
        (state, E.UNREACHABLE): S.UNREACHABLE,
    }


ALLOWED: dict[tuple[FilmPrinterState, FilmPrinterEvent], FilmPrinterState] = {
    **_looks(S.UNKNOWN),
    (S.UNKNOWN, E.PRINT_STARTED): S.PRINTING,
    **_looks(S.IDLE),
    (S.IDLE, E.PRINT_STARTED): S.PRINTING,
    **_looks(S.WARNING),
    (S.WARNING, E.PRINT_STARTED): S.PRINTING,
    (S.PRINTING, E.PRINT_DONE): S.IDLE,
    (S.PRINTING, E.PRINT_REFUSED): S.IDLE,
    (S.PRINTING, E.STATUS_OUT_OF_FILM): S.OUT_OF_FILM,
    (S.PRINTING, E.STATUS_FAILURE): S.FAILED,
    (S.PRINTING, E.UNREACHABLE): S.UNREACHABLE,
    **_looks(S.OUT_OF_FILM),
    (S.OUT_OF_FILM, E.RETRY_TIMEOUT): S.UNKNOWN,
    **_looks(S.FAILED),
    (S.FAILED, E.RETRY_TIMEOUT): S.UNKNOWN,
    **_looks(S.UNREACHABLE),
    (S.UNREACHABLE, E.RETRY_TIMEOUT): S.UNKNOWN,
}

CELLS = [(s, e) for s in FilmPrinterState for e in FilmPrinterEvent]


def test_the_table_allows_exactly_the_expected_cells() -> None:
    assert TABLE == ALLOWED


@pytest.mark.parametrize(("state", "event"), CELLS, ids=[f"{s.name}-{e.name}" for s, e in CELLS])
def test_cell(state: FilmPrinterState, event: FilmPrinterEvent) -> None:
    expected = ALLOWED.get((state, event))
    if expected is not None:
        assert next_state(state, event) is expected
        return
    with pytest.raises(FilmPrinterTransitionRefused) as refused:
        next_state(state, event)
    assert refused.value.state is state
    assert refused.value.event is event
    assert state.value in str(refused.value)


@pytest.mark.parametrize("state", [s for s in FilmPrinterState if s in ERROR_STATES])
def test_every_error_state_has_a_timed_way_out(state: FilmPrinterState) -> None:
    assert next_state(state, E.RETRY_TIMEOUT) is S.UNKNOWN


def test_a_print_and_a_film_out_are_published_in_order() -> None:
    machine = FilmPrinterMachine("SIMFILM@127.0.0.1:1")
    seen: list[Transition] = []
    machine.subscribe(seen.append)
    for event in (
        E.STATUS_NORMAL,
        E.PRINT_STARTED,
        E.PRINT_DONE,
        E.PRINT_STARTED,
        E.STATUS_OUT_OF_FILM,
        E.RETRY_TIMEOUT,
        E.STATUS_WARNING,
    ):
        machine.fire(event)
    assert [t.after for t in seen] == [
        S.IDLE,
        S.PRINTING,
        S.IDLE,
        S.PRINTING,
        S.OUT_OF_FILM,
        S.UNKNOWN,
        S.WARNING,
    ]
    with pytest.raises(FilmPrinterTransitionRefused):
        machine.fire(E.PRINT_DONE)
    assert machine.state is S.WARNING


@pytest.mark.parametrize(
    ("status", "info", "event"),
    [
        (PrinterStatus.NORMAL, "NORMAL", E.STATUS_NORMAL),
        (PrinterStatus.WARNING, "SUPPLY LOW", E.STATUS_WARNING),
        (PrinterStatus.FAILURE, "SUPPLY EMPTY", E.STATUS_OUT_OF_FILM),
        (PrinterStatus.FAILURE, "NO SUPPLY MGZ", E.STATUS_OUT_OF_FILM),
        (PrinterStatus.FAILURE, "EMPTY 14X17", E.STATUS_OUT_OF_FILM),
        (PrinterStatus.FAILURE, "COVER OPEN\\EMPTY 8X10 BLUE", E.STATUS_OUT_OF_FILM),
        (PrinterStatus.FAILURE, "PRINTER DOWN", E.STATUS_FAILURE),
        (PrinterStatus.FAILURE, "FILM JAM", E.STATUS_FAILURE),
    ],
)
def test_event_for_printer(status: PrinterStatus, info: str, event: FilmPrinterEvent) -> None:
    assert event_for_printer(PrinterState(status, info)) is event


def test_event_for_error() -> None:
    printer = "P@h:1"
    assert event_for_error(FilmPrinterUnreachable("x", printer=printer)) is E.UNREACHABLE
    out = FilmPrinterFailure("x", printer=printer, status_info="SUPPLY EMPTY", description="")
    assert event_for_error(out) is E.STATUS_OUT_OF_FILM
    down = FilmPrinterFailure("x", printer=printer, status_info="PRINTER DOWN", description="")
    assert event_for_error(down) is E.STATUS_FAILURE
    refused = PrintRefused(
        "x", printer=printer, operation="Film Box N-CREATE", status=0x0106, meaning=""
    )
    assert event_for_error(refused) is E.PRINT_REFUSED
