"""Shared fixtures: a real Kiln box (the `appliance` command) in a temporary directory."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import tomli_w

ROOT = Path(__file__).resolve().parent.parent
APPLIANCE = [sys.executable, "-m", "appliance"]


DCMTK_ENV = {**os.environ, "TCP_NODELAY": "1"}  # DCMTK leaves Nagle on without it


def children(pid: int, *, deep: bool = True) -> list[int]:
    """The processes `pid` started (from /proc); with `deep`, their descendants too."""
    found: list[int] = []
    pending = [pid]
    while pending:
        current = pending.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                continue
            found.extend(kids)
            if deep:
                pending.extend(kids)
    return found


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_for(predicate: Callable[[], object], timeout: float = 15.0, interval: float = 0.1) -> bool:
    """Poll `predicate()` until it is true or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


@dataclass
class Box:
    """A running dicom role with its own data directory and config file."""

    root: Path
    port: int
    web_port: int
    config_path: Path
    ae_title: str = "KILN"
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(default=Path())

    @property
    def data_dir(self) -> Path:
        return Path(tomllib.loads(self.config_path.read_text())["box"]["data_dir"])

    def db(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.data_dir / "kiln.db", timeout=30)
        conn.row_factory = sqlite3.Row
        return conn

    def count(self, sql: str, *params: object) -> int:
        with self.db() as conn:
            return int(conn.execute(sql, params).fetchone()[0])

    def files(self) -> list[Path]:
        return sorted((self.data_dir / "dicom").rglob("*.dcm"))

    def partials(self) -> list[Path]:
        """Named files left in incoming/ (the box writes unnamed O_TMPFILE files there)."""
        return sorted((self.data_dir / "incoming").glob("*"))

    def receiving(self) -> list[int]:
        """Sizes of the files the box's processes are writing in incoming/ right now."""
        if self.process is None:
            return []
        incoming = str(self.data_dir / "incoming")
        sizes = []
        for pid in [self.process.pid, *children(self.process.pid)]:
            fd_dir = Path(f"/proc/{pid}/fd")
            try:
                fds = list(fd_dir.iterdir())
            except OSError:
                continue
            for fd in fds:
                try:
                    if os.readlink(fd).startswith(incoming + "/"):
                        sizes.append(fd.stat().st_size)
                except OSError:
                    continue
        return sizes

    def start(self, role: str = "dicom") -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.log_path = self.root / f"{role}.log"
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [*APPLIANCE, "--config", str(self.config_path), "run", "--role", role],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
        wait_port(self.port if role in ("dicom", "all") else self.web_port)
        if role in ("dicom", "all"):
            self._wait_workers()

    def _wait_workers(self, timeout: float = 30.0) -> None:
        """The role listens before its workers accept; a C-ECHO proves they do."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = subprocess.run(
                ["echoscu", "-to", "5", "-aec", self.ae_title, "127.0.0.1", str(self.port)],
                capture_output=True,
                check=False,
            )
            if result.returncode == 0:
                return
            time.sleep(0.2)
        raise TimeoutError("the box does not answer C-ECHO")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        """Signal the role and wait until it and every process it started are gone."""
        assert self.process is not None
        family = [self.process.pid, *children(self.process.pid)]
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout)
        self.process = None
        wait_for(lambda: not any(alive(pid) for pid in family), timeout)
        return code

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def run_cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*APPLIANCE, "--config", str(self.config_path), *args],
            capture_output=True,
            text=True,
            check=check,
            cwd=ROOT,
            timeout=120,
        )


def write_config(
    root: Path, port: int, web_port: int, overrides: dict[str, dict[str, Any]] | None = None
) -> Path:
    """The test box's TOML: loopback only, no disk reserve, short idle time."""
    sections: dict[str, dict[str, Any]] = {
        "box": {"data_dir": str(root / "data")},
        "dicom": {"bind": "127.0.0.1", "port": port, "shutdown_grace": 5.0},
        "storage": {"reserve_mb": 0, "study_idle_seconds": 2.0},
        "web": {"bind": "127.0.0.1", "port": web_port},
        # Every test box gets its own HL7 port: boxes run side by side.
        "hl7": {"bind": "127.0.0.1", "port": free_port()},
    }
    for name, values in (overrides or {}).items():
        sections.setdefault(name, {}).update(values)
    path = root / "kiln.toml"
    path.write_text(tomli_w.dumps(sections))
    return path


@pytest.fixture
def box_factory(tmp_path: Path) -> Iterator[Callable[..., Box]]:
    """Make boxes; `overrides` are merged into the config sections."""
    boxes: list[Box] = []

    def make(
        overrides: dict[str, dict[str, Any]] | None = None, start: bool = True, role: str = "dicom"
    ) -> Box:
        root = tmp_path / f"box{len(boxes)}"
        root.mkdir()
        port, web_port = free_port(), free_port()
        box = Box(root, port, web_port, write_config(root, port, web_port, overrides))
        boxes.append(box)
        if start:
            box.start(role)
        return box

    yield make
    for box in boxes:
        if box.process is not None and box.process.poll() is None:
            box.stop(signal.SIGTERM, timeout=60)


@pytest.fixture
def box(box_factory: Callable[..., Box]) -> Box:
    return box_factory()
