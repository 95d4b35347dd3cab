"""Tell systemd how a role is doing (sd_notify(3)), with the standard library only.

A unit with Type=notify is "started" only when the role says READY=1, and WatchdogSec=
restarts it when WATCHDOG=1 stops coming. Each role pings from the loop that proves it
is alive, every second or two (systemd ignores pings when a unit has no watchdog).
Outside systemd (no $NOTIFY_SOCKET: `appliance run`, the tests) every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


def socket_address(value: str) -> str | bytes | None:
    """The address in $NOTIFY_SOCKET: a path, or `@name` for the abstract namespace."""
    if value.startswith("@"):
        # Abstract sockets have no file; the kernel wants a leading NUL byte instead.
        return b"\0" + value[1:].encode()
    if value.startswith("/"):
        return value
    return None  # vsock and other schemes are not used by a box's service manager


class Notifier:
    """Sends state lines to the service manager; a no-op without an address."""

    def __init__(self, address: str | bytes | None) -> None:
        self.address = address
        self._ready = False
        self._failed = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Notifier:
        raw = environ.get("NOTIFY_SOCKET", "")
        return cls(socket_address(raw) if raw else None)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *lines: str) -> bool:
        """One datagram of newline-separated KEY=VALUE lines; False if it did not go."""
        if self.address is None:
            return False
        payload = "\n".join(lines).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self.address)
                sock.send(payload)
        except OSError as exc:
            # A lost notification must never stop a role; say so once, not every second.
            if not self._failed:
                log.warning("could not notify the service manager: %s", exc)
                self._failed = True
            return False
        self._failed = False
        return True

    def ready(self, status: str) -> bool:
        """READY=1 with a status line, once: a loop may call it every time round."""
        if not self._ready:
            self._ready = self.send("READY=1", f"STATUS={status}")
        return self._ready

    def status(self, text: str) -> bool:
        return self.send(f"STATUS={text}")

    def ping(self) -> bool:
        """WATCHDOG=1: the loop that proves the role is alive went round again."""
        return self.send("WATCHDOG=1")

    def stopping(self, status: str = "stopping") -> bool:
        return self.send("STOPPING=1", f"STATUS={status}")


def notifier() -> Notifier:
    """The role's notifier from this process's environment."""
    return Notifier.from_environ(os.environ)
