"""The byte-stream protocol, pure: requests to bytes, replies to typed values and back.

Everything model-specific comes from the flavor's `CommandSet` (flavors.py): request
templates, line ends, reply tokens, status keys and value codes. Both sides are here —
the driver encodes requests and decodes replies, the simulator decodes requests and
encodes replies — so a trace test pins one command set from both ends.

Frames: a request is one line (`line_end`); PRINT's line is followed by exactly `length`
bytes of label image (PNG) whose CRC-32 the line carries. A reply is one line
(`reply_end`): `OK`, `NAK <code>`, a status line or an identity line.
"""

from __future__ import annotations

import string
import zlib
from dataclasses import dataclass

from drivers.primera.flavors import CommandSet, Flavor, Operation
from drivers.primera.robot_errors import ProtocolError
from drivers.primera.robot_status import (
    BinStatus,
    CartridgeStatus,
    DriveStatus,
    PrinterTray,
    RobotStatus,
    SystemState,
)


@dataclass(frozen=True)
class Request:
    operation: Operation
    fields: dict[str, int]


@dataclass(frozen=True)
class Accepted:
    """The robot took the request (a motion now runs: poll the status until idle)."""


@dataclass(frozen=True)
class Refused:
    code: int  # a PTROBOT_* return code


@dataclass(frozen=True)
class Identity:
    robot_type: int
    firmware: str
    drives: int
    bins: int


Reply = Accepted | Refused


# --- requests --------------------------------------------------------------------------


def _template(commands: CommandSet, operation: Operation) -> str:
    try:
        return commands.requests[operation]
    except KeyError:
        raise ProtocolError(f"{commands.name} has no {operation.value!r} request") from None


def encode_request(commands: CommandSet, operation: Operation, **fields: int) -> bytes:
    try:
        line = _template(commands, operation).format(**fields)
    except KeyError as missing:
        raise ProtocolError(f"{operation.value}: field {missing} missing") from None
    return line.encode(commands.encoding) + commands.line_end


def crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def encode_print(commands: CommandSet, label: bytes) -> bytes:
    """The PRINT line and the label bytes after it."""
    if not label:
        raise ProtocolError("print: the label image is empty")
    if len(label) > commands.max_label_bytes:
        raise ProtocolError(f"print: label of {len(label)} bytes is over the robot's limit")
    return encode_request(commands, Operation.PRINT, length=len(label), crc32=crc32(label)) + label


def _fields(template: str) -> tuple[str, list[tuple[str, str]]]:
    """The verb and the (name, format spec) of each field of a request template."""
    verb, _, rest = template.partition(" ")
    fields = [
        (name, spec or "")
        for _, name, spec, _ in string.Formatter().parse(rest)
        if name is not None
    ]
    return verb, fields


def decode_request(commands: CommandSet, line: bytes) -> Request:
    """A request line (without its line end) as the robot reads it."""
    try:
        words = line.decode(commands.encoding).split()
    except UnicodeDecodeError:
        raise ProtocolError(f"request is not {commands.encoding}: {line!r}") from None
    if not words:
        raise ProtocolError("empty request")
    for operation, template in commands.requests.items():
        verb, fields = _fields(template)
        if words[0] != verb:
            continue
        if len(words) - 1 != len(fields):
            raise ProtocolError(f"{verb}: {len(fields)} fields expected, got {words[1:]}")
        values: dict[str, int] = {}
        for (name, spec), word in zip(fields, words[1:], strict=True):
            try:
                values[name] = int(word, 16 if spec.endswith("X") else 10)
            except ValueError:
                raise ProtocolError(f"{verb}: {name} is not a number: {word!r}") from None
        return Request(operation, values)
    raise ProtocolError(f"unknown request {words[0]!r}")


# --- replies ---------------------------------------------------------------------------


def _line(commands: CommandSet, text: str) -> bytes:
    return text.encode(commands.encoding) + commands.reply_end


def encode_accepted(commands: CommandSet) -> bytes:
    return _line(commands, commands.ok)


def encode_refused(commands: CommandSet, code: int) -> bytes:
    return _line(commands, f"{commands.refused} {code}")


def _text(commands: CommandSet, line: bytes) -> str:
    try:
        return line.decode(commands.encoding).strip()
    except UnicodeDecodeError:
        raise ProtocolError(f"reply is not {commands.encoding}: {line!r}") from None


def decode_reply(commands: CommandSet, line: bytes) -> Reply:
    """The answer to a motion, print, kill-error or action request."""
    text = _text(commands, line)
    if text == commands.ok:
        return Accepted()
    verb, _, code = text.partition(" ")
    if verb == commands.refused:
        try:
            return Refused(int(code))
        except ValueError:
            raise ProtocolError(f"refusal without a code: {text!r}") from None
    raise ProtocolError(f"unexpected reply {text!r}")


def _key_values(commands: CommandSet, line: bytes, token: str) -> dict[str, str]:
    text = _text(commands, line)
    words = text.split()
    if not words or words[0] != token:
        raise ProtocolError(f"expected a {token!r} reply, got {text!r}")
    values: dict[str, str] = {}
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if not sep:
            raise ProtocolError(f"field without '=': {word!r}")
        values[key] = value
    return values


def _ints(value: str) -> list[int]:
    return [int(v) for v in value.split(",")] if value else []


def decode_status(flavor: Flavor, line: bytes) -> RobotStatus:
    commands = flavor.commands
    keys = commands.status_keys
    values = _key_values(commands, line, commands.status_reply)
    try:
        bins = _ints(values[keys.bins])
        cartridges = _ints(values[keys.cartridges])
        ink = _ints(values[keys.ink])
        drives = values[keys.drives].split(",") if values[keys.drives] else []
        tray = values[keys.printer_tray]
        if len(bins) != len(flavor.bins) or len(drives) != flavor.drives:
            raise ProtocolError(f"status does not fit {flavor.name}: {values}")
        if len(cartridges) != len(flavor.cartridges) or len(ink) != len(cartridges):
            raise ProtocolError(f"status does not fit {flavor.name}'s cartridges: {values}")
        return RobotStatus(
            state=SystemState(int(values[keys.state])),
            error_code=int(values[keys.error]),
            bins=tuple(
                BinStatus(
                    spec.number,
                    spec.name,
                    spec.role,
                    spec.capacity,
                    None if count == commands.unknown_discs else count,
                )
                for spec, count in zip(flavor.bins, bins, strict=True)
            ),
            picker_has_disc=_picker(commands, values[keys.picker]),
            printer_tray=None if tray == "-" else PrinterTray(tray),
            cover_open=values[keys.cover] == "1",
            cartridges=tuple(
                CartridgeStatus(
                    kind,
                    installed != 0,
                    None if level == commands.unknown_ink else level / commands.ink_scale,
                )
                for kind, installed, level in zip(flavor.cartridges, cartridges, ink, strict=True)
            ),
            drives=tuple(_drive(commands, index, token) for index, token in enumerate(drives)),
        )
    except KeyError as missing:
        raise ProtocolError(f"status without {missing}") from None
    except ValueError as bad:
        raise ProtocolError(f"bad status value: {bad}") from None


def _picker(commands: CommandSet, value: str) -> bool:
    if value == commands.picker_has_disc:
        return True
    if value == commands.picker_empty:
        return False
    raise ValueError(f"picker {value!r}")


def _drive(commands: CommandSet, index: int, token: str) -> DriveStatus:
    if len(token) != 2 or token[0] not in (commands.drive_tray_open, commands.drive_tray_closed):
        raise ValueError(f"drive {token!r}")
    if token[1] not in "01":
        raise ValueError(f"drive {token!r}")
    return DriveStatus(index, token[0] == commands.drive_tray_open, token[1] == "1")


def encode_status(flavor: Flavor, status: RobotStatus) -> bytes:
    commands = flavor.commands
    keys = commands.status_keys

    def joined(numbers: list[int]) -> str:
        return ",".join(str(n) for n in numbers)

    fields = {
        keys.state: str(status.state.value),
        keys.error: str(status.error_code),
        keys.bins: joined(
            [commands.unknown_discs if b.discs is None else b.discs for b in status.bins]
        ),
        keys.picker: commands.picker_has_disc if status.picker_has_disc else commands.picker_empty,
        keys.printer_tray: "-" if status.printer_tray is None else status.printer_tray.value,
        keys.cover: "1" if status.cover_open else "0",
        keys.cartridges: joined([c.kind.value if c.present else 0 for c in status.cartridges]),
        keys.ink: joined(
            [
                commands.unknown_ink
                if c.ink_percent is None
                else round(c.ink_percent * commands.ink_scale)
                for c in status.cartridges
            ]
        ),
        keys.drives: ",".join(
            (commands.drive_tray_open if d.tray_open else commands.drive_tray_closed)
            + ("1" if d.has_disc else "0")
            for d in status.drives
        ),
    }
    text = " ".join([commands.status_reply, *(f"{k}={v}" for k, v in fields.items())])
    return _line(commands, text)


def encode_identity(flavor: Flavor, identity: Identity) -> bytes:
    commands = flavor.commands
    return _line(
        commands,
        f"{commands.identify_reply} type={identity.robot_type} fw={identity.firmware} "
        f"drives={identity.drives} bins={identity.bins}",
    )


def decode_identity(flavor: Flavor, line: bytes) -> Identity:
    values = _key_values(flavor.commands, line, flavor.commands.identify_reply)
    try:
        return Identity(
            int(values["type"]), values["fw"], int(values["drives"]), int(values["bins"])
        )
    except (KeyError, ValueError) as bad:
        raise ProtocolError(f"bad identity: {bad}") from None
