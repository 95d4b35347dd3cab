"""The optical drive table: one case per (state, event) cell, written out independently here."""

from __future__ import annotations

import pytest

from drivers.optical.errors import (
    DriveBusy,
    DriveError,
    NoMedium,
    NotBlank,
    NotReady,
    TooSmall,
    TrayOpen,
    VerifyMismatch,
    WriteFailed,
)
from drivers.optical.media import MediaInfo, MediaState, media_type
from statemachines.optical_drive import (
    ERROR_STATES,
    TABLE,
    OpticalDriveMachine,
    OpticalEvent,
    OpticalState,
    OpticalTransitionRefused,
    Transition,
    event_for_error,
    event_for_media,
    next_state,
)

S, E = OpticalState, OpticalEvent


def _looks(state: OpticalState) -> dict[tuple[OpticalState, OpticalEvent], OpticalState]:
    """What looking at an idle drive may find."""
    return {
        (state, E.MEDIA_NONE): S.EMPTY,
        (state, E.MEDIA_BLANK): S.BLANK,
        (state, E.MEDIA_APPENDABLE): S.APPENDABLE,
        (state, E.MEDIA_CLOSED): S.CLOSED,
        (state, E.NOT_READY): S.NOT_READY,
        (state, E.TRAY_OPENED): S.TRAY_OPEN,
        (state, E.EJECT): S.TRAY_OPEN,
        (state, E.ERROR): S.ERROR,
    }


ALLOWED: dict[tuple[OpticalState, OpticalEvent], OpticalState] = {
    **_looks(S.EMPTY),
    **_looks(S.TRAY_OPEN),
    (S.TRAY_OPEN, E.TRAY_CLOSED): S.EMPTY,
    (S.TRAY_OPEN, E.RETRY_TIMEOUT): S.EMPTY,
    **_looks(S.BLANK),
    (S.BLANK, E.BURN_STARTED): S.BURNING,
    **_looks(S.APPENDABLE),
    (S.APPENDABLE, E.VERIFY_STARTED): S.VERIFYING,
    **_looks(S.CLOSED),
    (S.CLOSED, E.VERIFY_STARTED): S.VERIFYING,
    (S.BURNING, E.BURN_FINISHED): S.CLOSED,
    (S.BURNING, E.BURN_FAILED): S.ERROR,
    (S.BURNING, E.ERROR): S.ERROR,
    (S.VERIFYING, E.VERIFY_PASSED): S.CLOSED,
    (S.VERIFYING, E.VERIFY_FAILED): S.ERROR,
    (S.VERIFYING, E.ERROR): S.ERROR,
    **_looks(S.NOT_READY),
    (S.NOT_READY, E.RETRY_TIMEOUT): S.EMPTY,
    (S.ERROR, E.EJECT): S.TRAY_OPEN,
    (S.ERROR, E.TRAY_OPENED): S.TRAY_OPEN,
    (S.ERROR, E.RETRY_TIMEOUT): S.EMPTY,
}

CELLS = [(s, e) for s in OpticalState for e in OpticalEvent]


def test_the_table_allows_exactly_the_expected_cells() -> None:
    assert TABLE == ALLOWED


@pytest.mark.parametrize(("state", "event"), CELLS, ids=[f"{s.name}-{e.name}" for s, e in CELLS])
def test_cell(state: OpticalState, event: OpticalEvent) -> None:
    expected = ALLOWED.get((state, event))
    if expected is not None:
        assert next_state(state, event) is expected
        return
    with pytest.raises(OpticalTransitionRefused) as refused:
        next_state(state, event)
    assert refused.value.state is state
    assert refused.value.event is event
    assert state.value in str(refused.value)


@pytest.mark.parametrize("state", [s for s in OpticalState if s in ERROR_STATES | {S.TRAY_OPEN}])
def test_every_error_state_has_a_timed_way_out(state: OpticalState) -> None:
    assert next_state(state, E.RETRY_TIMEOUT) is S.EMPTY


def test_a_burn_and_verify_are_published_in_order() -> None:
    machine = OpticalDriveMachine("/dev/sr0")
    seen: list[Transition] = []
    machine.subscribe(seen.append)
    for event in (
        E.MEDIA_BLANK,
        E.BURN_STARTED,
        E.BURN_FINISHED,
        E.VERIFY_STARTED,
        E.VERIFY_PASSED,
        E.EJECT,
        E.TRAY_CLOSED,
    ):
        machine.fire(event)
    assert [t.after for t in seen] == [
        S.BLANK,
        S.BURNING,
        S.CLOSED,
        S.VERIFYING,
        S.CLOSED,
        S.TRAY_OPEN,
        S.EMPTY,
    ]
    assert seen[2] == Transition(S.BURNING, E.BURN_FINISHED, S.CLOSED)


def test_a_refused_event_leaves_the_state_alone() -> None:
    machine = OpticalDriveMachine("/dev/sr0", S.BURNING)
    with pytest.raises(OpticalTransitionRefused):
        machine.fire(E.EJECT)
    assert machine.state is S.BURNING


def test_a_failing_listener_does_not_stop_the_machine() -> None:
    machine = OpticalDriveMachine("/dev/sr0")
    seen: list[OpticalState] = []

    def broken(transition: Transition) -> None:
        raise RuntimeError("status page down")

    machine.subscribe(broken)
    machine.subscribe(lambda t: seen.append(t.after))
    assert machine.fire(E.MEDIA_BLANK) is S.BLANK
    assert seen == [S.BLANK]


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (MediaState.NONE, E.MEDIA_NONE),
        (MediaState.BLANK, E.MEDIA_BLANK),
        (MediaState.APPENDABLE, E.MEDIA_APPENDABLE),
        (MediaState.CLOSED, E.MEDIA_CLOSED),
        (MediaState.UNKNOWN, E.ERROR),
    ],
)
def test_media_info_gives_its_event(state: MediaState, event: OpticalEvent) -> None:
    assert event_for_media(MediaInfo(state, media_type("DVD+R"))) is event


@pytest.mark.parametrize(
    ("error", "event"),
    [
        (NoMedium("x"), E.MEDIA_NONE),
        (TrayOpen("x"), E.TRAY_OPENED),
        (NotReady("x"), E.NOT_READY),
        (NotBlank("x", state="closed"), E.MEDIA_CLOSED),
        (NotBlank("x", state="appendable"), E.MEDIA_APPENDABLE),
        (WriteFailed("x"), E.BURN_FAILED),
        (VerifyMismatch("x"), E.VERIFY_FAILED),
        (TooSmall("x", needed=2, free=1), E.ERROR),
        (DriveBusy("x"), E.ERROR),
        (DriveError("x"), E.ERROR),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_a_driver_error_gives_its_event(error: DriveError, event: OpticalEvent) -> None:
    assert event_for_error(error) is event
