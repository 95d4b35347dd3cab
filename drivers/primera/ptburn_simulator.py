"""A behavioural PTBurn host on a folder, for tests and the demo box.

It follows the file protocol of `ptburn_protocol.py` as PTBurn does: picks up `*.JRQ`
(renamed .QRJ, then .INP), makes the discs one at a time (pick from the input bin, record,
verify, print, unload) and ends the request as .DON or .ERR; it obeys `Message=ABORT`
.PTM files and keeps Status/SystemStatus.txt and Status/<robot>.txt current, with bins,
ink and the robot's system error. "Recording" copies the image into the output folder
(one file per good disc, `<job>-<n>.iso`, at a set speed) so a test can read the disc back;
a rejected disc goes to `<output>/reject/`.

Faults, by `inject()` or by a line in `<folder>/kiln-sim-faults.txt` (read and removed):
input-empty, pick-failure, cover-open (mid-recording), ink-out, not-blank, write-error,
verify-mismatch, offline (stops answering: no renames, no status). Robot alarms hold the
job until cleared (`clear()`, or a `clear` line); pick-failure clears by itself.

Run it as a thread (`start()`/`stop()`) or a process:
`python -m drivers.primera.ptburn_simulator FOLDER [--output DIR] [--speed BYTES_PER_S]`.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import signal
import threading
import time
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from types import FrameType

from drivers.primera.error_codes import NO_ERROR, describe
from drivers.primera.ptburn_protocol import (
    ADMINISTRATOR,
    JOB_ABORTED,
    JOB_ERRORS,
    STATUS_DIR,
    SYSTEM_STATUS_FILE,
    TOO_MANY_REJECTS,
    JobFileState,
    JobRequest,
    StatusStep,
    from_host_path,
    job_file_state,
    parse_job_request,
    parse_message,
    render_ini,
)

log = logging.getLogger(__name__)
FAULT_FILE = "kiln-sim-faults.txt"
INPUT_EMPTY, PICK, COVER_OPEN, INK_OUT = 3, 8, 15, 51  # PTRobot system errors
NOT_BLANK, WRITE_ERROR, VERIFY_ERROR = 12, 18, 19  # PTBurn disc errors
BAD_FILES, BAD_PRINT_FILE = 4, 7  # PTBurn job errors


class SimFault(StrEnum):
    INPUT_EMPTY = "input-empty"
    PICK_FAILURE = "pick-failure"
    COVER_OPEN = "cover-open"
    INK_OUT = "ink-out"
    NOT_BLANK = "not-blank"
    WRITE_ERROR = "write-error"
    VERIFY_MISMATCH = "verify-mismatch"
    OFFLINE = "offline"


_DISC_FAULTS = {
    SimFault.NOT_BLANK: NOT_BLANK,
    SimFault.WRITE_ERROR: WRITE_ERROR,
    SimFault.VERIFY_MISMATCH: VERIFY_ERROR,
}


@dataclass(frozen=True)
class SimulatorOptions:
    output_dir: Path  # the "discs": one image file per good disc
    host_root: str = "C:\\PTBurnJobs"  # what the requests call the job folder
    robot_name: str = "Disc Publisher SE"
    robot_type: int = 6  # the SDK's RobotType of a Disc Publisher SE
    bytes_per_second: float = 200e6
    poll_interval: float = 0.02
    left_bin: int = 50  # blank discs in the input (left) bin
    right_bin: int = 0
    ink_black: int = 80
    ink_color: int = 80
    reject_limit: int = 3  # rejects in a row before the job fails (error 20)
    transient_seconds: float = 0.3  # how long a pick failure shows before it clears


class _Phase(Enum):
    LOADING = StatusStep.LOADING
    RECORDING = StatusStep.RECORDING
    VERIFYING = StatusStep.VERIFYING
    PRINTING = StatusStep.PRINTING
    UNLOADING = StatusStep.UNLOADING


@dataclass
class _Job:
    name: str
    request: JobRequest
    path: Path  # the request file, under its current extension
    good: int = 0
    bad: int = 0
    rejects_in_a_row: int = 0
    phase: _Phase = _Phase.LOADING
    written: int = 0
    disc_fault: int | None = None
    disc_errors: list[tuple[int, int]] = field(default_factory=list)  # (disc, error)
    job_error: int = 0
    state: int = 0  # JobState


class PtburnSimulator:
    def __init__(self, folder: Path, options: SimulatorOptions) -> None:
        self.folder = folder
        self.options = options
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._queue: list[_Job] = []
        self._current: _Job | None = None
        self._completed: list[_Job] = []
        self._bins = [options.left_bin, options.right_bin]
        self._ink = [options.ink_black, options.ink_color]
        self._pending: set[SimFault] = set()
        self._sys_error = NO_ERROR
        self._error_until: float | None = None  # a transient alarm clears by itself
        self._offline = False
        self._tick0 = time.monotonic()
        self._last_step = time.monotonic()

    # --- control (any thread) -----------------------------------------------------------

    def inject(self, fault: SimFault) -> None:
        with self._lock:
            if fault is SimFault.OFFLINE:
                self._offline = True
            elif fault is SimFault.INPUT_EMPTY:
                self._bins = [0, 0]
            elif fault is SimFault.INK_OUT:
                self._ink = [0, 0]
            else:
                self._pending.add(fault)

    def clear(self) -> None:
        """The operator fixed it: cover closed, discs loaded, ink replaced, back online."""
        with self._lock:
            self._sys_error = NO_ERROR
            self._error_until = None
            self._offline = False
            self._pending.discard(SimFault.COVER_OPEN)
            if self._bins == [0, 0]:
                self._bins = [self.options.left_bin or 50, self.options.right_bin]
            if self._ink == [0, 0]:
                self._ink = [100, 100]

    @property
    def bins(self) -> tuple[int, int]:
        with self._lock:
            return (self._bins[0], self._bins[1])

    def request_stop(self) -> None:
        self._stop.set()

    def start(self) -> PtburnSimulator:
        self._thread = threading.Thread(target=self.run, name="ptburn-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def run(self) -> None:
        (self.folder / STATUS_DIR).mkdir(parents=True, exist_ok=True)
        (self.options.output_dir / "reject").mkdir(parents=True, exist_ok=True)
        while not self._stop.is_set():
            self.step()
            self._stop.wait(self.options.poll_interval)

    # --- one tick -----------------------------------------------------------------------

    def step(self) -> None:
        now = time.monotonic()
        elapsed, self._last_step = now - self._last_step, now
        self._read_fault_file()
        with self._lock:
            if self._offline:
                return
            if self._error_until is not None and now >= self._error_until:
                self._sys_error, self._error_until = NO_ERROR, None
            self._read_messages()
            self._discover()
            if self._current is None and self._queue:
                self._queue.sort(key=lambda job: job.request.importance)
                self._current = self._queue.pop(0)
                self._current.path = self._rename(self._current.path, JobFileState.IN_PROGRESS)
                self._current.state = 1
            if self._current is not None and self._sys_error == NO_ERROR:
                self._advance(self._current, elapsed)
            self._write_status(now)

    def _read_fault_file(self) -> None:
        path = self.folder / FAULT_FILE
        try:
            lines = path.read_text().split()
            if not lines:
                return  # caught between truncate and write: read it next tick
            path.unlink()
        except OSError:
            return
        for line in lines:
            if line == "clear":
                self.clear()
            else:
                self.inject(SimFault(line))

    def _read_messages(self) -> None:
        for path in self.folder.glob("*.[Pp][Tt][Mm]"):
            try:
                message, client = parse_message(path.read_text())
                path.unlink()
            except OSError:
                continue
            job = next(
                (j for j in [self._current, *self._queue] if j and j.name == path.stem), None
            )
            if message == "ABORT" and job and client in (job.request.client_id, ADMINISTRATOR):
                self._drop_unfinished_disc(job)
                self._finish(job, JOB_ABORTED)

    def _discover(self) -> None:
        for path in sorted(self.folder.iterdir()):
            parsed = job_file_state(path.name)
            if parsed is None or parsed[1] is not JobFileState.SUBMITTED:
                continue
            try:
                request = parse_job_request(path.read_text())
            except (OSError, ValueError):
                request = None
            queued = self._rename(path, JobFileState.QUEUED)
            if request is None:
                job = _Job(parsed[0], JobRequest("invalid", "Unknown", image_file="-"), queued)
                self._finish(job, 8)  # the job request file is invalid
                continue
            self._queue.append(_Job(parsed[0], request, queued))

    def _advance(self, job: _Job, elapsed: float) -> None:
        options = self.options
        if job.phase is _Phase.LOADING:
            source = self._local(job.request.image_file)
            if source is None or not source.is_file():
                self._finish(job, BAD_FILES)
                return
            label = job.request.print_label
            if label is not None and (self._local(label) is None or not self._has(label)):
                self._finish(job, BAD_PRINT_FILE)
                return
            input_bin = 1 if job.request.bin_id == 2 else 0
            if self._bins[input_bin] <= 0:
                self._sys_error = INPUT_EMPTY
                return
            if SimFault.PICK_FAILURE in self._pending:
                self._pending.discard(SimFault.PICK_FAILURE)
                self._sys_error = PICK
                self._error_until = time.monotonic() + options.transient_seconds
                return
            self._bins[input_bin] -= 1
            for fault, error in _DISC_FAULTS.items():
                if fault in self._pending:
                    self._pending.discard(fault)
                    job.disc_fault = error
                    break
            if job.disc_fault == NOT_BLANK:
                self._reject(job)
                return
            job.phase, job.written = _Phase.RECORDING, 0
            self._disc_path(job).unlink(missing_ok=True)
        elif job.phase is _Phase.RECORDING:
            source = self._local(job.request.image_file)
            assert source is not None
            size = source.stat().st_size
            chunk = max(1, int(options.bytes_per_second * max(elapsed, options.poll_interval)))
            with open(source, "rb") as src, open(self._disc_path(job), "ab") as disc:
                src.seek(job.written)
                data = src.read(chunk)
                disc.write(data)
            job.written += len(data)
            if SimFault.COVER_OPEN in self._pending and job.written >= size // 2:
                self._sys_error = COVER_OPEN  # held until clear(); then recording goes on
                return
            if job.disc_fault == WRITE_ERROR and job.written >= size // 2:
                self._reject(job)  # the drive gave up half way: a truncated disc
                return
            if job.written >= size:
                job.phase = _Phase.VERIFYING
        elif job.phase is _Phase.VERIFYING:
            if job.disc_fault == VERIFY_ERROR:
                self._corrupt(self._disc_path(job))
                self._reject(job)
                return
            job.phase = _Phase.PRINTING if job.request.print_label else _Phase.UNLOADING
        elif job.phase is _Phase.PRINTING:
            if min(self._ink) <= 0:
                self._sys_error = INK_OUT
                return
            artwork = self._local(job.request.print_label)
            assert artwork is not None
            printed = self._disc_path(job).with_suffix(".label" + artwork.suffix)
            printed.write_bytes(artwork.read_bytes())
            self._ink = [max(0, level - 1) for level in self._ink]
            job.phase = _Phase.UNLOADING
        else:
            job.good += 1
            job.rejects_in_a_row = 0
            job.phase, job.disc_fault = _Phase.LOADING, None
            if job.good >= job.request.copies:
                self._finish(job, 0)

    def _reject(self, job: _Job) -> None:
        disc = self._disc_path(job)
        if disc.exists():
            os.replace(disc, self.options.output_dir / "reject" / disc.name)
        assert job.disc_fault is not None
        job.disc_errors.append((job.good + job.bad + 1, job.disc_fault))
        job.bad += 1
        job.rejects_in_a_row += 1
        job.phase, job.disc_fault = _Phase.LOADING, None
        if job.rejects_in_a_row >= self.options.reject_limit:
            self._finish(job, TOO_MANY_REJECTS)

    def _drop_unfinished_disc(self, job: _Job) -> None:
        # An aborted job's disc in the drive is half written: the robot puts it in the
        # reject bin, never among the finished discs.
        disc = self._disc_path(job)
        if job.phase is not _Phase.LOADING and disc.exists():
            os.replace(disc, self.options.output_dir / "reject" / disc.name)

    def _finish(self, job: _Job, error: int) -> None:
        job.job_error = error
        job.state = 2 if error == 0 else 3
        final = JobFileState.DONE if error == 0 else JobFileState.FAILED
        job.path = self._rename(job.path, final)
        if job.request.delete_files:
            for item in [job.request.image_file, job.request.print_label]:
                local = self._local(item)
                # DeleteFiles removes the job's subfolder, never the job folder itself.
                if local is not None and local.parent != self.folder:
                    shutil.rmtree(local.parent, ignore_errors=True)
        if job is self._current:
            self._current = None
        if job in self._queue:
            self._queue.remove(job)
        self._completed.insert(0, job)

    # --- helpers ------------------------------------------------------------------------

    def _rename(self, path: Path, state: JobFileState) -> Path:
        target = path.with_name(f"{path.stem}.{state.value}")
        with contextlib.suppress(FileNotFoundError):  # withdrawn by the client just now
            os.replace(path, target)
        return target

    def _local(self, host_path: str | None) -> Path | None:
        if host_path is None:
            return None
        try:
            return self.folder.joinpath(*from_host_path(self.options.host_root, host_path).parts)
        except ValueError:
            return None

    def _has(self, host_path: str) -> bool:
        local = self._local(host_path)
        return local is not None and local.is_file()

    def _disc_path(self, job: _Job) -> Path:
        return self.options.output_dir / f"{job.name}-{job.good + job.bad + 1}.iso"

    @staticmethod
    def _corrupt(path: Path) -> None:
        if path.exists() and path.stat().st_size:
            with open(path, "r+b") as disc:
                first = disc.read(1)
                disc.seek(0)
                disc.write(bytes([first[0] ^ 0xFF]))

    def _write_status(self, now: float) -> None:
        options = self.options
        error = self._sys_error
        status_text = "System OK" if error == NO_ERROR else describe(error).description
        robot = [
            ("SystemDrives", 1),
            ("RobotType", options.robot_type),
            ("NumJobs", len(self._queue) + (1 if self._current else 0)),
            ("Status", status_text),
            ("StatusFile", f"{options.robot_name}.txt"),
            ("DiscsInLeftBin", self._bins[0]),
            ("DiscsInRightBin", self._bins[1]),
            ("CartridgeType0", 2),
            ("CartridgeFill0", self._ink[0]),
            ("CartridgeType1", 1),
            ("CartridgeFill1", self._ink[1]),
        ]
        system = [
            ("SysErrorNumber", error),
            ("SysErrorString", "" if error == NO_ERROR else describe(error).description),
            ("ServerTickCount", int((now - self._tick0) * 1000)),
            ("ServerTime", time.strftime("%m/%d/%Y %H:%M:%S")),
            ("PtburnSWVer", "kiln-simulator"),
        ]
        self._write(
            SYSTEM_STATUS_FILE,
            render_ini(
                [
                    ("RobotList", [("Robot0", options.robot_name)]),
                    (options.robot_name, robot),
                    ("System", system),
                ]
            ),
        )
        active = [j for j in [self._current, *self._queue] if j is not None]
        sections: list[tuple[str, list[tuple[str, object]]]] = [
            ("JobList", [(f"Job{i}", j.name) for i, j in enumerate(active)]),
            ("CompletedJobs", [(f"Job{i}", j.name) for i, j in enumerate(self._completed)]),
        ]
        sections += [(j.name, self._job_keys(j, ahead=i)) for i, j in enumerate(active)]
        sections += [(j.name, self._job_keys(j, ahead=0)) for j in self._completed]
        sections.append(("System", [("SystemStatus", status_text), ("SysErrorNumber", error)]))
        self._write(f"{options.robot_name}.txt", render_ini(sections))

    def _job_keys(self, job: _Job, ahead: int) -> list[tuple[str, object]]:
        step = (
            job.phase.value
            if job.state == 1 and job is self._current
            else StatusStep.COMPLETE
            if job.state == 2
            else StatusStep.FAILED
            if job.state == 3
            else StatusStep.INITIALIZING
        )
        keys: list[tuple[str, object]] = [
            ("JobID", job.request.job_id),
            ("ClientID", job.request.client_id),
            ("JobsAhead", ahead),
            ("DiscsRemaining", max(0, job.request.copies - job.good)),
            ("GoodDiscs", job.good),
            ("BadDiscs", job.bad),
            ("CurrentStatus", step.name.replace("_", " ").capitalize()),
            ("CurrentStatusState", step.value),
            ("JobState", job.state),
        ]
        if job.job_error:
            keys += [
                ("JobErrorNumber", job.job_error),
                ("JobErrorString", JOB_ERRORS[job.job_error][0]),
            ]
        for index, (disc, error) in enumerate(job.disc_errors[:10]):
            keys += [
                (f"DiscErrorIndex{index}", disc),
                (f"DiscErrorNumber{index}", error),
                (f"DiscErrorString{index}", JOB_ERRORS[error][0]),
            ]
        return keys

    def _write(self, name: str, text: str) -> None:
        target = self.folder / STATUS_DIR / name
        temporary = target.with_name(f".{name}.tmp")
        temporary.write_text(text)
        os.replace(temporary, target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A simulated PTBurn host on a job folder.")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--output", type=Path, help="where discs go (default FOLDER/../discs)")
    parser.add_argument("--speed", type=float, default=200e6, help="bytes per second")
    parser.add_argument("--poll", type=float, default=0.02, help="seconds between scans")
    parser.add_argument("--host-root", default="C:\\PTBurnJobs")
    arguments = parser.parse_args(argv)
    folder: Path = arguments.folder
    options = SimulatorOptions(
        output_dir=arguments.output or folder.parent / "discs",
        host_root=arguments.host_root,
        bytes_per_second=arguments.speed,
        poll_interval=arguments.poll,
    )
    simulator = PtburnSimulator(folder, options)

    def stop(_signal: int, _frame: FrameType | None) -> None:
        simulator.request_stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logging.basicConfig(level=logging.INFO)
    simulator.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
