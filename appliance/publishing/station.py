"""The contract between the job runner and the places discs are made.

A *station* makes one disc at a time, from a finished disc image to a labelled disc in an
output bin: a Primera robot with its optical drives (robot driver + drive drivers), a
Primera PTBurn host fed through its job folder, or a single drive worked by hand. The job
runner (`runner.py`) owns jobs, priorities, retries and the database; a station owns the
devices and knows nothing of jobs beyond the one disc it is given.

`make_disc` blocks until the disc is done or has failed, calling `progress` as it goes. It
ends in one of three ways:

- it returns: the disc is burned, verified, labelled and in an output bin;
- it raises `DiscFailed`: this disc is bad (not blank, write error, verify mismatch) and
  was put in the reject bin (or ejected, by hand) — the runner redoes it on a new disc,
  up to its limit;
- it raises `StationFault`: the station cannot go on (cover open, input bin empty, ink
  out, robot offline, drive not ready...). `kind` says what the runner does: wait for the
  operator, retry after `retry_after` seconds, or park the job. The disc in hand, if any,
  was rejected or is left where `sentence` says.

`recover()` is called once at start-up, before any `make_disc`: a disc left in a drive or
the printer by a crash or a power cut is moved to the reject bin, so the runner can redo
it. Every sentence is for the operator: what happened, what the box did, what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Protocol

from appliance.media.labels import LabelData
from appliance.media.profiles import Medium


class DiscStep(Enum):
    """Where a disc is, for progress bars, the status page and the job's event history."""

    PICKING = "picking"  # from the input bin into a drive
    BURNING = "burning"
    VERIFYING = "verifying"
    PRINTING = "printing"  # the label
    UNLOADING = "unloading"  # to the output bin
    WAITING = "waiting"  # for the operator (manual mode: insert a blank disc)


Progress = Callable[[DiscStep, float], None]  # (step, fraction 0..1 of that step)


@dataclass(frozen=True)
class DiscOrder:
    """One disc to make."""

    job_id: int
    disc_id: int  # unique per disc attempt; a redo gets a new one
    image: Path  # the finished ISO/UDF image (appliance.media.disc_image)
    image_bytes: int
    medium: Medium  # CD, DVD, DVD_DL or BD: the input bin to pick from
    label: LabelData  # patient, studies, "n of m", copy type
    label_artwork: Path | None  # the rendered label (PNG or PDF), None for no print
    copies: int = 1  # PTBurn makes copies itself; robot stations get one order per copy


class FaultKind(Enum):
    OPERATOR = "operator"  # someone must act (load discs, close cover, change ink)
    RETRY = "retry"  # transient (pick failure, communication): retry after `retry_after`
    FATAL = "fatal"  # the station is out of service until it is cleared or repaired


class DiscFailed(Exception):
    """This disc is bad and was rejected; make it again on a new disc."""

    def __init__(self, sentence: str, *, code: str = "") -> None:
        super().__init__(sentence)
        self.sentence = sentence
        self.code = code  # the device's error code or name, for the event history


class StationFault(Exception):
    """The station cannot make discs until the fault clears."""

    def __init__(
        self,
        kind: FaultKind,
        sentence: str,
        *,
        code: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(sentence)
        self.kind = kind
        self.sentence = sentence
        self.code = code
        # Seconds until the runner may try again by itself: every fault has a timed way
        # out, even an operator fault (the runner re-checks whether it was cleared).
        self.retry_after = retry_after


class Station(Protocol):
    name: str
    media: frozenset[Medium]  # disc types it can take

    def recover(self) -> None: ...

    def make_disc(self, order: DiscOrder, progress: Progress) -> None: ...

    def status(self) -> dict[str, object]:
        """The status page's view: state-machine states, bins, ink, alarms."""
        ...

    def close(self) -> None: ...
