"""What the print runner needs from an output (paper through CUPS, or a film printer).

Each output owns its device driver and state machine; the runner only asks for the
state (to report it to modalities and the status page) and hands it jobs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from appliance.printing.backend import OutputKind, PrinterReport
from appliance.printing.film import PrintRequest


@dataclass(frozen=True)
class OutputCondition:
    report: PrinterReport  # what Printer N-GET answers
    state: str  # the device state machine's state, for the status page
    message: str  # the operator's sentence ("" when all is well)

    @property
    def can_print(self) -> bool:
        return self.report.status.value != "FAILURE"


@dataclass(frozen=True)
class Printed:
    detail: str  # e.g. "CUPS job 12 completed" or "2 films printed on Sim film printer"
    external_id: str = ""
    scale: float | None = None  # paper: the smallest scale a film was printed at
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class RetryLater:
    status_info: str  # Execution Status Info, e.g. SUPPLY EMPTY
    sentence: str  # for the operator: what happened and what to do


@dataclass(frozen=True)
class Refused:
    sentence: str  # the output will never print this job


Outcome = Printed | RetryLater | Refused
# Progress: (status_info, sentence, external id) while a job prints, e.g. the CUPS job id
# as soon as CUPS accepted the document, so a restart follows it instead of printing twice.
Progress = Callable[[str, str, str], None]


class PrintOutput(Protocol):
    name: str
    kind: OutputKind

    def condition(self) -> OutputCondition: ...

    def print_request(
        self, request: PrintRequest, copies: int, external_id: str, progress: Progress
    ) -> Outcome:
        """Print every film `copies` times; `external_id` is set when resuming a job."""
        ...

    def close(self) -> None: ...
