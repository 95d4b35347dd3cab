"""xorriso as a subprocess: runs one argument list and hands back its text (and data).

The command is an argv prefix from configuration: `("xorriso",)` for a real drive, or
`(python, "-m", "drivers.optical.sim_xorriso", "--state", DIR, "--")` for the simulator,
so the driver above is the same code for both. Everything xorriso says is logged to the
`drivers.optical.traffic` logger at DEBUG (device traffic: off unless asked for).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO

from drivers.optical.errors import DriveError, XorrisoMissing

traffic = logging.getLogger("drivers.optical.traffic")

LineSink = Callable[[str], None]
DataSink = Callable[[bytes], None]
CHUNK = 1 << 20


@dataclass(frozen=True)
class XorrisoRun:
    argv: tuple[str, ...]
    exit_code: int
    output: str  # stdout and stderr as one text (stderr alone when stdout carried data)


class XorrisoTransport:
    def __init__(
        self, command: Sequence[str] = ("xorriso",), *, env: dict[str, str] | None = None
    ) -> None:
        if not command:
            raise ValueError("the xorriso command is empty")
        self._command = tuple(command)
        # C locale: xorriso's messages are parsed, and they must not be translated
        self._env = {**(env if env is not None else os.environ), "LC_ALL": "C"}

    @property
    def command(self) -> tuple[str, ...]:
        return self._command

    def run(
        self, args: Sequence[str], *, timeout: float, on_line: LineSink | None = None
    ) -> XorrisoRun:
        """Run xorriso with `args`; each output line goes to `on_line` as it arrives."""
        argv = (*self._command, *args)
        process = self._start(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        lines: list[str] = []
        with _Watchdog(process, timeout) as watchdog:
            assert process.stdout is not None
            _read_lines(process.stdout, lines, on_line)
            exit_code = process.wait()
        return self._finish(argv, exit_code, lines, watchdog.fired, timeout)

    def read(
        self,
        args: Sequence[str],
        sink: DataSink,
        *,
        timeout: float,
        on_line: LineSink | None = None,
    ) -> XorrisoRun:
        """Run xorriso whose standard output is data (`-check_media data_to=-`): the data
        goes to `sink` chunk by chunk, the messages (stderr) to `on_line`."""
        argv = (*self._command, *args)
        process = self._start(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        lines: list[str] = []
        assert process.stdout is not None and process.stderr is not None
        messages = threading.Thread(
            target=_read_lines, args=(process.stderr, lines, on_line), daemon=True
        )
        messages.start()
        with _Watchdog(process, timeout) as watchdog:
            while chunk := process.stdout.read(CHUNK):
                sink(chunk)
            exit_code = process.wait()
            messages.join()
        return self._finish(argv, exit_code, lines, watchdog.fired, timeout)

    def _start(self, argv: tuple[str, ...], *, stdout: int, stderr: int) -> subprocess.Popen[bytes]:
        traffic.debug("run: %s", " ".join(argv))
        try:
            return subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                env=self._env,
                start_new_session=True,  # a timeout kills xorriso and any child it has
            )
        except FileNotFoundError as error:
            raise XorrisoMissing(f"{argv[0]} was not found: {error.strerror}") from error
        except PermissionError as error:
            raise XorrisoMissing(f"{argv[0]} cannot be run: {error.strerror}") from error

    def _finish(
        self,
        argv: tuple[str, ...],
        exit_code: int,
        lines: list[str],
        timed_out: bool,
        timeout: float,
    ) -> XorrisoRun:
        output = "\n".join(lines)
        traffic.debug("exit %d", exit_code)
        if timed_out:
            raise DriveError(
                f"xorriso did not finish within {timeout:.0f} s and was stopped",
                detail=output,
                exit_code=exit_code,
            )
        return XorrisoRun(argv, exit_code, output)


def _read_lines(stream: IO[bytes], lines: list[str], on_line: LineSink | None) -> None:
    """Collect text lines; xorriso's pacifier may end a line with CR instead of LF."""
    pending = b""
    while chunk := os.read(stream.fileno(), 65536):
        pending += chunk
        *complete, pending = pending.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        for item in complete:
            _emit(item, lines, on_line)
    if pending:
        _emit(pending, lines, on_line)


def _emit(item: bytes, lines: list[str], on_line: LineSink | None) -> None:
    line = item.decode("utf-8", "replace")
    lines.append(line)
    traffic.debug("| %s", line)
    if on_line is not None:
        on_line(line)


class _Watchdog:
    """Kills the process group when the deadline passes (bounded waits, no polling)."""

    def __init__(self, process: subprocess.Popen[bytes], timeout: float) -> None:
        self._process = process
        self._timer = threading.Timer(timeout, self._kill)
        self._timer.daemon = True
        self.fired = False

    def _kill(self) -> None:
        self.fired = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGKILL)

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        if self._process.poll() is None:
            self._kill()
            self._process.wait()
