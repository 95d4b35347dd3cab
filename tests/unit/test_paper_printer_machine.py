"""The paper printer table: one case per (state, event) cell, written out independently
here; and which event each driver answer stands for, from recorded CUPS attributes."""

from __future__ import annotations

import pytest

from drivers.cups_printer.errors import (
    CupsFailed,
    JobMissing,
    JobRefused,
    NotPermitted,
    PrinterError,
    PrinterUnreachable,
    QueueMissing,
)
from drivers.cups_printer.protocol import JobReport, JobState, parse_job, parse_printer
from statemachines.paper_printer import (
    ERROR_STATES,
    TABLE,
    PaperPrinterEvent,
    PaperPrinterMachine,
    PaperPrinterState,
    PaperPrinterTransitionRefused,
    Transition,
    event_for_error,
    event_for_job,
    event_for_status,
    next_state,
)

S, E = PaperPrinterState, PaperPrinterEvent

ALLOWED: dict[tuple[PaperPrinterState, PaperPrinterEvent], PaperPrinterState] = {
    # UNKNOWN: not looked at yet
    (S.UNKNOWN, E.STATUS_READY): S.IDLE,
    (S.UNKNOWN, E.STATUS_BUSY): S.PRINTING,
    (S.UNKNOWN, E.STATUS_STOPPED): S.STOPPED,
    (S.UNKNOWN, E.STATUS_OFFLINE): S.OFFLINE,
    (S.UNKNOWN, E.UNREACHABLE): S.UNREACHABLE,
    (S.UNKNOWN, E.JOB_SUBMITTED): S.PRINTING,
    (S.UNKNOWN, E.JOB_DONE): S.UNKNOWN,
    (S.UNKNOWN, E.JOB_FAILED): S.UNKNOWN,
    # IDLE
    (S.IDLE, E.STATUS_READY): S.IDLE,
    (S.IDLE, E.STATUS_BUSY): S.PRINTING,
    (S.IDLE, E.STATUS_STOPPED): S.STOPPED,
    (S.IDLE, E.STATUS_OFFLINE): S.OFFLINE,
    (S.IDLE, E.UNREACHABLE): S.UNREACHABLE,
    (S.IDLE, E.JOB_SUBMITTED): S.PRINTING,
    (S.IDLE, E.JOB_DONE): S.IDLE,
    (S.IDLE, E.JOB_FAILED): S.IDLE,
    # PRINTING
    (S.PRINTING, E.STATUS_BUSY): S.PRINTING,
    (S.PRINTING, E.STATUS_STOPPED): S.STOPPED,
    (S.PRINTING, E.STATUS_OFFLINE): S.OFFLINE,
    (S.PRINTING, E.UNREACHABLE): S.UNREACHABLE,
    (S.PRINTING, E.JOB_SUBMITTED): S.PRINTING,
    (S.PRINTING, E.JOB_DONE): S.IDLE,
    (S.PRINTING, E.JOB_FAILED): S.IDLE,
    # STOPPED
    (S.STOPPED, E.STATUS_READY): S.IDLE,
    (S.STOPPED, E.STATUS_BUSY): S.PRINTING,
    (S.STOPPED, E.STATUS_STOPPED): S.STOPPED,
    (S.STOPPED, E.STATUS_OFFLINE): S.OFFLINE,
    (S.STOPPED, E.UNREACHABLE): S.UNREACHABLE,
    (S.STOPPED, E.JOB_DONE): S.STOPPED,
    (S.STOPPED, E.JOB_FAILED): S.STOPPED,
    (S.STOPPED, E.RETRY_TIMEOUT): S.UNKNOWN,
    # OFFLINE
    (S.OFFLINE, E.STATUS_READY): S.IDLE,
    (S.OFFLINE, E.STATUS_BUSY): S.PRINTING,
    (S.OFFLINE, E.STATUS_STOPPED): S.STOPPED,
    (S.OFFLINE, E.STATUS_OFFLINE): S.OFFLINE,
    (S.OFFLINE, E.UNREACHABLE): S.UNREACHABLE,
    (S.OFFLINE, E.JOB_DONE): S.OFFLINE,
    (S.OFFLINE, E.JOB_FAILED): S.OFFLINE,
    (S.OFFLINE, E.RETRY_TIMEOUT): S.UNKNOWN,
    # UNREACHABLE
    (S.UNREACHABLE, E.STATUS_READY): S.IDLE,
    (S.UNREACHABLE, E.STATUS_BUSY): S.PRINTING,
    (S.UNREACHABLE, E.STATUS_STOPPED): S.STOPPED,
    (S.UNREACHABLE, E.STATUS_OFFLINE): S.OFFLINE,
    (S.UNREACHABLE, E.UNREACHABLE): S.UNREACHABLE,
    (S.UNREACHABLE, E.JOB_DONE): S.UNREACHABLE,
    (S.UNREACHABLE, E.JOB_FAILED): S.UNREACHABLE,
    (S.UNREACHABLE, E.RETRY_TIMEOUT): S.UNKNOWN,
}

CELLS = [(s, e) for s in PaperPrinterState for e in PaperPrinterEvent]


def test_the_table_allows_exactly_the_expected_cells() -> None:
    assert TABLE == ALLOWED


@pytest.mark.parametrize(("state", "event"), CELLS, ids=[f"{s.name}-{e.name}" for s, e in CELLS])
def test_cell(state: PaperPrinterState, event: PaperPrinterEvent) -> None:
    expected = ALLOWED.get((state, event))
    if expected is not None:
        assert next_state(state, event) is expected
        return
    with pytest.raises(PaperPrinterTransitionRefused) as refused:
        next_state(state, event)
    assert refused.value.state is state
    assert refused.value.event is event
    assert state.value in str(refused.value)


@pytest.mark.parametrize("state", [s for s in PaperPrinterState if s in ERROR_STATES])
def test_every_error_state_has_a_timed_way_back(state: PaperPrinterState) -> None:
    looking = next_state(state, E.RETRY_TIMEOUT)
    assert looking is S.UNKNOWN
    assert next_state(looking, E.STATUS_READY) is S.IDLE


def test_error_states_take_no_new_job() -> None:
    for state in ERROR_STATES:
        with pytest.raises(PaperPrinterTransitionRefused):
            next_state(state, E.JOB_SUBMITTED)


# --- which event an answer stands for (attributes as pycups returned them) ----------------


def _printer(state: int, reasons: list[str] | str, accepting: bool = True) -> dict[str, object]:
    return {
        "printer-state": state,
        "printer-state-reasons": reasons,
        "printer-state-message": "",
        "printer-is-accepting-jobs": accepting,
    }


PENDING_STOPPED = parse_job(7, {"job-state": 3, "job-state-reasons": "printer-stopped"})
HELD_RETRY = parse_job(7, {"job-state": 4, "job-state-reasons": "resources-are-not-ready"})
PRINTING = parse_job(7, {"job-state": 5, "job-state-reasons": "job-printing"})
COMPLETED = parse_job(7, {"job-state": 9, "job-state-reasons": "processing-to-stop-point"})


@pytest.mark.parametrize(
    ("attributes", "job", "event"),
    [
        (_printer(3, ["none"]), None, E.STATUS_READY),
        (_printer(3, ["toner-low-warning"]), None, E.STATUS_READY),  # a warning prints
        (_printer(4, ["toner-low-warning"]), PRINTING, E.STATUS_BUSY),
        (_printer(4, ["none"]), COMPLETED, E.STATUS_READY),  # ours has ended
        (_printer(5, ["media-empty-error", "paused"]), PENDING_STOPPED, E.STATUS_STOPPED),
        (_printer(5, ["paused"]), None, E.STATUS_STOPPED),  # cupsdisable
        (_printer(3, ["none"], accepting=False), None, E.STATUS_STOPPED),  # cupsreject
        (_printer(4, ["media-jam-error"]), PRINTING, E.STATUS_STOPPED),  # held in the jam
        (_printer(4, ["offline-report"]), PRINTING, E.STATUS_OFFLINE),
        (_printer(3, "none"), HELD_RETRY, E.STATUS_OFFLINE),  # backend: retry later
    ],
    ids=[
        "idle",
        "idle-toner-low",
        "printing-toner-low",
        "job-ended",
        "paper-out",
        "disabled",
        "rejecting",
        "jam",
        "offline-report",
        "backend-retry",
    ],
)
def test_event_for_status(
    attributes: dict[str, object], job: JobReport | None, event: PaperPrinterEvent
) -> None:
    assert event_for_status(parse_printer("paper", attributes), job) is event


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (JobState.PENDING, None),
        (JobState.HELD, None),
        (JobState.PROCESSING, None),
        (JobState.STOPPED, None),
        (JobState.CANCELED, E.JOB_FAILED),
        (JobState.ABORTED, E.JOB_FAILED),
        (JobState.COMPLETED, E.JOB_DONE),
    ],
)
def test_event_for_job(state: JobState, event: PaperPrinterEvent | None) -> None:
    assert event_for_job(JobReport(1, state, (), "")) is event


@pytest.mark.parametrize(
    ("error", "event"),
    [
        (PrinterUnreachable("127.0.0.1:631", "failed to connect"), E.UNREACHABLE),
        (QueueMissing("paper", "127.0.0.1:631"), E.UNREACHABLE),
        (JobRefused("paper", "not accepting jobs"), E.JOB_FAILED),
        (JobMissing(3, "127.0.0.1:631"), E.JOB_FAILED),
        (NotPermitted("resuming the queue", "paper", "Forbidden"), E.STATUS_STOPPED),
        (CupsFailed("Get-Printer-Attributes", 0x0500, "internal error"), E.STATUS_STOPPED),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else None,
)
def test_event_for_error(error: PrinterError, event: PaperPrinterEvent) -> None:
    assert event_for_error(error) is event


# --- the machine ---------------------------------------------------------------------------


def test_paper_out_mid_job_and_back_is_published_step_by_step() -> None:
    machine = PaperPrinterMachine("paper")
    seen: list[Transition] = []
    machine.subscribe(seen.append)
    for event in (
        E.STATUS_READY,
        E.JOB_SUBMITTED,
        E.STATUS_STOPPED,
        E.RETRY_TIMEOUT,
        E.STATUS_BUSY,
        E.JOB_DONE,
    ):
        machine.fire(event)
    assert [t.after for t in seen] == [S.IDLE, S.PRINTING, S.STOPPED, S.UNKNOWN, S.PRINTING, S.IDLE]
    assert seen[2] == Transition(S.PRINTING, E.STATUS_STOPPED, S.STOPPED)


def test_observe_publishes_only_changes() -> None:
    machine = PaperPrinterMachine("paper", S.IDLE)
    seen: list[Transition] = []
    machine.subscribe(seen.append)
    assert machine.observe(E.STATUS_READY) is S.IDLE
    assert seen == []
    assert machine.observe(E.STATUS_STOPPED) is S.STOPPED
    assert machine.observe(E.STATUS_STOPPED) is S.STOPPED
    assert [t.after for t in seen] == [S.STOPPED]


def test_observe_still_refuses_what_the_table_refuses() -> None:
    machine = PaperPrinterMachine("paper", S.STOPPED)
    with pytest.raises(PaperPrinterTransitionRefused):
        machine.observe(E.JOB_SUBMITTED)
    assert machine.state is S.STOPPED


def test_a_failing_listener_does_not_stop_the_machine() -> None:
    machine = PaperPrinterMachine("paper")
    seen: list[PaperPrinterState] = []

    def broken(transition: Transition) -> None:
        raise RuntimeError("status page down")

    machine.subscribe(broken)
    machine.subscribe(lambda t: seen.append(t.after))
    assert machine.fire(E.STATUS_READY) is S.IDLE
    assert seen == [S.IDLE]
