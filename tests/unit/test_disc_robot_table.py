"""The disc robot table: one case per (state, event) cell, written out independently here."""

from __future__ import annotations

import pytest

from drivers.primera.error_codes import ErrorClass
from statemachines.disc_robot import (
    ERROR_EVENTS,
    ERROR_STATES,
    TABLE,
    DiscRobotEvent,
    DiscRobotMachine,
    DiscRobotState,
    DiscRobotTransitionRefused,
    Transition,
    next_state,
)

S, E = DiscRobotState, DiscRobotEvent

_ERRORS_FROM_WORK = {
    E.OPERATOR_ERROR: S.OPERATOR_NEEDED,
    E.RETRYABLE_ERROR: S.RETRYING,
    E.FATAL_ERROR: S.FAULT,
    E.NO_ANSWER: S.OFFLINE,
}

ALLOWED: dict[tuple[DiscRobotState, DiscRobotEvent], DiscRobotState] = {
    (S.IDLE, E.PICK): S.PICKING,
    (S.IDLE, E.REJECT): S.REJECTING,
    (S.PICKING, E.PICKED): S.IN_DRIVE,
    (S.IN_DRIVE, E.BURN): S.BURNING,
    (S.IN_DRIVE, E.REJECT): S.REJECTING,
    (S.BURNING, E.BURNED): S.VERIFYING,
    (S.BURNING, E.REJECT): S.REJECTING,
    (S.VERIFYING, E.TO_PRINTER): S.TO_PRINTER,
    (S.VERIFYING, E.UNLOAD): S.UNLOADING,
    (S.VERIFYING, E.REJECT): S.REJECTING,
    (S.TO_PRINTER, E.PRINT): S.PRINTING,
    (S.PRINTING, E.UNLOAD): S.UNLOADING,
    (S.PRINTING, E.REJECT): S.REJECTING,
    (S.UNLOADING, E.DONE): S.IDLE,
    (S.REJECTING, E.DONE): S.IDLE,
    **{
        (state, event): target
        for state in (
            S.IDLE,
            S.PICKING,
            S.IN_DRIVE,
            S.BURNING,
            S.VERIFYING,
            S.TO_PRINTER,
            S.PRINTING,
            S.UNLOADING,
            S.REJECTING,
        )
        for event, target in _ERRORS_FROM_WORK.items()
    },
    (S.OPERATOR_NEEDED, E.RECOVERED): S.IDLE,
    (S.OPERATOR_NEEDED, E.RETRY_TIMEOUT): S.RETRYING,
    (S.OPERATOR_NEEDED, E.NO_ANSWER): S.OFFLINE,
    (S.RETRYING, E.RECOVERED): S.IDLE,
    (S.RETRYING, E.OPERATOR_ERROR): S.OPERATOR_NEEDED,
    (S.RETRYING, E.RETRYABLE_ERROR): S.RETRYING,
    (S.RETRYING, E.FATAL_ERROR): S.FAULT,
    (S.RETRYING, E.NO_ANSWER): S.OFFLINE,
    (S.RETRYING, E.RETRY_TIMEOUT): S.RETRYING,
    (S.OFFLINE, E.RECOVERED): S.IDLE,
    (S.OFFLINE, E.RETRY_TIMEOUT): S.RETRYING,
    (S.FAULT, E.RECOVERED): S.IDLE,
    (S.FAULT, E.RETRY_TIMEOUT): S.RETRYING,
}

CELLS = [(s, e) for s in DiscRobotState for e in DiscRobotEvent]


def test_the_table_allows_exactly_the_expected_cells() -> None:
    assert TABLE == ALLOWED


@pytest.mark.parametrize(("state", "event"), CELLS, ids=[f"{s.name}-{e.name}" for s, e in CELLS])
def test_cell(state: DiscRobotState, event: DiscRobotEvent) -> None:
    expected = ALLOWED.get((state, event))
    if expected is not None:
        assert next_state(state, event) is expected
        return
    with pytest.raises(DiscRobotTransitionRefused) as refused:
        next_state(state, event)
    assert refused.value.state is state
    assert refused.value.event is event
    assert state.value in str(refused.value)


@pytest.mark.parametrize("state", [s for s in DiscRobotState if s in ERROR_STATES])
def test_every_error_state_has_a_timed_way_back_to_idle(state: DiscRobotState) -> None:
    retrying = next_state(state, E.RETRY_TIMEOUT)
    assert retrying is S.RETRYING
    assert next_state(retrying, E.RECOVERED) is S.IDLE


def test_each_error_class_has_its_event() -> None:
    assert set(ERROR_EVENTS) == set(ErrorClass)
    assert next_state(S.PICKING, ERROR_EVENTS[ErrorClass.OPERATOR_FIXABLE]) is S.OPERATOR_NEEDED
    assert next_state(S.PICKING, ERROR_EVENTS[ErrorClass.RETRYABLE]) is S.RETRYING
    assert next_state(S.PICKING, ERROR_EVENTS[ErrorClass.FATAL]) is S.FAULT


def test_a_whole_labelled_disc_is_published_step_by_step() -> None:
    machine = DiscRobotMachine("robot 1")
    seen: list[Transition] = []
    machine.subscribe(seen.append)
    for event in (E.PICK, E.PICKED, E.BURN, E.BURNED, E.TO_PRINTER, E.PRINT, E.UNLOAD, E.DONE):
        machine.fire(event)
    assert [t.after for t in seen] == [
        S.PICKING,
        S.IN_DRIVE,
        S.BURNING,
        S.VERIFYING,
        S.TO_PRINTER,
        S.PRINTING,
        S.UNLOADING,
        S.IDLE,
    ]
    assert seen[4] == Transition(S.VERIFYING, E.TO_PRINTER, S.TO_PRINTER)


def test_a_refused_event_leaves_the_state_alone() -> None:
    machine = DiscRobotMachine("robot 1", S.BURNING)
    with pytest.raises(DiscRobotTransitionRefused):
        machine.fire(E.PRINT)
    assert machine.state is S.BURNING


def test_a_failing_listener_does_not_stop_the_machine() -> None:
    machine = DiscRobotMachine("robot 1")
    seen: list[DiscRobotState] = []

    def broken(transition: Transition) -> None:
        raise RuntimeError("status page down")

    machine.subscribe(broken)
    machine.subscribe(lambda t: seen.append(t.after))
    assert machine.fire(E.PICK) is S.PICKING
    assert seen == [S.PICKING]
