"""An optical drive's typed errors as the station contract sees them, with the operator's
sentence: what happened, what the box did, what to do (the table in docs/optical-drives.md).

Shared by the manual station and the robot station, so that one drive error reads the same
wherever the drive sits. The station adds what only it knows (the reject bin, "take the disc
out") after the sentence.
"""

from __future__ import annotations

from enum import Enum

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


class Outcome(Enum):
    """What a drive error means for the disc in hand: a bad disc (rejected and made again
    on a new disc) or a station fault of one kind."""

    BAD_DISC = "bad-disc"
    OPERATOR = "operator"
    RETRY = "retry"
    FATAL = "fatal"

    @property
    def kind(self) -> FaultKind:
        """The fault kind of a station fault (a bad disc has none: ValueError)."""
        if self is Outcome.BAD_DISC:
            raise ValueError("a bad disc is not a station fault")
        return FaultKind(self.value)


_RETRY_AFTER: tuple[tuple[type[DriveError], float], ...] = (
    (NoMedium, NO_MEDIUM_RETRY_SECONDS),
    (TrayOpen, TRAY_RETRY_SECONDS),
    (NotReady, NOT_READY_RETRY_SECONDS),
    (DriveBusy, BUSY_RETRY_SECONDS),
)
SPOILING_ERRORS = (WriteFailed, VerifyMismatch)  # the burn began: the disc is unusable


def drive_failure(error: DriveError, drive_name: str) -> tuple[Outcome, str]:
    """The outcome and the operator's sentence for one driver error of drive `drive_name`."""
    d = drive_name
    # Subclasses first: every typed error is also a DriveError.
    if isinstance(error, NotBlank):
        return Outcome.BAD_DISC, (
            f"The disc in drive {d} already has data on it. The box did not write to it and "
            "put it aside. Use blank discs; check the input bin for used discs."
        )
    if isinstance(error, TooSmall):
        return Outcome.BAD_DISC, (
            f"The disc in drive {d} is too small for this study (needs "
            f"{-(-error.needed // MB)} MB, has {error.free // MB} MB). Nothing was written; the "
            "disc was put aside. Load larger media (DVD or BD), or let the job span several "
            "discs."
        )
    if isinstance(error, WriteFailed):
        return Outcome.BAD_DISC, (
            f"Writing the disc in drive {d} failed ({error.message}). The disc is spoiled "
            "and was rejected; the job is redone on a new disc. If it happens again, try "
            "other discs; then clean or replace the drive."
        )
    if isinstance(error, VerifyMismatch):
        return Outcome.BAD_DISC, (
            f"The disc in drive {d} did not read back the same as what was written. The "
            "disc was rejected; the job is redone on a new disc. If it repeats, the discs or "
            "the drive are failing: try another batch of discs."
        )
    if isinstance(error, NoMedium):
        return Outcome.OPERATOR, (
            f"There is no disc in drive {d}. Nothing was written. Put a blank disc in the "
            "drive (or load the robot's input bin)."
        )
    if isinstance(error, TrayOpen):
        return Outcome.OPERATOR, (
            f"The tray of drive {d} is open and did not close. Nothing was written; the box "
            "tries again in a minute. Check nothing blocks the tray and push it in."
        )
    if isinstance(error, NotReady):
        return Outcome.RETRY, (
            f"Drive {d} is not ready (still reading the disc). The box waits and tries "
            "again by itself. Nothing to do, unless this lasts more than a few minutes: then "
            "take the disc out and try another."
        )
    if isinstance(error, DriveBusy):
        return Outcome.RETRY, (
            f"Another program is using drive {d}. Nothing was written; the box tries again "
            "shortly. Close programs that use the drive (a desktop opening the disc); if it "
            "stays, restart the box."
        )
    if isinstance(error, XorrisoMissing):
        return Outcome.FATAL, (
            "The burning program (xorriso) is not installed. No disc was made. Reinstall "
            "the box's software (the package xorriso)."
        )
    return Outcome.FATAL, (
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
    code = type(error).__name__
    if outcome is Outcome.BAD_DISC:
        return DiscFailed(sentence, code=code)
    return StationFault(outcome.kind, sentence, code=code, retry_after=retry_after(error))


def retry_after(error: DriveError) -> float | None:
    """Seconds until the box looks again by itself, as the sentence promises; None: the
    runner's own recheck time (a fatal fault, or a bad disc, which is redone at once)."""
    for kind, seconds in _RETRY_AFTER:
        if isinstance(error, kind):
            return seconds
    return None
