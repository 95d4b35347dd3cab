"""Moves lines to and from the LED board's tty (a USB-serial adapter, or the simulator's pty)."""

from __future__ import annotations

import logging

import serial

from drivers.leds.errors import BoardTimeout, LedUnavailable

traffic = logging.getLogger("drivers.leds.traffic")  # off unless configured


class BoardLink:
    def __init__(self, port: str, baudrate: int = 115200) -> None:
        self.port = port
        self.baudrate = baudrate
        self._serial: serial.Serial | None = None

    def open(self) -> None:
        try:
            self._serial = serial.Serial(self.port, self.baudrate, timeout=0)
        except (OSError, serial.SerialException) as error:
            raise LedUnavailable(self.port, str(error)) from error

    @property
    def is_open(self) -> bool:
        return self._serial is not None

    def exchange(self, line: bytes, timeout: float) -> bytes:
        """Send one line, return the reply line without its end; BoardTimeout if none comes."""
        if self._serial is None:
            self.open()
        port = self._serial
        assert port is not None
        try:
            port.reset_input_buffer()  # a late reply to an earlier, timed-out request
            traffic.debug("%s > %r", self.port, line)
            port.write(line)
            port.flush()
            port.timeout = timeout
            reply = port.read_until(b"\n")
        except (OSError, serial.SerialException) as error:
            self.close()  # reopened on the next exchange (a board unplugged and back)
            raise LedUnavailable(self.port, str(error)) from error
        traffic.debug("%s < %r", self.port, reply)
        if not reply.endswith(b"\n"):
            raise BoardTimeout(f"{self.port}: no reply in {timeout:g} s")
        return reply[:-1]

    def close(self) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            finally:
                self._serial = None
