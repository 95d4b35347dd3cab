"""Typed errors of the paper printer. Each message is a plain sentence: what happened.
What the box does about it, and what the operator should do, is said by the caller."""

from __future__ import annotations


class PrinterError(Exception):
    """Base of everything the paper printer driver raises."""


class PrinterUnreachable(PrinterError):
    """CUPS does not answer (not running, wrong address, or too slow)."""

    def __init__(self, server: str, detail: str) -> None:
        super().__init__(f"The print server {server} does not answer: {detail}.")
        self.server = server
        self.detail = detail


class QueueMissing(PrinterError):
    """CUPS answers but has no queue of that name."""

    def __init__(self, queue: str, server: str) -> None:
        super().__init__(f"The print server {server} has no printer queue named {queue!r}.")
        self.queue = queue
        self.server = server


class JobRefused(PrinterError):
    """CUPS did not take the job (queue rejecting jobs, bad document or options)."""

    def __init__(self, queue: str, detail: str) -> None:
        super().__init__(f"The printer queue {queue!r} refused the job: {detail}.")
        self.queue = queue
        self.detail = detail


class JobMissing(PrinterError):
    """CUPS has no job of that id (purged from its history, or never there)."""

    def __init__(self, job_id: int, server: str) -> None:
        super().__init__(f"The print server {server} has no job {job_id}.")
        self.job_id = job_id


class NotPermitted(PrinterError):
    """CUPS refused an operation for lack of rights (e.g. resuming a queue needs the
    lpadmin group on the system's CUPS)."""

    def __init__(self, operation: str, queue: str, detail: str) -> None:
        super().__init__(f"The print server did not allow {operation} on {queue!r}: {detail}.")
        self.operation = operation
        self.queue = queue


class CupsFailed(PrinterError):
    """CUPS answered an operation with an error not covered above."""

    def __init__(self, operation: str, status: int, detail: str) -> None:
        super().__init__(
            f"The print server failed {operation} (IPP status {status:#06x}): {detail}."
        )
        self.operation = operation
        self.status = status
