"""The USB export device (one stick at a time) as one transition table.

absent -> detected -> ready -> writing -> verifying -> verified -> safe to remove, and the
error states a stick can end in. Each error state has two ways out besides pulling the
stick: RESET (the operator starts another export) and RETRY_TIMEOUT (the exporter clears
the error after its hold time), so the box never stays stuck on an old error.

The table is plain data, as in `mpps.py`; `UsbExportMachine` holds the current state and
publishes every transition (log and listeners: status page, LEDs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import Enum

from statemachines.table_machine import TableMachine
from statemachines.table_machine import Transition as TableTransition

log = logging.getLogger(__name__)


class UsbExportState(Enum):
    ABSENT = "absent"
    DETECTED = "detected"  # a USB volume is present, not mounted
    READY = "ready"  # mounted, writable
    WRITING = "writing"
    VERIFYING = "verifying"  # mounted again read-only, every file read back
    VERIFIED = "verified"  # read back correct, being unmounted
    SAFE_TO_REMOVE = "safe to remove"
    READ_ONLY = "read-only"
    FULL = "full"
    UNSUPPORTED_FS = "unsupported file system"
    MOUNT_FAILED = "mount failed"
    IO_ERROR = "I/O error"
    REMOVED_MID_WRITE = "removed mid-write"
    VERIFY_FAILED = "verify failed"


class UsbExportEvent(Enum):
    DEVICE_ADDED = "device added"
    DEVICE_REMOVED = "device removed"
    MOUNTED = "mounted"
    MOUNT_FAILED_READ_ONLY = "mount failed: read-only"
    MOUNT_FAILED_UNSUPPORTED_FS = "mount failed: unsupported file system"
    MOUNT_FAILED = "mount failed"
    WRITE_STARTED = "write started"
    WRITE_DONE = "write done"
    NO_SPACE = "no space"
    WRITE_FAILED_READ_ONLY = "write failed: read-only"
    IO_ERROR = "I/O error"
    VERIFY_OK = "verify ok"
    VERIFY_MISMATCH = "verify mismatch"
    UNMOUNTED = "unmounted"
    RESET = "reset"
    RETRY_TIMEOUT = "retry timeout"


S, E = UsbExportState, UsbExportEvent

# (state, event) -> next state. A pair that is not here is refused.
TABLE: dict[tuple[UsbExportState, UsbExportEvent], UsbExportState] = {
    (S.ABSENT, E.DEVICE_ADDED): S.DETECTED,
    (S.DETECTED, E.DEVICE_REMOVED): S.ABSENT,
    (S.DETECTED, E.MOUNTED): S.READY,
    (S.DETECTED, E.MOUNT_FAILED_READ_ONLY): S.READ_ONLY,
    (S.DETECTED, E.MOUNT_FAILED_UNSUPPORTED_FS): S.UNSUPPORTED_FS,
    (S.DETECTED, E.MOUNT_FAILED): S.MOUNT_FAILED,
    (S.READY, E.WRITE_STARTED): S.WRITING,
    (S.READY, E.UNMOUNTED): S.DETECTED,
    # Pulled before anything was written: nothing is lost.
    (S.READY, E.DEVICE_REMOVED): S.ABSENT,
    (S.WRITING, E.WRITE_DONE): S.VERIFYING,
    (S.WRITING, E.NO_SPACE): S.FULL,
    (S.WRITING, E.WRITE_FAILED_READ_ONLY): S.READ_ONLY,
    (S.WRITING, E.IO_ERROR): S.IO_ERROR,
    (S.WRITING, E.DEVICE_REMOVED): S.REMOVED_MID_WRITE,
    (S.VERIFYING, E.VERIFY_OK): S.VERIFIED,
    (S.VERIFYING, E.VERIFY_MISMATCH): S.VERIFY_FAILED,
    (S.VERIFYING, E.IO_ERROR): S.IO_ERROR,
    # Not yet read back: the copy cannot be trusted.
    (S.VERIFYING, E.DEVICE_REMOVED): S.REMOVED_MID_WRITE,
    (S.VERIFIED, E.UNMOUNTED): S.SAFE_TO_REMOVE,
    (S.VERIFIED, E.IO_ERROR): S.IO_ERROR,
    # Read back correct from a read-only mount: pulling it now loses nothing.
    (S.VERIFIED, E.DEVICE_REMOVED): S.ABSENT,
    (S.SAFE_TO_REMOVE, E.DEVICE_REMOVED): S.ABSENT,
    (S.SAFE_TO_REMOVE, E.RESET): S.DETECTED,
    # Errors with the stick still in: pulled, tried again, or cleared after the hold time.
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
    # The stick is gone: plugged in again, or the error cleared.
    (S.REMOVED_MID_WRITE, E.DEVICE_ADDED): S.DETECTED,
    (S.REMOVED_MID_WRITE, E.RESET): S.ABSENT,
    (S.REMOVED_MID_WRITE, E.RETRY_TIMEOUT): S.ABSENT,
}
del S, E

ERROR_STATES = frozenset(
    {
        UsbExportState.READ_ONLY,
        UsbExportState.FULL,
        UsbExportState.UNSUPPORTED_FS,
        UsbExportState.MOUNT_FAILED,
        UsbExportState.IO_ERROR,
        UsbExportState.VERIFY_FAILED,
        UsbExportState.REMOVED_MID_WRITE,
    }
)


class UsbTransitionRefused(Exception):
    """The table does not allow this event in this state (a bug in the caller)."""

    def __init__(self, state: UsbExportState, event: UsbExportEvent) -> None:
        super().__init__(f"USB export: {event.value!r} is not allowed in state {state.value!r}")
        self.state = state
        self.event = event


def next_state(state: UsbExportState, event: UsbExportEvent) -> UsbExportState:
    try:
        return TABLE[(state, event)]
    except KeyError:
        raise UsbTransitionRefused(state, event) from None


Transition = TableTransition[UsbExportState, UsbExportEvent]
Listener = Callable[[Transition], None]


class UsbExportMachine(TableMachine[UsbExportState, UsbExportEvent]):
    """The USB export device's state (one stick at a time), moved only through `TABLE`."""

    def __init__(self, state: UsbExportState = UsbExportState.ABSENT) -> None:
        super().__init__(TABLE, state, name="usb", refuse=UsbTransitionRefused, log=log)
