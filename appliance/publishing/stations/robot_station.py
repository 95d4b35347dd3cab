"""A Primera robot's drive as a station: pick, burn, verify, print, unload.

A robot with several drives gives one station per drive, all sharing one `RobotArm` (the
driver and a lock): the picker and the printer serve one disc at a time, while the drives
burn and verify in parallel. Each station runs two state machines, published as they
move: the disc's journey through the robot (statemachines/disc_robot.py) and its drive
(statemachines/optical_drive.py).

Errors are converted here, once: a robot error becomes a StationFault of its class, with
Primera's sentence; a bad disc (not blank, write error, verify mismatch) goes to the reject
bin and becomes DiscFailed; other drive errors become the fault drive_sentences names.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict
from enum import Enum
from typing import Any

from appliance.media.profiles import Medium
from appliance.publishing.station import (
    DiscFailed,
    DiscOrder,
    DiscStep,
    FaultKind,
    Progress,
    StationFault,
)
from appliance.publishing.stations.drive_sentences import Outcome, drive_failure
from drivers.optical.driver import OpticalDrive
from drivers.optical.errors import DriveError, NoMedium, NotBlank, NotReady
from drivers.primera.error_codes import ErrorClass
from drivers.primera.robot_driver import Destination, RobotDriver
from drivers.primera.robot_errors import RobotError, RobotOffline, RobotSystemError
from statemachines.disc_robot import ERROR_EVENTS, DiscRobotEvent, DiscRobotMachine
from statemachines.disc_robot import ERROR_STATES as ROBOT_ERROR_STATES
from statemachines.optical_drive import (
    ERROR_STATES as DRIVE_ERROR_STATES,
)
from statemachines.optical_drive import (
    OpticalDriveMachine,
    OpticalEvent,
    OpticalState,
    OpticalTransitionRefused,
    event_for_error,
    event_for_media,
)

log = logging.getLogger(__name__)

R, D = DiscRobotEvent, OpticalEvent
KINDS = {
    ErrorClass.OPERATOR_FIXABLE: FaultKind.OPERATOR,
    ErrorClass.RETRYABLE: FaultKind.RETRY,
    ErrorClass.FATAL: FaultKind.FATAL,
}
OFFLINE_RETRY_SECONDS = 15.0
READY_WAIT_SECONDS = 30.0  # a drive spins a new disc up before it answers


class RobotArm:
    """The robot driver shared by the stations of its drives; one motion at a time."""

    def __init__(self, driver: RobotDriver, name: str) -> None:
        self.driver = driver
        self.name = name
        self._lock = threading.Lock()
        # The printer holds one disc: a drive's disc goes in, is printed and comes out
        # before another drive's disc may go in (the motions themselves take `holding`).
        self.printer = threading.Lock()

    @contextmanager
    def holding(self) -> Iterator[RobotDriver]:
        with self._lock:
            yield self.driver


def _plain(value: Any) -> Any:
    """A status dataclass as JSON-ready values (Enums by value)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class RobotDriveStation:
    def __init__(
        self,
        arm: RobotArm,
        drive: OpticalDrive,
        drive_index: int,
        *,
        name: str,
        media: frozenset[Medium],
        bins: Mapping[Medium, str],
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.media = media
        self._arm = arm
        self._drive = drive
        self._index = drive_index
        self._bins = dict(bins)
        self._sleep = sleep
        self._clock = clock
        self.robot_machine = DiscRobotMachine(name)
        self.drive_machine = OpticalDriveMachine(f"{name}/drive")
        self._alarm = ""
        self._in_printer = False  # this station's disc is in the printer

    # --- the contract ---------------------------------------------------------------------

    def recover(self) -> None:
        """A disc left in this drive (or in the printer) by a crash goes to the reject bin."""
        with self._arm.holding() as robot:
            try:
                status = robot.status()
                if status.error_code:
                    status = robot.clear_error()
                if self._index < len(status.drives) and status.drives[self._index].has_disc:
                    log.info("%s: a disc left in the drive goes to the reject bin", self.name)
                    self.robot_machine.fire(R.REJECT)
                    robot.unload_drive(self._index, Destination.REJECT)
                    self.robot_machine.fire(R.DONE)
                if status.disc_in_printer:
                    robot.unload_printer(Destination.REJECT)
            except RobotError as error:
                raise self._robot_fault(error) from None

    def make_disc(self, order: DiscOrder, progress: Progress) -> None:
        self._come_back()
        progress(DiscStep.PICKING, 0.0)
        self._robot(R.PICK, lambda robot: robot.load_drive(self._bin(order.medium), self._index))
        self.robot_machine.fire(R.PICKED)
        progress(DiscStep.PICKING, 1.0)
        try:
            self._check_blank()
            self.robot_machine.fire(R.BURN)
            self.drive_machine.fire(D.BURN_STARTED)
            burned = self._drive.burn(
                order.image,
                progress=lambda done, total: progress(DiscStep.BURNING, done / max(total, 1)),
            )
            self.drive_machine.fire(D.BURN_FINISHED)
            self.robot_machine.fire(R.BURNED)
            self.drive_machine.fire(D.VERIFY_STARTED)
            progress(DiscStep.VERIFYING, 0.0)
            self._drive.verify(
                order.image,
                expected_md5=burned.md5,
                progress=lambda done, total: progress(DiscStep.VERIFYING, done / max(total, 1)),
            )
            self.drive_machine.fire(D.VERIFY_PASSED)
        except DriveError as error:
            self._drive_failed(error)
        self._finish(order, progress)
        self._alarm = ""

    def status(self) -> dict[str, object]:
        view: dict[str, object] = {
            "kind": "robot",
            "robot": self._arm.name,
            "drive": self._index,
            "device": self._drive.device,
            "robot_state": self.robot_machine.state.value,
            "drive_state": self.drive_machine.state.value,
            "alarm": self._alarm,
        }
        return view

    def robot_status(self) -> dict[str, object]:
        """The robot's own status (bins, ink, cover) for the status page."""
        with self._arm.holding() as robot:
            return {k: _plain(v) for k, v in asdict(robot.status()).items()}

    def close(self) -> None:
        return None

    # --- steps ------------------------------------------------------------------------------

    def _bin(self, medium: Medium) -> str | None:
        return self._bins.get(medium)  # None: the robot picks from its input bin

    def _check_blank(self) -> None:
        """Look at the new disc until the drive has spun it up; NotBlank and the like raise."""
        deadline = self._clock() + READY_WAIT_SECONDS
        if self.drive_machine.state in DRIVE_ERROR_STATES:
            self.drive_machine.fire(D.RETRY_TIMEOUT)
        while True:
            try:
                info = self._drive.media_info()
            except NotReady:
                if self._clock() >= deadline:
                    raise
                self._sleep(0.5)
                continue
            self.drive_machine.fire(event_for_media(info))
            state = self.drive_machine.state
            if state is OpticalState.BLANK:
                return
            if state is OpticalState.EMPTY and self._clock() < deadline:
                self._sleep(0.5)  # the tray is still closing
                continue
            if state is OpticalState.EMPTY:
                raise NoMedium("the drive holds no disc after the robot loaded one")
            raise NotBlank(f"the disc is {info.state.value}, not blank", state=info.state.value)

    def _drive_failed(self, error: DriveError) -> None:
        outcome, sentence = drive_failure(error, self.name)
        if self.drive_machine.state is not OpticalState.ERROR:
            try:
                self.drive_machine.fire(event_for_error(error))
            except OpticalTransitionRefused:  # the table does not pair them: log only
                log.warning("%s: drive machine cannot take %s", self.name, type(error).__name__)
        self._robot(R.REJECT, lambda robot: robot.unload_drive(self._index, Destination.REJECT))
        self.robot_machine.fire(R.DONE)
        self._opened()
        if outcome is Outcome.BAD_DISC:
            raise DiscFailed(sentence, code=type(error).__name__)
        self._alarm = sentence
        raise StationFault(outcome.kind, sentence, code=type(error).__name__, retry_after=30.0)

    def _finish(self, order: DiscOrder, progress: Progress) -> None:
        artwork = order.label_artwork
        if artwork is None:
            self._robot(R.UNLOAD, lambda robot: robot.unload_drive(self._index, Destination.BIN))
        else:
            progress(DiscStep.PRINTING, 0.0)
            with self._arm.printer:
                self._robot(R.TO_PRINTER, lambda robot: robot.load_printer_from_drive(self._index))
                self._in_printer = True
                self._opened()
                self._robot(R.PRINT, lambda robot: robot.print_label(artwork))
                progress(DiscStep.PRINTING, 1.0)
                progress(DiscStep.UNLOADING, 0.0)
                self._robot(R.UNLOAD, lambda robot: robot.unload_printer(Destination.BIN))
                self._in_printer = False
        self.robot_machine.fire(R.DONE)
        if artwork is None:
            self._opened()
        progress(DiscStep.UNLOADING, 1.0)

    def _opened(self) -> None:
        """The robot took the disc out of the drive: the tray opened and closed empty."""
        if self.drive_machine.state is not OpticalState.EMPTY:
            self.drive_machine.fire(D.EJECT)
            self.drive_machine.fire(D.TRAY_CLOSED)

    # --- the robot, its errors and the way back -------------------------------------------

    def _robot(self, event: DiscRobotEvent, motion: Callable[[RobotDriver], None]) -> None:
        self.robot_machine.fire(event)
        with self._arm.holding() as robot:
            try:
                motion(robot)
            except RobotError as error:
                raise self._robot_fault(error) from None

    def _robot_fault(self, error: RobotError) -> StationFault:
        if isinstance(error, RobotSystemError):
            self.robot_machine.fire(ERROR_EVENTS[error.error_class])
            kind = KINDS[error.error_class]
            sentence = error.info.sentence
            code = str(error.info.code)
            retry = 30.0 if kind is FaultKind.OPERATOR else 10.0
        elif isinstance(error, RobotOffline):
            self.robot_machine.fire(R.NO_ANSWER)
            kind, code, retry = FaultKind.RETRY, "offline", OFFLINE_RETRY_SECONDS
            sentence = (
                f"Disc robot {self._arm.name} does not answer: the job waits and the box "
                "tries again by itself. Check that the robot is on and its cable plugged in."
            )
        else:
            self.robot_machine.fire(R.FATAL_ERROR)
            kind, code, retry = FaultKind.FATAL, type(error).__name__, 60.0
            sentence = (
                f"Disc robot {self._arm.name} failed ({error}): the job waits. Turn the robot "
                "off and on; if it happens again, call service."
            )
        self._alarm = sentence
        return StationFault(kind, sentence, code=code, retry_after=retry)

    def _come_back(self) -> None:
        """Out of an error state: after the hold time, look at the robot and clear it."""
        if self.robot_machine.state not in ROBOT_ERROR_STATES:
            return
        self.robot_machine.fire(R.RETRY_TIMEOUT)  # every error state leaves this way
        with self._arm.holding() as robot:
            try:
                status = robot.status()
                if status.error_code:
                    status = robot.clear_error()
            except RobotError as error:
                raise self._robot_fault(error) from None
            try:
                if self._index < len(status.drives) and status.drives[self._index].has_disc:
                    robot.unload_drive(self._index, Destination.REJECT)
                if self._in_printer and status.disc_in_printer:
                    # Its disc stopped in the printer (ink out, cover): unlabelled, rejected.
                    robot.unload_printer(Destination.REJECT)
                self._in_printer = False
            except RobotError as error:
                raise self._robot_fault(error) from None
        self.robot_machine.fire(R.RECOVERED)
        self._alarm = ""
