"""What the Print SCP needs from the rest of the box, as one injected interface.

The SCP (appliance/printing/scp/) speaks DIMSE; the queue, the outputs' routing and the
outputs' live state live elsewhere (appliance/printing/queue.py, the devices role). The
SCP sees them only through `PrintBackend`, so it can be tested with a small fake and the
real one reads the database shared with the devices role.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from appliance.printing.film import PrintRequest


class OutputKind(StrEnum):
    PAPER = "paper"  # composed here and printed through CUPS
    FILM = "film"  # relayed to a DICOM film printer


class PrinterStatus(StrEnum):
    """Printer Status (2110,0010), PS3.3 C.13.9."""

    NORMAL = "NORMAL"
    WARNING = "WARNING"
    FAILURE = "FAILURE"


class ExecutionStatus(StrEnum):
    """Execution Status (2100,0020) of a Print Job, PS3.3 C.13.8."""

    PENDING = "PENDING"
    PRINTING = "PRINTING"
    DONE = "DONE"
    FAILURE = "FAILURE"


@dataclass(frozen=True)
class OutputRoute:
    """The output a called AE title prints to, and what it accepts."""

    name: str
    kind: OutputKind
    # The film sizes and media types this output takes (PS3.3 defined terms); the SCP
    # refuses others with 0x0106 naming the attribute.
    film_sizes: tuple[str, ...]
    medium_types: tuple[str, ...]
    # The density range of the output (hundredths of OD); Min/Max Density outside it is
    # answered with warning B605 and clamped.
    min_density: int = 20
    max_density: int = 300
    color: bool = True  # whether Basic Color Print Management is accepted
    max_films_queued: int = 100  # more waiting jobs than this: C601/C602 "queue full"


@dataclass(frozen=True)
class PrinterReport:
    """What a Printer N-GET answers for the output behind a called AE title."""

    status: PrinterStatus
    status_info: str  # Printer Status Info (2110,0020) defined term, e.g. NORMAL, PAPER OUT
    printer_name: str
    manufacturer: str = "Kiln"
    model_name: str = ""
    serial_number: str = ""
    software_versions: str = ""


@dataclass(frozen=True)
class PrintJobReport:
    """What a Print Job N-GET answers."""

    execution_status: ExecutionStatus
    execution_status_info: str  # e.g. NORMAL, PAPER OUT, QUEUED
    print_priority: str
    creation_date: str  # YYYYMMDD
    creation_time: str  # HHMMSS
    printer_name: str
    originator: str  # the calling AE title


class QueueFull(Exception):
    """The output's queue holds max_films_queued jobs already."""


class PrintBackend(Protocol):
    def route(self, called_ae: str) -> OutputRoute | None:
        """The output for a called AE title, or None when the title prints nowhere."""
        ...

    def enqueue(self, request: PrintRequest) -> None:
        """Store the request durably and queue it; raises QueueFull or OSError."""
        ...

    def printer(self, called_ae: str) -> PrinterReport:
        """The live state of the output behind the called AE title."""
        ...

    def job(self, job_uid: str) -> PrintJobReport | None:
        """A print job's state, or None when the box has no such job."""
        ...
