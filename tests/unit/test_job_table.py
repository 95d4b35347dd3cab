"""The job and disc life cycles: one case per (state, event) cell, written out here again."""

from __future__ import annotations

import pytest

from appliance.publishing.job_states import (
    DISC_TABLE,
    JOB_TABLE,
    DiscEvent,
    DiscState,
    JobEvent,
    JobState,
    TransitionRefused,
    next_disc_state,
    next_job_state,
)

J, JE = JobState, JobEvent
D, DE = DiscState, DiscEvent

JOB_ALLOWED: dict[tuple[JobState, JobEvent], JobState] = {
    (J.QUEUED, JE.PREPARE): J.PREPARING,
    (J.QUEUED, JE.CANCEL): J.CANCELLED,
    (J.PREPARING, JE.IMAGES_READY): J.PUBLISHING,
    (J.PREPARING, JE.PREPARE_FAILED): J.FAILED,
    (J.PREPARING, JE.CANCEL): J.CANCELLED,
    (J.PREPARING, JE.RESTARTED): J.QUEUED,
    (J.PUBLISHING, JE.ALL_DISCS_DONE): J.DONE,
    (J.PUBLISHING, JE.OPERATOR_NEEDED): J.WAITING_OPERATOR,
    (J.PUBLISHING, JE.REDO_LIMIT): J.PARKED,
    (J.PUBLISHING, JE.CANCEL): J.CANCELLED,
    (J.WAITING_OPERATOR, JE.OPERATOR_NEEDED): J.WAITING_OPERATOR,
    (J.WAITING_OPERATOR, JE.OPERATOR_CLEARED): J.PUBLISHING,
    (J.WAITING_OPERATOR, JE.ALL_DISCS_DONE): J.DONE,
    (J.WAITING_OPERATOR, JE.REDO_LIMIT): J.PARKED,
    (J.WAITING_OPERATOR, JE.CANCEL): J.CANCELLED,
    (J.WAITING_OPERATOR, JE.RESTARTED): J.PUBLISHING,
    (J.PARKED, JE.RETRY): J.QUEUED,
    (J.PARKED, JE.CANCEL): J.CANCELLED,
    (J.FAILED, JE.RETRY): J.QUEUED,
    (J.FAILED, JE.CANCEL): J.CANCELLED,
}

DISC_ALLOWED: dict[tuple[DiscState, DiscEvent], DiscState] = {
    (D.PENDING, DE.IMAGE_BUILT): D.IMAGE_READY,
    (D.PENDING, DE.CANCEL): D.CANCELLED,
    (D.IMAGE_READY, DE.STARTED): D.IN_PROGRESS,
    (D.IMAGE_READY, DE.IMAGE_LOST): D.PENDING,
    (D.IMAGE_READY, DE.CANCEL): D.CANCELLED,
    (D.IN_PROGRESS, DE.MADE): D.DONE,
    (D.IN_PROGRESS, DE.BAD_DISC): D.REJECTED,
    (D.IN_PROGRESS, DE.BAD_DISC_LAST): D.FAILED,
    (D.IN_PROGRESS, DE.INTERRUPT): D.INTERRUPTED,
}

JOB_CELLS = [(s, e) for s in JobState for e in JobEvent]
DISC_CELLS = [(s, e) for s in DiscState for e in DiscEvent]


def test_the_tables_allow_exactly_the_expected_cells() -> None:
    assert JOB_TABLE == JOB_ALLOWED
    assert DISC_TABLE == DISC_ALLOWED


@pytest.mark.parametrize(
    ("state", "event"), JOB_CELLS, ids=[f"{s.name}-{e.name}" for s, e in JOB_CELLS]
)
def test_job_cell(state: JobState, event: JobEvent) -> None:
    expected = JOB_ALLOWED.get((state, event))
    if expected is not None:
        assert next_job_state(state, event) is expected
        return
    with pytest.raises(TransitionRefused) as refused:
        next_job_state(state, event)
    assert refused.value.state is state and refused.value.event is event
    assert state.value in str(refused.value) and event.value in str(refused.value)


@pytest.mark.parametrize(
    ("state", "event"), DISC_CELLS, ids=[f"{s.name}-{e.name}" for s, e in DISC_CELLS]
)
def test_disc_cell(state: DiscState, event: DiscEvent) -> None:
    expected = DISC_ALLOWED.get((state, event))
    if expected is not None:
        assert next_disc_state(state, event) is expected
        return
    with pytest.raises(TransitionRefused) as refused:
        next_disc_state(state, event)
    assert refused.value.state is state and refused.value.event is event


@pytest.mark.parametrize("state", [J.DONE, J.CANCELLED])
def test_finished_jobs_accept_no_event(state: JobState) -> None:
    assert not [e for e in JobEvent if (state, e) in JOB_TABLE]


def test_every_job_that_needs_someone_has_a_way_out() -> None:
    # Parked and failed jobs: retry or cancel; waiting: cleared, or a restart re-checks.
    for state in (J.PARKED, J.FAILED):
        assert JOB_TABLE[(state, JE.RETRY)] is J.QUEUED
        assert JOB_TABLE[(state, JE.CANCEL)] is J.CANCELLED
    assert JOB_TABLE[(J.WAITING_OPERATOR, JE.OPERATOR_CLEARED)] is J.PUBLISHING
