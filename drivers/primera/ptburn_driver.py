"""`PtburnPublisher`: submit a disc job to a PTBurn host, follow it, cancel it.

The caller (the appliance's PTBurn station) turns what comes out into the station
contract: `RobotFault` by its `info.error_class` into a StationFault kind, `DiscRejected`
into DiscFailed, `PublisherOffline` into a retryable StationFault, `JobFailed` into a
fatal one. This module never makes operator sentences.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path, PurePosixPath

from drivers.primera.error_codes import ErrorClass, RobotErrorInfo
from drivers.primera.ptburn_errors import (
    DiscRejected,
    JobAborted,
    JobFailed,
    JobNotFound,
    JobTimeout,
    PtburnError,
    PublisherOffline,
    RobotFault,
    UnsupportedLabel,
)
from drivers.primera.ptburn_protocol import (
    JOB_ABORTED,
    LABEL_SUFFIXES,
    DiscError,
    ErrorScope,
    JobError,
    JobFileState,
    JobRequest,
    JobState,
    JobStatus,
    PtburnSystemStatus,
    RobotStatusFile,
    StatusStep,
    check_job_name,
    parse_job_request,
    parse_robot_status,
    parse_system_status,
    render_abort,
    render_job_request,
    to_host_path,
)
from drivers.primera.ptburn_transport import JobFolder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PtburnOptions:
    """How to reach the PTBurn host. Times are seconds; tests make them short."""

    host_root: str = "C:\\PTBurnJobs"  # the job folder as the PTBurn host names it
    client_id: str = "Kiln"
    robot_name: str | None = None  # None: the first robot PTBurn lists
    pickup_timeout: float = 30.0  # a .JRQ not renamed by then: PTBurn is not running
    stale_after: float = 30.0  # ServerTickCount not moving this long: PTBurn stopped
    poll_interval: float = 1.0
    retryable_grace: float = 10.0  # a retryable alarm that clears within this is ignored
    stop_on_reject: bool = True  # abort at the first rejected disc: Kiln counts redos
    print_quality: int | None = None
    burn_speed: int | None = None


@dataclass(frozen=True)
class PtburnJob:
    """One job: `copies` discs of one image, each labelled with the same artwork."""

    name: str  # the job file name without extension; unique in the folder
    image: Path  # the finished ISO image, burned as is
    copies: int = 1
    label: Path | None = None  # .png (converted to .bmp), .bmp, .jpg, .std or .prn
    bin_id: int | None = None  # the input bin holding the right media
    importance: int = 4  # 0 most important .. 9
    verify: bool = True
    title: str | None = None  # JobID shown at the PTBurn host; default: the name


class PublisherState(Enum):
    QUEUED = "queued"  # written, or accepted by PTBurn and waiting its turn
    IN_PROGRESS = "in progress"
    DONE = "done"
    FAILED = "failed"


_STATES = {
    JobFileState.SUBMITTED: PublisherState.QUEUED,
    JobFileState.QUEUED: PublisherState.QUEUED,
    JobFileState.IN_PROGRESS: PublisherState.IN_PROGRESS,
    JobFileState.DONE: PublisherState.DONE,
    JobFileState.FAILED: PublisherState.FAILED,
}

# Job errors that say the request or the host is wrong, not the disc: redoing the disc
# cannot help, so they end as JobFailed even when discs were rejected on the way.
_REQUEST_ERRORS = frozenset({1, 2, 4, 5, 6, 7, 8, 9, 15, 17, 21})

# How far into one disc each step is, for a progress bar (Kiln's estimate, not PTBurn's).
_STEP_FRACTION = {
    StatusStep.LOADING: 0.05,
    StatusStep.RECORDING: 0.4,
    StatusStep.VERIFYING: 0.75,
    StatusStep.PRINTING: 0.9,
    StatusStep.UNLOADING: 0.97,
}


@dataclass(frozen=True)
class PtburnProgress:
    job_name: str
    state: PublisherState
    picked_up: bool  # PTBurn has renamed the request
    copies: int
    copies_done: int
    bad_discs: int
    percent: float  # 0..100 over the whole job
    step: StatusStep | None
    status_text: str
    robot_error: RobotErrorInfo | None  # the robot's alarm while this job is open
    job_error: JobError | None
    disc_errors: tuple[DiscError, ...]
    final: bool  # the status file already shows the job's end (errors included)


Clock = Callable[[], float]


class PtburnPublisher:
    def __init__(
        self,
        folder: JobFolder,
        options: PtburnOptions,
        *,
        clock: Clock = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._folder = folder
        self._options = options
        self._clock = clock
        self._sleep = sleep
        self._submitted: dict[str, float] = {}  # job name -> when submitted (or first seen)
        self._tick: tuple[int | None, float] | None = None  # last ServerTickCount, seen at
        self._aborting: set[str] = set()  # jobs Kiln asked PTBurn to abort

    # --- submit -------------------------------------------------------------------------

    def submit(self, job: PtburnJob) -> str:
        """Stage the image (and label) in the job's subfolder, then write the request
        atomically. Returns the job id (its file name without extension)."""
        name = check_job_name(job.name)
        if not self._folder.exists():
            raise PublisherOffline(f"the PTBurn job folder {self._folder.root} is not there")
        if self._folder.job_file(name) is not None:
            raise PtburnError(f"a job named {name} is already in the job folder")
        label = self._stage_label(name, job.label) if job.label is not None else None
        image = self._folder.stage_file(name, job.image, f"disc{job.image.suffix.lower()}")
        host = self._options.host_root
        request = JobRequest(
            job_id=(job.title or name)[:32],
            client_id=self._options.client_id,
            image_file=to_host_path(host, PurePosixPath(name, image.name)),
            copies=job.copies,
            verify_disc=job.verify,
            importance=job.importance,
            print_label=to_host_path(host, PurePosixPath(name, label.name)) if label else None,
            print_quality=self._options.print_quality if label else None,
            bin_id=job.bin_id,
            robot_name=self._options.robot_name,
            burn_speed=self._options.burn_speed,
        )
        self._folder.write_atomic(
            f"{name}.{JobFileState.SUBMITTED.value}", render_job_request(request)
        )
        self._submitted[name] = self._clock()
        log.info("submitted PTBurn job %s (%d copies)", name, job.copies)
        return name

    def _stage_label(self, name: str, artwork: Path) -> Path:
        suffix = artwork.suffix.lower()
        if suffix in LABEL_SUFFIXES:
            return self._folder.stage_file(name, artwork, f"label{suffix}")
        if suffix != ".png":
            raise UnsupportedLabel(f"{artwork.name}: PTBurn prints .std, .jpg, .bmp, .prn")
        # PTBurn's documented label types do not include PNG; a BMP keeps every pixel.
        from PIL import Image

        converted = artwork.with_name(f".{artwork.stem}.kiln.bmp")
        try:
            with Image.open(artwork) as picture:
                picture.convert("RGB").save(converted, format="BMP")
            return self._folder.stage_file(name, converted, "label.bmp")
        finally:
            converted.unlink(missing_ok=True)

    # --- follow -------------------------------------------------------------------------

    def poll(self, job_id: str) -> PtburnProgress:
        """Where the job is now. PublisherOffline if PTBurn has not picked it up within
        the pickup timeout; JobNotFound if its file is gone."""
        found = self._folder.job_file(job_id)
        if found is None:
            raise JobNotFound(f"no job {job_id} in {self._folder.root}")
        file_state, path = found
        first_seen = self._submitted.setdefault(job_id, self._clock())
        if file_state is JobFileState.SUBMITTED:
            waited = self._clock() - first_seen
            if waited > self._options.pickup_timeout:
                raise PublisherOffline(f"PTBurn did not pick up job {job_id} within {waited:.0f} s")
        request_text = self._folder.read_text(path) or ""
        try:
            copies = parse_job_request(request_text).copies
        except ValueError:
            copies = 1  # a torn read while PTBurn renames: the next poll reads it whole
        state = _STATES[file_state]
        robot = self._robot_status()
        job = robot.job(job_id) if robot else None
        system = self._read_system_status()
        open_job = state in (PublisherState.QUEUED, PublisherState.IN_PROGRESS)
        robot_error = system.sys_error if system is not None and open_job else None
        return _progress(job_id, state, file_state, copies, job, robot_error)

    def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        on_progress: Callable[[PtburnProgress], None] | None = None,
    ) -> PtburnProgress:
        """Poll until the job is done; every other way it can end raises a typed error:
        RobotFault (an alarm; retryable ones only once they outlast the grace time),
        DiscRejected, JobFailed, JobAborted, PublisherOffline, JobTimeout. The job is
        left as it is (call `cancel` to give it up) except that with `stop_on_reject`
        a rejected disc aborts it, so that Kiln's runner owns the redo."""
        started = self._clock()
        retryable_since: float | None = None
        failed_since: float | None = None
        while True:
            progress = self.poll(job_id)
            if on_progress is not None:
                on_progress(progress)
            if progress.state is PublisherState.DONE:
                return progress
            if progress.state is PublisherState.FAILED:
                # PTBurn renames the request before it rewrites the status file: wait
                # (bounded) for the job's final section, which says why it failed.
                failed_since = self._clock() if failed_since is None else failed_since
                settled = self._clock() - failed_since > self._options.stale_after
                if progress.final or settled:
                    raise self._failure(progress)
                self._sleep(self._options.poll_interval)
                continue
            if progress.picked_up:
                self.system_status()  # PublisherOffline once PTBurn stops updating
            alarm = progress.robot_error
            now = self._clock()
            if alarm is not None:
                if alarm.error_class is not ErrorClass.RETRYABLE:
                    raise RobotFault(alarm, job_id)
                retryable_since = now if retryable_since is None else retryable_since
                if now - retryable_since >= self._options.retryable_grace:
                    raise RobotFault(alarm, job_id)
            else:
                retryable_since = None
            aborting = job_id in self._aborting
            if self._options.stop_on_reject and progress.disc_errors and not aborting:
                self.cancel(job_id)
                raise DiscRejected(job_id, progress.disc_errors[-1], progress.copies_done)
            if timeout is not None and now - started > timeout:
                raise JobTimeout(f"job {job_id} did not end within {timeout:.0f} s")
            self._sleep(self._options.poll_interval)

    def _failure(self, progress: PtburnProgress) -> PtburnError:
        error = progress.job_error
        if error is not None and error.number == JOB_ABORTED:
            return JobAborted(f"job {progress.job_name} was aborted")
        if progress.disc_errors and (error is None or error.number not in _REQUEST_ERRORS):
            # Failed after rejects ("too many discs were rejected"): a disc problem.
            last = progress.disc_errors[-1]
            return DiscRejected(progress.job_name, last, progress.copies_done)
        if error is not None and error.scope is ErrorScope.DISC:
            disc = DiscError(progress.copies_done + 1, error)
            return DiscRejected(progress.job_name, disc, progress.copies_done)
        if progress.robot_error is not None:
            return RobotFault(progress.robot_error, progress.job_name)
        return JobFailed(progress.job_name, error)

    # --- cancel and clean up ----------------------------------------------------------

    def cancel(self, job_id: str) -> None:
        """Give the job up. Not yet picked up: its request is withdrawn. Otherwise a .PTM
        asks PTBurn to abort it (PTBurn reads messages about every ten seconds)."""
        found = self._folder.job_file(job_id)
        if found is None or found[0] in (JobFileState.DONE, JobFileState.FAILED):
            return
        if found[0] is JobFileState.SUBMITTED:
            try:
                found[1].unlink()
                self._folder.remove_job(job_id)
                log.info("withdrew PTBurn job %s before pickup", job_id)
                return
            except FileNotFoundError:
                pass  # PTBurn renamed it just now: abort it instead
        self._folder.write_atomic(f"{job_id}.PTM", render_abort(self._options.client_id))
        self._aborting.add(job_id)
        log.info("asked PTBurn to abort job %s", job_id)

    def cleanup(self, job_id: str) -> None:
        """Remove the job's files once the caller has its outcome."""
        self._folder.remove_job(job_id)
        self._submitted.pop(job_id, None)
        self._aborting.discard(job_id)

    # --- status -------------------------------------------------------------------------

    def system_status(self) -> PtburnSystemStatus:
        """SystemStatus.txt, checked for life: PublisherOffline if it is missing, says
        the host is offline, or its ServerTickCount has not moved for `stale_after`."""
        status = self._read_system_status()
        if status is None:
            raise PublisherOffline(f"no PTBurn status in {self._folder.status_dir}")
        now = self._clock()
        tick = status.server_tick_count
        if self._tick is None or self._tick[0] != tick:
            self._tick = (tick, now)
        elif now - self._tick[1] > self._options.stale_after:
            raise PublisherOffline(
                f"PTBurn has not updated its status for {now - self._tick[1]:.0f} s"
            )
        robot = self._robot_status()
        if robot is not None and robot.system_status.lower() == "offline":
            raise PublisherOffline("PTBurn reports the robot software offline")
        return status

    def _read_system_status(self) -> PtburnSystemStatus | None:
        text = self._folder.read_status()
        return parse_system_status(text) if text else None

    def _robot_status(self) -> RobotStatusFile | None:
        system = self._read_system_status()
        robot = system.robot(self._options.robot_name) if system else None
        if robot is None:
            return None
        text = self._folder.read_status(robot.status_file)
        return parse_robot_status(text) if text else None


def _progress(
    job_id: str,
    state: PublisherState,
    file_state: JobFileState,
    copies: int,
    job: JobStatus | None,
    robot_error: RobotErrorInfo | None,
) -> PtburnProgress:
    # .DON means every copy is made, even if the status file is not rewritten yet.
    done = copies if state is PublisherState.DONE else (job.good_discs if job else 0)
    step = job.step if job else None
    fraction = _STEP_FRACTION.get(step, 0.0) if step is not None else 0.0
    if state is PublisherState.DONE:
        percent = 100.0
    else:
        percent = min(100.0, 100.0 * (done + fraction) / max(copies, 1))
    return PtburnProgress(
        job_name=job_id,
        state=state,
        picked_up=file_state is not JobFileState.SUBMITTED,
        copies=copies,
        copies_done=done,
        bad_discs=job.bad_discs if job else 0,
        percent=percent,
        step=step,
        status_text=job.current_status if job else "",
        robot_error=robot_error,
        job_error=job.job_error if job else None,
        disc_errors=job.disc_errors if job else (),
        final=job is not None and job.state in (JobState.COMPLETED, JobState.FAILED),
    )
