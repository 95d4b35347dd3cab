"""Which profile a completed study gets, and the intake that turns completions into jobs.

The dicom role records every completion as a `complete` row in `study_events` (idle time in
storage/completeness.py, MPPS in mpps/completion.py). The job runner polls those rows past
the last one it evaluated (`publishing_evaluations`), so the two processes need no call
between them and a completion that happens while the devices role is down is seen later.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from appliance.db.database import transaction
from appliance.publishing.jobs_store import JobStore
from appliance.publishing.settings import NONE_PROFILE, PublishingSettings, PublishRule


@dataclass(frozen=True)
class StudyFacts:
    """What rules match on, from the index."""

    study_uid: str
    called_aes: frozenset[str]
    calling_aes: frozenset[str]
    modalities: frozenset[str]
    institution: str


def study_facts(conn: sqlite3.Connection, study_uid: str) -> StudyFacts:
    called: set[str] = set()
    calling: set[str] = set()
    for row in conn.execute(
        "SELECT DISTINCT called_ae, calling_ae FROM instances WHERE study_uid = ?", (study_uid,)
    ):
        called.add(row[0].strip())
        calling.add(row[1].strip())
    modalities = {
        row[0].strip().upper()
        for row in conn.execute("SELECT modality FROM series WHERE study_uid = ?", (study_uid,))
        if row[0].strip()
    }
    row = conn.execute(
        "SELECT institution_name FROM studies WHERE study_uid = ?", (study_uid,)
    ).fetchone()
    return StudyFacts(
        study_uid,
        frozenset(called),
        frozenset(calling),
        frozenset(modalities),
        (row[0] if row else "").strip(),
    )


def matches(rule: PublishRule, facts: StudyFacts) -> bool:
    """Every key the rule gives must match; AE titles exactly (they are case-sensitive),
    modality and institution regardless of case."""
    if rule.called_ae is not None and rule.called_ae.strip() not in facts.called_aes:
        return False
    if rule.calling_ae is not None and rule.calling_ae.strip() not in facts.calling_aes:
        return False
    if rule.modality is not None and rule.modality.strip().upper() not in facts.modalities:
        return False
    return rule.institution is None or (
        rule.institution.strip().casefold() == facts.institution.casefold()
    )


def first_match(rules: Sequence[PublishRule], facts: StudyFacts) -> tuple[int, PublishRule] | None:
    """The first rule (numbered from 1) that matches, or None."""
    for number, rule in enumerate(rules, start=1):
        if matches(rule, facts):
            return number, rule
    return None


def profile_for(settings: PublishingSettings, facts: StudyFacts) -> str | None:
    """The profile name the rules pick, or None for no disc ("none" or no rule)."""
    found = first_match(settings.rules, facts)
    if found is None or found[1].profile == NONE_PROFILE:
        return None
    return found[1].profile


BATCH = 100  # completions evaluated per pass; the rest wait for the next one


def evaluate_completions(store: JobStore, settings: PublishingSettings) -> list[int]:
    """Apply the rules to completions not yet evaluated; the jobs made (ids).

    Each completion's evaluation and its job are written in one transaction, so a crash
    can neither lose a completion nor make its job twice. A study that completes again
    (a late instance) while its job is still queued does not get a second job: the queued
    one reads the index when it is prepared, late instance included.
    """
    conn = store.conn
    made: list[int] = []
    rows = conn.execute(
        "SELECT id, study_uid FROM study_events WHERE event = 'complete' AND id > "
        "coalesce((SELECT max(study_event_id) FROM publishing_evaluations), 0) "
        "ORDER BY id LIMIT ?",
        (BATCH,),
    ).fetchall()
    for event_id, study_uid in rows:
        with transaction(conn):
            facts = study_facts(conn, study_uid)
            found = first_match(settings.rules, facts)
            job_id: int | None = None
            if found is None:
                outcome = "no rule"
            elif found[1].profile == NONE_PROFILE:
                outcome = f"rule {found[0]}: none"
            else:
                number, rule = found
                queued = conn.execute(
                    "SELECT j.id FROM jobs j JOIN job_studies s ON s.job_id = j.id "
                    "WHERE s.study_uid = ? AND j.state = 'queued' AND j.profile = ? "
                    "AND j.origin = 'rule'",
                    (study_uid, rule.profile),
                ).fetchone()
                if queued is not None:
                    job_id = int(queued[0])
                    outcome = f"rule {number}: already queued"
                else:
                    profile = settings.profiles[rule.profile]
                    job_id = store.create_job(
                        [study_uid],
                        rule.profile,
                        profile,
                        priority=profile.priority,
                        origin="rule",
                    )
                    made.append(job_id)
                    outcome = f"rule {number}: {rule.profile}"
            conn.execute(
                "INSERT INTO publishing_evaluations (study_event_id, study_uid, at, outcome, "
                "job_id) VALUES (?, ?, ?, ?, ?)",
                (event_id, study_uid, store.clock(), outcome, job_id),
            )
    return made
