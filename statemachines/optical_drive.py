"""One optical drive as one transition table.

empty -> (disc detected) blank -> burning -> closed -> verifying -> closed, with the tray,
the other media states and the error states around it. EMPTY means "no disc known": after
RETRY_TIMEOUT the owner looks at the drive again (`OpticalDrive.media_info`) and fires
what it found. ERROR and NOT_READY (and an open tray, which the drive may close itself)
have a timed way out, RETRY_TIMEOUT, so the box never stays stuck on an old error.

The table is plain data, as in `usb_export.py`; `OpticalDriveMachine` holds the current
state and publishes every transition (log and listeners: status page, LEDs).
`event_for_media` and `event_for_error` say which event a driver answer stands for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import Enum

from drivers.optical.errors import (
    DriveError,
    NoMedium,
    NotBlank,
    NotReady,
    TrayOpen,
    VerifyMismatch,
    WriteFailed,
)
from drivers.optical.media import MediaInfo, MediaState
from statemachines.table_machine import TableMachine
from statemachines.table_machine import Transition as TableTransition

log = logging.getLogger(__name__)


class OpticalState(Enum):
    EMPTY = "empty"  # no disc (or not known yet: look again)
    TRAY_OPEN = "tray open"
    BLANK = "blank"
    APPENDABLE = "appendable"
    CLOSED = "closed"
    BURNING = "burning"
    VERIFYING = "verifying"
    NOT_READY = "not ready"  # the drive is still reading a new disc or spinning up
    ERROR = "error"


class OpticalEvent(Enum):
    MEDIA_NONE = "no disc detected"
    MEDIA_BLANK = "blank disc detected"
    MEDIA_APPENDABLE = "appendable disc detected"
    MEDIA_CLOSED = "closed disc detected"
    TRAY_OPENED = "tray opened"
    TRAY_CLOSED = "tray closed"
    EJECT = "eject"
    BURN_STARTED = "burn started"
    BURN_FINISHED = "burn finished"
    BURN_FAILED = "burn failed"
    VERIFY_STARTED = "verify started"
    VERIFY_PASSED = "verify passed"
    VERIFY_FAILED = "verify failed"
    NOT_READY = "not ready"
    ERROR = "error"
    RETRY_TIMEOUT = "retry timeout"


S, E = OpticalState, OpticalEvent

# What a look at the drive may find, from any state where the drive is idle.
_DETECTED = {
    E.MEDIA_NONE: S.EMPTY,
    E.MEDIA_BLANK: S.BLANK,
    E.MEDIA_APPENDABLE: S.APPENDABLE,
    E.MEDIA_CLOSED: S.CLOSED,
    E.NOT_READY: S.NOT_READY,
    E.TRAY_OPENED: S.TRAY_OPEN,
    E.EJECT: S.TRAY_OPEN,
    E.ERROR: S.ERROR,
}
_IDLE = (S.EMPTY, S.TRAY_OPEN, S.BLANK, S.APPENDABLE, S.CLOSED, S.NOT_READY)

# (state, event) -> next state. A pair that is not here is refused.
TABLE: dict[tuple[OpticalState, OpticalEvent], OpticalState] = {
    **{(state, event): after for state in _IDLE for event, after in _DETECTED.items()},
    (S.TRAY_OPEN, E.TRAY_CLOSED): S.EMPTY,  # closed: look at what is in it
    (S.TRAY_OPEN, E.RETRY_TIMEOUT): S.EMPTY,  # loading it is part of looking
    (S.BLANK, E.BURN_STARTED): S.BURNING,
    (S.APPENDABLE, E.VERIFY_STARTED): S.VERIFYING,  # burned with close=False
    (S.CLOSED, E.VERIFY_STARTED): S.VERIFYING,
    (S.BURNING, E.BURN_FINISHED): S.CLOSED,
    (S.BURNING, E.BURN_FAILED): S.ERROR,
    (S.BURNING, E.ERROR): S.ERROR,  # the drive failed otherwise (lost, timed out)
    (S.VERIFYING, E.VERIFY_PASSED): S.CLOSED,
    (S.VERIFYING, E.VERIFY_FAILED): S.ERROR,
    (S.VERIFYING, E.ERROR): S.ERROR,
    (S.NOT_READY, E.RETRY_TIMEOUT): S.EMPTY,
    # The spoiled disc is ejected for the reject bin, the tray opened by hand, or the
    # error cleared after the hold time.
    (S.ERROR, E.EJECT): S.TRAY_OPEN,
    (S.ERROR, E.TRAY_OPENED): S.TRAY_OPEN,
    (S.ERROR, E.RETRY_TIMEOUT): S.EMPTY,
}
del S, E

ERROR_STATES = frozenset({OpticalState.ERROR, OpticalState.NOT_READY})


class OpticalTransitionRefused(Exception):
    """The table does not allow this event in this state (a bug in the caller)."""

    def __init__(self, state: OpticalState, event: OpticalEvent) -> None:
        super().__init__(f"optical drive: {event.value!r} is not allowed in state {state.value!r}")
        self.state = state
        self.event = event


def next_state(state: OpticalState, event: OpticalEvent) -> OpticalState:
    try:
        return TABLE[(state, event)]
    except KeyError:
        raise OpticalTransitionRefused(state, event) from None


def event_for_media(info: MediaInfo) -> OpticalEvent:
    """The event a successful `media_info()` stands for."""
    return {
        MediaState.NONE: OpticalEvent.MEDIA_NONE,
        MediaState.BLANK: OpticalEvent.MEDIA_BLANK,
        MediaState.APPENDABLE: OpticalEvent.MEDIA_APPENDABLE,
        MediaState.CLOSED: OpticalEvent.MEDIA_CLOSED,
        MediaState.UNKNOWN: OpticalEvent.ERROR,
    }[info.state]


def event_for_error(error: DriveError) -> OpticalEvent:
    """The event a driver error stands for (TooSmall, DriveBusy and the rest: ERROR)."""
    if isinstance(error, NoMedium):
        return OpticalEvent.MEDIA_NONE
    if isinstance(error, TrayOpen):
        return OpticalEvent.TRAY_OPENED
    if isinstance(error, NotReady):
        return OpticalEvent.NOT_READY
    if isinstance(error, NotBlank):
        closed = error.state == MediaState.CLOSED.value
        return OpticalEvent.MEDIA_CLOSED if closed else OpticalEvent.MEDIA_APPENDABLE
    if isinstance(error, WriteFailed):
        return OpticalEvent.BURN_FAILED
    if isinstance(error, VerifyMismatch):
        return OpticalEvent.VERIFY_FAILED
    return OpticalEvent.ERROR


Transition = TableTransition[OpticalState, OpticalEvent]
Listener = Callable[[Transition], None]


class OpticalDriveMachine(TableMachine[OpticalState, OpticalEvent]):
    """One drive's state, moved only through `TABLE`; `name` (its device path or station)
    labels the log."""

    def __init__(self, name: str, state: OpticalState = OpticalState.EMPTY) -> None:
        super().__init__(TABLE, state, name=name, refuse=OpticalTransitionRefused, log=log)
