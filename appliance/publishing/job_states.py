"""The life cycles of a publishing job and of each disc attempt, as two plain tables.

Job: queued -> preparing (file-sets and images) -> publishing -> done, with
waiting-operator (a station needs someone), parked (a disc failed past the redo limit: an
operator decides), failed (the images could not be made) and cancelled. Disc attempt:
pending -> image-ready -> in-progress -> done, or rejected (a bad disc: redone on a new
row), interrupted (a station fault or a crash: made again on a new row), failed (bad once
more than the redo limit allows) or cancelled.

A (state, event) pair that is not in a table is refused: the store checks every change
against these tables inside the transaction that makes it.
"""

from __future__ import annotations

from enum import Enum


class JobState(Enum):
    QUEUED = "queued"
    PREPARING = "preparing"
    PUBLISHING = "publishing"
    WAITING_OPERATOR = "waiting-operator"
    PARKED = "parked"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobEvent(Enum):
    PREPARE = "prepare"  # the runner starts building its images
    IMAGES_READY = "images-ready"
    PREPARE_FAILED = "prepare-failed"  # a file-set or image could not be made
    ALL_DISCS_DONE = "all-discs-done"
    OPERATOR_NEEDED = "operator-needed"  # a station fault someone must clear
    OPERATOR_CLEARED = "operator-cleared"  # a station made one of its discs again
    REDO_LIMIT = "redo-limit"  # a disc failed once more than allowed
    RESTARTED = "restarted"  # the runner started again after a stop or crash
    RETRY = "retry"  # the operator sends it back to the queue
    CANCEL = "cancel"


class DiscState(Enum):
    PENDING = "pending"  # planned, no image yet
    IMAGE_READY = "image-ready"  # waiting for a station
    IN_PROGRESS = "in-progress"
    DONE = "done"  # burned, verified, labelled, in an output bin
    REJECTED = "rejected"  # bad disc (reject bin); a new row redoes it
    INTERRUPTED = "interrupted"  # station fault or crash; a new row makes it again
    FAILED = "failed"  # bad, and the redo limit was reached: the job parks
    CANCELLED = "cancelled"


class DiscEvent(Enum):
    IMAGE_BUILT = "image-built"
    IMAGE_LOST = "image-lost"  # the image file is gone (cleared by hand): build again
    STARTED = "started"  # handed to a station
    MADE = "made"  # make_disc returned
    BAD_DISC = "bad-disc"  # DiscFailed with redos left
    BAD_DISC_LAST = "bad-disc-last"  # DiscFailed at the redo limit
    INTERRUPT = "interrupt"  # StationFault, or found in progress after a crash
    CANCEL = "cancel"


J, JE = JobState, JobEvent

JOB_TABLE: dict[tuple[JobState, JobEvent], JobState] = {
    (J.QUEUED, JE.PREPARE): J.PREPARING,
    (J.QUEUED, JE.CANCEL): J.CANCELLED,
    (J.PREPARING, JE.IMAGES_READY): J.PUBLISHING,
    (J.PREPARING, JE.PREPARE_FAILED): J.FAILED,
    (J.PREPARING, JE.CANCEL): J.CANCELLED,
    # Half-built images are not trusted after a crash: build them again.
    (J.PREPARING, JE.RESTARTED): J.QUEUED,
    (J.PUBLISHING, JE.ALL_DISCS_DONE): J.DONE,
    (J.PUBLISHING, JE.OPERATOR_NEEDED): J.WAITING_OPERATOR,
    (J.PUBLISHING, JE.REDO_LIMIT): J.PARKED,
    (J.PUBLISHING, JE.CANCEL): J.CANCELLED,
    (J.WAITING_OPERATOR, JE.OPERATOR_NEEDED): J.WAITING_OPERATOR,
    (J.WAITING_OPERATOR, JE.OPERATOR_CLEARED): J.PUBLISHING,
    # Another station may finish the last discs or hit the limit while one waits.
    (J.WAITING_OPERATOR, JE.ALL_DISCS_DONE): J.DONE,
    (J.WAITING_OPERATOR, JE.REDO_LIMIT): J.PARKED,
    (J.WAITING_OPERATOR, JE.CANCEL): J.CANCELLED,
    # Stations start afresh: each finds out again whether its fault is still there.
    (J.WAITING_OPERATOR, JE.RESTARTED): J.PUBLISHING,
    (J.PARKED, JE.RETRY): J.QUEUED,
    (J.PARKED, JE.CANCEL): J.CANCELLED,
    (J.FAILED, JE.RETRY): J.QUEUED,
    (J.FAILED, JE.CANCEL): J.CANCELLED,
}

D, DE = DiscState, DiscEvent

DISC_TABLE: dict[tuple[DiscState, DiscEvent], DiscState] = {
    (D.PENDING, DE.IMAGE_BUILT): D.IMAGE_READY,
    (D.PENDING, DE.CANCEL): D.CANCELLED,
    (D.IMAGE_READY, DE.STARTED): D.IN_PROGRESS,
    (D.IMAGE_READY, DE.IMAGE_LOST): D.PENDING,
    (D.IMAGE_READY, DE.CANCEL): D.CANCELLED,
    (D.IN_PROGRESS, DE.MADE): D.DONE,
    (D.IN_PROGRESS, DE.BAD_DISC): D.REJECTED,
    (D.IN_PROGRESS, DE.BAD_DISC_LAST): D.FAILED,
    (D.IN_PROGRESS, DE.INTERRUPT): D.INTERRUPTED,
    # A disc in a station cannot be called back: cancelling the job lets it finish.
}
del J, JE, D, DE

ACTIVE_JOB_STATES = frozenset(
    {JobState.QUEUED, JobState.PREPARING, JobState.PUBLISHING, JobState.WAITING_OPERATOR}
)
# Jobs whose ready discs stations may take.
SERVED_JOB_STATES = frozenset({JobState.PUBLISHING, JobState.WAITING_OPERATOR})


class TransitionRefused(Exception):
    """The table does not allow this event in this state."""

    def __init__(self, what: str, state: Enum, event: Enum) -> None:
        super().__init__(f"{what}: {event.value!r} is not allowed when {state.value!r}")
        self.state = state
        self.event = event


def next_job_state(state: JobState, event: JobEvent) -> JobState:
    try:
        return JOB_TABLE[(state, event)]
    except KeyError:
        raise TransitionRefused("job", state, event) from None


def next_disc_state(state: DiscState, event: DiscEvent) -> DiscState:
    try:
        return DISC_TABLE[(state, event)]
    except KeyError:
        raise TransitionRefused("disc", state, event) from None
