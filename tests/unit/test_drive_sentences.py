"""Every optical drive error to its outcome (bad disc or fault kind) and operator sentence."""

from __future__ import annotations

import pytest

from appliance.publishing.station import DiscFailed, FaultKind, StationFault
from appliance.publishing.stations.drive_sentences import (
    BUSY_RETRY_SECONDS,
    NOT_READY_RETRY_SECONDS,
    TRAY_RETRY_SECONDS,
    Outcome,
    drive_exception,
    drive_failure,
    retry_after,
)
from drivers.optical.errors import (
    DriveBusy,
    DriveError,
    NoMedium,
    NotBlank,
    NotReady,
    TooSmall,
    TrayOpen,
    VerifyMismatch,
    WriteFailed,
    XorrisoMissing,
)

BAD_DISCS: list[tuple[DriveError, str]] = [
    (NotBlank("closed", state="closed"), "already has data on it"),
    (TooSmall("small", needed=700_000_001, free=650_000_000), "needs 701 MB, has 650 MB"),
    (WriteFailed("Write error at LBA 4711"), "failed (Write error at LBA 4711)"),
    (VerifyMismatch("md5 differs", expected="a", actual="b"), "did not read back the same"),
]

FAULTS: list[tuple[DriveError, FaultKind, float | None, str]] = [
    (NoMedium("empty"), FaultKind.OPERATOR, 30.0, "There is no disc in drive sr0"),
    (TrayOpen("tray"), FaultKind.OPERATOR, TRAY_RETRY_SECONDS, "push it in"),
    (NotReady("becoming ready"), FaultKind.RETRY, NOT_READY_RETRY_SECONDS, "not ready"),
    (DriveBusy("busy"), FaultKind.RETRY, BUSY_RETRY_SECONDS, "Another program"),
    (XorrisoMissing("no xorriso"), FaultKind.FATAL, None, "package xorriso"),
    (DriveError("SCSI error 0x04"), FaultKind.FATAL, None, "reported a problem (SCSI error"),
]


@pytest.mark.parametrize(("error", "words"), BAD_DISCS)
def test_bad_disc_errors_reject_the_disc(error: DriveError, words: str) -> None:
    outcome, sentence = drive_failure(error, "sr0")
    assert outcome is Outcome.BAD_DISC
    assert retry_after(error) is None
    with pytest.raises(ValueError):
        _ = outcome.kind
    assert "drive sr0" in sentence and words in sentence

    raised = drive_exception(error, "sr0", after="Take it out.")
    assert isinstance(raised, DiscFailed)
    assert raised.sentence == f"{sentence} Take it out."
    assert raised.code == type(error).__name__


@pytest.mark.parametrize(("error", "kind", "retry", "words"), FAULTS)
def test_drive_faults_stop_the_station(
    error: DriveError, kind: FaultKind, retry: float | None, words: str
) -> None:
    outcome, sentence = drive_failure(error, "sr0")
    assert outcome is not Outcome.BAD_DISC
    assert (outcome.kind, retry_after(error)) == (kind, retry)
    assert words in sentence

    raised = drive_exception(error, "sr0")
    assert isinstance(raised, StationFault)
    assert (raised.kind, raised.retry_after, raised.sentence) == (kind, retry, sentence)
    assert raised.code == type(error).__name__


def test_every_error_type_of_the_driver_is_covered() -> None:
    covered = {type(e) for e, _ in BAD_DISCS} | {type(e) for e, *_ in FAULTS}
    assert covered == {DriveError, *_subclasses(DriveError)}


@pytest.mark.parametrize(
    "error", [e for e, _ in BAD_DISCS] + [e for e, *_ in FAULTS], ids=lambda e: type(e).__name__
)
def test_every_sentence_says_what_happened_what_the_box_did_and_what_to_do(
    error: DriveError,
) -> None:
    _, sentence = drive_failure(error, "sr0")
    parts = [p for p in sentence.split(". ") if p]
    assert len(parts) >= 3, sentence
    assert sentence.endswith(".")


def _subclasses(cls: type[DriveError]) -> set[type[DriveError]]:
    found: set[type[DriveError]] = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found
