"""sd_notify against real unix datagram sockets, and each role started with NOTIFY_SOCKET:
READY=1 only once it serves, WATCHDOG=1 from its alive loop, STOPPING=1 on SIGTERM."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from appliance.roles.sd_notify import Notifier, socket_address
from tests.conftest import APPLIANCE, ROOT, Box

# The loop each role pings from, and the longest gap the test allows between two pings
# (the loop's period plus the time one pass may take on a loaded two-core runner).
PING_GAP = {"dicom": 3.0, "devices": 5.0, "web": 3.0}


@dataclass
class Peer:
    """A stand-in for the service manager's notification socket."""

    sock: socket.socket
    received: list[tuple[float, list[str]]] = field(default_factory=list)

    def next(self, timeout: float) -> list[str] | None:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except TimeoutError:
            return None
        lines = data.decode().split("\n")
        self.received.append((time.monotonic(), lines))
        return lines

    def wait_for(self, line: str, timeout: float) -> float:
        """The time the first message holding `line` arrived."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            lines = self.next(left)
            if lines is not None and line in lines:
                return self.received[-1][0]
        raise AssertionError(f"no {line} within {timeout} s; got {self.received}")


@pytest.fixture
def path_peer(tmp_path: Path) -> Iterator[tuple[str, Peer]]:
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        yield path, Peer(sock)


@pytest.fixture
def abstract_peer() -> Iterator[tuple[str, Peer]]:
    name = f"kiln-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        yield "@" + name, Peer(sock)


def test_ready_status_watchdog_stopping_over_a_path_socket(
    path_peer: tuple[str, Peer],
) -> None:
    address, peer = path_peer
    notify = Notifier.from_environ({"NOTIFY_SOCKET": address})
    assert notify.enabled
    assert notify.ready("listening on 0.0.0.0:104")
    assert peer.next(2) == ["READY=1", "STATUS=listening on 0.0.0.0:104"]
    assert notify.ready("again")  # already ready: nothing more is sent
    assert notify.ping()
    assert peer.next(2) == ["WATCHDOG=1"]
    assert notify.status("2 studies waiting")
    assert peer.next(2) == ["STATUS=2 studies waiting"]
    assert notify.stopping()
    assert peer.next(2) == ["STOPPING=1", "STATUS=stopping"]
    assert peer.next(0.2) is None


def test_abstract_namespace_socket(abstract_peer: tuple[str, Peer]) -> None:
    address, peer = abstract_peer
    assert socket_address(address) == b"\0" + address[1:].encode()
    assert Notifier.from_environ({"NOTIFY_SOCKET": address}).ping()
    assert peer.next(2) == ["WATCHDOG=1"]


def test_without_notify_socket_nothing_is_sent() -> None:
    notify = Notifier.from_environ({})
    assert not notify.enabled
    assert not notify.ready("x") and not notify.ping() and not notify.stopping()
    assert socket_address("vsock:2:1234") is None


def test_a_missing_socket_is_reported_once_and_never_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notify = Notifier(str(tmp_path / "gone"))
    with caplog.at_level(logging.WARNING, logger="appliance.roles.sd_notify"):
        assert not notify.ping()
        assert not notify.ping()
        assert not notify.ready("x")
    assert len(caplog.records) == 1
    assert "could not notify the service manager" in caplog.records[0].getMessage()


def _start(box: Box, role: str, address: str) -> subprocess.Popen[bytes]:
    box.log_path = box.root / f"{role}.log"
    with box.log_path.open("ab") as log:
        box.process = subprocess.Popen(
            [*APPLIANCE, "--config", str(box.config_path), "run", "--role", role],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NOTIFY_SOCKET": address, "PYTHONUNBUFFERED": "1"},
            cwd=ROOT,
        )
    return box.process


def _echo(box: Box) -> int:
    command = ["echoscu", "-to", "5", "-aec", "KILN", "127.0.0.1", str(box.port)]
    return subprocess.run(command, capture_output=True, check=False, timeout=30).returncode


def _web_status(box: Box) -> int:
    url = f"http://127.0.0.1:{box.web_port}/api/status"
    with urllib.request.urlopen(url, timeout=10) as rsp:
        return int(rsp.status)


def _devices_beat(box: Box) -> bool:
    return box.count("SELECT COUNT(*) FROM role_heartbeats WHERE role = 'devices'") == 1


# What "serving" means for each role, checked the moment READY=1 arrives, with no retry.
SERVING: dict[str, Callable[[Box], bool]] = {
    "dicom": lambda box: _echo(box) == 0,
    "web": lambda box: _web_status(box) == 200,
    "devices": lambda box: box.process is not None and box.process.poll() is None,
}


@pytest.mark.parametrize("role", ["dicom", "devices", "web"])
def test_role_notifies_ready_watchdog_and_stopping(
    role: str, box_factory: Callable[..., Box], abstract_peer: tuple[str, Peer]
) -> None:
    address, peer = abstract_peer
    box = box_factory(start=False)
    process = _start(box, role, address)

    peer.wait_for("READY=1", 90)
    assert SERVING[role](box), box.log()
    ready_status = next(lines for _, lines in peer.received if "READY=1" in lines)
    assert any(line.startswith("STATUS=") for line in ready_status)

    first = peer.wait_for("WATCHDOG=1", PING_GAP[role])
    second = peer.wait_for("WATCHDOG=1", PING_GAP[role])
    assert second - first <= PING_GAP[role]
    if role == "devices":  # its heartbeat (and the ping) come from the same loop
        assert _devices_beat(box)

    process.send_signal(signal.SIGTERM)
    peer.wait_for("STOPPING=1", 30)
    # uvicorn re-raises the SIGTERM it handled once it has shut down cleanly.
    assert process.wait(60) in (0, -signal.SIGTERM)
    box.process = None
