"""A disc robot with its drive and printer, one disc at a time, as one transition table.

idle -> picking -> in drive -> burning -> verifying -> to printer -> printing -> unloading
-> idle, with rejecting for a bad disc (not blank, write or verify error, failed print, or
a disc found left in a drive after a crash) and four error states:

- operator needed: someone must act (input bin empty, cover open, ink out, bin full);
- retrying: a transient fault (a missed pick, a dropped disc) is being tried again;
- offline: the robot does not answer;
- fault: out of service until repaired.

Every error state has RETRY_TIMEOUT, the station's hold time, leading to RETRYING, where
the station clears the error and checks the robot again: RECOVERED goes back to idle (the
disc in hand, if any, is then rejected from idle), another error goes to its state again.
So the machine never stays stuck on an old error, and an operator's fix is noticed without
anyone pressing a button.

The table is plain data, as in `usb_export.py`; `DiscRobotMachine` holds the state and
publishes every transition. `ERROR_EVENTS` maps the driver's error classes to events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import Enum

from drivers.primera.error_codes import ErrorClass
from statemachines.table_machine import TableMachine
from statemachines.table_machine import Transition as TableTransition

log = logging.getLogger(__name__)


class DiscRobotState(Enum):
    IDLE = "idle"
    PICKING = "picking"  # a blank disc from the input bin into a drive
    IN_DRIVE = "in drive"  # loaded, not yet burning
    BURNING = "burning"
    VERIFYING = "verifying"
    TO_PRINTER = "to printer"  # from the drive into the printer
    PRINTING = "printing"
    UNLOADING = "unloading"  # to the output bin
    REJECTING = "rejecting"  # to the reject bin
    OPERATOR_NEEDED = "operator needed"
    RETRYING = "retrying"
    OFFLINE = "offline"
    FAULT = "fault"


class DiscRobotEvent(Enum):
    PICK = "pick"  # the station sends a load-drive
    PICKED = "picked"  # the disc is in the drive
    BURN = "burn"
    BURNED = "burned"
    TO_PRINTER = "to printer"  # verified; the station sends load-printer-from-drive
    UNLOAD = "unload"  # to the output bin (verified and not labelled, or printed)
    PRINT = "print"  # the disc is in the printer; the label is sent
    REJECT = "reject"  # the disc goes to the reject bin
    DONE = "done"  # the disc is in its bin
    OPERATOR_ERROR = "operator error"
    RETRYABLE_ERROR = "retryable error"
    FATAL_ERROR = "fatal error"
    NO_ANSWER = "no answer"
    RECOVERED = "recovered"  # the error was cleared and the robot is idle
    RETRY_TIMEOUT = "retry timeout"  # the hold time of an error state is over


S, E = DiscRobotState, DiscRobotEvent

WORKING_STATES = (
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
ERROR_STATES = frozenset({S.OPERATOR_NEEDED, S.RETRYING, S.OFFLINE, S.FAULT})

# Any working state can meet any robot error (the status is polled while burning too).
_ERRORS: dict[tuple[DiscRobotState, DiscRobotEvent], DiscRobotState] = {
    (state, event): target
    for state in WORKING_STATES
    for event, target in (
        (E.OPERATOR_ERROR, S.OPERATOR_NEEDED),
        (E.RETRYABLE_ERROR, S.RETRYING),
        (E.FATAL_ERROR, S.FAULT),
        (E.NO_ANSWER, S.OFFLINE),
    )
}

# (state, event) -> next state. A pair that is not here is refused.
TABLE: dict[tuple[DiscRobotState, DiscRobotEvent], DiscRobotState] = {
    (S.IDLE, E.PICK): S.PICKING,
    # A disc left in a drive or the printer (crash, power cut, an error mid-job).
    (S.IDLE, E.REJECT): S.REJECTING,
    (S.PICKING, E.PICKED): S.IN_DRIVE,
    (S.IN_DRIVE, E.BURN): S.BURNING,
    (S.IN_DRIVE, E.REJECT): S.REJECTING,  # not blank
    (S.BURNING, E.BURNED): S.VERIFYING,
    (S.BURNING, E.REJECT): S.REJECTING,  # write error
    (S.VERIFYING, E.TO_PRINTER): S.TO_PRINTER,
    (S.VERIFYING, E.UNLOAD): S.UNLOADING,  # no label for this disc
    (S.VERIFYING, E.REJECT): S.REJECTING,  # verify mismatch
    (S.TO_PRINTER, E.PRINT): S.PRINTING,
    (S.PRINTING, E.UNLOAD): S.UNLOADING,
    (S.PRINTING, E.REJECT): S.REJECTING,  # the print failed
    (S.UNLOADING, E.DONE): S.IDLE,
    (S.REJECTING, E.DONE): S.IDLE,
    **_ERRORS,
    # Error states: cleared, or tried again after the hold time.
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
del S, E

# What the station fires for a typed robot error (robot_errors.RobotSystemError.error_class);
# a robot that does not answer (RobotOffline) is NO_ANSWER.
ERROR_EVENTS: dict[ErrorClass, DiscRobotEvent] = {
    ErrorClass.OPERATOR_FIXABLE: DiscRobotEvent.OPERATOR_ERROR,
    ErrorClass.RETRYABLE: DiscRobotEvent.RETRYABLE_ERROR,
    ErrorClass.FATAL: DiscRobotEvent.FATAL_ERROR,
}


class DiscRobotTransitionRefused(Exception):
    """The table does not allow this event in this state (a bug in the caller)."""

    def __init__(self, state: DiscRobotState, event: DiscRobotEvent) -> None:
        super().__init__(f"disc robot: {event.value!r} is not allowed in state {state.value!r}")
        self.state = state
        self.event = event


def next_state(state: DiscRobotState, event: DiscRobotEvent) -> DiscRobotState:
    try:
        return TABLE[(state, event)]
    except KeyError:
        raise DiscRobotTransitionRefused(state, event) from None


Transition = TableTransition[DiscRobotState, DiscRobotEvent]
Listener = Callable[[Transition], None]


class DiscRobotMachine(TableMachine[DiscRobotState, DiscRobotEvent]):
    """One disc's way through the robot, moved only through `TABLE`."""

    def __init__(self, name: str, state: DiscRobotState = DiscRobotState.IDLE) -> None:
        super().__init__(TABLE, state, name=name, refuse=DiscRobotTransitionRefused, log=log)
