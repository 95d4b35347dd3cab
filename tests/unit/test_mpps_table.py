"""The MPPS life-cycle table: one case per cell, written out here independently of the table."""

from __future__ import annotations

import pytest

from statemachines.mpps import (
    MAY_NO_LONGER_BE_UPDATED,
    TABLE,
    MppsEvent,
    MppsRefused,
    MppsState,
    MppsStatus,
    create_event,
    next_state,
    set_event,
)

S, E = MppsState, MppsEvent
DUPLICATE = (0x0111, None)
UNKNOWN = (0x0112, None)
FINAL = (0x0110, 0xA710)

# (state, event) -> next state, or (status, error id) of the refusal
EXPECTED: list[tuple[MppsState, MppsEvent, MppsState | tuple[int, int | None]]] = [
    (S.NONE, E.CREATE, S.IN_PROGRESS),
    (S.NONE, E.SET_IN_PROGRESS, UNKNOWN),
    (S.NONE, E.SET_COMPLETED, UNKNOWN),
    (S.NONE, E.SET_DISCONTINUED, UNKNOWN),
    (S.IN_PROGRESS, E.CREATE, DUPLICATE),
    (S.IN_PROGRESS, E.SET_IN_PROGRESS, S.IN_PROGRESS),
    (S.IN_PROGRESS, E.SET_COMPLETED, S.COMPLETED),
    (S.IN_PROGRESS, E.SET_DISCONTINUED, S.DISCONTINUED),
    (S.COMPLETED, E.CREATE, DUPLICATE),
    (S.COMPLETED, E.SET_IN_PROGRESS, FINAL),
    (S.COMPLETED, E.SET_COMPLETED, FINAL),
    (S.COMPLETED, E.SET_DISCONTINUED, FINAL),
    (S.DISCONTINUED, E.CREATE, DUPLICATE),
    (S.DISCONTINUED, E.SET_IN_PROGRESS, FINAL),
    (S.DISCONTINUED, E.SET_COMPLETED, FINAL),
    (S.DISCONTINUED, E.SET_DISCONTINUED, FINAL),
]


def test_the_table_has_exactly_one_cell_per_state_and_event() -> None:
    assert set(TABLE) == {(s, e) for s in MppsState for e in MppsEvent}
    assert {(s, e) for s, e, _ in EXPECTED} == set(TABLE)


@pytest.mark.parametrize(
    ("state", "event", "expected"),
    EXPECTED,
    ids=[f"{s.name}-{e.name}" for s, e, _ in EXPECTED],
)
def test_cell(
    state: MppsState, event: MppsEvent, expected: MppsState | tuple[int, int | None]
) -> None:
    if isinstance(expected, MppsState):
        assert next_state(state, event) is expected
        return
    with pytest.raises(MppsRefused) as refused:
        next_state(state, event)
    assert (int(refused.value.refusal.status), refused.value.refusal.error_id) == expected
    assert refused.value.refusal.comment


def test_final_refusal_says_what_the_standard_says() -> None:
    with pytest.raises(MppsRefused) as refused:
        next_state(S.COMPLETED, E.SET_COMPLETED)
    assert refused.value.refusal.comment == (
        "Performed Procedure Step Object may no longer be updated"
    )
    assert refused.value.refusal.error_id == MAY_NO_LONGER_BE_UPDATED


def test_create_must_be_in_progress() -> None:
    assert create_event("IN PROGRESS") is E.CREATE
    for status in ("COMPLETED", "DISCONTINUED", "", "in progress"):
        with pytest.raises(MppsRefused) as refused:
            create_event(status)
        assert refused.value.refusal.status is MppsStatus.INVALID_ATTRIBUTE_VALUE


@pytest.mark.parametrize(
    ("status", "event"),
    [
        (None, E.SET_IN_PROGRESS),
        ("IN PROGRESS", E.SET_IN_PROGRESS),
        ("COMPLETED", E.SET_COMPLETED),
        ("DISCONTINUED", E.SET_DISCONTINUED),
    ],
)
def test_set_event_from_status(status: str | None, event: MppsEvent) -> None:
    assert set_event(status) is event


def test_set_with_an_unknown_status_is_an_invalid_value() -> None:
    with pytest.raises(MppsRefused) as refused:
        set_event("DONE")
    assert refused.value.refusal.status is MppsStatus.INVALID_ATTRIBUTE_VALUE
    assert "DONE" in refused.value.refusal.comment
