"""One optical drive worked by hand: no robot, no printer.

For each disc the station looks in the drive. With a blank disc of the right type it burns,
verifies and ejects it (steps BURNING, VERIFYING, UNLOADING). Without one it asks the
operator — "Insert a blank DVD in drive X; the job goes on by itself." — as an OPERATOR
fault with a short retry time, and `status()` shows the same request for the web page and
LEDs. The label is not printed in manual mode: the operator writes on the disc by hand.

Why the station does not look while the tray is open: every xorriso run acquires the
drive and so closes its tray. After an eject the operator gets `wait_seconds` to take the
disc out and put a blank one in before the next look; a disc it ejected once and finds
again is not ejected a second time (the tray would go in and out for ever), the operator is
asked to press the drive's button instead.

A bad disc (write error, verify mismatch, not blank, too small) is ejected and becomes
DiscFailed; its sentence says to take it out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import NoReturn

from appliance.media.profiles import Medium
from appliance.publishing.station import (
    DiscFailed,
    DiscOrder,
    DiscStep,
    FaultKind,
    Progress,
    StationFault,
)
from appliance.publishing.stations.drive_sentences import (
    SPOILING_ERRORS,
    drive_exception,
)
from drivers.optical.driver import OpticalDrive
from drivers.optical.errors import DriveError, NotReady, VerifyMismatch, WriteFailed
from drivers.optical.media import MediaFamily, MediaInfo, MediaState
from statemachines.optical_drive import (
    OpticalDriveMachine,
    OpticalEvent,
    OpticalState,
    event_for_error,
    event_for_media,
)

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], None]
LABEL_NOTE = "not printed in manual mode: write on the disc by hand"

# The disc families a drive may hold for each medium (a DVD image fits a DVD DL).
FAMILIES: dict[Medium, frozenset[MediaFamily]] = {
    Medium.CD: frozenset({MediaFamily.CD}),
    Medium.DVD: frozenset({MediaFamily.DVD, MediaFamily.DVD_DL}),
    Medium.DVD_DL: frozenset({MediaFamily.DVD_DL}),
    Medium.BD: frozenset({MediaFamily.BD}),
}
DISC_NAMES = {Medium.CD: "CD", Medium.DVD: "DVD", Medium.DVD_DL: "dual-layer DVD", Medium.BD: "BD"}


class ManualStation:
    def __init__(
        self,
        drive: OpticalDrive,
        *,
        name: str,
        media: frozenset[Medium],
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        poll_seconds: float = 5.0,
        wait_seconds: float = 30.0,
    ) -> None:
        unknown = media - FAMILIES.keys()
        if unknown or not media:
            raise ValueError(f"station {name}: a drive burns CD, DVD, DVD DL or BD, not {unknown}")
        self.name = name
        self.media = media
        self._drive = drive
        self._clock = clock
        self._sleep = sleep
        self._poll = poll_seconds  # between looks for a blank disc
        self._wait = wait_seconds  # the operator's time at an open tray; also NotReady's limit
        self.machine = OpticalDriveMachine(name)
        self._ejected_at: float | None = None  # when the station last opened the tray
        self._request = ""  # what the operator is asked to do now ("" nothing)
        self._last_media = ""
        self._disc: int | None = None

    # --- the contract ---------------------------------------------------------------------

    def recover(self) -> None:
        """A disc left in the drive by a crash (half-written or finished) is ejected: its
        job makes the disc again, so the operator takes this one out."""
        info = self._look()
        if info.state in (MediaState.NONE, MediaState.BLANK):
            return
        self._eject_or_fault()
        self._request = (
            f"Drive {self.name} held a disc when the box started; the box ejected it. Take "
            "it out (it may be incomplete); its disc is made again."
        )

    def make_disc(self, order: DiscOrder, progress: Progress) -> None:
        if order.medium not in self.media:
            raise StationFault(
                FaultKind.FATAL,
                f"Station {self.name} was given a {order.medium.value} disc it does not take. "
                "The disc goes back to the queue. Check the station's media in the config.",
                code="medium",
            )
        want = DISC_NAMES[order.medium]
        insert = f"Insert a blank {want} in drive {self.name}; the job goes on by itself."
        if self._ejected_at is not None:
            left = self._ejected_at + self._wait - self._clock()
            if left > 0:  # the tray is open for the operator: do not close it on a hand
                self._ask(f"Take the disc out of drive {self.name}. {insert}", "wait", left)
        info = self._look_until_ready()
        if info.state is MediaState.NONE:
            self._ask(insert, "no-disc", self._poll)
        if info.state is not MediaState.BLANK or info.media.family not in FAMILIES[order.medium]:
            found = _describe(info)
            if self._ejected_at is None:
                self._eject_or_fault()
                self._ask(
                    f"Drive {self.name} holds {found}, not a blank {want}; the box ejected it. "
                    f"Take it out. {insert}",
                    "not-blank",
                    self._wait,
                )
            self._ask(
                f"Drive {self.name} still holds {found}. Press the drive's eject button, take "
                f"the disc out. {insert}",
                "not-blank",
                self._poll,
            )
        self._ejected_at, self._request, self._disc = None, "", order.disc_id
        try:
            self._burn_and_verify(order, progress)
        finally:
            self._disc = None
        progress(DiscStep.UNLOADING, 0.0)
        try:
            self._eject()
        except DriveError:  # the disc is good; the next look finds it and ejects it
            log.warning("%s: the finished disc could not be ejected", self.name, exc_info=True)
        progress(DiscStep.UNLOADING, 1.0)

    def status(self) -> dict[str, object]:
        """From what the station saw last: a look at the drive would close its tray (and
        wait for a running burn), so status never touches the drive."""
        return {
            "kind": "manual",
            "name": self.name,
            "device": self._drive.device,
            "drive": self.machine.state.value,
            "media": self._last_media,
            "disc": self._disc,
            "request": self._request,
            "label": LABEL_NOTE,
            "media_types": sorted(m.value for m in self.media),
        }

    def close(self) -> None:
        """Nothing is held between calls (each xorriso run acquires the drive anew)."""

    # --- one disc ---------------------------------------------------------------------------

    def _burn_and_verify(self, order: DiscOrder, progress: Progress) -> None:
        progress(DiscStep.BURNING, 0.0)
        self.machine.fire(OpticalEvent.BURN_STARTED)
        try:
            burned = self._drive.burn(
                order.image,
                progress=lambda done, total: progress(DiscStep.BURNING, _part(done, total)),
            )
        except DriveError as error:
            bad = OpticalEvent.BURN_FAILED if isinstance(error, WriteFailed) else OpticalEvent.ERROR
            self.machine.fire(bad)
            raise self._failed(error) from error
        except Exception:  # not the drive's (the image unreadable): leave BURNING anyway
            self.machine.fire(OpticalEvent.ERROR)
            raise
        self.machine.fire(OpticalEvent.BURN_FINISHED)
        progress(DiscStep.VERIFYING, 0.0)
        self.machine.fire(OpticalEvent.VERIFY_STARTED)
        try:
            self._drive.verify(
                order.image,
                expected_md5=burned.md5,
                progress=lambda done, total: progress(DiscStep.VERIFYING, _part(done, total)),
            )
        except DriveError as error:
            failed = isinstance(error, VerifyMismatch)
            self.machine.fire(OpticalEvent.VERIFY_FAILED if failed else OpticalEvent.ERROR)
            raise self._failed(error) from error
        except Exception:
            self.machine.fire(OpticalEvent.ERROR)
            raise
        self.machine.fire(OpticalEvent.VERIFY_PASSED)

    def _failed(self, error: DriveError) -> DiscFailed | StationFault:
        """A bad disc is ejected for the operator to take out; a fault leaves it in."""
        raised = drive_exception(error, self.name)
        if isinstance(raised, StationFault):
            self._request = raised.sentence
            return raised
        try:
            self._eject()
        except DriveError:
            log.warning("%s: the bad disc could not be ejected", self.name, exc_info=True)
        spoiled = isinstance(error, SPOILING_ERRORS)
        after = (
            f"Drive {self.name} ejected it: take the disc out, it is unusable."
            if spoiled
            else f"Drive {self.name} ejected it: take the disc out."
        )
        failed = drive_exception(error, self.name, after=after)
        self._request = failed.sentence
        return failed

    # --- the drive ---------------------------------------------------------------------------

    def _look(self) -> MediaInfo:
        """One look (it closes an open tray); a driver error becomes a StationFault."""
        if self.machine.state in (OpticalState.BURNING, OpticalState.VERIFYING):
            self.machine.fire(OpticalEvent.ERROR)  # a burn cut short by a thread's death
        if self.machine.state is OpticalState.ERROR:
            self.machine.fire(OpticalEvent.RETRY_TIMEOUT)  # the error's hold time is over
        try:
            info = self._drive.media_info()
        except DriveError as error:
            self.machine.fire(event_for_error(error))
            raise self._fault(error) from error
        self.machine.fire(event_for_media(info))
        self._last_media = _describe(info)
        if info.state in (MediaState.NONE, MediaState.BLANK):
            self._ejected_at = None  # the disc the station ejected is gone
        return info

    def _look_until_ready(self) -> MediaInfo:
        """A disc just put in keeps the drive busy reading it for some seconds: look again
        every `poll_seconds`, for up to `wait_seconds`, before calling it a fault."""
        deadline = self._clock() + self._wait
        while True:
            try:
                return self._look()
            except StationFault as fault:
                if not isinstance(fault.__cause__, NotReady) or self._clock() >= deadline:
                    raise
            self._sleep(self._poll)

    def _eject(self) -> None:
        self._drive.eject()
        self._ejected_at = self._clock()
        if self.machine.state is not OpticalState.TRAY_OPEN:
            self.machine.fire(OpticalEvent.EJECT)

    def _eject_or_fault(self) -> None:
        try:
            self._eject()
        except DriveError as error:
            raise self._fault(error) from error

    def _fault(self, error: DriveError) -> StationFault:
        """Outside a burn no error is the disc's: a bad-disc outcome there is a fault."""
        raised = drive_exception(error, self.name)
        if isinstance(raised, DiscFailed):
            raised = StationFault(FaultKind.RETRY, raised.sentence, code=raised.code)
        self._request = raised.sentence
        return raised

    def _ask(self, sentence: str, code: str, retry_after: float) -> NoReturn:
        self._request = sentence
        raise StationFault(FaultKind.OPERATOR, sentence, code=code, retry_after=retry_after)


def _describe(info: MediaInfo) -> str:
    if info.state is MediaState.NONE:
        return "no disc"
    profile = info.media.profile or "unknown"
    return f"a {info.state.value} {profile} disc"


def _part(done: int, total: int) -> float:
    return min(done / total, 1.0) if total > 0 else 1.0
