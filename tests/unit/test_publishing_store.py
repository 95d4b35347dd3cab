"""The job store: history with every change, refusals that change nothing, the schema."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from appliance.db.database import connect, migrate
from appliance.media.copies import CopyType
from appliance.media.labels import LabelData, LabelPatient, LabelStudy
from appliance.media.profiles import Medium
from appliance.publishing.job_states import (
    DiscEvent,
    DiscState,
    JobEvent,
    JobState,
    TransitionRefused,
)
from appliance.publishing.jobs_store import (
    DiscPlan,
    JobStore,
    UnknownJob,
    label_from_json,
    label_to_json,
)
from appliance.publishing.settings import PublishProfile


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    migrate(tmp_path)
    return JobStore(connect(tmp_path), time.time)


def test_label_data_survives_json() -> None:
    label = LabelData(
        (
            LabelPatient(
                "Müller, Jürgen",
                "Müller^Jürgen",
                "P1",
                "1970-01-01",
                "M",
                (LabelStudy("2026-12-02", "10:15", ("CT", "SR"), "Thorax", "A1", 12),),
            ),
        ),
        "Klinik Süd",
        2,
        3,
        CopyType.PHYSICIAN,
        "KILN",
        "STD-GEN-CD",
    )
    assert label_from_json(label_to_json(label)) == label


def test_a_refused_event_changes_nothing(store: JobStore) -> None:
    job_id = store.create_job(["1.2"], "p", PublishProfile(), priority=5, origin="operator")
    store.take_news()
    before = store.history(job_id)
    with pytest.raises(TransitionRefused):
        store.fire_job(job_id, JobEvent.IMAGES_READY)
    assert store.job(job_id).state is JobState.QUEUED
    assert store.history(job_id) == before and store.take_news() == []
    with pytest.raises(UnknownJob):
        store.fire_job(99, JobEvent.CANCEL)


def test_claims_follow_media_priority_and_age(store: JobStore) -> None:
    ids = []
    for priority, medium in ((5, Medium.CD), (5, Medium.DVD), (7, Medium.CD)):
        job_id = store.create_job(["1"], "p", PublishProfile(), priority=priority, origin="rule")
        store.fire_job(job_id, JobEvent.PREPARE)
        (disc,) = store.add_discs(
            job_id, [DiscPlan(1, 1, 1, CopyType.PATIENT, 1, medium, "STD-GEN-CD")]
        )
        store.fire_disc(disc, DiscEvent.IMAGE_BUILT)
        store.fire_job(job_id, JobEvent.IMAGES_READY)
        ids.append(job_id)
    cd = frozenset({Medium.CD})
    first, second = store.claim(cd, "s"), store.claim(cd, "s")
    assert first is not None and second is not None
    assert (first.job_id, second.job_id) == (ids[2], ids[0])
    assert first.state is DiscState.IN_PROGRESS and first.station == "s"
    assert store.claim(cd, "s") is None
    dvd = store.claim(frozenset({Medium.DVD}), "s")
    assert dvd is not None and dvd.job_id == ids[1]


def test_the_schema_accepts_every_state_and_no_other(store: JobStore) -> None:
    job_id = store.create_job(["1"], "p", PublishProfile(), priority=5, origin="rule")
    (disc,) = store.add_discs(job_id, [DiscPlan(1, 1, 1, CopyType.PATIENT, 1, Medium.CD, "x")])
    for state in JobState:
        store.conn.execute("UPDATE jobs SET state = ? WHERE id = ?", (state.value, job_id))
    for disc_state in DiscState:
        store.conn.execute("UPDATE job_discs SET state = ? WHERE id = ?", (disc_state.value, disc))
    with pytest.raises(sqlite3.IntegrityError):
        store.conn.execute("UPDATE jobs SET state = 'lost' WHERE id = ?", (job_id,))
