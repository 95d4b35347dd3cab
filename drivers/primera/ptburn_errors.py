"""Typed errors of the PTBurn backend. The operator's sentence is made by the caller, once;
`RobotFault.info.sentence` is the shared table's sentence for a robot alarm."""

from __future__ import annotations

from drivers.primera.error_codes import RobotErrorInfo
from drivers.primera.ptburn_protocol import DiscError, JobError


class PtburnError(Exception):
    """Base of everything this backend raises."""


class PublisherOffline(PtburnError):
    """PTBurn does not answer: no pickup of a request in time, no or stale status, or
    the job folder is not there (share not mounted)."""


class RobotFault(PtburnError):
    """The robot reports a system error (cover open, input empty, ink out, pick...).
    `info.error_class` says what the box does about it."""

    def __init__(self, info: RobotErrorInfo, job_name: str | None = None) -> None:
        super().__init__(f"robot error {info.code} {info.name}: {info.description}")
        self.info = info
        self.job_name = job_name


class DiscRejected(PtburnError):
    """A disc of the job failed (not blank, write error, verify failed...) and PTBurn put
    it in the reject bin. Make it again on a new disc."""

    def __init__(self, job_name: str, error: DiscError, good_discs: int) -> None:
        super().__init__(f"job {job_name}: disc {error.disc}: {error.error.text}")
        self.job_name = job_name
        self.error = error
        self.good_discs = good_discs


class JobFailed(PtburnError):
    """PTBurn failed the whole job for a reason that is not one disc (bad request,
    missing image, internal error). Submitting it again will not help by itself."""

    def __init__(self, job_name: str, error: JobError | None) -> None:
        reason = error.text if error else "no reason given"
        super().__init__(f"job {job_name} failed: {reason}")
        self.job_name = job_name
        self.error = error


class JobAborted(PtburnError):
    """The job was aborted (by Kiln's cancel or at the PTBurn host)."""


class JobTimeout(PtburnError):
    """The job did not end within the time the caller allowed."""


class JobNotFound(PtburnError):
    """No request file of that name is in the job folder."""


class UnsupportedLabel(PtburnError):
    """The label artwork is of a kind PTBurn cannot print and Kiln cannot convert."""
