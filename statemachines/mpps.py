"""The Modality Performed Procedure Step life cycle (PS3.4 F.1.3, F.7.2) as one table.

The state of each step lives in the database; a request is one lookup in `TABLE`, so the
table is plain data rather than a `transitions` machine (no callbacks, nothing to publish
per device). Refusals carry the DIMSE status the SCP answers with.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum


class MppsState(Enum):
    NONE = "NONE"  # no step with this SOP Instance UID exists
    IN_PROGRESS = "IN PROGRESS"
    COMPLETED = "COMPLETED"
    DISCONTINUED = "DISCONTINUED"


class MppsEvent(Enum):
    CREATE = "N-CREATE"
    SET_IN_PROGRESS = "N-SET IN PROGRESS"  # also an N-SET without a status
    SET_COMPLETED = "N-SET COMPLETED"
    SET_DISCONTINUED = "N-SET DISCONTINUED"


class MppsStatus(IntEnum):
    """The DIMSE statuses of PS3.4 F.7.2 and PS3.7 Annex C this table answers with."""

    INVALID_ATTRIBUTE_VALUE = 0x0106
    PROCESSING_FAILURE = 0x0110
    DUPLICATE_SOP_INSTANCE = 0x0111
    NO_SUCH_OBJECT_INSTANCE = 0x0112
    MISSING_ATTRIBUTE = 0x0120
    MISSING_ATTRIBUTE_VALUE = 0x0121


# PS3.4 F.7.2.2.2: an N-SET on a step that is no longer IN PROGRESS fails with 0110 and
# this Error ID (0000,0903); dcm4che and others send the same.
MAY_NO_LONGER_BE_UPDATED = 0xA710


@dataclass(frozen=True)
class Refusal:
    status: MppsStatus
    comment: str
    error_id: int | None = None


class MppsRefused(Exception):
    """The table (or the event mapping) does not allow this request."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.comment)
        self.refusal = refusal


_DUPLICATE = Refusal(MppsStatus.DUPLICATE_SOP_INSTANCE, "the Performed Procedure Step exists")
_UNKNOWN = Refusal(MppsStatus.NO_SUCH_OBJECT_INSTANCE, "no such Performed Procedure Step")
_FINAL = Refusal(
    MppsStatus.PROCESSING_FAILURE,
    "Performed Procedure Step Object may no longer be updated",
    MAY_NO_LONGER_BE_UPDATED,
)

S, E = MppsState, MppsEvent
TABLE: dict[tuple[MppsState, MppsEvent], MppsState | Refusal] = {
    (S.NONE, E.CREATE): S.IN_PROGRESS,
    (S.NONE, E.SET_IN_PROGRESS): _UNKNOWN,
    (S.NONE, E.SET_COMPLETED): _UNKNOWN,
    (S.NONE, E.SET_DISCONTINUED): _UNKNOWN,
    (S.IN_PROGRESS, E.CREATE): _DUPLICATE,
    (S.IN_PROGRESS, E.SET_IN_PROGRESS): S.IN_PROGRESS,
    (S.IN_PROGRESS, E.SET_COMPLETED): S.COMPLETED,
    (S.IN_PROGRESS, E.SET_DISCONTINUED): S.DISCONTINUED,
    (S.COMPLETED, E.CREATE): _DUPLICATE,
    (S.COMPLETED, E.SET_IN_PROGRESS): _FINAL,
    (S.COMPLETED, E.SET_COMPLETED): _FINAL,
    (S.COMPLETED, E.SET_DISCONTINUED): _FINAL,
    (S.DISCONTINUED, E.CREATE): _DUPLICATE,
    (S.DISCONTINUED, E.SET_IN_PROGRESS): _FINAL,
    (S.DISCONTINUED, E.SET_COMPLETED): _FINAL,
    (S.DISCONTINUED, E.SET_DISCONTINUED): _FINAL,
}
del S, E

FINAL_STATES = frozenset({MppsState.COMPLETED, MppsState.DISCONTINUED})


def next_state(state: MppsState, event: MppsEvent) -> MppsState:
    """The state after `event`, or MppsRefused with the status to answer."""
    outcome = TABLE[(state, event)]
    if isinstance(outcome, Refusal):
        raise MppsRefused(outcome)
    return outcome


_SET_EVENTS = {
    "IN PROGRESS": MppsEvent.SET_IN_PROGRESS,
    "COMPLETED": MppsEvent.SET_COMPLETED,
    "DISCONTINUED": MppsEvent.SET_DISCONTINUED,
}


def create_event(status: str) -> MppsEvent:
    """N-CREATE: a step is always created IN PROGRESS (PS3.4 F.7.2.1.2)."""
    if status != "IN PROGRESS":
        raise MppsRefused(
            Refusal(
                MppsStatus.INVALID_ATTRIBUTE_VALUE,
                f"N-CREATE status must be IN PROGRESS, not {status!r}",
            )
        )
    return MppsEvent.CREATE


def set_event(status: str | None) -> MppsEvent:
    """N-SET: the status it sets; an N-SET without one updates a step IN PROGRESS."""
    if status is None:
        return MppsEvent.SET_IN_PROGRESS
    event = _SET_EVENTS.get(status)
    if event is None:
        raise MppsRefused(
            Refusal(
                MppsStatus.INVALID_ATTRIBUTE_VALUE,
                f"status {status!r} is not IN PROGRESS, COMPLETED or DISCONTINUED",
            )
        )
    return event
