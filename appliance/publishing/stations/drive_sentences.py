"""An optical drive's typed errors as the station contract sees them, with the operator's
sentence: what happened, what the box did, what to do (the table in docs/optical-drives.md).

Shared by the manual station and the robot station, so that one drive error reads the same
wherever the drive sits. The station adds what only it knows (the reject bin, "take the disc
out") after the sentence.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.publishing.station import DiscFailed, FaultKind, StationFault
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

# Seconds before the box looks again by itself; the sentences promise these.
TRAY_RETRY_SECONDS = 60.0  # "it tries again in a minute"
NOT_READY_RETRY_SECONDS = 15.0  # a drive reads a new disc in seconds
BUSY_RETRY_SECONDS = 30.0  # "it tries again shortly"
NO_MEDIUM_RETRY_SECONDS = 30.0
MB = 1_000_000  # needs rounded up, has rounded down: never a misleading "fits"


@dataclass(frozen=True)
class Outcome:
    """What a drive error means for the disc in hand. `kind` None: the disc is bad (it is
    rejected and made again on a new disc); otherwise the station cannot go on."""

    kind: FaultKind | None
    retry_after: float | None = None
    code: str = ""

    @property
    def bad_disc(self) -> bool:
        return self.kind is None


BAD_DISC_ERRORS = (NotBlank, TooSmall, WriteFailed, VerifyMismatch)
SPOILING_ERRORS = (WriteFailed, VerifyMismatch)  # the burn began: the disc is unusable


def drive_failure(error: DriveError, drive_name: str) -> tuple[Outcome, str]:
    """The outcome and the operator's sentence for one driver error of drive `drive_name`."""
    code = type(error).__name__
    d = drive_name
    # Subclasses first: every typed error is also a DriveError.
    if isinstance(error, NotBlank):
        return Outcome(None, code=code), (
            f"The disc in drive {d} already has data on it. The box did not write to it and "
            "put it aside. Use blank discs; check the input bin for used discs."
        )
    if isinstance(error, TooSmall):
        return Outcome(None, code=code), (
            f"The disc in drive {d} is too small for this study (needs "
            f"{-(-error.needed // MB)} MB, has {error.free // MB} MB). Nothing was written; the "
            "disc was put aside. Load larger media (DVD or BD), or let the job span several "
            "discs."
        )
    if isinstance(error, WriteFailed):
        return Outcome(None, code=code), (
            f"Writing the disc in drive {d} failed ({error.message}). The disc is spoiled "
            "and was rejected; the job is redone on a new disc. If it happens again, try "
            "other discs; then clean or replace the drive."
        )
    if isinstance(error, VerifyMismatch):
        return Outcome(None, code=code), (
            f"The disc in drive {d} did not read back the same as what was written. The "
            "disc was rejected; the job is redone on a new disc. If it repeats, the discs or "
            "the drive are failing: try another batch of discs."
        )
    if isinstance(error, NoMedium):
        return Outcome(FaultKind.OPERATOR, NO_MEDIUM_RETRY_SECONDS, code), (
            f"There is no disc in drive {d}. Nothing was written. Put a blank disc in the "
            "drive (or load the robot's input bin)."
        )
    if isinstance(error, TrayOpen):
        return Outcome(FaultKind.OPERATOR, TRAY_RETRY_SECONDS, code), (
            f"The tray of drive {d} is open and did not close. Nothing was written; the box "
            "tries again in a minute. Check nothing blocks the tray and push it in."
        )
    if isinstance(error, NotReady):
        return Outcome(FaultKind.RETRY, NOT_READY_RETRY_SECONDS, code), (
            f"Drive {d} is not ready (still reading the disc). The box waits and tries "
            "again by itself. Nothing to do, unless this lasts more than a few minutes: then "
            "take the disc out and try another."
        )
    if isinstance(error, DriveBusy):
        return Outcome(FaultKind.RETRY, BUSY_RETRY_SECONDS, code), (
            f"Another program is using drive {d}. Nothing was written; the box tries again "
            "shortly. Close programs that use the drive (a desktop opening the disc); if it "
            "stays, restart the box."
        )
    if isinstance(error, XorrisoMissing):
        return Outcome(FaultKind.FATAL, None, code), (
            "The burning program (xorriso) is not installed. No disc was made. Reinstall "
            "the box's software (the package xorriso)."
        )
    return Outcome(FaultKind.FATAL, None, code), (
        f"Drive {d} reported a problem ({error.message}). No disc was made. Check the "
        "drive is connected and switched on; restart the box if it stays."
    )


def drive_exception(
    error: DriveError, drive_name: str, *, after: str = ""
) -> DiscFailed | StationFault:
    """The contract's exception for `error`, its sentence followed by `after` (what the
    station did with the disc, if it has more to say)."""
    outcome, sentence = drive_failure(error, drive_name)
    if after:
        sentence = f"{sentence} {after}"
    if outcome.kind is None:
        return DiscFailed(sentence, code=outcome.code)
    return StationFault(outcome.kind, sentence, code=outcome.code, retry_after=outcome.retry_after)
