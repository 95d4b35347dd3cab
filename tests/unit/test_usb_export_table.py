"""The USB export table: one case per (state, event) cell, written out independently here."""

from __future__ import annotations

import pytest

from statemachines.usb_export import (
    ERROR_STATES,
    TABLE,
    Transition,
    UsbExportEvent,
    UsbExportMachine,
    UsbExportState,
    UsbTransitionRefused,
    next_state,
)

S, E = UsbExportState, UsbExportEvent

# Every allowed cell; every other (state, event) pair must be refused.
ALLOWED: dict[tuple[UsbExportState, UsbExportEvent], UsbExportState] = {
    (S.ABSENT, E.DEVICE_ADDED): S.DETECTED,
    (S.DETECTED, E.DEVICE_REMOVED): S.ABSENT,
    (S.DETECTED, E.MOUNTED): S.READY,
    (S.DETECTED, E.MOUNT_FAILED_READ_ONLY): S.READ_ONLY,
    (S.DETECTED, E.MOUNT_FAILED_UNSUPPORTED_FS): S.UNSUPPORTED_FS,
    (S.DETECTED, E.MOUNT_FAILED): S.MOUNT_FAILED,
    (S.READY, E.WRITE_STARTED): S.WRITING,
    (S.READY, E.UNMOUNTED): S.DETECTED,
    (S.READY, E.DEVICE_REMOVED): S.ABSENT,
    (S.WRITING, E.WRITE_DONE): S.VERIFYING,
    (S.WRITING, E.NO_SPACE): S.FULL,
    (S.WRITING, E.WRITE_FAILED_READ_ONLY): S.READ_ONLY,
    (S.WRITING, E.IO_ERROR): S.IO_ERROR,
    (S.WRITING, E.DEVICE_REMOVED): S.REMOVED_MID_WRITE,
    (S.VERIFYING, E.VERIFY_OK): S.VERIFIED,
    (S.VERIFYING, E.VERIFY_MISMATCH): S.VERIFY_FAILED,
    (S.VERIFYING, E.IO_ERROR): S.IO_ERROR,
    (S.VERIFYING, E.DEVICE_REMOVED): S.REMOVED_MID_WRITE,
    (S.VERIFIED, E.UNMOUNTED): S.SAFE_TO_REMOVE,
    (S.VERIFIED, E.IO_ERROR): S.IO_ERROR,
    (S.VERIFIED, E.DEVICE_REMOVED): S.ABSENT,
    (S.SAFE_TO_REMOVE, E.DEVICE_REMOVED): S.ABSENT,
    (S.SAFE_TO_REMOVE, E.RESET): S.DETECTED,
    (S.READ_ONLY, E.DEVICE_REMOVED): S.ABSENT,
    (S.READ_ONLY, E.RESET): S.DETECTED,
    (S.READ_ONLY, E.RETRY_TIMEOUT): S.DETECTED,
    (S.FULL, E.DEVICE_REMOVED): S.ABSENT,
    (S.FULL, E.RESET): S.DETECTED,
    (S.FULL, E.RETRY_TIMEOUT): S.DETECTED,
    (S.UNSUPPORTED_FS, E.DEVICE_REMOVED): S.ABSENT,
    (S.UNSUPPORTED_FS, E.RESET): S.DETECTED,
    (S.UNSUPPORTED_FS, E.RETRY_TIMEOUT): S.DETECTED,
    (S.MOUNT_FAILED, E.DEVICE_REMOVED): S.ABSENT,
    (S.MOUNT_FAILED, E.RESET): S.DETECTED,
    (S.MOUNT_FAILED, E.RETRY_TIMEOUT): S.DETECTED,
    (S.IO_ERROR, E.DEVICE_REMOVED): S.ABSENT,
    (S.IO_ERROR, E.RESET): S.DETECTED,
    (S.IO_ERROR, E.RETRY_TIMEOUT): S.DETECTED,
    (S.VERIFY_FAILED, E.DEVICE_REMOVED): S.ABSENT,
    (S.VERIFY_FAILED, E.RESET): S.DETECTED,
    (S.VERIFY_FAILED, E.RETRY_TIMEOUT): S.DETECTED,
    (S.REMOVED_MID_WRITE, E.DEVICE_ADDED): S.DETECTED,
    (S.REMOVED_MID_WRITE, E.RESET): S.ABSENT,
    (S.REMOVED_MID_WRITE, E.RETRY_TIMEOUT): S.ABSENT,
}

CELLS = [(s, e) for s in UsbExportState for e in UsbExportEvent]


def test_the_table_allows_exactly_the_expected_cells() -> None:
    assert TABLE == ALLOWED


@pytest.mark.parametrize(("state", "event"), CELLS, ids=[f"{s.name}-{e.name}" for s, e in CELLS])
def test_cell(state: UsbExportState, event: UsbExportEvent) -> None:
    expected = ALLOWED.get((state, event))
    if expected is not None:
        assert next_state(state, event) is expected
        return
    with pytest.raises(UsbTransitionRefused) as refused:
        next_state(state, event)
    assert refused.value.state is state
    assert refused.value.event is event
    assert state.value in str(refused.value)


@pytest.mark.parametrize("state", [s for s in UsbExportState if s in ERROR_STATES])
def test_every_error_state_has_a_timed_and_an_explicit_way_out(state: UsbExportState) -> None:
    assert next_state(state, E.RETRY_TIMEOUT) not in ERROR_STATES
    assert next_state(state, E.RESET) not in ERROR_STATES


def test_the_happy_path_reaches_safe_to_remove_and_is_published() -> None:
    machine = UsbExportMachine()
    seen: list[Transition] = []
    machine.subscribe(seen.append)
    for event in (
        E.DEVICE_ADDED,
        E.MOUNTED,
        E.WRITE_STARTED,
        E.WRITE_DONE,
        E.VERIFY_OK,
        E.UNMOUNTED,
        E.DEVICE_REMOVED,
    ):
        machine.fire(event)
    assert [t.after for t in seen] == [
        S.DETECTED,
        S.READY,
        S.WRITING,
        S.VERIFYING,
        S.VERIFIED,
        S.SAFE_TO_REMOVE,
        S.ABSENT,
    ]
    assert seen[3] == Transition(S.WRITING, E.WRITE_DONE, S.VERIFYING)


def test_a_refused_event_leaves_the_state_alone() -> None:
    machine = UsbExportMachine(S.WRITING)
    with pytest.raises(UsbTransitionRefused):
        machine.fire(E.MOUNTED)
    assert machine.state is S.WRITING


def test_a_failing_listener_does_not_stop_the_machine() -> None:
    machine = UsbExportMachine()
    seen: list[UsbExportState] = []

    def broken(transition: Transition) -> None:
        raise RuntimeError("status page down")

    machine.subscribe(broken)
    machine.subscribe(lambda t: seen.append(t.after))
    assert machine.fire(E.DEVICE_ADDED) is S.DETECTED
    assert seen == [S.DETECTED]
