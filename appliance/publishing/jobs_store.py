"""Jobs, their disc attempts and their event history in the database (migration 0005).

Every state change is checked against `job_states` inside the transaction that writes it,
and writes its `job_events` row in the same transaction; the matching `JobNews` wait in
`news` until the caller has committed and publishes them (`take_news`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from appliance.db.database import transaction
from appliance.media.copies import CopyType
from appliance.media.labels import LabelData, LabelPatient, LabelStudy
from appliance.media.profiles import Medium
from appliance.publishing.events import JobNews
from appliance.publishing.job_states import (
    DiscEvent,
    DiscState,
    JobEvent,
    JobState,
    next_disc_state,
    next_job_state,
)
from appliance.publishing.settings import PublishProfile

Clock = Callable[[], float]


class UnknownJob(Exception):
    def __init__(self, job_id: int) -> None:
        super().__init__(f"there is no job {job_id}")
        self.job_id = job_id


@dataclass(frozen=True)
class Job:
    id: int
    studies: tuple[str, ...]
    profile: str
    settings: PublishProfile
    priority: int
    origin: str
    state: JobState
    message: str
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class Disc:
    id: int
    job_id: int
    slot: int
    volume: int
    volumes: int
    copy_type: CopyType
    copy_number: int
    medium: Medium
    profile: str
    attempt: int
    redos: int
    state: DiscState
    image: str
    image_bytes: int
    label: dict[str, Any]
    artwork: str
    station: str
    step: str
    error: str
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class DiscPlan:
    """One disc a job needs (before its image exists)."""

    slot: int
    volume: int
    volumes: int
    copy_type: CopyType
    copy_number: int
    medium: Medium
    profile: str


@dataclass(frozen=True)
class HistoryRow:
    id: int
    at: float
    job_id: int
    disc_id: int | None
    event: str
    detail: dict[str, Any]


def label_to_json(label: LabelData) -> dict[str, Any]:
    value = asdict(label)
    value["copy_type"] = label.copy_type.value
    return value


def label_from_json(value: dict[str, Any]) -> LabelData:
    patients = tuple(
        LabelPatient(
            p["name"],
            p["name_dicom"],
            p["patient_id"],
            p["birth_date"],
            p["sex"],
            tuple(
                LabelStudy(
                    s["date"],
                    s["time"],
                    tuple(s["modalities"]),
                    s["description"],
                    s["accession_number"],
                    s["instances"],
                )
                for s in p["studies"]
            ),
        )
        for p in value["patients"]
    )
    return LabelData(
        patients,
        value["institution"],
        value["volume"],
        value["volumes"],
        CopyType(value["copy_type"]),
        value["file_set_id"],
        value["profile"],
    )


def _job(row: sqlite3.Row, studies: tuple[str, ...]) -> Job:
    return Job(
        row["id"],
        studies,
        row["profile"],
        PublishProfile.model_validate_json(row["settings"]),
        row["priority"],
        row["origin"],
        JobState(row["state"]),
        row["message"],
        row["created_at"],
        row["updated_at"],
    )


def _disc(row: sqlite3.Row) -> Disc:
    return Disc(
        row["id"],
        row["job_id"],
        row["slot"],
        row["volume"],
        row["volumes"],
        CopyType(row["copy_type"]),
        row["copy_number"],
        Medium(row["medium"]),
        row["profile"],
        row["attempt"],
        row["redos"],
        DiscState(row["state"]),
        row["image"],
        row["image_bytes"],
        json.loads(row["label"]),
        row["artwork"],
        row["station"],
        row["step"],
        row["error"],
        row["created_at"],
        row["updated_at"],
    )


class JobStore:
    """All SQL about jobs; one per connection (and so per thread)."""

    def __init__(self, conn: sqlite3.Connection, clock: Clock) -> None:
        self.conn = conn
        self.clock = clock
        self.news: list[JobNews] = []

    def take_news(self) -> list[JobNews]:
        taken, self.news = self.news, []
        return taken

    def record(
        self,
        job_id: int,
        event: str,
        disc_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append to the history (inside the caller's transaction) and queue the news."""
        now = self.clock()
        self.conn.execute(
            "INSERT INTO job_events (at, job_id, disc_id, event, detail) VALUES (?, ?, ?, ?, ?)",
            (now, job_id, disc_id, event, json.dumps(detail or {}, default=str)),
        )
        self.news.append(JobNews(now, job_id, disc_id, event, detail or {}))

    # Jobs

    def create_job(
        self,
        studies: Iterable[str],
        profile_name: str,
        profile: PublishProfile,
        *,
        priority: int,
        origin: str,
    ) -> int:
        uids = list(dict.fromkeys(studies))
        now = self.clock()
        with transaction(self.conn):
            cursor = self.conn.execute(
                "INSERT INTO jobs (profile, settings, priority, origin, state, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    profile_name,
                    profile.model_dump_json(),
                    priority,
                    origin,
                    JobState.QUEUED.value,
                    now,
                    now,
                ),
            )
            job_id = int(cursor.lastrowid or 0)
            self.conn.executemany(
                "INSERT INTO job_studies (job_id, position, study_uid) VALUES (?, ?, ?)",
                [(job_id, n, uid) for n, uid in enumerate(uids)],
            )
            self.record(
                job_id,
                "created",
                None,
                {"profile": profile_name, "studies": uids, "origin": origin, "priority": priority},
            )
        return job_id

    def _studies(self, job_ids: list[int]) -> dict[int, tuple[str, ...]]:
        found: dict[int, list[str]] = {j: [] for j in job_ids}
        marks = ",".join("?" * len(job_ids))
        for row in self.conn.execute(
            f"SELECT job_id, study_uid FROM job_studies WHERE job_id IN ({marks}) "  # noqa: S608 - placeholders only
            "ORDER BY job_id, position",
            job_ids,
        ):
            found[row[0]].append(row[1])
        return {j: tuple(v) for j, v in found.items()}

    def job(self, job_id: int) -> Job:
        row = self.conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise UnknownJob(job_id)
        return _job(row, self._studies([job_id])[job_id])

    def jobs(self, states: Iterable[JobState] | None = None, *, limit: int = 500) -> list[Job]:
        """Newest first; in `states` only when given."""
        sql, params = "SELECT * FROM jobs", []
        if states is not None:
            wanted = [s.value for s in states]
            sql += f" WHERE state IN ({','.join('?' * len(wanted))})"
            params = wanted
        rows = self.conn.execute(sql + " ORDER BY id DESC LIMIT ?", (*params, limit)).fetchall()
        studies = self._studies([r["id"] for r in rows]) if rows else {}
        return [_job(r, studies[r["id"]]) for r in rows]

    def next_queued(self) -> Job | None:
        row = self.conn.execute(
            "SELECT id FROM jobs WHERE state = ? ORDER BY priority DESC, created_at, id LIMIT 1",
            (JobState.QUEUED.value,),
        ).fetchone()
        return None if row is None else self.job(row[0])

    def fire_job(
        self, job_id: int, event: JobEvent, *, message: str | None = None, **detail: Any
    ) -> JobState:
        """Move the job through the table; `message` replaces the operator sentence."""
        with transaction(self.conn):
            row = self.conn.execute(
                "SELECT state, message FROM jobs WHERE id = ?", (job_id,)
            ).fetchone()
            if row is None:
                raise UnknownJob(job_id)
            before = JobState(row[0])
            after = next_job_state(before, event)
            text = row[1] if message is None else message
            self.conn.execute(
                "UPDATE jobs SET state = ?, message = ?, updated_at = ? WHERE id = ?",
                (after.value, text, self.clock(), job_id),
            )
            extra = {"message": message} if message else {}
            self.record(
                job_id,
                event.value,
                None,
                {"before": before.value, "after": after.value, **extra, **detail},
            )
        return after

    # Discs

    def add_discs(self, job_id: int, plans: Iterable[DiscPlan]) -> list[int]:
        now = self.clock()
        ids = []
        with transaction(self.conn):
            for plan in plans:
                cursor = self.conn.execute(
                    "INSERT INTO job_discs (job_id, slot, volume, volumes, copy_type, "
                    "copy_number, medium, profile, attempt, redos, state, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, 0, ?, ?, ?)",
                    (
                        job_id,
                        plan.slot,
                        plan.volume,
                        plan.volumes,
                        plan.copy_type.value,
                        plan.copy_number,
                        plan.medium.value,
                        plan.profile,
                        DiscState.PENDING.value,
                        now,
                        now,
                    ),
                )
                ids.append(int(cursor.lastrowid or 0))
        return ids

    def disc(self, disc_id: int) -> Disc:
        row = self.conn.execute("SELECT * FROM job_discs WHERE id = ?", (disc_id,)).fetchone()
        if row is None:
            raise LookupError(f"there is no disc {disc_id}")
        return _disc(row)

    def discs(self, job_id: int) -> list[Disc]:
        """Every attempt of every slot, in order."""
        rows = self.conn.execute(
            "SELECT * FROM job_discs WHERE job_id = ? ORDER BY slot, id", (job_id,)
        ).fetchall()
        return [_disc(r) for r in rows]

    def latest(self, job_id: int) -> list[Disc]:
        """The newest attempt of each slot: what the job still needs."""
        rows = self.conn.execute(
            "SELECT * FROM job_discs WHERE id IN (SELECT max(id) FROM job_discs "
            "WHERE job_id = ? GROUP BY slot) ORDER BY slot",
            (job_id,),
        ).fetchall()
        return [_disc(r) for r in rows]

    def in_state(self, state: DiscState) -> list[Disc]:
        rows = self.conn.execute(
            "SELECT * FROM job_discs WHERE state = ? ORDER BY id", (state.value,)
        ).fetchall()
        return [_disc(r) for r in rows]

    def fire_disc(
        self,
        disc_id: int,
        event: DiscEvent,
        *,
        station: str | None = None,
        error: str | None = None,
        **detail: Any,
    ) -> DiscState:
        with transaction(self.conn):
            disc = self.disc(disc_id)
            after = next_disc_state(disc.state, event)
            self.conn.execute(
                "UPDATE job_discs SET state = ?, station = ?, error = ?, updated_at = ? "
                "WHERE id = ?",
                (
                    after.value,
                    disc.station if station is None else station,
                    disc.error if error is None else error,
                    self.clock(),
                    disc_id,
                ),
            )
            extra: dict[str, Any] = {"error": error} if error else {}
            if station:
                extra["station"] = station
            self.record(
                disc.job_id,
                event.value,
                disc_id,
                {
                    "before": disc.state.value,
                    "after": after.value,
                    "slot": disc.slot,
                    **extra,
                    **detail,
                },
            )
        return after

    def image_built(
        self, disc_id: int, image: str, image_bytes: int, label: LabelData, artwork: str
    ) -> None:
        with transaction(self.conn):
            self.conn.execute(
                "UPDATE job_discs SET image = ?, image_bytes = ?, label = ?, artwork = ? "
                "WHERE id = ?",
                (image, image_bytes, json.dumps(label_to_json(label)), artwork, disc_id),
            )
            self.fire_disc(disc_id, DiscEvent.IMAGE_BUILT, image=image)

    def again(self, disc: Disc, *, redos: int) -> int:
        """A new attempt of `disc`'s slot, ready for a station, with the same image."""
        now = self.clock()
        with transaction(self.conn):
            cursor = self.conn.execute(
                "INSERT INTO job_discs (job_id, slot, volume, volumes, copy_type, copy_number, "
                "medium, profile, attempt, redos, state, image, image_bytes, label, artwork, "
                "created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    disc.job_id,
                    disc.slot,
                    disc.volume,
                    disc.volumes,
                    disc.copy_type.value,
                    disc.copy_number,
                    disc.medium.value,
                    disc.profile,
                    disc.attempt + 1,
                    redos,
                    DiscState.IMAGE_READY.value,
                    disc.image,
                    disc.image_bytes,
                    json.dumps(disc.label),
                    disc.artwork,
                    now,
                    now,
                ),
            )
            new_id = int(cursor.lastrowid or 0)
            self.record(
                disc.job_id,
                "new-attempt",
                new_id,
                {"slot": disc.slot, "attempt": disc.attempt + 1, "replaces": disc.id},
            )
        return new_id

    def claim(self, media: frozenset[Medium], station: str) -> Disc | None:
        """The next ready disc this station can take (job priority, then age), now its."""
        if not media:
            return None
        with transaction(self.conn):
            row = self.conn.execute(
                "SELECT d.id FROM job_discs d JOIN jobs j ON j.id = d.job_id "
                "WHERE d.state = ? AND j.state IN (?, ?) "
                "AND d.medium IN (SELECT value FROM json_each(?)) "
                "ORDER BY j.priority DESC, j.created_at, j.id, d.slot, d.id LIMIT 1",
                (
                    DiscState.IMAGE_READY.value,
                    JobState.PUBLISHING.value,
                    JobState.WAITING_OPERATOR.value,
                    json.dumps(sorted(m.value for m in media)),
                ),
            ).fetchone()
            if row is None:
                return None
            self.fire_disc(row[0], DiscEvent.STARTED, station=station)
            return self.disc(row[0])

    def step(self, disc_id: int, job_id: int, step: str) -> None:
        with transaction(self.conn):
            self.conn.execute(
                "UPDATE job_discs SET step = ?, updated_at = ? WHERE id = ?",
                (step, self.clock(), disc_id),
            )
            self.record(job_id, "step", disc_id, {"step": step})

    def history(self, job_id: int) -> list[HistoryRow]:
        rows = self.conn.execute(
            "SELECT * FROM job_events WHERE job_id = ? ORDER BY id", (job_id,)
        ).fetchall()
        return [
            HistoryRow(
                r["id"], r["at"], r["job_id"], r["disc_id"], r["event"], json.loads(r["detail"])
            )
            for r in rows
        ]

    # What the operator does

    def cancel(self, job_id: int) -> None:
        """No more discs: those not yet in a station are cancelled; one in a station
        finishes (it cannot be called back)."""
        with transaction(self.conn):
            self.fire_job(job_id, JobEvent.CANCEL, message="")
            for disc in self.discs(job_id):
                if disc.state in (DiscState.PENDING, DiscState.IMAGE_READY):
                    self.fire_disc(disc.id, DiscEvent.CANCEL)

    def retry(self, job_id: int) -> None:
        """A parked or failed job goes back to the queue."""
        self.fire_job(job_id, JobEvent.RETRY, message="")
