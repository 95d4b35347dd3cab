"""A behavioural Primera robot behind a pty, speaking the flavor's command set.

The driver opens the pty's path through the same serial transport as a real robot's node.
The model keeps what a robot keeps: discs per bin, the picker, each drive's tray and disc,
the printer tray, the cover, ink per cartridge (down by `ink_per_print` on every label),
and the system state and error. Motions take `motion_seconds`, prints `print_seconds`.

Faults, by method call: `empty_bin` (input empty), `fail_picks` (transient pick
failure), `open_cover` (mid-job too: the motion stops with the disc on the picker),
`ink_out`, `drop_next_disc`, `fill_bin` (output bin full), `go_offline` (stops
answering) and `come_online`; and the fixes `load_discs`, `close_cover`,
`replace_cartridges`, `take_discs`. As on a robot, an error stays until it is cleared
(KillSystemError); the cover's error comes back while the cover is open. A disc left on
the picker by an error goes to the reject bin when the error is cleared (Kiln's choice for
the model; real robots are not documented here).

`drive_hook(drive, inserted)` tells a simulated optical drive that the picker put a disc
in (True) or took it out (False).

`python -m drivers.primera.robot_simulator [--model KEY]` runs one and prints its path.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import select
import signal
import threading
import time
import tty
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from drivers.primera.flavors import (
    BinRole,
    CartridgeKind,
    Flavor,
    Operation,
    SystemAction,
    flavor,
)
from drivers.primera.robot_errors import ProtocolError
from drivers.primera.robot_status import (
    BinStatus,
    CartridgeStatus,
    DriveStatus,
    PrinterTray,
    RobotStatus,
    SystemState,
)
from drivers.primera.serial_protocol import (
    Identity,
    Request,
    crc32,
    decode_request,
    encode_accepted,
    encode_identity,
    encode_refused,
    encode_status,
)

log = logging.getLogger(__name__)

DriveHook = Callable[[int, bool], None]

# PTRobot return codes the model refuses with
_SEQUENCE, _INVALID_DRIVE, _NO_PRINTER, _PRINTFILE_INVALID = 501, 503, 508, 509
_INVALID_LOCATION, _INVALID_ACTION, _NO_MEDIA, _BUSY = 515, 519, 525, 528
# PTRobot system errors the model raises
_INPUT_EMPTY, _PICK, _COVER_OPEN = 3, 8, 15
_MULTIPLE_IN_PRINTER, _MULTIPLE_IN_RECORDER = 18, 19
_DROPPED_RECORDER, _DROPPED_BIN1, _DROPPED_PRINTER, _DROPPED_REJECT = 20, 28, 33, 34
_COLOR_EMPTY, _BLACK_EMPTY, _BOTH_EMPTY = 49, 50, 51
_NO_DISC_IN_PRINTER = 53


@dataclass(frozen=True)
class SimulatorOptions:
    discs: Mapping[str, int] | None = None  # per bin name; None: input bins full
    ink_percent: float = 100.0
    ink_per_print: float = 2.0  # percent of every cartridge per label
    motion_seconds: float = 0.02
    print_seconds: float = 0.05
    firmware: str = "KILNSIM-1"


@dataclass
class _Pending:
    request: Request
    due: float


@dataclass
class _State:
    bins: dict[int, int]
    ink: list[float]
    drives: list[bool]
    picker: bool = False
    printer_disc: bool = False
    cover_open: bool = False
    state: SystemState = SystemState.IDLE
    error: int = 0
    pending: _Pending | None = None
    rejected: int = 0
    labels: list[bytes] = field(default_factory=list)


class RobotSimulator:
    def __init__(
        self,
        model: Flavor,
        options: SimulatorOptions | None = None,
        drive_hook: DriveHook | None = None,
    ) -> None:
        self.flavor = model
        self.options = options or SimulatorOptions()
        self._hook = drive_hook
        self._lock = threading.Lock()
        discs = self.options.discs
        self._state = _State(
            bins={
                spec.number: (
                    discs.get(spec.name, 0)
                    if discs is not None
                    else (
                        spec.capacity if spec.role is not BinRole.OUTPUT and spec.number == 1 else 0
                    )
                )
                for spec in model.bins
            },
            ink=[self.options.ink_percent for _ in model.cartridges],
            drives=[False] * model.drives,
        )
        self._offline = False
        self._pick_failures = 0
        self._drop_next = False
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self._buffer = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="primera-sim", daemon=True)

    # --- life ---------------------------------------------------------------------------

    def start(self) -> RobotSimulator:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> RobotSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- what a test looks at -----------------------------------------------------------

    def status(self) -> RobotStatus:
        with self._lock:
            return self._status()

    def discs_in(self, bin_name: str) -> int:
        with self._lock:
            return self._state.bins[self.flavor.bin_named(bin_name).number]

    @property
    def rejected(self) -> int:
        with self._lock:
            return self._state.rejected

    @property
    def labels(self) -> list[bytes]:
        with self._lock:
            return list(self._state.labels)

    # --- faults and fixes ---------------------------------------------------------------

    def empty_bin(self, name: str) -> None:
        self.take_discs(name)

    def take_discs(self, name: str) -> None:
        with self._lock:
            self._state.bins[self.flavor.bin_named(name).number] = 0

    def load_discs(self, name: str, count: int) -> None:
        with self._lock:
            spec = self.flavor.bin_named(name)
            self._state.bins[spec.number] = min(
                spec.capacity, self._state.bins[spec.number] + count
            )

    def fill_bin(self, name: str) -> None:
        with self._lock:
            spec = self.flavor.bin_named(name)
            self._state.bins[spec.number] = spec.capacity

    def fail_picks(self, count: int = 1) -> None:
        with self._lock:
            self._pick_failures = count

    def drop_next_disc(self) -> None:
        with self._lock:
            self._drop_next = True

    def open_cover(self) -> None:
        """Opened now; a motion under way stops where it is (disc on the picker)."""
        with self._lock:
            self._state.cover_open = True
            pending, self._state.pending = self._state.pending, None
            events = [] if pending is None else self._strand(pending.request)
            self._fail(_COVER_OPEN)
        self._tell(events)

    def close_cover(self) -> None:
        with self._lock:
            self._state.cover_open = False

    def ink_out(self, kind: CartridgeKind | None = None) -> None:
        """Empty the cartridges of `kind` (None: all of them)."""
        with self._lock:
            for index, cartridge in enumerate(self.flavor.cartridges):
                if kind is None or cartridge is kind:
                    self._state.ink[index] = 0.0

    def replace_cartridges(self) -> None:
        with self._lock:
            self._state.ink = [100.0 for _ in self.flavor.cartridges]

    def go_offline(self) -> None:
        with self._lock:
            self._offline = True

    def come_online(self) -> None:
        with self._lock:
            self._offline = False

    # --- the serving thread -------------------------------------------------------------

    def _serve(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                pending = self._state.pending
            wait = 0.05 if pending is None else max(0.0, min(0.05, pending.due - time.monotonic()))
            try:
                readable, _, _ = select.select([self._master], [], [], wait)
                if readable:
                    self._buffer += os.read(self._master, 65536)
            except OSError:
                return
            self._finish_due()
            self._handle_input()

    def _handle_input(self) -> None:
        commands = self.flavor.commands
        while commands.line_end in self._buffer:
            line, _, rest = self._buffer.partition(commands.line_end)
            try:
                request = decode_request(commands, line)
            except ProtocolError as error:
                log.debug("simulator: %s", error)
                self._buffer = rest
                self._reply(encode_refused(commands, _SEQUENCE))
                continue
            payload = b""
            if request.operation is Operation.PRINT:
                length = request.fields["length"]
                if len(rest) < length:
                    return  # the label is still arriving
                payload, rest = rest[:length], rest[length:]
            self._buffer = rest
            with self._lock:
                offline = self._offline
                answer = None if offline else self._answer(request, payload)
            if answer is not None:
                self._reply(answer)

    def _reply(self, data: bytes) -> None:
        try:
            os.write(self._master, data)
        except OSError as error:
            log.debug("simulator: write: %s", error)

    def _finish_due(self) -> None:
        events: list[tuple[int, bool]] = []
        with self._lock:
            pending = self._state.pending
            if pending is not None and time.monotonic() >= pending.due:
                self._state.pending = None
                events = self._complete(pending)
        self._tell(events)

    def _tell(self, events: list[tuple[int, bool]]) -> None:
        for drive, inserted in events:
            if self._hook is not None:
                self._hook(drive, inserted)

    # --- the robot model (called with the lock held) ------------------------------------

    def _status(self) -> RobotStatus:
        s = self._state
        moving = s.pending.request.fields.get("drive") if s.pending is not None else None
        return RobotStatus(
            state=s.state,
            error_code=s.error,
            bins=tuple(
                BinStatus(b.number, b.name, b.role, b.capacity, s.bins[b.number])
                for b in self.flavor.bins
            ),
            picker_has_disc=s.picker,
            printer_tray=(
                (PrinterTray.IN_WITH_DISC if s.printer_disc else PrinterTray.IN_EMPTY)
                if self.flavor.printer
                else None
            ),
            cover_open=s.cover_open,
            cartridges=tuple(
                CartridgeStatus(kind, True, level)
                for kind, level in zip(self.flavor.cartridges, s.ink, strict=True)
            ),
            drives=tuple(
                DriveStatus(index, moving == index, has_disc)
                for index, has_disc in enumerate(s.drives)
            ),
        )

    def _fail(self, code: int) -> None:
        self._state.state = SystemState.ERROR
        self._state.error = code

    def _answer(self, request: Request, payload: bytes) -> bytes:
        commands = self.flavor.commands
        operation = request.operation
        if operation is Operation.STATUS:
            return encode_status(self.flavor, self._status())
        if operation is Operation.IDENTIFY:
            identity = Identity(
                -1 if self.flavor.robot_type is None else self.flavor.robot_type,
                self.options.firmware,
                self.flavor.drives,
                len(self.flavor.bins),
            )
            return encode_identity(self.flavor, identity)
        if operation is Operation.KILL_ERROR:
            return self._kill_error()
        if operation is Operation.SYSTEM_ACTION:
            return self._action(request.fields["action"])
        if self._state.state is SystemState.BUSY:
            return encode_refused(commands, _BUSY)
        if self._state.state is SystemState.ERROR:
            return encode_refused(commands, _SEQUENCE)
        refusal = self._refusal(request, payload)
        if refusal is not None:
            return encode_refused(commands, refusal)
        seconds = (
            self.options.print_seconds
            if operation is Operation.PRINT
            else self.options.motion_seconds
        )
        self._state.state = SystemState.BUSY
        self._state.pending = _Pending(request, time.monotonic() + seconds)
        if operation is Operation.PRINT:
            self._state.labels.append(payload)
        return encode_accepted(commands)

    def _refusal(self, request: Request, payload: bytes) -> int | None:
        """A PTROBOT_* code for a request the robot cannot even start."""
        fields = request.fields
        s = self._state
        drive = fields.get("drive")
        if drive is not None and not 0 <= drive < self.flavor.drives:
            return _INVALID_DRIVE
        for key in ("source", "target"):
            if key in fields and not self._valid_location(fields[key]):
                return _INVALID_LOCATION
        operation = request.operation
        needs_printer = {
            Operation.PRINT,
            Operation.LOAD_PRINTER_FROM_DRIVE,
            Operation.UNLOAD_PRINTER,
        }
        if (
            operation in needs_printer or fields.get("target") == self._printer
        ) and not self.flavor.printer:
            return _NO_PRINTER
        if operation in (Operation.UNLOAD_DRIVE, Operation.LOAD_PRINTER_FROM_DRIVE):
            assert drive is not None
            if not s.drives[drive]:
                return _NO_MEDIA
        if operation is Operation.UNLOAD_PRINTER and not s.printer_disc:
            return _NO_MEDIA
        if operation is Operation.PRINT and crc32(payload) != fields["crc32"]:
            return _PRINTFILE_INVALID
        return None

    @property
    def _printer(self) -> int:
        return self.flavor.commands.printer_location

    def _valid_location(self, location: int) -> bool:
        commands = self.flavor.commands
        known = {commands.auto_location, commands.printer_location, commands.reject_location}
        return location in known or location in self._state.bins

    def _kill_error(self) -> bytes:
        s = self._state
        if s.state is SystemState.BUSY:
            return encode_refused(self.flavor.commands, _BUSY)
        if s.picker:  # a disc stranded on the picker by the error
            s.picker = False
            s.rejected += 1
        s.state, s.error = SystemState.IDLE, 0
        if s.cover_open:
            self._fail(_COVER_OPEN)
        return encode_accepted(self.flavor.commands)

    def _action(self, bits: int) -> bytes:
        try:
            action = SystemAction(bits)
        except ValueError:
            return encode_refused(self.flavor.commands, _INVALID_ACTION)
        if action not in self.flavor.actions:
            return encode_refused(self.flavor.commands, _INVALID_ACTION)
        if action in (SystemAction.RESET_SYSTEM, SystemAction.CANCEL_COMMAND):
            self._state.pending = None
            return self._kill_error()
        return encode_accepted(self.flavor.commands)

    def _source_bin(self, source: int) -> int | None:
        """The bin a pick takes from (auto: the first input bin holding discs)."""
        if source != self.flavor.commands.auto_location:
            return source
        for spec in self.flavor.bins:
            if spec.role is not BinRole.OUTPUT and self._state.bins[spec.number] > 0:
                return spec.number
        return None

    def _output_bin(self) -> int:
        outputs = [b.number for b in self.flavor.bins if b.role is BinRole.OUTPUT]
        return outputs[0] if outputs else self.flavor.bins[-1].number

    def _pick(self, source: int) -> bool:
        """Take a disc from a bin onto the picker; False (and an error) if it cannot."""
        s = self._state
        number = self._source_bin(source)
        if number is None or s.bins[number] == 0:
            self._fail(_INPUT_EMPTY)
            return False
        if self._pick_failures:
            self._pick_failures -= 1
            self._fail(_PICK)
            return False
        s.bins[number] -= 1
        s.picker = True
        return True

    def _drop(self, target: int) -> bool:
        """Put the disc on the picker at `target`; False (and an error) if it cannot."""
        s = self._state
        commands = self.flavor.commands
        if self._drop_next:
            self._drop_next = False
            s.picker = False
            drops = {
                commands.printer_location: _DROPPED_PRINTER,
                commands.reject_location: _DROPPED_REJECT,
            }
            self._fail(drops.get(target, _DROPPED_BIN1 + target - 1))
            return False
        if target == commands.reject_location:
            s.rejected += 1
        elif target == commands.printer_location:
            if s.printer_disc:
                self._fail(_MULTIPLE_IN_PRINTER)
                return False
            s.printer_disc = True
        else:
            number = self._output_bin() if target == commands.auto_location else target
            spec = next(b for b in self.flavor.bins if b.number == number)
            if s.bins[number] >= spec.capacity:
                self._fail(spec.full_error)
                return False
            s.bins[number] += 1
        s.picker = False
        return True

    def _strand(self, request: Request) -> list[tuple[int, bool]]:
        """A motion stopped half way: its disc has left where it was and is on the picker."""
        s = self._state
        fields = request.fields
        operation = request.operation
        if operation is Operation.PRINT:
            s.labels.pop()  # the disc stays in the printer, unprinted
            return []
        if operation in (Operation.UNLOAD_DRIVE, Operation.LOAD_PRINTER_FROM_DRIVE):
            s.drives[fields["drive"]] = False
            s.picker = True
            return [(fields["drive"], False)]
        if operation is Operation.UNLOAD_PRINTER:
            s.printer_disc = False
            s.picker = True
            return []
        if "source" in fields:
            number = self._source_bin(fields["source"])
            if number is not None and s.bins[number] > 0:
                s.bins[number] -= 1
                s.picker = True
        return []

    def _complete(self, pending: _Pending) -> list[tuple[int, bool]]:
        """Apply a finished motion or print; the drive events it causes."""
        s = self._state
        fields = pending.request.fields
        operation = pending.request.operation
        events: list[tuple[int, bool]] = []
        s.state = SystemState.IDLE
        if operation is Operation.LOAD_DRIVE:
            drive = fields["drive"]
            if s.drives[drive]:
                if not fields["clear"]:
                    self._fail(_MULTIPLE_IN_RECORDER)
                    return events
                s.drives[drive] = False
                s.rejected += 1
                events.append((drive, False))
            if not self._pick(fields["source"]):
                return events
            if self._drop_next:
                self._drop_next = False
                s.picker = False
                self._fail(_DROPPED_RECORDER)
                return events
            s.picker = False
            s.drives[drive] = True
            events.append((drive, True))
        elif operation in (Operation.UNLOAD_DRIVE, Operation.LOAD_PRINTER_FROM_DRIVE):
            drive = fields["drive"]
            s.drives[drive] = False
            s.picker = True
            events.append((drive, False))
            self._drop(fields.get("target", self._printer))
        elif operation is Operation.LOAD_PRINTER:
            if self._pick(fields["source"]):
                self._drop(self._printer)
        elif operation is Operation.MOVE_DISC:
            if self._pick(fields["source"]):
                self._drop(fields["target"])
        elif operation is Operation.UNLOAD_PRINTER:
            s.printer_disc = False
            s.picker = True
            self._drop(fields["target"])
        elif operation is Operation.PRINT:
            self._print()
        return events

    def _print(self) -> None:
        s = self._state
        if not s.printer_disc:
            self._fail(_NO_DISC_IN_PRINTER)
            s.labels.pop()
            return
        empty = {
            kind for kind, level in zip(self.flavor.cartridges, s.ink, strict=True) if level <= 0
        }
        if empty:
            black = CartridgeKind.BLACK in empty
            colour = bool(empty - {CartridgeKind.BLACK})
            self._fail(_BOTH_EMPTY if black and colour else _BLACK_EMPTY if black else _COLOR_EMPTY)
            s.labels.pop()
            return
        s.ink = [max(0.0, level - self.options.ink_per_print) for level in s.ink]


def main() -> None:
    parser = argparse.ArgumentParser(description="A simulated Primera robot behind a pty.")
    parser.add_argument("--model", default="disc-publisher-se")
    parser.add_argument("--motion-seconds", type=float, default=1.0)
    parser.add_argument("--print-seconds", type=float, default=2.0)
    args = parser.parse_args()
    options = SimulatorOptions(motion_seconds=args.motion_seconds, print_seconds=args.print_seconds)
    simulator = RobotSimulator(flavor(args.model), options).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(simulator.path, flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.close()


if __name__ == "__main__":
    main()
