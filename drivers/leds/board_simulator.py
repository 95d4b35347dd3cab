"""A behavioural LED board behind a pty, speaking `board_protocol`.

It keeps each LED's state as the board would (steady on/off, or blinking with its on/off
times) and answers every request. Faults: `go_silent()` (stops answering, as an
unplugged or hung board) and `come_back()`. The driver opens `path` through the same
transport as a real board's /dev/ttyACM*.

`python -m drivers.leds.board_simulator` runs one and prints its path.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import tty
from dataclasses import dataclass

from drivers.leds.board_protocol import (
    MAX_LED,
    Command,
    decode_request,
    encode_reply,
)
from drivers.leds.errors import BoardProtocolError
from drivers.leds.pattern import Blink, Pattern, pattern_of

IDENTITY = "KILN-LEDSIM 1"


@dataclass(frozen=True)
class BoardLed:
    lit: bool = False
    blink: Blink | None = None

    @property
    def pattern(self) -> Pattern:
        return pattern_of(lit=self.lit, blink=self.blink)


class BoardSimulator:
    def __init__(self, leds: int = 8) -> None:
        self.count = leds
        self._leds = {n: BoardLed() for n in range(1, leds + 1)}
        self._lock = threading.Lock()
        self._silent = False
        self.requests = 0
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="led-board-sim", daemon=True)

    def start(self) -> BoardSimulator:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> BoardSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def led(self, number: int) -> BoardLed:
        with self._lock:
            return self._leds[number]

    def shown(self, number: int) -> Pattern:
        return self.led(number).pattern

    def go_silent(self) -> None:
        with self._lock:
            self._silent = True

    def come_back(self) -> None:
        with self._lock:
            self._silent = False

    def answer(self, line: bytes) -> bytes | None:
        """The reply to one request line (None while silent), with the LED state changed."""
        with self._lock:
            if self._silent:
                return None
            self.requests += 1
            try:
                request = decode_request(line)
            except BoardProtocolError as error:
                return encode_reply(error=str(error))
            if request.command is Command.ID:
                return encode_reply(IDENTITY)
            if not 1 <= request.led <= min(self.count, MAX_LED):
                return encode_reply(error=f"no LED {request.led}")
            self._leds[request.led] = BoardLed(
                lit=request.command is not Command.OFF, blink=request.blink
            )
            return encode_reply()

    def _serve(self) -> None:
        buffer = b""
        while not self._stop.is_set():
            readable, _, _ = select.select([self._master], [], [], 0.05)
            if not readable:
                continue
            try:
                buffer += os.read(self._master, 1024)
            except OSError:
                return
            while b"\n" in buffer:
                line, _, buffer = buffer.partition(b"\n")
                reply = self.answer(line)
                if reply is not None:
                    os.write(self._master, reply)


def main() -> None:
    with BoardSimulator() as board:
        print(board.path, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
