"""The Primera robot at the level of PTRobot's operations, over the byte-stream backend.

Every motion follows PTRobot's documented pattern: send the operation, then poll the
status until the robot is idle (done) or in error (a system error, raised as the typed
exception of its class). Picks from a bin that fail for a retryable reason (a pick that
missed, a disc dropped on the way) are cleared and tried again with a fresh disc, up to
`retries`; any other error goes to the caller, who knows where the disc is and what to do.

A request whose answer is lost is not sent again: the robot may have started it. The
status query is, and after `offline_after` unanswered polls in a row (one reconnect in
between) the robot is offline.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from drivers.primera.flavors import Flavor, Operation, SystemAction, Timings, flavor
from drivers.primera.robot_errors import (
    CommandRefused,
    OperationTimedOut,
    RobotOffline,
    RobotRetryable,
    TransportError,
    TransportTimeout,
    system_error,
)
from drivers.primera.robot_status import RobotStatus, SystemState
from drivers.primera.serial_protocol import (
    Accepted,
    Identity,
    Refused,
    decode_identity,
    decode_reply,
    decode_status,
    encode_print,
    encode_request,
)
from drivers.primera.serial_transport import ByteLink, NodeKind, SerialOptions, open_transport

log = logging.getLogger(__name__)

PTROBOT_INVALID_DRIVE = 503
PTROBOT_INVALID_LOCATION = 515
PTROBOT_NO_PRINTER = 508
PTROBOT_INVALID_ACTION = 519
PTROBOT_BUSY = 528

# Operations that take a fresh disc from a bin: after a retryable error nothing is lost by
# trying again. Elsewhere the disc in hand may be gone; the caller decides.
RETRIED_OPERATIONS = frozenset({Operation.LOAD_DRIVE, Operation.LOAD_PRINTER})


FIRST_POLL = 0.02  # seconds before the first status look after a motion is accepted


class Destination(Enum):
    BIN = "bin"
    PRINTER = "printer"
    REJECT = "reject"


@dataclass(frozen=True)
class RobotOptions:
    """The byte-stream robot as configuration gives it."""

    port: str  # device node or pty path
    kind: NodeKind = NodeKind.AUTO
    model: str = "disc-publisher-se"  # a key of flavors.FLAVORS
    retries: int = 2
    log_traffic: bool = False
    timings: Timings | None = None  # None: the model's defaults


class RobotDriver:
    def __init__(
        self,
        link: ByteLink,
        flavor: Flavor,
        *,
        retries: int = 2,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._link = link
        self.flavor = flavor
        self._timings = flavor.timings
        self._retries = retries
        self._sleep = sleep
        self._clock = clock

    # --- status ------------------------------------------------------------------------

    def status(self) -> RobotStatus:
        """The robot's status; RobotOffline when it does not answer."""
        request = encode_request(self.flavor.commands, Operation.STATUS)
        last: Exception | None = None
        for attempt in range(max(self._timings.offline_after, 1)):
            try:
                if attempt:
                    self._link.reconnect()
                self._link.discard_input()
                self._link.write(request)
                line = self._link.read_line(
                    self.flavor.commands.reply_end, self._timings.reply_timeout
                )
                return decode_status(self.flavor, line)
            except TransportError as error:
                last = error
                log.warning("robot status: %s", error)
        raise RobotOffline(f"the robot does not answer: {last}")

    def identify(self) -> Identity:
        line = self._exchange(encode_request(self.flavor.commands, Operation.IDENTIFY), "identify")
        return decode_identity(self.flavor, line)

    # --- operations ----------------------------------------------------------------------

    def load_drive(self, from_bin: str | None, drive: int, *, clear_drive: bool = False) -> None:
        """Pick a disc from `from_bin` (None: the robot chooses) into `drive` (0-based)."""
        self._check_drive(drive)
        self._perform(
            Operation.LOAD_DRIVE,
            self._timings.move_timeout,
            source=self._bin_location(from_bin),
            drive=drive,
            clear=int(clear_drive),
        )

    def unload_drive(self, drive: int, to: Destination, bin_name: str | None = None) -> None:
        self._check_drive(drive)
        self._perform(
            Operation.UNLOAD_DRIVE,
            self._timings.move_timeout,
            drive=drive,
            target=self._location(to, bin_name),
        )

    def load_printer_from_drive(self, drive: int) -> None:
        self._check_drive(drive)
        self._check_printer(Operation.LOAD_PRINTER_FROM_DRIVE)
        self._perform(Operation.LOAD_PRINTER_FROM_DRIVE, self._timings.move_timeout, drive=drive)

    def load_printer(self, from_bin: str | None) -> None:
        """A print-only disc: from a bin straight into the printer."""
        self._check_printer(Operation.LOAD_PRINTER)
        self._perform(
            Operation.LOAD_PRINTER, self._timings.move_timeout, source=self._bin_location(from_bin)
        )

    def print_label(self, label: bytes | Path) -> None:
        """Print the rendered label (PNG bytes, or a file holding them) on the disc in the
        printer. The image goes over the link; the robot keeps no files."""
        self._check_printer(Operation.PRINT)
        data = label.read_bytes() if isinstance(label, Path) else label
        self._run(
            Operation.PRINT, encode_print(self.flavor.commands, data), self._timings.print_timeout
        )

    def unload_printer(self, to: Destination, bin_name: str | None = None) -> None:
        self._check_printer(Operation.UNLOAD_PRINTER)
        if to is Destination.PRINTER:
            raise CommandRefused(Operation.UNLOAD_PRINTER.value, PTROBOT_INVALID_LOCATION)
        self._perform(
            Operation.UNLOAD_PRINTER,
            self._timings.move_timeout,
            target=self._location(to, bin_name),
        )

    def move_disc(self, from_bin: str, to: Destination, bin_name: str | None = None) -> None:
        self._perform(
            Operation.MOVE_DISC,
            self._timings.move_timeout,
            source=self._bin_location(from_bin),
            target=self._location(to, bin_name),
        )

    def clear_error(self, *, reset_printer: bool = False) -> RobotStatus:
        """PTRobot_KillSystemError. Raises the error again if its cause is still there
        (the cover still open); returns the status once the robot is idle."""
        return self._perform(
            Operation.KILL_ERROR, self._timings.move_timeout, reset=int(reset_printer)
        )

    def system_action(self, action: SystemAction) -> RobotStatus:
        if action not in self.flavor.actions:
            raise CommandRefused(f"{action.name} on {self.flavor.name}", PTROBOT_INVALID_ACTION)
        return self._perform(
            Operation.SYSTEM_ACTION, self._timings.move_timeout, action=action.value
        )

    def close(self) -> None:
        self._link.close()

    # --- the request cycle ---------------------------------------------------------------

    def _perform(self, operation: Operation, timeout: float, **fields: int) -> RobotStatus:
        request = encode_request(self.flavor.commands, operation, **fields)
        return self._run(operation, request, timeout)

    def _run(self, operation: Operation, request: bytes, timeout: float) -> RobotStatus:
        attempts = 1 + (self._retries if operation in RETRIED_OPERATIONS else 0)
        for attempt in range(1, attempts + 1):
            self._send(operation, request, timeout)
            try:
                return self._wait_idle(operation, timeout)
            except RobotRetryable as error:
                if attempt == attempts:
                    raise
                log.warning(
                    "robot: %s; clearing and trying again (%d/%d)", error, attempt, attempts
                )
                self.clear_error()
        raise AssertionError("unreachable")  # the loop returns or raises

    def _send(self, operation: Operation, request: bytes, timeout: float) -> None:
        deadline = self._clock() + timeout
        while True:
            reply = decode_reply(self.flavor.commands, self._exchange(request, operation.value))
            if isinstance(reply, Accepted):
                return
            assert isinstance(reply, Refused)
            if reply.code != PTROBOT_BUSY:
                # A robot in error refuses motions; its error says more than the refusal.
                current = self.status()
                if current.state is SystemState.ERROR and current.error_code:
                    raise system_error(current.error_code, operation.value)
                raise CommandRefused(operation.value, reply.code)
            if self._clock() >= deadline:
                raise OperationTimedOut(operation.value, timeout)
            self._sleep(self._timings.poll_interval)

    def _exchange(self, request: bytes, what: str) -> bytes:
        """One request and its one-line answer. Not repeated: the robot may have acted."""
        try:
            self._link.discard_input()
            self._link.write(request)
            return self._link.read_line(self.flavor.commands.reply_end, self._timings.reply_timeout)
        except TransportTimeout as error:
            raise RobotOffline(f"{what}: {error}") from error
        except TransportError as error:
            try:
                self._link.reconnect()
            except TransportError:
                log.warning("robot: reconnect failed after %s", error)
            raise RobotOffline(f"{what}: {error}") from error

    def _wait_idle(self, operation: Operation, timeout: float) -> RobotStatus:
        deadline = self._clock() + timeout
        # Quick looks first, then back off to the model's interval: a short motion is seen
        # finished at once, a long one costs few queries.
        pause = min(FIRST_POLL, self._timings.poll_interval)
        while True:
            current = self.status()
            if current.state is SystemState.IDLE:
                return current
            if current.state is SystemState.ERROR:
                raise system_error(current.error_code, operation.value)
            if self._clock() >= deadline:
                raise OperationTimedOut(operation.value, timeout)
            self._sleep(pause)
            pause = min(pause * 2, self._timings.poll_interval)

    # --- locations -----------------------------------------------------------------------

    def _bin_location(self, name: str | None) -> int:
        if name is None:
            return self.flavor.commands.auto_location
        try:
            return self.flavor.bin_named(name).number
        except KeyError:
            raise CommandRefused(f"bin {name!r}", PTROBOT_INVALID_LOCATION) from None

    def _location(self, to: Destination, bin_name: str | None) -> int:
        commands = self.flavor.commands
        locations = {
            Destination.PRINTER: commands.printer_location,
            Destination.REJECT: commands.reject_location,
        }
        if to is Destination.BIN:
            return self._bin_location(bin_name)
        if to is Destination.PRINTER:
            self._check_printer(Operation.UNLOAD_DRIVE)
        return locations[to]

    def _check_drive(self, drive: int) -> None:
        if not 0 <= drive < self.flavor.drives:
            raise CommandRefused(f"drive {drive}", PTROBOT_INVALID_DRIVE)

    def _check_printer(self, operation: Operation) -> None:
        if not self.flavor.printer:
            raise CommandRefused(operation.value, PTROBOT_NO_PRINTER)


def connect(options: RobotOptions) -> RobotDriver:
    """A driver on the node `options.port` for the model `options.model`, connected."""
    model = flavor(options.model)
    if options.timings is not None:
        model = model.with_timings(options.timings)
    link = open_transport(
        SerialOptions(
            options.port,
            kind=options.kind,
            reconnect_delay=model.timings.reconnect_delay,
            log_traffic=options.log_traffic,
        )
    )
    return RobotDriver(link, model, retries=options.retries)
