"""The life cycle of a print job, as one table.

queued -> printing -> done; printing -> queued again when the output is down (retried
later, the modality already has its Success); failed when the output refuses the job
for good or stays down past [print] give_up_hours; cancelled by an operator. An operator
may send a failed or cancelled job back to the queue. A (state, event) pair not in the
table is refused inside the transaction that would write it.
"""

from __future__ import annotations

from enum import Enum

from appliance.printing.backend import ExecutionStatus


class PrintJobState(Enum):
    QUEUED = "queued"
    PRINTING = "printing"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class PrintJobEvent(Enum):
    START = "start"  # the runner hands the job to its output
    PRINTED = "printed"  # the output printed every film
    OUTPUT_DOWN = "output-down"  # retry later: out of paper/film, unreachable
    REFUSED = "refused"  # the output will never print it, or it waited too long
    RESTARTED = "restarted"  # found printing after a stop or crash
    RETRY = "retry"  # operator
    CANCEL = "cancel"  # operator


Q, E = PrintJobState, PrintJobEvent

PRINT_JOB_TABLE: dict[tuple[PrintJobState, PrintJobEvent], PrintJobState] = {
    (Q.QUEUED, E.START): Q.PRINTING,
    (Q.QUEUED, E.CANCEL): Q.CANCELLED,
    (Q.QUEUED, E.REFUSED): Q.FAILED,  # waited past give_up_hours
    (Q.PRINTING, E.PRINTED): Q.DONE,
    (Q.PRINTING, E.OUTPUT_DOWN): Q.QUEUED,
    (Q.PRINTING, E.REFUSED): Q.FAILED,
    (Q.PRINTING, E.RESTARTED): Q.QUEUED,
    (Q.PRINTING, E.CANCEL): Q.CANCELLED,
    (Q.FAILED, E.RETRY): Q.QUEUED,
    (Q.CANCELLED, E.RETRY): Q.QUEUED,
}
del Q, E

ACTIVE = frozenset({PrintJobState.QUEUED, PrintJobState.PRINTING})

# What Print Job N-GET answers for each state (PS3.3 C.13.8 Execution Status).
EXECUTION_STATUS = {
    PrintJobState.QUEUED: ExecutionStatus.PENDING,
    PrintJobState.PRINTING: ExecutionStatus.PRINTING,
    PrintJobState.DONE: ExecutionStatus.DONE,
    PrintJobState.FAILED: ExecutionStatus.FAILURE,
    PrintJobState.CANCELLED: ExecutionStatus.FAILURE,
}


class PrintJobRefused(Exception):
    """The table does not allow this event in this state."""

    def __init__(self, state: PrintJobState, event: PrintJobEvent) -> None:
        super().__init__(f"print job: {event.value!r} is not allowed when {state.value!r}")
        self.state = state
        self.event = event


def next_state(state: PrintJobState, event: PrintJobEvent) -> PrintJobState:
    after = PRINT_JOB_TABLE.get((state, event))
    if after is None:
        raise PrintJobRefused(state, event)
    return after
