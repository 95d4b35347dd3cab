"""A Primera robot run by Primera's PTBurn host, fed through its job folder.

One order is one PTBurn job (`copies` discs of one image, each labelled with the order's
artwork). PTBurn picks, burns, verifies, prints and unloads by itself; the station follows
the job and turns how it ends into the station contract:

- a robot alarm (`RobotFault`): its class decides the kind — operator-fixable -> OPERATOR,
  retryable -> RETRY, fatal -> FATAL — with the shared table's sentence;
- a rejected disc (`DiscRejected`) -> DiscFailed (PTBurn put it in the reject bin);
- PTBurn not answering (`PublisherOffline`) -> RETRY; a job PTBurn refused (`JobFailed`)
  -> FATAL: resubmitting the same request cannot help.

Whenever the station gives a job up it cancels it (a request not yet picked up is
withdrawn, a running one aborted) and removes its files once PTBurn has let go of it.
Jobs are named `kiln-<station>-<job>-<disc>`, so `recover()` and every later call find
the leftovers of this station (and only its own) in the shared folder.

Labels: the driver stages BMP/JPG as they are and converts PNG to BMP; a PDF label is
refused (FATAL), so the integrator renders PNG or BMP for PTBurn stations.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping

from appliance.media.profiles import Medium
from appliance.publishing.station import (
    DiscFailed,
    DiscOrder,
    DiscStep,
    FaultKind,
    Progress,
    StationFault,
)
from drivers.primera.error_codes import ErrorClass
from drivers.primera.ptburn_driver import (
    PtburnJob,
    PtburnProgress,
    PtburnPublisher,
    PublisherState,
)
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
from drivers.primera.ptburn_protocol import JobFileState, StatusStep
from drivers.primera.ptburn_transport import JobFolder

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], None]

FAULT_KINDS = {
    ErrorClass.OPERATOR_FIXABLE: FaultKind.OPERATOR,
    ErrorClass.RETRYABLE: FaultKind.RETRY,
    ErrorClass.FATAL: FaultKind.FATAL,
}
# PTBurn's step -> the station's; a step not listed keeps the last one shown.
STEPS = {
    StatusStep.LOADING: DiscStep.PICKING,
    StatusStep.RECORDING: DiscStep.BURNING,
    StatusStep.PRE_MASTERING: DiscStep.BURNING,
    StatusStep.READING: DiscStep.VERIFYING,
    StatusStep.VERIFYING: DiscStep.VERIFYING,
    StatusStep.PRINTING: DiscStep.PRINTING,
    StatusStep.WAITING_FOR_PRINTER: DiscStep.PRINTING,
    StatusStep.UNLOADING: DiscStep.UNLOADING,
    StatusStep.FINISHING: DiscStep.UNLOADING,
}
# What to do about a rejected disc, by PTBurn's disc error number.
DISC_ADVICE = {
    10: "If it happens again, check the blank discs in the input bin.",
    11: "Load larger media, or let the job span several discs.",
    12: "Use blank discs; check the input bin for used discs.",
    14: "If it happens again, have the robot's drives checked.",
    18: "If it happens again, try another batch of discs; then have the drives checked.",
    19: "If it repeats, the discs or a drive are failing: try another batch of discs.",
}
_FINAL = (JobFileState.DONE, JobFileState.FAILED)


class PtburnStation:
    def __init__(
        self,
        publisher: PtburnPublisher,
        folder: JobFolder,
        *,
        name: str,
        media: frozenset[Medium],
        bins: Mapping[Medium, int],
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        poll_seconds: float = 5.0,
        abort_seconds: float = 15.0,
        job_timeout: float = 4 * 3600.0,
    ) -> None:
        if not media or not set(bins) <= media:
            raise ValueError(f"station {name}: bins {sorted(m.value for m in bins)} not in media")
        self.name = name
        self.media = media
        self._publisher = publisher
        self._folder = folder
        self._bins = dict(bins)
        self._clock = clock
        self._sleep = sleep
        self._poll = poll_seconds  # retry time after a fault; pace of the abort wait
        self._abort_seconds = abort_seconds  # PTBurn reads abort messages every ~10 s
        self._job_timeout = job_timeout  # per copy: PTBurn alive but the job stuck
        slug = re.sub(r"[^A-Za-z0-9_-]", "-", name)[:24] or "station"
        self._prefix = f"kiln-{slug}-"
        self._ours = re.compile(rf"{re.escape(self._prefix)}\d+-\d+", re.IGNORECASE)
        self._job: str | None = None

    # --- the contract ---------------------------------------------------------------------

    def recover(self) -> None:
        """Jobs this station left in the folder (a crash, a power cut) are cancelled and
        removed: their discs are made again under new names."""
        self._tidy()

    def make_disc(self, order: DiscOrder, progress: Progress) -> None:
        if order.medium not in self.media:
            raise StationFault(
                FaultKind.FATAL,
                f"PTBurn station {self.name} was given a {order.medium.value} disc it does not "
                "take. The disc goes back to the queue. Check the station's media in the config.",
                code="medium",
            )
        self._tidy()
        name = f"{self._prefix}{order.job_id}-{order.disc_id}"
        job = PtburnJob(
            name,
            order.image,
            copies=order.copies,
            label=order.label_artwork,
            bin_id=self._bins.get(order.medium),
            title=f"Kiln job {order.job_id} disc {order.disc_id}",
        )
        shown: list[tuple[DiscStep, float]] = []

        def follow(seen: PtburnProgress) -> None:
            step = STEPS.get(seen.step) if seen.step is not None else None
            if seen.state is PublisherState.QUEUED or step is None:
                step = shown[-1][0] if shown else DiscStep.PICKING
            # PTBurn gives no percentage within a step: the copies done are the fraction.
            point = (step, seen.copies_done / max(seen.copies, 1))
            if not shown or shown[-1] != point:
                shown.append(point)
                progress(*point)

        self._job = name
        try:
            self._publisher.submit(job)
            self._publisher.wait(
                name, timeout=self._job_timeout * max(order.copies, 1), on_progress=follow
            )
        except (PtburnError, OSError) as error:
            self._give_up(name)
            raise self._convert(error, order) from error
        finally:
            self._job = None
        self._publisher.cleanup(name)
        progress(DiscStep.UNLOADING, 1.0)

    def status(self) -> dict[str, object]:
        """PTBurn's system status: robots with bins and ink, and the alarm, if any."""
        view: dict[str, object] = {
            "kind": "ptburn",
            "name": self.name,
            "folder": str(self._folder.root),
            "job": self._job,
            "bins": {medium.value: bin_id for medium, bin_id in self._bins.items()},
        }
        try:
            system = self._publisher.system_status()
        except PublisherOffline as error:
            return {**view, "online": False, "sentence": self._offline_sentence(error)}
        alarm = system.sys_error
        robots = [
            {
                "name": robot.name,
                "type": robot.robot_type,
                "status": robot.status,
                "drives": robot.drives,
                "jobs": robot.jobs,
                "left_bin": robot.discs_left_bin,
                "right_bin": robot.discs_right_bin,
                "ink": [
                    {"kind": cart.kind, "percent": cart.fill_percent} for cart in robot.cartridges
                ],
            }
            for robot in system.robots
        ]
        return {
            **view,
            "online": True,
            "robots": robots,
            "alarm": None
            if alarm is None
            else {
                "code": alarm.code,
                "name": alarm.name,
                "class": alarm.error_class.value,
                "sentence": alarm.sentence,
            },
            "ptburn_version": system.ptburn_version,
        }

    def close(self) -> None:
        """Nothing is held open: the job folder is read and written per call."""

    # --- giving up and tidying ---------------------------------------------------------------

    def _give_up(self, name: str) -> None:
        """Cancel the job and wait (bounded) until PTBurn has let go of it, then remove its
        files; one PTBurn still holds is removed by a later `_tidy`."""
        try:
            self._publisher.cancel(name)
            deadline = self._clock() + self._abort_seconds
            while not self._ended(name):
                if self._clock() >= deadline:
                    log.warning("%s: PTBurn has not ended job %s yet", self.name, name)
                    return
                self._sleep(min(self._poll, self._abort_seconds))
            self._publisher.cleanup(name)
        except (PtburnError, OSError):  # the folder is gone: the next _tidy tries again
            log.warning("%s: could not cancel PTBurn job %s", self.name, name, exc_info=True)

    def _ended(self, name: str) -> bool:
        found = self._folder.job_file(name)
        return found is None or found[0] in _FINAL

    def _tidy(self) -> None:
        """Remove this station's finished jobs; cancel those still open (once: a pending
        abort message is not written again)."""
        try:
            aborting = {path.stem.lower() for path in self._folder.messages()}
            for job, (state, _) in self._folder.jobs().items():
                if not self._ours.fullmatch(job):
                    continue
                if state in _FINAL:
                    self._publisher.cleanup(job)
                elif job.lower() not in aborting:
                    log.info("%s: cancelling leftover PTBurn job %s", self.name, job)
                    self._publisher.cancel(job)
        except (PtburnError, OSError):
            log.warning("%s: could not tidy the PTBurn job folder", self.name, exc_info=True)

    # --- errors to the contract ---------------------------------------------------------------

    def _convert(self, error: Exception, order: DiscOrder) -> DiscFailed | StationFault:
        if isinstance(error, RobotFault):
            info = error.info
            kind = FAULT_KINDS[info.error_class]
            retry = None if kind is FaultKind.FATAL else self._poll
            return StationFault(kind, info.sentence, code=info.name, retry_after=retry)
        if isinstance(error, DiscRejected):
            number = error.error.error.number
            advice = DISC_ADVICE.get(number, DISC_ADVICE[10])
            return DiscFailed(
                f"PTBurn station {self.name}: {error.error.error.text} (PTBurn disc error "
                f"{number}). The disc went to the reject bin and is made again on a new disc. "
                f"{advice}",
                code=f"ptburn-disc-{number}",
            )
        if isinstance(error, PublisherOffline):
            return StationFault(
                FaultKind.RETRY,
                self._offline_sentence(error),
                code="offline",
                retry_after=self._poll,
            )
        if isinstance(error, JobFailed):
            reason = error.error.text if error.error else "no reason given"
            number = error.error.number if error.error else 0
            return StationFault(
                FaultKind.FATAL,
                f"PTBurn refused the job of station {self.name}: {reason} (PTBurn job error "
                f"{number}). Disc publishing on this station has stopped; waiting jobs stay "
                "queued. Check the station's host_root matches the job folder's name on the "
                "PTBurn host, and the PTBurn host's log.",
                code=f"ptburn-job-{number}",
            )
        if isinstance(error, UnsupportedLabel):
            return StationFault(
                FaultKind.FATAL,
                f"PTBurn station {self.name} cannot print this label ({error}). Disc "
                "publishing on this station has stopped. Render labels as PNG or BMP for "
                "PTBurn stations.",
                code="label",
            )
        if isinstance(error, JobAborted):
            return StationFault(
                FaultKind.RETRY,
                f"The disc of job {order.job_id} was aborted at the PTBurn host of station "
                f"{self.name}. The box makes it again shortly. To stop the job, cancel it "
                f"('appliance jobs cancel {order.job_id}').",
                code="aborted",
                retry_after=self._poll,
            )
        if isinstance(error, JobTimeout | JobNotFound):
            what = "took too long" if isinstance(error, JobTimeout) else "vanished"
            return StationFault(
                FaultKind.RETRY,
                f"The PTBurn job of station {self.name} {what} ({error}). The box cancelled "
                "it and makes the disc again shortly. If it happens again, check the PTBurn "
                "host's queue.",
                code="ptburn-job",
                retry_after=self._poll,
            )
        return StationFault(
            FaultKind.RETRY,
            f"Station {self.name} could not hand the disc to PTBurn ({error}). The box tries "
            "again shortly. Check the job folder share is mounted and has free space.",
            code="ptburn-folder",
            retry_after=self._poll,
        )

    def _offline_sentence(self, error: PublisherOffline) -> str:
        return (
            f"The PTBurn host of station {self.name} does not answer ({error}). The box "
            f"withdrew the disc and tries again in {self._poll:.0f} s. Check that PTBurn runs "
            "on the host and that the job folder share is mounted."
        )
