"""CUPS attributes to typed reports and to the DICOM Printer Status pair, from attribute
dicts recorded from cupsd 2.4 through pycups (a one-valued attribute comes as a scalar)."""

from __future__ import annotations

import pytest

from drivers.cups_printer.protocol import (
    FAILURE,
    NORMAL,
    WARNING,
    DicomPrinterStatus,
    JobState,
    MalformedAttributes,
    PrinterState,
    Reason,
    Severity,
    StateReason,
    dicom_status,
    info_term,
    paper_term,
    parse_job,
    parse_printer,
    parse_reason,
    parse_reasons,
)

# Recorded: the private cupsd, kilnsim backend reporting paper out (CUPS_BACKEND_STOP).
PAPER_OUT_PRINTER = {
    "printer-is-accepting-jobs": True,
    "printer-state": 5,
    "printer-state-message": "",
    "printer-state-reasons": ["media-empty-error", "paused"],
    "marker-levels": [80],
}
PAPER_OUT_JOB = {
    "attributes-charset": "utf-8",
    "attributes-natural-language": "en",
    "job-state": 3,
    "job-state-reasons": "printer-stopped",
    "job-printer-state-message": "",
}
# Recorded: the backend exited CUPS_BACKEND_RETRY (printer offline).
RETRY_JOB = {
    "job-state": 4,
    "job-state-reasons": "resources-are-not-ready",
    "job-printer-state-message": "The printer is not answering",
}
IDLE_PRINTER = {
    "printer-is-accepting-jobs": True,
    "printer-state": 3,
    "printer-state-message": "",
    "printer-state-reasons": ["none"],
    "marker-levels": [80],
}


@pytest.mark.parametrize(
    ("keyword", "reason", "severity"),
    [
        ("media-empty-error", Reason.MEDIA_EMPTY, Severity.ERROR),
        ("media-empty-warning", Reason.MEDIA_EMPTY, Severity.WARNING),  # another tray feeds
        ("media-empty", Reason.MEDIA_EMPTY, Severity.ERROR),  # no suffix: an error (RFC 8011)
        ("media-jam-error", Reason.MEDIA_JAM, Severity.ERROR),
        ("toner-low-warning", Reason.TONER_LOW, Severity.WARNING),
        ("toner-low-report", Reason.TONER_LOW, Severity.REPORT),
        ("toner-empty-error", Reason.TONER_EMPTY, Severity.ERROR),
        ("marker-supply-low-warning", Reason.MARKER_SUPPLY_LOW, Severity.WARNING),
        ("cover-open-error", Reason.COVER_OPEN, Severity.ERROR),
        ("door-open-report", Reason.DOOR_OPEN, Severity.REPORT),
        ("offline-report", Reason.OFFLINE, Severity.ERROR),  # off is off, whatever the suffix
        ("shutdown", Reason.SHUTDOWN, Severity.ERROR),
        ("paused", Reason.PAUSED, Severity.ERROR),
        ("connecting-to-device", Reason.OTHER, Severity.REPORT),
        ("cups-waiting-for-job-completed", Reason.OTHER, Severity.REPORT),
        ("cups-missing-filter-warning", Reason.OTHER, Severity.WARNING),
        ("fuser-over-temp-error", Reason.OTHER, Severity.ERROR),
        ("com.example.vendor-thing", Reason.OTHER, Severity.ERROR),
        ("MEDIA-EMPTY-ERROR", Reason.MEDIA_EMPTY, Severity.ERROR),
    ],
)
def test_parse_reason(keyword: str, reason: Reason, severity: Severity) -> None:
    parsed = parse_reason(keyword)
    assert (parsed.reason, parsed.severity, parsed.keyword) == (reason, severity, keyword)
    assert parsed.blocking is (severity is Severity.ERROR)


def test_parse_reasons_drops_none_and_takes_a_scalar() -> None:
    assert parse_reasons(["none"]) == ()
    assert parse_reasons("none") == ()
    assert parse_reasons(None) == ()
    assert parse_reasons("toner-low-warning") == (
        StateReason(Reason.TONER_LOW, Severity.WARNING, "toner-low-warning"),
    )


def test_parse_printer_paper_out() -> None:
    report = parse_printer("paper", PAPER_OUT_PRINTER)
    assert report.state is PrinterState.STOPPED
    assert [r.reason for r in report.reasons] == [Reason.MEDIA_EMPTY, Reason.PAUSED]
    assert report.accepting
    assert not report.ready
    assert report.worst is Severity.ERROR
    assert report.marker_levels == (80,)


def test_parse_printer_idle() -> None:
    report = parse_printer("paper", IDLE_PRINTER)
    assert report.state is PrinterState.IDLE
    assert report.reasons == ()
    assert report.ready
    assert report.worst is None


def test_parse_printer_without_a_state_is_malformed() -> None:
    with pytest.raises(MalformedAttributes, match="printer-state"):
        parse_printer("paper", {"printer-state-reasons": ["none"]})
    with pytest.raises(MalformedAttributes):
        parse_printer("paper", {**IDLE_PRINTER, "printer-state": 7})


def test_parse_job_stopped_queue() -> None:
    job = parse_job(3, PAPER_OUT_JOB)
    assert job.state is JobState.PENDING
    assert job.reasons == ("printer-stopped",)
    assert not job.finished
    assert job.waiting_for_printer


def test_parse_job_backend_retry() -> None:
    job = parse_job(4, RETRY_JOB)
    assert job.state is JobState.HELD
    assert job.waiting_for_printer
    assert job.message == "The printer is not answering"


@pytest.mark.parametrize("state", list(JobState))
def test_job_states_and_finished(state: JobState) -> None:
    job = parse_job(1, {"job-state": int(state), "job-state-reasons": ["none"]})
    assert job.state is state
    assert job.reasons == ()
    assert job.finished is (state in (JobState.CANCELED, JobState.ABORTED, JobState.COMPLETED))


def test_parse_job_with_a_bad_state_is_malformed() -> None:
    with pytest.raises(MalformedAttributes, match="job 1"):
        parse_job(1, {"job-state": "done"})


def _report(state: int, reasons: list[str], accepting: bool = True) -> dict[str, object]:
    return {
        "printer-state": state,
        "printer-state-reasons": reasons,
        "printer-is-accepting-jobs": accepting,
    }


@pytest.mark.parametrize(
    ("attributes", "media", "expected"),
    [
        (IDLE_PRINTER, "A4", (NORMAL, "NORMAL")),
        (PAPER_OUT_PRINTER, "A4", (FAILURE, "EMPTY A4 PAPR")),
        (PAPER_OUT_PRINTER, "iso_a4_210x297mm", (FAILURE, "EMPTY A4 PAPR")),
        (PAPER_OUT_PRINTER, "Letter", (FAILURE, "SUPPLY EMPTY")),
        (PAPER_OUT_PRINTER, None, (FAILURE, "SUPPLY EMPTY")),
        (_report(3, ["media-low-warning"]), "A4", (WARNING, "LOW A4 PAPR")),
        (_report(3, ["media-low-warning"]), "Letter", (WARNING, "SUPPLY LOW")),
        (_report(4, ["toner-low-warning"]), "A4", (WARNING, "SUPPLY LOW")),
        (_report(5, ["toner-empty-error", "paused"]), "A4", (FAILURE, "SUPPLY EMPTY")),
        (_report(4, ["media-jam-error"]), "A4", (FAILURE, "FILM JAM")),
        (_report(4, ["cover-open-error"]), "A4", (FAILURE, "COVER OPEN")),
        (_report(4, ["door-open-error"]), "A4", (FAILURE, "COVER OPEN")),
        (_report(4, ["offline-report"]), "A4", (FAILURE, "PRINTER DOWN")),
        (_report(5, ["paused"]), "A4", (FAILURE, "PRINTER OFFLINE")),
        (_report(3, ["none"], accepting=False), "A4", (FAILURE, "PRINTER OFFLINE")),
        (_report(5, ["none"]), "A4", (FAILURE, "PRINTER OFFLINE")),
        (_report(3, ["input-tray-missing-error"]), "A4", (FAILURE, "NO SUPPLY MGZ")),
        (_report(3, ["output-area-full-error"]), "A4", (FAILURE, "RECEIVER FULL")),
        (_report(3, ["media-needed-error"]), "A4", (FAILURE, "REQ MED NOT INST")),
        (_report(3, ["fuser-over-temp-error"]), "A4", (FAILURE, "CHECK PRINTER")),
        (_report(3, ["connecting-to-device"]), "A4", (NORMAL, "NORMAL")),
        (_report(3, ["toner-low-report"]), "A4", (NORMAL, "NORMAL")),
        # The worst reason wins, then the one an operator must see first.
        (_report(5, ["toner-low-warning", "media-empty-error"]), "A4", (FAILURE, "EMPTY A4 PAPR")),
        (_report(4, ["media-empty-error", "media-jam-error"]), "A4", (FAILURE, "FILM JAM")),
        (_report(4, ["offline-report", "media-empty-error"]), None, (FAILURE, "PRINTER DOWN")),
    ],
)
def test_dicom_status(
    attributes: dict[str, object], media: str | None, expected: tuple[str, str]
) -> None:
    assert dicom_status(parse_printer("p", attributes), media) == DicomPrinterStatus(*expected)


# PS3.3 C.13.9.1 defined terms this module may answer with (checked against the standard).
C_13_9_1 = {
    "NORMAL",
    "SUPPLY EMPTY",
    "SUPPLY LOW",
    "FILM JAM",
    "COVER OPEN",
    "NO SUPPLY MGZ",
    "RECEIVER FULL",
    "PRINTER DOWN",
    "PRINTER OFFLINE",
    "PRINT BUFF FULL",
    "REQ MED NOT INST",
    "CHECK PRINTER",
    *(
        f"{kind} {size} PAPR"
        for kind in ("EMPTY", "LOW")
        for size in ("8X10", "10X12", "10X14", "11X14", "14X14", "14X17", "24X24", "24X30", "A4")
    ),
}


@pytest.mark.parametrize("media", [None, "A4", "8INX10IN", "14INX17IN", "24CMX30CM", "Letter"])
def test_every_info_term_is_a_defined_term(media: str | None) -> None:
    for reason in Reason:
        assert info_term(reason, media) in C_13_9_1


def test_paper_terms() -> None:
    assert paper_term("A4") == "A4 PAPR"
    assert paper_term("14INX17IN") == "14X17 PAPR"
    assert paper_term("na_letter_8.5x11in") is None
    assert paper_term(None) is None
