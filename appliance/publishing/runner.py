"""The job runner: turns completed studies into jobs, jobs into images, images into discs.

One coordinator (rules, preparing images, tidying the spool) and one thread per station;
each station makes one disc at a time, all stations in parallel, the next disc always from
the job with the highest priority, then the oldest. What a station's outcome does:

- make_disc returns: the disc is done; the job is done when every disc is.
- DiscFailed: the disc is redone on a new disc, up to `redo_limit` times; then the job
  parks with the station's sentence and waits for `appliance jobs retry` or `cancel`.
- StationFault OPERATOR: the job waits for the operator; RETRY: the station pauses; FATAL:
  the station is out of service. In every case the disc goes back for any station to make
  and the station tries again after `retry_after` (or `station_recheck_seconds`).

A station an operator paused (`holds.py`, read at every station step) takes no new disc;
a disc it is making is finished.

A station can be lent (`borrowed`) to the devices role's test burn: from the moment it is
asked for, the station takes no new disc; once its disc in progress (if any) is finished,
the borrower has it to itself, and it takes discs again when given back.

After a crash, `recover()` asks every station to move a disc left in a drive or printer to
the reject bin, and every disc that was in progress is made again on a new disc: nothing is
reported done twice (done discs stay done) and nothing is lost.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from appliance.db.database import transaction
from appliance.media.profiles import Medium
from appliance.publishing.events import JobNews, Publish, log_news, publish_all
from appliance.publishing.holds import held
from appliance.publishing.job_states import (
    SERVED_JOB_STATES,
    DiscEvent,
    DiscState,
    JobEvent,
    JobState,
    TransitionRefused,
)
from appliance.publishing.jobs_store import Disc, Job, JobStore, label_from_json
from appliance.publishing.planner import (
    MediaDefaults,
    PrepareFailed,
    RenderLabel,
    prepare,
)
from appliance.publishing.rules import evaluate_completions
from appliance.publishing.settings import PublishingSettings
from appliance.publishing.station import (
    DiscFailed,
    DiscOrder,
    DiscStep,
    FaultKind,
    Progress,
    Station,
    StationFault,
)

log = logging.getLogger(__name__)

Connect = Callable[[], sqlite3.Connection]
Clock = Callable[[], float]
RETRY_SECONDS = 10.0  # a transient fault without its own retry time
CRASH_SENTENCE = (
    "The box stopped while this disc was being made; the station put it in the reject bin "
    "and the disc is made again."
)


class Condition(Enum):
    """A station as the runner sees it."""

    READY = "ready"
    WAITING_OPERATOR = "waiting-operator"
    RETRYING = "retrying"
    OUT_OF_SERVICE = "out-of-service"
    PAUSED = "paused"  # by an operator: no new disc until resumed


@dataclass(frozen=True)
class Loan:
    """A station lent by the runner: `progress` shows the borrower's disc on the station's
    view (heartbeat, status page) as the runner's own discs are shown."""

    station: Station
    progress: Progress


@dataclass
class _Worker:
    station: Station
    store: JobStore
    condition: Condition = Condition.READY
    not_before: float = 0.0
    sentence: str = ""
    disc_id: int | None = None
    step: str = ""
    fraction: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    wanted: int = 0  # borrowers waiting for or holding the station: it takes no new disc
    lent_to: str = ""  # who has it now (a test burn), for the status page

    @property
    def name(self) -> str:
        return self.station.name


class JobRunner:
    def __init__(
        self,
        connect: Connect,
        stations: Sequence[Station],
        settings: PublishingSettings,
        defaults: MediaDefaults,
        *,
        clock: Clock = time.time,
        publish: Publish = log_news,
        render_label: RenderLabel | None = None,
    ) -> None:
        names = [s.name for s in stations]
        if len(set(names)) != len(names):
            raise ValueError(f"station names must be unique: {names}")
        self.settings = settings
        self.defaults = defaults
        self.clock = clock
        self.publish = publish
        self.render_label = render_label
        self.store = JobStore(connect(), clock)  # the coordinator's
        self.workers = [_Worker(s, JobStore(connect(), clock)) for s in stations]
        self.recovered = False
        # Set when discs become ready, so idle stations start at once, not at their next
        # look (a job's images, built by this process, would otherwise wait up to a poll).
        self._work = threading.Event()

    # Start-up

    def recover(self) -> None:
        """Once, before any disc: stations clear their drives, the database follows."""
        for worker in self.workers:
            try:
                worker.station.recover()
            except StationFault as exc:
                self._pause(worker, exc.kind, exc.sentence, exc.retry_after)
            except Exception as exc:  # a driver bug must not stop the other stations
                log.exception("station %s failed to recover", worker.name)
                self._pause(worker, FaultKind.FATAL, _unexpected(worker.name, exc), None)
        store = self.store
        with transaction(store.conn):
            for disc in store.in_state(DiscState.IN_PROGRESS):
                store.fire_disc(disc.id, DiscEvent.INTERRUPT, error=CRASH_SENTENCE)
                if store.job(disc.job_id).state is not JobState.CANCELLED:
                    store.again(disc, redos=disc.redos)
            for job in store.jobs([JobState.PREPARING, JobState.WAITING_OPERATOR]):
                store.fire_job(job.id, JobEvent.RESTARTED, message="")
        self._flush(store)
        self.recovered = True

    # Passes

    def run_once(self) -> int:
        """One pass, for tests and tools: new completions, one job prepared, and every
        station that is due makes at most one disc (in parallel). Discs handled."""
        if not self.recovered:
            self.recover()
        self.coordinate()
        due = [w for w in self.workers if w.not_before <= self.clock()]
        done: list[bool] = []
        errors: list[BaseException] = []

        def one(worker: _Worker) -> None:
            try:
                done.append(self.station_step(worker))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=one, args=(w,)) for w in due]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return sum(done)

    def run(self, stop: threading.Event, *, join_seconds: float = 30.0) -> None:
        """Until `stop` is set. A disc in a station is finished first (up to
        `join_seconds`); one cut short is redone by `recover` at the next start."""
        if not self.recovered:
            self.recover()
        threads = [
            threading.Thread(target=self._station_loop, args=(w, stop), name=f"station-{w.name}")
            for w in self.workers
        ]
        for thread in threads:
            thread.start()
        try:
            while not stop.is_set():
                try:
                    self.coordinate()
                except Exception:  # the database busy or full: try again next time
                    log.exception("publishing: coordinator pass failed")
                stop.wait(self.settings.poll_seconds)
        finally:
            stop.set()
            self._work.set()  # idle stations wait on it: let them see `stop`
            for thread in threads:
                thread.join(join_seconds)

    def _station_loop(self, worker: _Worker, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                worked = self.station_step(worker) if worker.not_before <= self.clock() else False
            except Exception:
                log.exception("publishing: station %s pass failed", worker.name)
                worked = False
            if not worked:
                self._work.wait(self.settings.poll_seconds)
                self._work.clear()

    # The coordinator

    def coordinate(self) -> None:
        store = self.store
        evaluate_completions(store, self.settings)
        self._flush(store)
        job = store.next_queued()
        if job is not None:
            self._prepare(job)
        self._tidy()

    def _prepare(self, job: Job) -> None:
        store = self.store
        store.fire_job(job.id, JobEvent.PREPARE)
        self._flush(store)
        discs = store.discs(job.id)
        handed = {DiscState.DONE, DiscState.REJECTED, DiscState.INTERRUPTED, DiscState.FAILED}
        try:
            if any(d.state in handed or d.state is DiscState.IN_PROGRESS for d in discs):
                self._resume(job)
            else:
                with transaction(store.conn):
                    for disc in discs:  # left by a preparation a crash cut short
                        if disc.state in (DiscState.PENDING, DiscState.IMAGE_READY):
                            store.fire_disc(disc.id, DiscEvent.CANCEL)
                prepare(store, job, self.defaults, render_label=self.render_label)
            store.fire_job(job.id, JobEvent.IMAGES_READY, message="")
            self._work.set()
        except PrepareFailed as exc:
            self._after_prepare(job.id, JobEvent.PREPARE_FAILED, exc.sentence)
        except TransitionRefused:
            # Cancelled while its images were built: they are removed by _tidy.
            log.info("job %d changed while it was prepared", job.id)
        except Exception as exc:  # never leave a job stuck in preparing
            log.exception("job %d: preparing failed", job.id)
            self._after_prepare(
                job.id,
                JobEvent.PREPARE_FAILED,
                f"Job {job.id}: its images could not be made ({type(exc).__name__}: {exc}); "
                "the box made no disc for it — retry the job, and report it if it happens again.",
            )
        self._flush(store)

    def _after_prepare(self, job_id: int, event: JobEvent, sentence: str) -> None:
        try:
            self.store.fire_job(job_id, event, message=sentence)
        except TransitionRefused:
            log.info("job %d changed while it was prepared", job_id)

    def _resume(self, job: Job) -> None:
        """A retried job: make again what is not done, from the images it already has."""
        store = self.store
        with transaction(store.conn):
            for disc in store.latest(job.id):
                if disc.state in (DiscState.DONE, DiscState.IN_PROGRESS):
                    continue
                if not disc.image or not Path(disc.image).is_file():
                    raise PrepareFailed(
                        f"Job {job.id}: the disc image {disc.image or '(none)'} is gone; the "
                        "box cannot make its remaining discs — cancel the job and burn the "
                        "studies again."
                    )
                if disc.state is not DiscState.IMAGE_READY:
                    store.again(disc, redos=0)

    def _tidy(self) -> None:
        """Remove the spool of jobs that are over, once no station holds one of their discs."""
        root = self.defaults.data_dir / "spool" / "jobs"
        if not root.is_dir():
            return
        over = {JobState.DONE, JobState.CANCELLED}
        for folder in root.iterdir():
            if not folder.name.isdigit():
                continue
            job_id = int(folder.name)
            row = self.store.conn.execute(
                "SELECT state FROM jobs WHERE id = ?", (job_id,)
            ).fetchone()
            busy = self.store.conn.execute(
                "SELECT 1 FROM job_discs WHERE job_id = ? AND state = ?",
                (job_id, DiscState.IN_PROGRESS.value),
            ).fetchone()
            if (row is None or JobState(row[0]) in over) and busy is None:
                shutil.rmtree(folder, ignore_errors=True)

    # A station's turn

    def station_step(self, worker: _Worker) -> bool:
        """Claim the next disc this station can make and make it. False when none."""
        if not worker.lock.acquire(blocking=False):
            return False
        try:
            store = worker.store
            if worker.wanted:  # lent, or about to be: no new disc
                return False
            if self._paused(worker):
                return False
            disc = store.claim(worker.station.media, worker.name)
            self._flush(store)
            if disc is None:
                return False
            worker.disc_id, worker.step, worker.fraction = disc.id, "", 0.0
            order = DiscOrder(
                job_id=disc.job_id,
                disc_id=disc.id,
                image=Path(disc.image),
                image_bytes=disc.image_bytes,
                medium=disc.medium,
                label=label_from_json(disc.label),
                label_artwork=Path(disc.artwork) if disc.artwork else None,
            )
            try:
                worker.station.make_disc(order, self._progress(worker, disc))
            except DiscFailed as exc:
                self._bad_disc(worker, disc, exc)
            except StationFault as exc:
                self._fault(worker, disc, exc.kind, exc.sentence, exc.code, exc.retry_after)
            except Exception as exc:  # a driver bug: this station stops, the others go on
                log.exception("station %s failed unexpectedly", worker.name)
                self._fault(worker, disc, FaultKind.FATAL, _unexpected(worker.name, exc), "", None)
            else:
                self._made(worker, disc)
            finally:
                # The disc is over: its step and fraction go with it (the heartbeat and
                # `device show` would otherwise show the last step of a disc long done).
                worker.disc_id, worker.step, worker.fraction = None, "", 0.0
                self._flush(store)
            return True
        finally:
            worker.lock.release()

    def _paused(self, worker: _Worker) -> bool:
        """The operator's hold, from the database (the CLI and web role write it)."""
        hold = held(worker.store.conn, worker.name)
        if hold is not None:
            if worker.condition is not Condition.PAUSED:
                log.info("station %s is paused by %s", worker.name, hold.paused_by)
            worker.condition, worker.sentence = Condition.PAUSED, hold.sentence()
            return True
        if worker.condition is Condition.PAUSED:
            self._ready(worker)
        return False

    def _progress(self, worker: _Worker, disc: Disc) -> Callable[[DiscStep, float], None]:
        last = [-1.0]

        def progress(step: DiscStep, fraction: float) -> None:
            if step.value != worker.step:
                worker.step, last[0] = step.value, -1.0
                worker.store.step(disc.id, disc.job_id, step.value)  # steps go to the history
                self._flush(worker.store)
            worker.fraction = fraction
            if fraction - last[0] >= 0.1 or fraction >= 1.0 > last[0]:
                last[0] = fraction  # fractions only to listeners, in tenths
                publish_all(
                    self.publish,
                    [
                        JobNews(
                            self.clock(),
                            disc.job_id,
                            disc.id,
                            "progress",
                            {"step": step.value, "fraction": round(fraction, 2)},
                        )
                    ],
                )

        return progress

    def _made(self, worker: _Worker, disc: Disc) -> None:
        store = worker.store
        with transaction(store.conn):
            store.fire_disc(disc.id, DiscEvent.MADE)
            self._station_works(worker, disc.job_id)
            state = store.job(disc.job_id).state
            latest = store.latest(disc.job_id)
            if state in SERVED_JOB_STATES and all(d.state is DiscState.DONE for d in latest):
                store.fire_job(disc.job_id, JobEvent.ALL_DISCS_DONE, message="")

    def _bad_disc(self, worker: _Worker, disc: Disc, exc: DiscFailed) -> None:
        store = worker.store
        with transaction(store.conn):
            state = store.job(disc.job_id).state
            if disc.redos < self.settings.redo_limit:
                store.fire_disc(disc.id, DiscEvent.BAD_DISC, error=exc.sentence, code=exc.code)
                if state is not JobState.CANCELLED:
                    store.again(disc, redos=disc.redos + 1)
                self._station_works(worker, disc.job_id)
                return
            store.fire_disc(disc.id, DiscEvent.BAD_DISC_LAST, error=exc.sentence, code=exc.code)
            if state in SERVED_JOB_STATES:
                tries = disc.redos + 1
                store.fire_job(
                    disc.job_id,
                    JobEvent.REDO_LIMIT,
                    message=(
                        f"Disc {disc.volume} of {disc.volumes} ({disc.copy_type.value} copy "
                        f"{disc.copy_number}) failed {tries} time(s), the last: {exc.sentence} "
                        f"The box stopped this job. Check the blank discs and the drive, then "
                        f"'appliance jobs retry {disc.job_id}' (or cancel it)."
                    ),
                )
        self._ready(worker)

    def _station_works(self, worker: _Worker, job_id: int) -> None:
        """The station made a disc (good or bad): any fault it had is over."""
        self._ready(worker)
        if worker.store.job(job_id).state is JobState.WAITING_OPERATOR:
            worker.store.fire_job(job_id, JobEvent.OPERATOR_CLEARED, message="")

    def _ready(self, worker: _Worker) -> None:
        if worker.condition is not Condition.READY:
            log.info("station %s is ready again", worker.name)
        worker.condition, worker.sentence, worker.not_before = Condition.READY, "", 0.0

    def _fault(
        self,
        worker: _Worker,
        disc: Disc,
        kind: FaultKind,
        sentence: str,
        code: str,
        retry_after: float | None,
    ) -> None:
        store = worker.store
        self._pause(worker, kind, sentence, retry_after)
        with transaction(store.conn):
            store.fire_disc(
                disc.id, DiscEvent.INTERRUPT, error=sentence, kind=kind.value, code=code
            )
            state = store.job(disc.job_id).state
            if state is JobState.CANCELLED:
                return
            store.again(disc, redos=disc.redos)
            if state not in SERVED_JOB_STATES:
                return
            if kind is FaultKind.OPERATOR:
                store.fire_job(disc.job_id, JobEvent.OPERATOR_NEEDED, message=sentence)
            elif not self._someone_makes(disc.medium):
                store.fire_job(
                    disc.job_id,
                    JobEvent.OPERATOR_NEEDED,
                    message=f"No station can make {disc.medium.value.upper()} discs now: "
                    f"{sentence}",
                )

    def _pause(
        self, worker: _Worker, kind: FaultKind, sentence: str, retry_after: float | None
    ) -> None:
        default = (
            RETRY_SECONDS if kind is FaultKind.RETRY else self.settings.station_recheck_seconds
        )
        worker.condition = {
            FaultKind.OPERATOR: Condition.WAITING_OPERATOR,
            FaultKind.RETRY: Condition.RETRYING,
            FaultKind.FATAL: Condition.OUT_OF_SERVICE,
        }[kind]
        worker.sentence = sentence
        worker.not_before = self.clock() + (default if retry_after is None else retry_after)
        log.warning("station %s: %s (%s)", worker.name, sentence, kind.value)
        publish_all(
            self.publish,
            [JobNews(self.clock(), 0, None, "station-fault", self._station_view(worker))],
        )

    def _someone_makes(self, medium: Medium) -> bool:
        return any(
            w.condition is not Condition.OUT_OF_SERVICE and medium in w.station.media
            for w in self.workers
        )

    # Views

    def _station_view(self, worker: _Worker) -> dict[str, Any]:
        return {
            "station": worker.name,
            "condition": worker.condition.value,
            "sentence": worker.sentence,
            "retry_at": worker.not_before or None,
            "disc": worker.disc_id,
            "step": worker.step,
            "fraction": round(worker.fraction, 2),
            "lent_to": worker.lent_to,
        }

    @contextmanager
    def borrowed(
        self,
        names: Sequence[str],
        borrower: str,
        give_up: Callable[[], bool],
        *,
        look_seconds: float = 0.2,
    ) -> Iterator[Loan | None]:
        """The first of the stations `names` to be free, for `borrower` alone until the
        block ends; None when `give_up()` said so before one was free.

        From the call on, none of them takes a new disc; a disc one is making is finished
        first (its thread holds the station's lock until then). When one is had, the others
        take discs again at once; when the block ends (an exception too), so does it."""
        waiting = [w for w in self.workers if w.name in names]
        for worker in waiting:
            worker.wanted += 1
        had: _Worker | None = None
        try:
            while had is None and waiting:
                had = next((w for w in waiting if w.lock.acquire(blocking=False)), None)
                if had is None:
                    if give_up():
                        break
                    time.sleep(look_seconds)
            for worker in waiting:
                if worker is not had:
                    worker.wanted -= 1
            waiting = []
            self._work.set()  # the others may take discs again
            if had is None:
                yield None
                return
            log.info("station %s is lent to %s", had.name, borrower)
            had.lent_to, had.step, had.fraction = borrower, "", 0.0
            yield Loan(had.station, self._lent_progress(had))
        finally:
            for worker in waiting:  # given up (or raised) before one was free
                worker.wanted -= 1
            if had is not None:
                had.lent_to, had.step, had.fraction = "", "", 0.0
                had.wanted -= 1
                had.lock.release()
                log.info("station %s is back from %s", had.name, borrower)
            self._work.set()

    @staticmethod
    def _lent_progress(worker: _Worker) -> Progress:
        def progress(step: DiscStep, fraction: float) -> None:
            worker.step, worker.fraction = step.value, fraction

        return progress

    def stations_named(self, names: Sequence[str]) -> list[Station]:
        """The runner's stations called `names` (for a device test in the running role)."""
        return [w.station for w in self.workers if w.name in names]

    def status(self) -> list[dict[str, Any]]:
        """Each station as the runner sees it, with the station's own status."""
        views = []
        for worker in self.workers:
            view = self._station_view(worker)
            try:
                view["device"] = worker.station.status()
            except Exception as exc:  # the status page shows the problem instead
                view["device"] = {"error": str(exc)}
            views.append(view)
        return views

    def close(self) -> None:
        for worker in self.workers:
            try:
                worker.station.close()
            except Exception:
                log.exception("station %s did not close cleanly", worker.name)
            worker.store.conn.close()
        self.store.conn.close()

    def _flush(self, store: JobStore) -> None:
        """Publish what the store recorded; only called after its transaction committed."""
        if not store.conn.in_transaction:
            publish_all(self.publish, store.take_news())


def _unexpected(name: str, exc: Exception) -> str:
    return (
        f"Station {name} stopped with an unexpected error ({type(exc).__name__}: {exc}); "
        "its disc goes to another station — restart the devices role, and report it if it "
        "happens again."
    )
