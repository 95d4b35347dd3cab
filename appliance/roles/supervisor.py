"""`appliance run`: start each role as its own process, restart a role that dies."""

from __future__ import annotations

import ctypes
import logging
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType

log = logging.getLogger(__name__)

ROLES = ("dicom", "devices", "web")
RESTART_DELAY = 2.0
STOP_TIMEOUT = 30.0


def _command(role: str, config_path: Path | None) -> list[str]:
    command = [sys.executable, "-m", "appliance"]
    if config_path is not None:
        command += ["--config", str(config_path)]
    return [*command, "run", "--role", role]


PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the role's process before exec: SIGTERM it when `appliance run` dies, even by
    SIGKILL, so a killed supervisor leaves no role holding the ports (Linux prctl)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _start(role: str, config_path: Path | None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(_command(role, config_path), preexec_fn=_die_with_parent)  # noqa: PLW1509 - no threads yet


def supervise(roles: tuple[str, ...], config_path: Path | None) -> int:
    stop = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    for role in roles:
        processes[role] = _start(role, config_path)
        log.info("started role %s (pid %d)", role, processes[role].pid)
    try:
        while not stop.wait(0.5):
            for role, process in list(processes.items()):
                code = process.poll()
                if code is not None and not stop.is_set():
                    log.error(
                        "role %s exited with %s; restarting in %.0f s", role, code, RESTART_DELAY
                    )
                    time.sleep(RESTART_DELAY)
                    processes[role] = _start(role, config_path)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        for role, process in processes.items():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("role %s did not stop in time; killing it", role)
                process.kill()
                process.wait()
    return 0
