"""[publishing] settings and the rules that pick a profile for a completed study."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from appliance.config.schema import AE_TITLE_PATTERN
from appliance.db.database import connect, migrate
from appliance.publishing.jobs_store import JobStore
from appliance.publishing.rules import (
    StudyFacts,
    evaluate_completions,
    first_match,
    matches,
    profile_for,
    study_facts,
)
from appliance.publishing.settings import (
    AE_TITLE_PATTERN as OWN_AE_PATTERN,
)
from appliance.publishing.settings import (
    MediaChoice,
    PublishingSettings,
    PublishProfile,
    PublishRule,
    Section,
)
from appliance.storage.completeness import mark_complete
from appliance.storage.header import InstanceHeader
from appliance.storage.index import Index, NewInstance
from appliance.strict_model import Strict

FACTS = StudyFacts(
    "1.2.3",
    called_aes=frozenset({"BURN_CD"}),
    calling_aes=frozenset({"CT1"}),
    modalities=frozenset({"CT", "SR"}),
    institution="Clinic South",
)


def settings(**values: object) -> PublishingSettings:
    return PublishingSettings.model_validate(values)


def test_the_section_base_is_as_strict_as_the_schemas() -> None:
    assert Section.model_config == Strict.model_config
    assert OWN_AE_PATTERN == AE_TITLE_PATTERN


def test_defaults_make_one_patient_cd_or_dvd_and_no_rules() -> None:
    s = PublishingSettings()
    assert s.rules == [] and s.redo_limit == 3 and s.hand_profile == "default"
    profile = s.profiles["default"]
    assert (profile.copies.patient, profile.copies.physician, profile.copies.anonymised) == (
        1,
        0,
        0,
    )
    assert profile.media is MediaChoice.BY_SIZE and profile.fixed_profile is None


def test_a_full_section_from_toml_values() -> None:
    s = settings(
        profiles={
            "patient": {"copies": {"patient": 2}, "media": "dvd", "priority": 7},
            "research": {
                "copies": {"patient": 0, "anonymised": 1},
                "media_profile": "std-gen-dvd-j2k",
                "media": "dvd",
                "viewer": False,
            },
        },
        rules=[
            {"called_ae": "BURN_RES", "profile": "research"},
            {"modality": "CT", "profile": "patient"},
            {"profile": "none"},
        ],
        redo_limit=5,
        deid_level="reduced",
    )
    assert s.profiles["research"].fixed_profile is not None
    assert s.profiles["research"].media_profile == "STD-GEN-DVD-J2K"
    assert s.hand_profile == "patient"  # no "default": the first one
    assert s.redo_limit == 5


@pytest.mark.parametrize(
    ("values", "where", "words"),
    [
        ({"rules": [{"profile": "nope"}]}, "rules", "rule 1 names profile 'nope'"),
        ({"redo_limit": 21}, "redo_limit", "less than or equal to 20"),
        ({"profiles": {"none": {}}}, "profiles", "reserved"),
        ({"profiles": {"a": {"copies": {"patient": 0}}}}, "profiles", "at least one copy"),
        ({"profiles": {"a": {"media_profile": "STD-GEN-USB-JPEG"}}}, "media_profile", "disc"),
        (
            {"profiles": {"a": {"media": "cd", "media_profile": "STD-GEN-BD-J2K"}}},
            "profiles",
            "is for bd",
        ),
        ({"profiles": {"a": {"colour": "red"}}}, "colour", "Extra inputs"),
        ({"manual_profile": "x"}, "", "manual_profile 'x'"),
        ({"by_size_media": ["by-size"]}, "by_size_media", "disc types only"),
        ({"deid_level": "some"}, "deid_level", "pattern"),
        ({"rules": [{"called_ae": "A\\B", "profile": "default"}]}, "called_ae", "pattern"),
    ],
)
def test_errors_name_the_key_and_the_limit(
    values: dict[str, object], where: str, words: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        settings(**values)
    error = caught.value.errors()[0]
    assert where in ".".join(str(p) for p in error["loc"]) or where == ""
    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("rule", "hit"),
    [
        ({"called_ae": "BURN_CD"}, True),
        ({"called_ae": "BURN_DVD"}, False),
        ({"called_ae": "burn_cd"}, False),  # AE titles are case-sensitive
        ({"calling_ae": "CT1"}, True),
        ({"calling_ae": "MR1"}, False),
        ({"modality": "ct"}, True),
        ({"modality": "SR"}, True),  # any series of the study
        ({"modality": "MR"}, False),
        ({"institution": "clinic south"}, True),
        ({"institution": "Clinic North"}, False),
        ({"called_ae": "BURN_CD", "modality": "CT", "calling_ae": "CT1"}, True),
        ({"called_ae": "BURN_CD", "modality": "MR"}, False),  # every key must match
        ({}, True),  # no key: every study
    ],
)
def test_a_rule_matches_on_every_key_it_gives(rule: dict[str, str], hit: bool) -> None:
    assert matches(PublishRule.model_validate({**rule, "profile": "default"}), FACTS) is hit


def test_first_match_wins_and_none_makes_no_disc() -> None:
    s = settings(
        profiles={"a": {}, "b": {}},
        rules=[
            {"modality": "MR", "profile": "a"},
            {"calling_ae": "CT1", "profile": "none"},
            {"modality": "CT", "profile": "b"},
        ],
    )
    found = first_match(s.rules, FACTS)
    assert found is not None and found[0] == 2
    assert profile_for(s, FACTS) is None
    other = StudyFacts("9", frozenset(), frozenset({"CT9"}), frozenset({"CT"}), "")
    assert profile_for(s, other) == "b"
    assert profile_for(s, StudyFacts("9", frozenset(), frozenset(), frozenset(), "")) is None


def _receive(conn: object, study: str, sop: str, modality: str, called: str, calling: str) -> None:
    header = InstanceHeader(
        "1.2.840.10008.5.1.4.1.1.2",
        sop,
        study,
        study + ".1." + modality,
        {"modality": modality, "institution_name": "Clinic South"},
    )
    Index(conn).add(  # type: ignore[arg-type]
        NewInstance(header, "1.2.840.10008.1.2.1", f"dicom/{sop}.dcm", 10, 0, calling, called, None)
    )


def test_facts_come_from_the_index(tmp_path: Path) -> None:
    migrate(tmp_path)
    conn = connect(tmp_path)
    _receive(conn, "1.2.3", "1.2.3.9.1", "CT", "BURN_CD", "CT1")
    _receive(conn, "1.2.3", "1.2.3.9.2", "SR", "KILN", "PACS")
    facts = study_facts(conn, "1.2.3")
    assert facts.called_aes == {"BURN_CD", "KILN"}
    assert facts.calling_aes == {"CT1", "PACS"}
    assert facts.modalities == {"CT", "SR"}


def test_completions_become_jobs_once(tmp_path: Path) -> None:
    migrate(tmp_path)
    conn = connect(tmp_path)
    s = settings(
        profiles={"cd": {}, "quiet": {}},
        rules=[
            {"called_ae": "BURN_CD", "profile": "cd"},
            {"calling_ae": "MR1", "profile": "none"},
        ],
    )
    store = JobStore(conn, time.time)
    _receive(conn, "2.1", "2.1.9.1", "CT", "BURN_CD", "CT1")
    _receive(conn, "3.1", "3.1.9.1", "MR", "KILN", "MR1")
    _receive(conn, "4.1", "4.1.9.1", "US", "KILN", "US1")
    mark_complete(conn, 1, now=time.time() + 100)
    made = evaluate_completions(store, s)
    assert len(made) == 1 and store.job(made[0]).studies == ("2.1",)
    assert store.job(made[0]).origin == "rule" and store.job(made[0]).profile == "cd"
    assert evaluate_completions(store, s) == []  # evaluated once
    outcomes = dict(conn.execute("SELECT study_uid, outcome FROM publishing_evaluations"))
    assert outcomes == {
        "2.1": "rule 1: cd",
        "3.1": "rule 2: none",
        "4.1": "no rule",
    }
    # A late instance completes the study again while its job is still queued: no 2nd job.
    _receive(conn, "2.1", "2.1.9.2", "CT", "BURN_CD", "CT1")
    mark_complete(conn, 1, now=time.time() + 200)
    assert evaluate_completions(store, s) == []
    assert conn.execute("SELECT count(*) FROM jobs").fetchone()[0] == 1


def test_migration_marks_studies_completed_before_it(tmp_path: Path) -> None:
    conn = connect(tmp_path)  # a box at schema 4 with a completed study
    from appliance.db import database

    for number, _name, sql in database._migrations():
        if number < 5:
            for statement in database._statements(sql):
                conn.execute(statement)
    conn.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at REAL)"
    )
    conn.executemany(
        "INSERT INTO schema_migrations VALUES (?, 'old', 0)", [(n,) for n in range(1, 5)]
    )
    _receive(conn, "5.1", "5.1.9.1", "CT", "BURN_CD", "CT1")
    mark_complete(conn, 1, now=time.time() + 100)
    conn.close()
    assert migrate(tmp_path) == max(number for number, _n, _s in database._migrations())
    conn = connect(tmp_path)
    s = settings(rules=[{"profile": "default"}])
    assert evaluate_completions(JobStore(conn, time.time), s) == []


def test_profile_snapshot_survives_the_round_trip() -> None:
    profile = PublishProfile.model_validate({"copies": {"physician": 2}, "priority": 9})
    assert PublishProfile.model_validate_json(profile.model_dump_json()) == profile
