"""The paper output against a scripted CUPS queue: the timed re-enable of a stopped queue,
following a recorded CUPS job instead of printing twice, and the DICOM state reported."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from appliance.printing.backend import OutputKind, PrinterStatus
from appliance.printing.output import Printed, RetryLater
from appliance.printing.paper_output import PaperOutput
from appliance.printing.settings import OutputSettings
from drivers.cups_printer.driver import PaperOptions
from drivers.cups_printer.errors import JobMissing, NotPermitted
from drivers.cups_printer.protocol import (
    JobReport,
    JobState,
    PrinterReport,
    PrinterState,
    parse_reason,
)
from tests.unit.test_print_queue import request

IDLE = PrinterReport("paper", PrinterState.IDLE, (), True, "")
PAPER_OUT = PrinterReport(
    "paper",
    PrinterState.STOPPED,
    (parse_reason("media-empty-error"), parse_reason("paused")),
    True,
    "Out of paper",
)
PAUSED = PrinterReport("paper", PrinterState.STOPPED, (parse_reason("paused"),), True, "")


@dataclass
class ScriptedCups:
    queue: str = "paper"
    options: PaperOptions = field(default_factory=PaperOptions)
    state: PrinterReport = IDLE
    jobs: dict[int, list[JobState]] = field(default_factory=dict)
    submitted: list[tuple[Path, str, dict[str, str]]] = field(default_factory=list)
    resumes: int = 0
    resume_refused: bool = False

    def status(self) -> PrinterReport:
        return self.state

    def resume(self) -> None:
        if self.resume_refused:
            raise NotPermitted("resuming the queue", self.queue, "not authorized")
        self.resumes += 1
        self.state = IDLE

    def submit(self, path: Path, title: str, options: dict[str, str] | None = None) -> int:
        assert path.read_bytes().startswith(b"%PDF")
        self.submitted.append((path, title, dict(options or {})))
        job_id = 40 + len(self.submitted)
        self.jobs[job_id] = [JobState.PROCESSING, JobState.COMPLETED]
        return job_id

    def job(self, job_id: int) -> JobReport:
        states = self.jobs.get(job_id)
        if states is None:
            raise JobMissing(job_id, "cups")
        state = states.pop(0) if len(states) > 1 else states[0]
        return JobReport(job_id, state, (), "")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def output(tmp_path: Path, cups: ScriptedCups, clock: Clock) -> PaperOutput:
    settings = OutputSettings(
        ae_title="KILN_PAPER", kind=OutputKind.PAPER, retry_seconds=30, dpi=72, tray="Tray2"
    )
    (tmp_path / "print" / "1.1").mkdir(parents=True)
    return PaperOutput("paper", settings, cups, tmp_path, clock=clock)  # type: ignore[arg-type]


def noted() -> tuple[list[tuple[str, str, str]], Any]:
    notes: list[tuple[str, str, str]] = []
    return notes, lambda info, sentence, external: notes.append((info, sentence, external))


def test_a_film_is_composed_submitted_with_the_options_and_followed(tmp_path: Path) -> None:
    cups = ScriptedCups()
    paper = output(tmp_path, cups, Clock())
    notes, progress = noted()
    outcome = paper.print_request(request("1.1"), 2, "", progress)
    assert isinstance(outcome, Printed) and outcome.external_id == "41"
    [(path, title, options)] = cups.submitted
    assert path == tmp_path / "print" / "1.1" / "paper.pdf" and title == "MR1 CT"
    assert options == {"copies": "2", "media": "A4", "InputSlot": "Tray2", "print-scaling": "none"}
    assert notes == [("PRINTING", "", "41")]  # recorded before following: a restart follows it
    assert outcome.scale is not None and outcome.scale < 1  # 14INX17IN on A4
    assert outcome.warnings == (f"printed at {outcome.scale:.0%} of true size",)


def test_a_recorded_cups_job_is_followed_not_printed_again(tmp_path: Path) -> None:
    cups = ScriptedCups(jobs={17: [JobState.COMPLETED]})
    paper = output(tmp_path, cups, Clock())
    outcome = paper.print_request(request("1.1"), 1, "17", noted()[1])
    assert isinstance(outcome, Printed) and outcome.external_id == "17"
    assert cups.submitted == []


def test_a_cups_job_cups_forgot_is_printed_again(tmp_path: Path) -> None:
    cups = ScriptedCups()
    paper = output(tmp_path, cups, Clock())
    outcome = paper.print_request(request("1.1"), 1, "17", noted()[1])
    assert isinstance(outcome, Printed) and len(cups.submitted) == 1


def test_a_stopped_queue_is_failure_and_is_enabled_again_after_retry_seconds(
    tmp_path: Path,
) -> None:
    clock = Clock()
    cups = ScriptedCups(state=PAPER_OUT)
    paper = output(tmp_path, cups, clock)
    first = paper.condition()
    assert (first.report.status, first.report.status_info) == (
        PrinterStatus.FAILURE,
        "EMPTY A4 PAPR",
    )
    assert "load paper" in first.message and not first.can_print
    clock.now += 29
    assert paper.condition().report.status is PrinterStatus.FAILURE and cups.resumes == 0
    clock.now += 2
    again = paper.condition()
    assert cups.resumes == 1 and again.report.status is PrinterStatus.NORMAL


def test_a_paused_queue_is_left_alone(tmp_path: Path) -> None:
    clock = Clock()
    cups = ScriptedCups(state=PAUSED)
    paper = output(tmp_path, cups, clock)
    paper.condition()
    clock.now += 3600
    assert paper.condition().report.status is PrinterStatus.FAILURE and cups.resumes == 0


def test_a_queue_kiln_may_not_enable_says_what_to_do(tmp_path: Path) -> None:
    clock = Clock()
    cups = ScriptedCups(state=PAPER_OUT, resume_refused=True)
    paper = output(tmp_path, cups, clock)
    paper.condition()
    clock.now += 31
    paper.condition()
    message = paper.condition().message
    assert "cupsenable paper" in message and "lpadmin" in message


@pytest.mark.parametrize("ended", [JobState.STOPPED, JobState.HELD])
def test_a_job_the_printer_stopped_is_retried_later_keeping_its_cups_job(
    tmp_path: Path, ended: JobState
) -> None:
    cups = ScriptedCups(jobs={17: [ended]}, state=PAPER_OUT)
    paper = output(tmp_path, cups, Clock())
    outcome = paper.print_request(request("1.1"), 1, "17", noted()[1])
    assert isinstance(outcome, RetryLater) and outcome.status_info == "EMPTY A4 PAPR"
    assert cups.submitted == []
