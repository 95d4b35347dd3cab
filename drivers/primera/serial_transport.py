"""Moves bytes to and from a robot's device node: nothing else.

Two kinds of node: a tty (a USB-serial adapter /dev/ttyUSB*, /dev/ttyACM*, or a pty such
as the simulator's) through pyserial, and a USB printer-class node (/dev/usb/lp*, the
kernel's usblp driver), which is not a tty, through plain reads and writes with select.
Both read whole reply lines with a deadline and can reconnect (a robot switched off and
on gets a new node behind the same path).

Device traffic goes to its own logger, `drivers.primera.traffic`, and only when the
options ask for it (off by default).
"""

from __future__ import annotations

import logging
import os
import select
import time
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

import serial

from drivers.primera.robot_errors import TransportError, TransportTimeout

log = logging.getLogger(__name__)
traffic = logging.getLogger("drivers.primera.traffic")

_LOGGED_BYTES = 120  # a label image is logged by its length, not its bytes


class NodeKind(Enum):
    AUTO = "auto"  # /dev/usb/lp* is a printer-class node, anything else a tty
    TTY = "tty"
    USBLP = "usblp"


@dataclass(frozen=True)
class SerialOptions:
    port: str  # /dev/ttyUSB0, /dev/usb/lp0, or a pty path
    kind: NodeKind = NodeKind.AUTO
    baudrate: int = 115200  # ignored by usblp and ptys
    reconnect_delay: float = 1.0
    log_traffic: bool = False


class ByteLink(Protocol):
    """What the driver needs from a transport."""

    def open(self) -> None: ...
    def close(self) -> None: ...
    def write(self, data: bytes) -> None: ...
    def read_line(self, end: bytes, timeout: float) -> bytes: ...
    def discard_input(self) -> None: ...
    def reconnect(self) -> None: ...


class _Node:
    """The line reading, deadlines and traffic log shared by both node kinds."""

    def __init__(self, options: SerialOptions) -> None:
        self.options = options
        self._buffer = b""

    def _open(self) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    def _read_some(self, timeout: float) -> bytes:
        raise NotImplementedError

    def _write_all(self, data: bytes) -> None:
        raise NotImplementedError

    def _drain(self) -> bytes:
        raise NotImplementedError

    def open(self) -> None:
        self._buffer = b""
        try:
            self._open()
        except (OSError, serial.SerialException) as error:
            raise TransportError(f"cannot open {self.options.port}: {error}") from error
        log.info("opened %s", self.options.port)

    def close(self) -> None:
        try:
            self._close()
        except (OSError, serial.SerialException) as error:
            log.debug("closing %s: %s", self.options.port, error)

    def reconnect(self) -> None:
        self.close()
        time.sleep(self.options.reconnect_delay)
        self.open()

    def write(self, data: bytes) -> None:
        self._log(">", data)
        try:
            self._write_all(data)
        except (OSError, serial.SerialException) as error:
            raise TransportError(f"write to {self.options.port}: {error}") from error

    def read_line(self, end: bytes, timeout: float) -> bytes:
        """One line without `end`; TransportTimeout if none is complete by the deadline."""
        deadline = time.monotonic() + timeout
        while end not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TransportTimeout(f"no reply from {self.options.port} in {timeout:g} s")
            try:
                self._buffer += self._read_some(remaining)
            except (OSError, serial.SerialException) as error:
                raise TransportError(f"read from {self.options.port}: {error}") from error
        line, _, self._buffer = self._buffer.partition(end)
        self._log("<", line)
        return line

    def discard_input(self) -> None:
        """Drop anything unread (a late answer to a request that timed out)."""
        try:
            stale = self._buffer + self._drain()
        except (OSError, serial.SerialException) as error:
            raise TransportError(f"read from {self.options.port}: {error}") from error
        self._buffer = b""
        if stale:
            self._log("< (discarded)", stale)

    def _log(self, direction: str, data: bytes) -> None:
        if not self.options.log_traffic:
            return
        shown = data if len(data) <= _LOGGED_BYTES else data[:_LOGGED_BYTES] + b"..."
        traffic.debug("%s %s %s (%d bytes)", self.options.port, direction, shown, len(data))


class SerialTransport(_Node):
    """A tty through pyserial (USB-serial adapters and ptys)."""

    def __init__(self, options: SerialOptions) -> None:
        super().__init__(options)
        self._port: serial.Serial | None = None

    def _open(self) -> None:
        self._port = serial.Serial(self.options.port, self.options.baudrate, timeout=0)

    def _close(self) -> None:
        if self._port is not None:
            self._port.close()
            self._port = None

    def _live(self) -> serial.Serial:
        if self._port is None:
            raise TransportError(f"{self.options.port} is not open")
        return self._port

    def _read_some(self, timeout: float) -> bytes:
        port = self._live()
        port.timeout = timeout
        first = port.read(1)
        return first + port.read(port.in_waiting) if first else b""

    def _write_all(self, data: bytes) -> None:
        port = self._live()
        port.write(data)
        port.flush()

    def _drain(self) -> bytes:
        port = self._live()
        return port.read(port.in_waiting) if port.in_waiting else b""


class UsblpTransport(_Node):
    """A USB printer-class node (/dev/usb/lp*): not a tty, so plain I/O with select."""

    def __init__(self, options: SerialOptions) -> None:
        super().__init__(options)
        self._fd: int | None = None

    def _open(self) -> None:
        self._fd = os.open(self.options.port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _live(self) -> int:
        if self._fd is None:
            raise TransportError(f"{self.options.port} is not open")
        return self._fd

    def _read_some(self, timeout: float) -> bytes:
        fd = self._live()
        readable, _, _ = select.select([fd], [], [], timeout)
        if not readable:
            return b""
        try:
            return os.read(fd, 4096)
        except BlockingIOError:
            return b""

    def _write_all(self, data: bytes) -> None:
        fd = self._live()
        view = memoryview(data)
        while view:
            _, writable, _ = select.select([], [fd], [], 5.0)
            if not writable:
                raise TransportError(f"{self.options.port} takes no data")
            view = view[os.write(fd, view) :]

    def _drain(self) -> bytes:
        stale = b""
        while chunk := self._read_some(0):
            stale += chunk
        return stale


def open_transport(options: SerialOptions) -> ByteLink:
    """The transport for the node kind (AUTO: by the path), opened."""
    kind = options.kind
    if kind is NodeKind.AUTO:
        kind = NodeKind.USBLP if options.port.startswith("/dev/usb/lp") else NodeKind.TTY
    link: _Node = UsblpTransport(options) if kind is NodeKind.USBLP else SerialTransport(options)
    link.open()
    return link
