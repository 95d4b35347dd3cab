"""The USB-serial LED board's line protocol: pure encoding and decoding, no I/O.

ASCII lines ending in "\\n" (a "\\r" before it is ignored), one request, one reply:

    ID                       -> OK <identity>
    L<n> ON                  -> OK          LED n (1-99) steady on
    L<n> OFF                 -> OK
    L<n> BLINK <on> <off>    -> OK          on/off in ms (1-10000), the board blinks
    anything wrong           -> ERR <reason>

The board keeps each LED's pattern until told otherwise (docs/leds.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from drivers.leds.errors import BoardProtocolError, BoardRefused
from drivers.leds.pattern import Blink, Pattern

MAX_LED = 99
MAX_MS = 10_000
_LED = re.compile(rb"^L([1-9][0-9]?) (ON|OFF|BLINK) ?([0-9]+)? ?([0-9]+)?$")


class Command(Enum):
    ID = "ID"
    ON = "ON"
    OFF = "OFF"
    BLINK = "BLINK"


@dataclass(frozen=True)
class Request:
    command: Command
    led: int = 0  # 1-99; 0 for ID
    blink: Blink | None = None  # BLINK only


def request_for(led: int, pattern: Pattern) -> Request:
    blink = pattern.blink
    if blink is not None:
        return Request(Command.BLINK, led, blink)
    return Request(Command.ON if pattern is Pattern.ON else Command.OFF, led)


def encode_request(request: Request) -> bytes:
    if request.command is Command.ID:
        return b"ID\n"
    text = f"L{request.led} {request.command.value}"
    if request.blink is not None:
        text += f" {request.blink.on_ms} {request.blink.off_ms}"
    return text.encode("ascii") + b"\n"


def decode_request(line: bytes) -> Request:
    """A request line without its end (the simulator's side)."""
    line = line.rstrip(b"\r")
    if line == b"ID":
        return Request(Command.ID)
    match = _LED.match(line)
    if match is None:
        raise BoardProtocolError(f"unknown request {line!r}")
    led, word, on, off = match.groups()
    command = Command(word.decode("ascii"))
    if command is not Command.BLINK:
        if on is not None:
            raise BoardProtocolError(f"{word.decode()} takes no times")
        return Request(command, int(led))
    if on is None or off is None:
        raise BoardProtocolError("BLINK needs on and off times")
    times = int(on), int(off)
    if not all(1 <= t <= MAX_MS for t in times):
        raise BoardProtocolError(f"blink times must be 1-{MAX_MS} ms")
    return Request(command, int(led), Blink(*times))


def encode_reply(text: str | None = None, *, error: str | None = None) -> bytes:
    if error is not None:
        return f"ERR {error}\n".encode("ascii")
    return b"OK\n" if text is None else f"OK {text}\n".encode("ascii")


def decode_reply(request: bytes, line: bytes) -> str:
    """The text after OK (may be empty); ERR raises BoardRefused, anything else a protocol error."""
    text = line.rstrip(b"\r").decode("ascii", errors="replace")
    asked = request.rstrip(b"\n").decode("ascii", errors="replace")
    if text == "OK" or text.startswith("OK "):
        return text[3:]
    if text.startswith("ERR"):
        raise BoardRefused(asked, text[4:] or "no reason given")
    raise BoardProtocolError(f"{asked}: unexpected reply {text!r}")
