"""CUPS (IPP) attributes in, typed reports out: pure functions, no I/O.

The transport hands over the attribute dicts pycups returns (a one-valued attribute may
come as a scalar rather than a list; both are read). From them:

- `JobState` and `PrinterState`: the IPP enum values (RFC 8011 5.3.7, 5.4.11);
- `parse_reason`: a printer-state-reasons keyword to a `StateReason`: what it is
  (`Reason`, the suffix stripped) and how bad (`Severity`, from the -error / -warning /
  -report suffix; a keyword without one is an error, as RFC 8011 5.4.12 says, except
  CUPS's own bookkeeping keywords);
- `parse_job` and `parse_printer`: `JobReport` and `PrinterReport`;
- `dicom_status`: the Printer Status (2110,0010) and Printer Status Info (2110,0020)
  a DICOM Print SCP reports for this printer, using the defined terms of PS3.3
  C.13.9.1. The terms are a film printer's words: "SUPPLY" is what the printer prints on
  or with, so paper and toner both map to SUPPLY EMPTY / SUPPLY LOW, unless the paper
  size is known and the standard has a paper term for it (EMPTY A4 PAPR, LOW A4 PAPR...).
  These are plain strings; this package knows nothing else of DICOM.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Final

# --- states ----------------------------------------------------------------------------


class JobState(IntEnum):
    """job-state (RFC 8011 5.3.7)."""

    PENDING = 3
    HELD = 4
    PROCESSING = 5
    STOPPED = 6
    CANCELED = 7
    ABORTED = 8
    COMPLETED = 9

    @property
    def finished(self) -> bool:
        return self >= JobState.CANCELED


class PrinterState(IntEnum):
    """printer-state (RFC 8011 5.4.11)."""

    IDLE = 3
    PROCESSING = 4
    STOPPED = 5


# --- printer-state-reasons -------------------------------------------------------------


class Severity(IntEnum):
    """The suffix of a printer-state-reasons keyword, ordered by weight."""

    REPORT = 1
    WARNING = 2
    ERROR = 3


class Reason(Enum):
    """What a printer-state-reasons keyword says, its severity suffix stripped."""

    MEDIA_EMPTY = "media-empty"
    MEDIA_LOW = "media-low"
    MEDIA_NEEDED = "media-needed"
    MEDIA_JAM = "media-jam"
    TONER_EMPTY = "toner-empty"
    TONER_LOW = "toner-low"
    MARKER_SUPPLY_EMPTY = "marker-supply-empty"
    MARKER_SUPPLY_LOW = "marker-supply-low"
    COVER_OPEN = "cover-open"
    DOOR_OPEN = "door-open"
    INTERLOCK_OPEN = "interlock-open"
    INPUT_TRAY_MISSING = "input-tray-missing"
    OUTPUT_AREA_FULL = "output-area-full"
    OFFLINE = "offline"
    SHUTDOWN = "shutdown"
    PAUSED = "paused"  # the queue was stopped (cupsdisable, or a backend's STOP)
    SPOOL_AREA_FULL = "spool-area-full"
    OTHER = "other"  # any keyword not above; `StateReason.keyword` keeps it


_SUFFIXES: Final = {
    "-error": Severity.ERROR,
    "-warning": Severity.WARNING,
    "-report": Severity.REPORT,
}
# Reasons that stop printing whatever their suffix says: backends report a printer that
# is off or unplugged as "offline-report".
_ALWAYS_ERRORS: Final = frozenset({Reason.OFFLINE, Reason.SHUTDOWN, Reason.PAUSED})
# CUPS's own unsuffixed keywords that describe work in progress, not a fault.
_INFORMATIONAL: Final = frozenset({"connecting-to-device", "moving-to-paused", "none"})
_BY_VALUE: Final = {reason.value: reason for reason in Reason if reason is not Reason.OTHER}


@dataclass(frozen=True)
class StateReason:
    reason: Reason
    severity: Severity
    keyword: str  # as CUPS sent it, e.g. "media-empty-error"

    @property
    def blocking(self) -> bool:
        """Whether nothing prints while this reason lasts."""
        return self.severity is Severity.ERROR


def parse_reason(keyword: str) -> StateReason:
    """One printer-state-reasons keyword."""
    text = keyword.strip().lower()
    severity: Severity | None = None
    stem = text
    for suffix, weight in _SUFFIXES.items():
        if text.endswith(suffix):
            severity, stem = weight, text[: -len(suffix)]
            break
    reason = _BY_VALUE.get(stem, Reason.OTHER)
    if reason in _ALWAYS_ERRORS:
        severity = Severity.ERROR
    elif severity is None:
        informational = text in _INFORMATIONAL or text.startswith("cups-")
        severity = Severity.REPORT if informational else Severity.ERROR
    return StateReason(reason, severity, keyword)


def parse_reasons(value: object) -> tuple[StateReason, ...]:
    """printer-state-reasons as pycups gives it (a list, or one string); "none" drops."""
    return tuple(parse_reason(k) for k in _strings(value) if k.strip().lower() != "none")


# --- reports ---------------------------------------------------------------------------


@dataclass(frozen=True)
class JobReport:
    job_id: int
    state: JobState
    reasons: tuple[str, ...]  # job-state-reasons keywords, e.g. "printer-stopped"
    message: str  # job-printer-state-message: the backend's last INFO line

    @property
    def finished(self) -> bool:
        return self.state.finished

    @property
    def waiting_for_printer(self) -> bool:
        """Held back by the printer: the queue is stopped, or the backend asked to retry
        later because the printer did not answer."""
        return not self.finished and (
            "printer-stopped" in self.reasons or "resources-are-not-ready" in self.reasons
        )


@dataclass(frozen=True)
class PrinterReport:
    queue: str
    state: PrinterState
    reasons: tuple[StateReason, ...]
    accepting: bool
    message: str  # printer-state-message
    marker_levels: tuple[int, ...] = ()  # toner/ink percent, when the printer says

    @property
    def worst(self) -> Severity | None:
        return max((r.severity for r in self.reasons), default=None)

    @property
    def blocking(self) -> tuple[StateReason, ...]:
        return tuple(r for r in self.reasons if r.blocking)

    @property
    def warnings(self) -> tuple[StateReason, ...]:
        return tuple(r for r in self.reasons if r.severity is Severity.WARNING)

    @property
    def ready(self) -> bool:
        """Jobs sent now will print: accepting, not stopped, no error reason."""
        return self.accepting and self.state is not PrinterState.STOPPED and not self.blocking


JOB_ATTRIBUTES: Final = (
    "job-id",
    "job-state",
    "job-state-reasons",
    "job-printer-state-message",
)
PRINTER_ATTRIBUTES: Final = (
    "printer-name",
    "printer-state",
    "printer-state-reasons",
    "printer-state-message",
    "printer-is-accepting-jobs",
    "marker-levels",
)


class MalformedAttributes(ValueError):
    """CUPS answered without an attribute this package needs, or with a bad value."""


def parse_job(job_id: int, attributes: Mapping[str, object]) -> JobReport:
    raw = attributes.get("job-state")
    try:
        state = JobState(_integer(raw))
    except ValueError:
        raise MalformedAttributes(f"job {job_id}: job-state {raw!r} is not a job state") from None
    reasons = tuple(k for k in _strings(attributes.get("job-state-reasons")) if k != "none")
    message = _text(attributes.get("job-printer-state-message"))
    return JobReport(job_id, state, reasons, message)


def parse_printer(queue: str, attributes: Mapping[str, object]) -> PrinterReport:
    raw = attributes.get("printer-state")
    try:
        state = PrinterState(_integer(raw))
    except ValueError:
        raise MalformedAttributes(
            f"printer {queue}: printer-state {raw!r} is not a printer state"
        ) from None
    levels = tuple(
        int(v) for v in _list(attributes.get("marker-levels")) if isinstance(v, int) and v >= 0
    )
    return PrinterReport(
        queue=queue,
        state=state,
        reasons=parse_reasons(attributes.get("printer-state-reasons")),
        accepting=attributes.get("printer-is-accepting-jobs") is not False,
        message=_text(attributes.get("printer-state-message")),
        marker_levels=levels,
    )


# --- DICOM Printer Status --------------------------------------------------------------

NORMAL, WARNING, FAILURE = "NORMAL", "WARNING", "FAILURE"  # Printer Status (2110,0010)


@dataclass(frozen=True)
class DicomPrinterStatus:
    status: str  # NORMAL, WARNING or FAILURE
    info: str  # a Printer Status Info defined term (PS3.3 C.13.9.1)


# Reason -> Printer Status Info. "{paper}" becomes the paper term of the loaded size
# (A4 PAPR ...) when the standard has one; otherwise the general SUPPLY term is used.
_INFO: Final[dict[Reason, tuple[str, str]]] = {
    # reason: (term with a known paper size, term otherwise)
    Reason.MEDIA_EMPTY: ("EMPTY {paper}", "SUPPLY EMPTY"),
    Reason.MEDIA_NEEDED: ("REQ MED NOT INST", "REQ MED NOT INST"),
    Reason.MEDIA_LOW: ("LOW {paper}", "SUPPLY LOW"),
    Reason.MEDIA_JAM: ("FILM JAM", "FILM JAM"),
    Reason.TONER_EMPTY: ("SUPPLY EMPTY", "SUPPLY EMPTY"),
    Reason.MARKER_SUPPLY_EMPTY: ("SUPPLY EMPTY", "SUPPLY EMPTY"),
    Reason.TONER_LOW: ("SUPPLY LOW", "SUPPLY LOW"),
    Reason.MARKER_SUPPLY_LOW: ("SUPPLY LOW", "SUPPLY LOW"),
    Reason.COVER_OPEN: ("COVER OPEN", "COVER OPEN"),
    Reason.DOOR_OPEN: ("COVER OPEN", "COVER OPEN"),
    Reason.INTERLOCK_OPEN: ("COVER OPEN", "COVER OPEN"),
    Reason.INPUT_TRAY_MISSING: ("NO SUPPLY MGZ", "NO SUPPLY MGZ"),
    Reason.OUTPUT_AREA_FULL: ("RECEIVER FULL", "RECEIVER FULL"),
    Reason.OFFLINE: ("PRINTER DOWN", "PRINTER DOWN"),
    Reason.SHUTDOWN: ("PRINTER DOWN", "PRINTER DOWN"),
    Reason.PAUSED: ("PRINTER OFFLINE", "PRINTER OFFLINE"),  # disabled by a person
    Reason.SPOOL_AREA_FULL: ("PRINT BUFF FULL", "PRINT BUFF FULL"),
    Reason.OTHER: ("CHECK PRINTER", "CHECK PRINTER"),
}
# The order in which reasons are named when there are several of the same weight: the
# one an operator must see first.
_PRIORITY: Final = (
    Reason.OFFLINE,
    Reason.SHUTDOWN,
    Reason.MEDIA_JAM,
    Reason.COVER_OPEN,
    Reason.DOOR_OPEN,
    Reason.INTERLOCK_OPEN,
    Reason.MEDIA_EMPTY,
    Reason.MEDIA_NEEDED,
    Reason.INPUT_TRAY_MISSING,
    Reason.TONER_EMPTY,
    Reason.MARKER_SUPPLY_EMPTY,
    Reason.OUTPUT_AREA_FULL,
    Reason.SPOOL_AREA_FULL,
    Reason.OTHER,
    Reason.PAUSED,  # last: a backend's STOP adds "paused" next to the real reason
    Reason.MEDIA_LOW,
    Reason.TONER_LOW,
    Reason.MARKER_SUPPLY_LOW,
)
# Paper sizes (CUPS/PWG media names and DICOM Film Size IDs) with a paper term in
# C.13.9.1; US Letter and the others have none.
_PAPER_TERMS: Final = {
    "a4": "A4 PAPR",
    "iso_a4_210x297mm": "A4 PAPR",
    "8inx10in": "8X10 PAPR",
    "na_govt-letter_8x10in": "8X10 PAPR",
    "10inx12in": "10X12 PAPR",
    "10inx14in": "10X14 PAPR",
    "11inx14in": "11X14 PAPR",
    "14inx14in": "14X14 PAPR",
    "14inx17in": "14X17 PAPR",
    "24cmx24cm": "24X24 PAPR",
    "24cmx30cm": "24X30 PAPR",
}
UNREACHABLE_STATUS: Final = DicomPrinterStatus(FAILURE, "PRINTER DOWN")
NORMAL_STATUS: Final = DicomPrinterStatus(NORMAL, "NORMAL")


def paper_term(media: str | None) -> str | None:
    """The C.13.9.1 paper word for a media name ("A4" -> "A4 PAPR"), or None."""
    return _PAPER_TERMS.get(media.strip().lower()) if media else None


def info_term(reason: Reason, media: str | None = None) -> str:
    with_paper, otherwise = _INFO[reason]
    paper = paper_term(media)
    return with_paper.format(paper=paper) if paper else otherwise


def dicom_status(report: PrinterReport, media: str | None = None) -> DicomPrinterStatus:
    """The Printer Status / Printer Status Info pair for this printer. `media` is the
    paper the queue prints on (e.g. "A4"), for the size-specific paper terms.

    Any error reason (or a stopped or rejecting queue) is FAILURE, any warning reason
    WARNING, and the info term names the reason an operator must see first."""
    errors = [r.reason for r in report.reasons if r.severity is Severity.ERROR]
    warnings = [r.reason for r in report.reasons if r.severity is Severity.WARNING]
    if errors:
        return DicomPrinterStatus(FAILURE, info_term(_first(errors), media))
    if report.state is PrinterState.STOPPED or not report.accepting:
        return DicomPrinterStatus(FAILURE, "PRINTER OFFLINE")
    if warnings:
        return DicomPrinterStatus(WARNING, info_term(_first(warnings), media))
    return NORMAL_STATUS


def _first(reasons: Sequence[Reason]) -> Reason:
    return min(reasons, key=_PRIORITY.index)


# --- attribute values ------------------------------------------------------------------


def _list(value: object) -> list[object]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _strings(value: object) -> list[str]:
    return [v for v in _list(value) if isinstance(v, str)]


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _integer(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError(value)
