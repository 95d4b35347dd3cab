"""The print runner against a scripted output: done, retried later, refused, resumed."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest

from appliance.config.schema import KilnConfig
from appliance.db.database import connect, migrate
from appliance.printing.backend import OutputKind, PrinterReport, PrinterStatus
from appliance.printing.database_backend import DatabasePrintBackend
from appliance.printing.film import PrintRequest
from appliance.printing.job_states import PrintJobEvent, PrintJobState
from appliance.printing.output import (
    Outcome,
    OutputCondition,
    Printed,
    Progress,
    Refused,
    RetryLater,
)
from appliance.printing.queue import PrintQueue
from appliance.printing.runner import PrintRunner
from tests.unit.test_print_queue import request

NORMAL = OutputCondition(PrinterReport(PrinterStatus.NORMAL, "NORMAL", "paper"), "idle", "")
PAPER_OUT = OutputCondition(
    PrinterReport(PrinterStatus.FAILURE, "SUPPLY EMPTY", "paper"), "stopped", "Load paper"
)


class ScriptedOutput:
    name = "paper"
    kind = OutputKind.PAPER

    def __init__(self, outcomes: list[Outcome], condition: OutputCondition = NORMAL) -> None:
        self.outcomes = outcomes
        self.condition_now = condition
        self.printed: list[tuple[str, int, str]] = []
        self.done = threading.Event()

    def condition(self) -> OutputCondition:
        return self.condition_now

    def print_request(
        self, request: PrintRequest, copies: int, external_id: str, progress: Progress
    ) -> Outcome:
        progress("PRINTING", "", "cups-7")
        self.printed.append((request.job_uid, copies, external_id))
        outcome = self.outcomes.pop(0)
        if not self.outcomes:
            self.done.set()
        return outcome

    def close(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def world(
    tmp_path: Path, output: ScriptedOutput, clock: Clock, **print_settings: object
) -> tuple[PrintRunner, PrintQueue, DatabasePrintBackend]:
    migrate(tmp_path)
    config = KilnConfig.model_validate(
        {
            "box": {"data_dir": str(tmp_path)},
            "print": {"retry_initial_seconds": 5, **print_settings},
        }
    )
    backend = DatabasePrintBackend(config, lambda: connect(tmp_path), clock)
    settings = config.print.model_copy(
        update={
            "outputs": {
                "paper": config.print.outputs["paper"].model_copy(update={"poll_seconds": 0.1})
            }
        }
    )
    runner = PrintRunner(lambda: connect(tmp_path), settings, {"paper": output}, tmp_path, clock)
    return runner, PrintQueue(connect(tmp_path), clock), backend


def run_until(runner: PrintRunner, done: threading.Event) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,))
    thread.start()
    try:
        assert done.wait(10)
    finally:
        stop.set()
        runner.wake.set()
        thread.join(10)
    assert not thread.is_alive()


def test_a_job_that_prints_is_done_and_the_printer_state_is_stored(tmp_path: Path) -> None:
    output = ScriptedOutput([Printed("CUPS job 7 completed", external_id="cups-7", scale=0.8)])
    runner, queue, backend = world(tmp_path, output, Clock())
    backend.enqueue(request("1.1"))
    run_until(runner, output.done)
    job = queue.get("1.1")
    assert (job.state, job.external_id, job.scale, job.copies) == (
        PrintJobState.DONE,
        "cups-7",
        0.8,
        2,
    )
    assert output.printed == [("1.1", 2, "")]
    assert backend.printer("KILN_PAPER") == NORMAL.report


def test_an_output_that_is_down_gets_the_job_again_later(tmp_path: Path) -> None:
    clock = Clock()
    output = ScriptedOutput([RetryLater("SUPPLY EMPTY", "Load paper in tray 1.")])
    runner, queue, backend = world(tmp_path, output, clock)
    backend.enqueue(request("1.2"))
    run_until(runner, output.done)
    job = queue.get("1.2")
    assert (job.state, job.status_info, job.message) == (
        PrintJobState.QUEUED,
        "SUPPLY EMPTY",
        "Load paper in tray 1.",
    )
    assert job.next_attempt == clock.now + 5
    assert queue.next_for("paper") is None
    clock.now += 6
    assert queue.next_for("paper") is not None


def test_a_refused_job_fails_with_the_sentence(tmp_path: Path) -> None:
    output = ScriptedOutput([Refused("The film printer does not take 24CMX30CM film.")])
    runner, queue, backend = world(tmp_path, output, Clock())
    backend.enqueue(request("1.3"))
    run_until(runner, output.done)
    job = queue.get("1.3")
    assert (job.state, job.message) == (
        PrintJobState.FAILED,
        "The film printer does not take 24CMX30CM film.",
    )
    assert backend.job("1.3").execution_status.value == "FAILURE"  # type: ignore[union-attr]


def test_no_job_goes_to_a_failed_printer(tmp_path: Path) -> None:
    output = ScriptedOutput([Printed("ok")], condition=PAPER_OUT)
    runner, queue, backend = world(tmp_path, output, Clock())
    backend.enqueue(request("1.4"))
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,))
    thread.start()
    try:
        assert not output.done.wait(0.5)
        assert backend.printer("KILN_PAPER").status_info == "SUPPLY EMPTY"
        output.condition_now = NORMAL
        assert output.done.wait(10)
    finally:
        stop.set()
        thread.join(10)
    assert queue.get("1.4").state is PrintJobState.DONE


def test_a_job_printing_at_a_crash_is_followed_with_its_cups_job(tmp_path: Path) -> None:
    output = ScriptedOutput([Printed("CUPS job 7 completed")])
    runner, queue, backend = world(tmp_path, output, Clock())
    backend.enqueue(request("1.5"))
    job_id = queue.get("1.5").id
    queue.change(job_id, PrintJobEvent.START)
    queue.note(job_id, status_info="PRINTING", message="", external_id="cups-7")
    run_until(runner, output.done)
    assert output.printed == [("1.5", 2, "cups-7")]
    assert queue.get(job_id).state is PrintJobState.DONE


@pytest.mark.parametrize("hours", [1.0])
def test_a_job_that_waits_too_long_fails(tmp_path: Path, hours: float) -> None:
    clock = Clock()
    output = ScriptedOutput([Printed("never")], condition=PAPER_OUT)
    runner, queue, backend = world(tmp_path, output, clock, give_up_hours=hours)
    backend.enqueue(request("1.6"))
    clock.now += hours * 3600 + 1
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,))
    thread.start()
    try:
        for _ in range(100):
            if queue.get("1.6").state is PrintJobState.FAILED:
                break
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(10)
    job = queue.get("1.6")
    assert job.state is PrintJobState.FAILED and "appliance print retry" in job.message
    assert output.printed == []


def test_a_printed_job_is_archived_as_a_pdf_at_film_size(tmp_path: Path) -> None:
    output = ScriptedOutput([Printed("CUPS job 7 completed")])
    clock = Clock()
    runner, queue, backend = world(tmp_path, output, clock, archive="pdf")
    backend.enqueue(request("1.7"))
    run_until(runner, output.done)
    job = queue.get("1.7")
    [archived] = (tmp_path / "print-archive").rglob("*.pdf")
    assert archived.name == f"{job.id:06d}-MR1.pdf"
    info = subprocess.run(["pdfinfo", str(archived)], capture_output=True, text=True, check=True)
    # 14INX17IN (the film box default), one page, exactly the film's size in points.
    assert "Pages:           1" in info.stdout
    assert "Page size:       1008 x 1224 pts" in info.stdout


def test_without_the_archive_nothing_is_kept(tmp_path: Path) -> None:
    output = ScriptedOutput([Printed("done")])
    runner, _queue, backend = world(tmp_path, output, Clock())
    backend.enqueue(request("1.8"))
    run_until(runner, output.done)
    assert not (tmp_path / "print-archive").exists()
