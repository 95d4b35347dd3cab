"""Print jobs: the life-cycle table cell by cell, the queue store and the SCP's backend."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from appliance.config.schema import KilnConfig
from appliance.db.database import connect, migrate
from appliance.printing.backend import (
    ExecutionStatus,
    OutputKind,
    PrinterReport,
    PrinterStatus,
    QueueFull,
)
from appliance.printing.database_backend import DatabasePrintBackend
from appliance.printing.film import (
    FilmBoxSpec,
    FilmSessionSpec,
    ImageBoxSpec,
    PrintRequest,
    load,
)
from appliance.printing.job_states import (
    PRINT_JOB_TABLE,
    PrintJobEvent,
    PrintJobRefused,
    PrintJobState,
    next_state,
)
from appliance.printing.queue import OutputState, PrintQueue, UnknownPrintJob

Q, E = PrintJobState, PrintJobEvent
ALLOWED = {
    (Q.QUEUED, E.START): Q.PRINTING,
    (Q.QUEUED, E.CANCEL): Q.CANCELLED,
    (Q.QUEUED, E.REFUSED): Q.FAILED,
    (Q.PRINTING, E.PRINTED): Q.DONE,
    (Q.PRINTING, E.OUTPUT_DOWN): Q.QUEUED,
    (Q.PRINTING, E.REFUSED): Q.FAILED,
    (Q.PRINTING, E.RESTARTED): Q.QUEUED,
    (Q.PRINTING, E.CANCEL): Q.CANCELLED,
    (Q.FAILED, E.RETRY): Q.QUEUED,
    (Q.CANCELLED, E.RETRY): Q.QUEUED,
}
CELLS = list(itertools.product(PrintJobState, PrintJobEvent))


def test_the_table_is_the_one_written_here() -> None:
    assert dict(PRINT_JOB_TABLE) == ALLOWED


@pytest.mark.parametrize(("state", "event"), CELLS, ids=[f"{s.value}-{e.value}" for s, e in CELLS])
def test_each_cell(state: PrintJobState, event: PrintJobEvent) -> None:
    expected = ALLOWED.get((state, event))
    if expected is None:
        with pytest.raises(PrintJobRefused):
            next_state(state, event)
    else:
        assert next_state(state, event) is expected


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def request(uid: str, called: str = "KILN_PAPER", priority: str = "MED") -> PrintRequest:
    pixels = np.arange(64, dtype=np.uint16).reshape(8, 8) * 64
    film = FilmBoxSpec(
        "STANDARD\\1,2",
        image_boxes=(ImageBoxSpec(1, pixels, 12), ImageBoxSpec(2, pixels, 12)),
    )
    session = FilmSessionSpec(number_of_copies=2, print_priority=priority, film_session_label="CT")
    return PrintRequest(uid, "MR1", called, session, (film,), received_at=1.0)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    migrate(tmp_path)
    return tmp_path


def test_jobs_are_served_by_priority_then_age_and_retried_later(data_dir: Path) -> None:
    clock = Clock()
    queue = PrintQueue(connect(data_dir), clock)
    low = queue.add(request("1.1", priority="LOW"), "paper", "print/1.1", 1)
    med = queue.add(request("1.2"), "paper", "print/1.2", 1)
    high = queue.add(request("1.3", priority="HIGH"), "paper", "print/1.3", 1)
    assert [queue.next_for("paper").id for _ in range(1)] == [high]  # type: ignore[union-attr]
    queue.change(high, E.START)
    queue.change(high, E.OUTPUT_DOWN, status_info="SUPPLY EMPTY", retry_in=30)
    assert queue.next_for("paper").id == med  # type: ignore[union-attr]
    queue.change(med, E.START)
    queue.change(med, E.PRINTED)
    assert queue.next_for("paper").id == low  # type: ignore[union-attr]
    clock.now += 31
    assert queue.next_for("paper").id == high  # type: ignore[union-attr]
    job = queue.get(high)
    assert (job.state, job.attempts, job.status_info) == (Q.QUEUED, 1, "SUPPLY EMPTY")
    assert [e.state for e in queue.events(high)] == [Q.QUEUED, Q.PRINTING, Q.QUEUED]
    assert queue.next_for("film") is None
    assert queue.waiting("paper") == 2
    assert queue.counts() == {"queued": 2, "done": 1}


def test_a_refused_change_writes_nothing(data_dir: Path) -> None:
    queue = PrintQueue(connect(data_dir))
    job_id = queue.add(request("1.4"), "paper", "print/1.4", 1)
    with pytest.raises(PrintJobRefused):
        queue.change(job_id, E.PRINTED)
    assert queue.get(job_id).state is Q.QUEUED
    assert len(queue.events(job_id)) == 1
    with pytest.raises(UnknownPrintJob):
        queue.get(99)


def test_printing_jobs_go_back_to_the_queue_after_a_restart(data_dir: Path) -> None:
    queue = PrintQueue(connect(data_dir))
    job_id = queue.add(request("1.5"), "paper", "print/1.5", 1)
    queue.change(job_id, E.START)
    queue.note(job_id, status_info="PRINTING", message="", external_id="17")
    assert queue.restart_printing("paper") == [job_id]
    job = queue.get(job_id)
    assert (job.state, job.external_id) == (Q.QUEUED, "17")  # the CUPS job is followed again


def test_the_backend_saves_the_films_before_the_row(data_dir: Path) -> None:
    config = KilnConfig.model_validate({"box": {"data_dir": str(data_dir)}})
    backend = DatabasePrintBackend(config, lambda: connect(data_dir))
    route = backend.route("KILN_PAPER")
    assert route is not None and route.kind is OutputKind.PAPER and route.name == "paper"
    assert route.medium_types[0] == "PAPER" and "BLUE FILM" in route.medium_types
    assert backend.route("KILN") is None
    backend.enqueue(request("1.2.3"))
    job = PrintQueue(connect(data_dir)).get("1.2.3")
    assert (job.output, job.copies, job.films, job.images, job.label) == ("paper", 2, 1, 2, "CT")
    saved = load(data_dir / job.folder)
    assert (
        saved.films[0].image_boxes[1].pixels.tolist()
        == request("x").films[0].image_boxes[1].pixels.tolist()
    )
    report = backend.job("1.2.3")
    assert report is not None and report.execution_status is ExecutionStatus.PENDING
    assert report.originator == "MR1" and report.print_priority == "MED"
    assert backend.job("9.9") is None


def test_the_backend_refuses_past_the_queue_limit(data_dir: Path) -> None:
    config = KilnConfig.model_validate(
        {
            "box": {"data_dir": str(data_dir)},
            "print": {"outputs": {"p": {"ae_title": "P", "kind": "paper", "max_queued": 1}}},
        }
    )
    backend = DatabasePrintBackend(config, lambda: connect(data_dir))
    backend.enqueue(request("2.1", called="P"))
    with pytest.raises(QueueFull):
        backend.enqueue(request("2.2", called="P"))
    assert not (data_dir / "print" / "2.2").exists()


def test_the_printer_report_says_when_nobody_watches_the_printer(data_dir: Path) -> None:
    clock = Clock()
    config = KilnConfig.model_validate({"box": {"data_dir": str(data_dir)}})
    backend = DatabasePrintBackend(config, lambda: connect(data_dir), clock)
    assert backend.printer("KILN_FILM") == PrinterReport(
        PrinterStatus.WARNING, "PRINTER INIT", "film"
    )
    report = PrinterReport(PrinterStatus.FAILURE, "SUPPLY EMPTY", "film", model_name="Sim")
    PrintQueue(connect(data_dir)).set_output(
        OutputState("film", OutputKind.FILM, report, "out-of-film", "Load film", clock.now)
    )
    assert backend.printer("KILN_FILM") == report
    clock.now += 60
    assert backend.printer("KILN_FILM").status_info == "PRINTER OFFLINE"
