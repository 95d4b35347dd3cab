"""The job runner with fake stations: parallel stations, redo, park, faults, crash, cancel,
retry and priorities, on studies received through the index."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from appliance.db.database import connect, migrate
from appliance.media.profiles import Medium
from appliance.publishing import holds
from appliance.publishing.events import JobNews
from appliance.publishing.job_states import DiscState, JobState
from appliance.publishing.jobs_store import JobStore
from appliance.publishing.runner import CRASH_SENTENCE, Condition, JobRunner
from appliance.publishing.settings import PublishingSettings, PublishProfile
from appliance.publishing.station import (
    DiscFailed,
    DiscOrder,
    DiscStep,
    FaultKind,
    Progress,
    StationFault,
)
from tests.unit.test_publishing_planner import defaults, receive_study

Outcome = BaseException | Callable[[DiscOrder], None] | None


class Crash(BaseException):
    """Stands for the process dying in the middle of a disc."""


@dataclass
class FakeStation:
    name: str
    media: frozenset[Medium] = frozenset({Medium.CD, Medium.DVD})
    script: list[Outcome] = field(default_factory=list)  # per make_disc call; then success
    orders: list[DiscOrder] = field(default_factory=list)
    recovered: int = 0
    closed: bool = False

    def recover(self) -> None:
        self.recovered += 1

    def make_disc(self, order: DiscOrder, progress: Progress) -> None:
        self.orders.append(order)
        assert order.image.is_file() and order.image.stat().st_size == order.image_bytes
        progress(DiscStep.BURNING, 0.5)
        outcome = self.script.pop(0) if self.script else None
        if isinstance(outcome, BaseException):
            raise outcome
        if outcome is not None:
            outcome(order)
        progress(DiscStep.PRINTING, 1.0)

    def status(self) -> dict[str, object]:
        return {"discs": len(self.orders)}

    def close(self) -> None:
        self.closed = True


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Bench:
    data_dir: Path
    clock: Clock
    news: list[JobNews]
    runners: list[JobRunner]

    def runner(self, *stations: FakeStation, **settings: object) -> JobRunner:
        values: dict[str, object] = {"rules": [{"called_ae": "BURN", "profile": "default"}]}
        values.update(settings)
        runner = JobRunner(
            lambda: connect(self.data_dir),
            list(stations),
            PublishingSettings.model_validate(values),
            defaults(self.data_dir),
            clock=self.clock,
            publish=self.news.append,
        )
        self.runners.append(runner)
        return runner

    def store(self) -> JobStore:
        return JobStore(connect(self.data_dir), self.clock)

    def job(self, copies: int = 1, priority: int = 5) -> int:
        conn = connect(self.data_dir)
        study = receive_study(conn, self.data_dir, count=2)
        profile = PublishProfile.model_validate({"copies": {"patient": copies}})
        store = JobStore(conn, self.clock)
        job_id = store.create_job([study], "default", profile, priority=priority, origin="operator")
        self.clock.now += 1
        conn.close()
        return job_id


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    migrate(tmp_path)
    made = Bench(tmp_path, Clock(), [], [])
    yield made
    for runner in made.runners:
        runner.close()


def states(store: JobStore, job_id: int) -> list[tuple[int, DiscState, str]]:
    return [(d.slot, d.state, d.station) for d in store.discs(job_id)]


def events(store: JobStore, job_id: int) -> list[str]:
    return [row.event for row in store.history(job_id) if row.event not in ("step",)]


def test_a_completed_study_is_burned_on_two_stations_in_parallel(bench: Bench) -> None:
    together = threading.Barrier(2, timeout=10)  # breaks unless both burn at once
    inside: list[str] = []

    def meet(order: DiscOrder) -> None:
        together.wait()
        inside.append(str(order.disc_id))

    a = FakeStation("robot-a", script=[meet])
    b = FakeStation("robot-b", script=[meet])
    runner = bench.runner(a, b, profiles={"default": {"copies": {"patient": 2}, "media": "cd"}})
    conn = connect(bench.data_dir)
    receive_study(conn, bench.data_dir, called="BURN")
    receive_study(conn, bench.data_dir, called="OTHER")  # no rule matches: no job
    assert runner.run_once() == 2
    store = bench.store()
    (job,) = store.jobs()
    assert job.state is JobState.DONE and job.origin == "rule"
    assert sorted(s for _, _, s in states(store, job.id)) == ["robot-a", "robot-b"]
    assert len(inside) == 2 and a.recovered == b.recovered == 1
    assert {o.label.volume_text for o in a.orders + b.orders} == {"1 of 1"}
    history = events(store, job.id)
    assert history[:5] == ["created", "prepare", "image-built", "image-built", "images-ready"]
    assert history.count("started") == 2 and history.count("made") == 2
    assert history[-1] == "all-discs-done"
    published = [n.event for n in bench.news if n.job_id == job.id and n.event != "progress"]
    assert [e for e in published if e != "step"] == history
    assert any(n.event == "progress" and n.detail["fraction"] == 0.5 for n in bench.news)
    steps = [r.detail["step"] for r in store.history(job.id) if r.event == "step"]
    assert steps.count("burning") == 2 and steps.count("printing") == 2
    spool = bench.data_dir / "spool" / "jobs" / str(job.id)
    assert spool.is_dir()
    runner.run_once()
    assert not spool.exists()  # tidied once the job is over


def test_run_until_stopped_with_threads(bench: Bench) -> None:
    job_id = bench.job(copies=3)
    a, b = FakeStation("a"), FakeStation("b")
    runner = bench.runner(a, b, poll_seconds=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,))
    thread.start()
    store = bench.store()
    deadline = time.monotonic() + 20
    while store.job(job_id).state is not JobState.DONE and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(20)
    assert not thread.is_alive()
    assert store.job(job_id).state is JobState.DONE
    assert len(a.orders) + len(b.orders) == 3


def test_a_bad_disc_is_redone_on_a_new_disc(bench: Bench) -> None:
    job_id = bench.job()
    station = FakeStation("a", script=[DiscFailed("The disc failed verify.", code="verify")])
    runner = bench.runner(station)
    runner.run_once()
    runner.run_once()
    store = bench.store()
    assert store.job(job_id).state is JobState.DONE
    discs = store.discs(job_id)
    assert [(d.attempt, d.redos, d.state) for d in discs] == [
        (1, 0, DiscState.REJECTED),
        (2, 1, DiscState.DONE),
    ]
    assert discs[0].error == "The disc failed verify."
    assert [o.disc_id for o in station.orders] == [discs[0].id, discs[1].id]  # a new id


def test_past_the_redo_limit_the_job_parks_and_retry_resumes_it(bench: Bench) -> None:
    job_id = bench.job(copies=2)
    bad = DiscFailed("Write error at 71 %; the disc is in the reject bin.", code="write")
    station = FakeStation("a", script=[None, bad, bad])
    runner = bench.runner(station, redo_limit=1)
    for _ in range(4):
        runner.run_once()
    store = bench.store()
    job = store.job(job_id)
    assert job.state is JobState.PARKED
    assert "failed 2 time(s), the last: Write error at 71 %" in job.message
    assert f"appliance jobs retry {job_id}" in job.message
    assert len(station.orders) == 3  # nothing more once parked
    store.retry(job_id)
    runner.run_once()
    job = store.job(job_id)
    assert job.state is JobState.DONE and job.message == ""
    done = [d for d in store.discs(job_id) if d.state is DiscState.DONE]
    assert sorted(d.slot for d in done) == [1, 2]  # the first disc was not made again
    assert [d.redos for d in store.latest(job_id)] == [0, 0]


def test_an_operator_fault_waits_then_resumes(bench: Bench) -> None:
    job_id = bench.job()
    cover = StationFault(
        FaultKind.OPERATOR,
        "The robot's cover is open; the disc was rejected — close the cover.",
        code="cover",
        retry_after=30,
    )
    station = FakeStation("a", script=[cover])
    runner = bench.runner(station)
    runner.run_once()
    store = bench.store()
    job = store.job(job_id)
    assert job.state is JobState.WAITING_OPERATOR and job.message.startswith("The robot's cover")
    assert runner.status()[0]["condition"] == Condition.WAITING_OPERATOR.value
    assert runner.run_once() == 0 and len(station.orders) == 1  # not before retry_after
    bench.clock.now += 30
    runner.run_once()
    job = store.job(job_id)
    assert job.state is JobState.DONE and job.message == ""
    assert [d.state for d in store.discs(job_id)] == [DiscState.INTERRUPTED, DiscState.DONE]
    assert store.discs(job_id)[1].redos == 0  # a fault is not the disc's failure
    assert "operator-cleared" in events(store, job_id)


def test_a_retry_fault_pauses_only_the_station(bench: Bench) -> None:
    job_id = bench.job()
    station = FakeStation("a", script=[StationFault(FaultKind.RETRY, "Pick failed.")])
    runner = bench.runner(station)
    runner.run_once()
    store = bench.store()
    assert store.job(job_id).state is JobState.PUBLISHING
    bench.clock.now += 10
    runner.run_once()
    assert store.job(job_id).state is JobState.DONE


def test_a_fatal_fault_puts_the_station_out_and_another_makes_the_disc(bench: Bench) -> None:
    job_id = bench.job()
    broken = FakeStation("a", script=[StationFault(FaultKind.FATAL, "Robot offline.")])
    spare = FakeStation("b", media=frozenset())  # not loaded yet: "a" gets the disc
    runner = bench.runner(broken, spare)
    runner.run_once()
    store = bench.store()
    job = store.job(job_id)
    assert job.state is JobState.WAITING_OPERATOR
    assert job.message == "No station can make CD discs now: Robot offline."
    spare.media = frozenset({Medium.CD})
    runner.run_once()
    assert store.job(job_id).state is JobState.DONE
    assert len(broken.orders) == 1 and len(spare.orders) == 1
    assert [(d.state, d.station) for d in store.discs(job_id)] == [
        (DiscState.INTERRUPTED, "a"),
        (DiscState.DONE, "b"),
    ]
    assert runner.status()[0]["condition"] == Condition.OUT_OF_SERVICE.value


def test_an_unexpected_station_error_is_a_fatal_fault(bench: Bench) -> None:
    job_id = bench.job()
    station = FakeStation("a", script=[RuntimeError("driver bug")])
    runner = bench.runner(station, station_recheck_seconds=5)
    runner.run_once()
    store = bench.store()
    assert "unexpected error (RuntimeError: driver bug)" in store.job(job_id).message
    bench.clock.now += 5
    runner.run_once()
    assert store.job(job_id).state is JobState.DONE


def test_after_a_crash_mid_disc_the_disc_is_redone_and_done_discs_are_not(bench: Bench) -> None:
    job_id = bench.job(copies=2)
    first = FakeStation("a", script=[None, Crash()])
    runner = bench.runner(first)
    runner.run_once()
    with pytest.raises(Crash):
        runner.run_once()
    store = bench.store()
    assert [d.state for d in store.discs(job_id)] == [DiscState.DONE, DiscState.IN_PROGRESS]
    # The box starts again: a new runner on the same database and a fresh station.
    again = FakeStation("a")
    bench.runner(again).run_once()
    assert again.recovered == 1
    assert store.job(job_id).state is JobState.DONE
    discs = store.discs(job_id)
    assert [(d.slot, d.state) for d in discs] == [
        (1, DiscState.DONE),
        (2, DiscState.INTERRUPTED),
        (2, DiscState.DONE),
    ]
    assert discs[1].error == CRASH_SENTENCE
    assert [o.disc_id for o in again.orders] == [discs[2].id]  # slot 1 not made twice


def test_a_crash_while_preparing_builds_the_images_again(bench: Bench) -> None:
    job_id = bench.job()
    store = bench.store()
    from appliance.publishing.job_states import JobEvent

    store.fire_job(job_id, JobEvent.PREPARE)  # as if the runner died building images
    station = FakeStation("a")
    bench.runner(station).run_once()
    assert store.job(job_id).state is JobState.DONE
    assert "restarted" in events(store, job_id)


def test_cancel_stops_the_discs_not_yet_made(bench: Bench) -> None:
    job_id = bench.job(copies=3)
    station = FakeStation("a")
    runner = bench.runner(station)
    runner.run_once()
    store = bench.store()
    store.cancel(job_id)
    assert runner.run_once() == 0
    assert store.job(job_id).state is JobState.CANCELLED
    assert [d.state for d in store.discs(job_id)] == [
        DiscState.DONE,
        DiscState.CANCELLED,
        DiscState.CANCELLED,
    ]
    assert not (bench.data_dir / "spool" / "jobs" / str(job_id)).exists()


def test_higher_priority_first_then_the_oldest(bench: Bench) -> None:
    old_low = bench.job(priority=3)
    new_high = bench.job(priority=8)
    newer_low = bench.job(priority=3)
    station = FakeStation("a")
    runner = bench.runner(station)
    runner.recover()
    for _ in range(3):
        runner.coordinate()  # all three prepared before any disc is made
    for _ in range(3):
        runner.run_once()
    assert [o.job_id for o in station.orders] == [new_high, old_low, newer_low]


def test_a_station_takes_only_its_media(bench: Bench) -> None:
    job_id = bench.job()
    dvd_only = FakeStation("dvd", media=frozenset({Medium.DVD}))
    runner = bench.runner(dvd_only)
    runner.run_once()
    assert dvd_only.orders == []
    assert bench.store().job(job_id).state is JobState.PUBLISHING


def hold(bench: Bench, name: str, reason: str = "") -> None:
    """What `appliance device pause` or the web page writes, from another process."""
    conn = connect(bench.data_dir)
    assert holds.pause(conn, name, "alice", bench.clock.now, reason)
    conn.close()


def release(bench: Bench, name: str) -> None:
    conn = connect(bench.data_dir)
    assert holds.resume(conn, name)
    conn.close()


def test_a_paused_station_takes_no_disc_and_another_station_makes_it(bench: Bench) -> None:
    job_id = bench.job()
    paused, other = FakeStation("a"), FakeStation("b")
    runner = bench.runner(paused, other)
    hold(bench, "a", reason="cleaning the drive")
    runner.run_once()
    assert paused.orders == [] and len(other.orders) == 1
    assert bench.store().job(job_id).state is JobState.DONE
    view = runner.status()[0]
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(bench.clock.now))
    assert view["condition"] == Condition.PAUSED.value == "paused"
    assert view["sentence"] == (
        f"Paused by alice at {when}; resume it on the page or with "
        "'appliance device resume a'. Reason: cleaning the drive"
    )
    assert runner.status()[1]["condition"] == "ready"


def test_a_paused_station_finishes_its_disc_and_resumes_after_resume(bench: Bench) -> None:
    job_id = bench.job(copies=2)
    # Paused while its first disc burns: that disc is finished, the second waits.
    station = FakeStation("a", script=[lambda order: hold(bench, "a")])
    runner = bench.runner(station)
    runner.run_once()
    runner.run_once()
    store = bench.store()
    assert [d.state for d in store.discs(job_id)] == [DiscState.DONE, DiscState.IMAGE_READY]
    assert len(station.orders) == 1 and runner.status()[0]["condition"] == "paused"
    assert store.job(job_id).state is JobState.PUBLISHING
    release(bench, "a")
    runner.run_once()
    assert store.job(job_id).state is JobState.DONE and len(station.orders) == 2
    assert runner.status()[0]["condition"] == "ready" and runner.status()[0]["sentence"] == ""


def test_a_station_that_finished_its_disc_reports_no_step(bench: Bench) -> None:
    """The heartbeat shows a station's disc and step while it makes it, nothing after (the
    web page and `device show` read this view)."""
    seen: list[dict[str, object]] = []
    station = FakeStation("robot-a")
    runner = bench.runner(station, profiles={"default": {"media": "cd"}})
    station.script = [lambda order: seen.append(dict(runner.status()[0]))]
    conn = connect(bench.data_dir)
    receive_study(conn, bench.data_dir, called="BURN")
    conn.close()
    assert runner.run_once() == 1
    (during,) = seen
    assert during["disc"] is not None and during["step"] == "burning"
    after = runner.status()[0]
    assert (after["disc"], after["step"], after["fraction"]) == (None, "", 0.0)


def test_a_borrowed_station_finishes_its_disc_first_and_takes_none_while_lent(
    bench: Bench,
) -> None:
    """A test burn borrows the station: the patient disc in progress is finished first,
    no patient disc goes to it while it is lent, and it takes them again when back."""
    job_id = bench.job(copies=2)
    station = FakeStation("a")
    runner = bench.runner(station)
    lent: list[str] = []
    seen_during: list[list[str]] = []
    have, back = threading.Event(), threading.Event()

    def borrow() -> None:
        with runner.borrowed(["a"], "test burn 1", lambda: False, look_seconds=0.01) as loan:
            assert loan is not None
            lent.append(f"{loan.station.name} after {len(station.orders)} disc(s)")
            loan.progress(DiscStep.BURNING, 0.5)
            have.set()
            back.wait(10)

    borrower = threading.Thread(target=borrow)

    def during(order: DiscOrder) -> None:
        borrower.start()
        time.sleep(0.1)
        seen_during.append(list(lent))

    station.script = [during]
    assert runner.run_once() == 1
    assert have.wait(10)
    assert seen_during == [[]]  # the borrower waited for the disc in progress
    assert lent == ["a after 1 disc(s)"]
    view = runner.status()[0]
    assert (view["lent_to"], view["step"], view["fraction"]) == ("test burn 1", "burning", 0.5)
    assert runner.run_once() == 0 and len(station.orders) == 1  # lent: no patient disc
    back.set()
    borrower.join(10)
    assert not borrower.is_alive()
    assert runner.status()[0]["lent_to"] == "" and runner.status()[0]["step"] == ""
    assert runner.run_once() == 1 and len(station.orders) == 2
    assert bench.store().job(job_id).state is JobState.DONE


def test_a_borrower_that_gives_up_gets_no_station_and_takes_nothing_away(bench: Bench) -> None:
    bench.job(copies=2)
    a, b = FakeStation("a"), FakeStation("b")
    runner = bench.runner(a, b)
    runner.recover()
    busy = runner.workers[0].lock  # station a is making a disc
    assert busy.acquire(blocking=False)
    looks: list[int] = []

    def give_up() -> bool:
        looks.append(1)
        return len(looks) >= 3

    try:
        with runner.borrowed(["a"], "test burn 2", give_up, look_seconds=0.01) as loan:
            assert loan is None
    finally:
        busy.release()
    assert len(looks) == 3
    with runner.borrowed(["nowhere"], "test burn 3", lambda: False) as loan:
        assert loan is None  # no such station: nothing to wait for
    # Given up: both stations take discs again.
    assert runner.run_once() == 2 and len(a.orders) == len(b.orders) == 1
    # An error in the borrower's block gives the station back too.
    with pytest.raises(RuntimeError), runner.borrowed(["b"], "test burn 4", lambda: False):
        raise RuntimeError("the test burn broke")
    assert runner.workers[1].wanted == 0 and runner.workers[1].lock.acquire(blocking=False)
    runner.workers[1].lock.release()
