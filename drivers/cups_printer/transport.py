"""IPP requests to a CUPS server through pycups, and nothing else.

pycups calls block (libcups waits up to 30 s to connect, longer for an answer) and a
pycups Connection must not be shared between threads. So every call here runs in its
own short-lived thread with its own Connection, and the caller waits at most `timeout`
seconds: a call that has not answered by then is reported as `CupsNoAnswer` (the
thread is left to end by itself). libcups keeps its server and port per thread, so
setting them in the call's thread (cups.setServer/setPort) touches no one else.

pycups has no type information: `_Connection` names the few methods used here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar, cast

import cups

log = logging.getLogger(__name__)
traffic = logging.getLogger("kiln.traffic.cups")  # device traffic: off unless enabled
T = TypeVar("T")

IPP_NOT_FOUND = 0x0406
IPP_NOT_AUTHORIZED = 0x0403
IPP_FORBIDDEN = 0x0401
DEFAULT_PORT = 631


class _Connection(Protocol):
    def printFile(  # noqa: N802 - pycups names
        self, printer: str, filename: str, title: str, options: dict[str, str]
    ) -> int: ...

    def getJobAttributes(  # noqa: N802
        self, job_id: int, *, requested_attributes: list[str] | None = None
    ) -> dict[str, object]: ...

    def getPrinterAttributes(  # noqa: N802
        self, *, name: str, requested_attributes: list[str] | None = None
    ) -> dict[str, object]: ...

    def enablePrinter(self, name: str) -> None: ...  # noqa: N802

    def acceptJobs(self, name: str) -> None: ...  # noqa: N802

    def rejectJobs(self, name: str) -> None: ...  # noqa: N802

    def cancelJob(self, job_id: int, purge_job: bool = False) -> None: ...  # noqa: N802

    def getPrinters(self) -> dict[str, dict[str, object]]: ...  # noqa: N802

    def addPrinter(  # noqa: N802
        self, name: str, *, device: str, info: str, location: str
    ) -> None: ...

    def deletePrinter(self, name: str) -> None: ...  # noqa: N802


@dataclass(frozen=True)
class CupsServer:
    """Where CUPS listens. host None: libcups's default (CUPS_SERVER, client.conf, else
    the local socket /run/cups/cups.sock); a host starting with "/" is a socket path."""

    host: str | None = None
    port: int | None = None

    @property
    def label(self) -> str:
        if self.host is None:
            return "the local CUPS"
        if self.host.startswith("/"):
            return self.host
        return f"{self.host}:{self.port or DEFAULT_PORT}"


class CupsTransportError(Exception):
    """Base of the transport's errors."""


class CupsNoAnswer(CupsTransportError):
    """The server could not be reached or did not answer in time."""


class CupsCallFailed(CupsTransportError):
    """The server answered the request with an IPP error status."""

    def __init__(self, operation: str, status: int, message: str) -> None:
        super().__init__(f"{operation}: IPP status {status:#06x}: {message}")
        self.operation = operation
        self.status = status
        self.message = message


class CupsTransport:
    def __init__(self, server: CupsServer, *, timeout: float = 10.0) -> None:
        self.server = server
        self.timeout = timeout

    # --- operations ----------------------------------------------------------------------

    def print_file(self, queue: str, path: Path, title: str, options: Mapping[str, str]) -> int:
        wanted = dict(options)
        return self._call("Print-Job", lambda c: int(c.printFile(queue, str(path), title, wanted)))

    def job_attributes(self, job_id: int, requested: Sequence[str]) -> dict[str, object]:
        return self._call(
            "Get-Job-Attributes",
            lambda c: c.getJobAttributes(job_id, requested_attributes=list(requested)),
        )

    def printer_attributes(self, queue: str, requested: Sequence[str]) -> dict[str, object]:
        return self._call(
            "Get-Printer-Attributes",
            lambda c: c.getPrinterAttributes(name=queue, requested_attributes=list(requested)),
        )

    def queues(self) -> list[str]:
        return self._call("CUPS-Get-Printers", lambda c: sorted(c.getPrinters()))

    def enable(self, queue: str) -> None:
        self._call("Resume-Printer", lambda c: c.enablePrinter(queue))

    def accept(self, queue: str) -> None:
        self._call("CUPS-Accept-Jobs", lambda c: c.acceptJobs(queue))

    def reject(self, queue: str) -> None:
        self._call("CUPS-Reject-Jobs", lambda c: c.rejectJobs(queue))

    def cancel(self, job_id: int) -> None:
        self._call("Cancel-Job", lambda c: c.cancelJob(job_id))

    def add_printer(self, queue: str, device_uri: str, info: str, location: str = "") -> None:
        """A raw queue (no PPD, no filters: the backend gets the document as sent)."""
        self._call(
            "CUPS-Add-Modify-Printer",
            lambda c: c.addPrinter(queue, device=device_uri, info=info, location=location),
        )

    def delete_printer(self, queue: str) -> None:
        self._call("CUPS-Delete-Printer", lambda c: c.deletePrinter(queue))

    # --- one call, one thread, one connection --------------------------------------------

    def _call(self, operation: str, request: Callable[[_Connection], T]) -> T:
        outcome: list[T] = []
        failure: list[BaseException] = []

        def run() -> None:
            try:
                outcome.append(request(self._connect()))
            except BaseException as error:  # handed to the caller's thread
                failure.append(error)

        worker = threading.Thread(target=run, name=f"cups {operation}", daemon=True)
        worker.start()
        worker.join(self.timeout)
        if worker.is_alive():
            raise CupsNoAnswer(f"no answer to {operation} within {self.timeout:g} s")
        if failure:
            raise self._translate(operation, failure[0]) from failure[0]
        traffic.debug("%s %s: %r", self.server.label, operation, outcome[0])
        return outcome[0]

    def _connect(self) -> _Connection:
        host, port = self.server.host, self.server.port
        if host is not None:
            cups.setServer(host)
            if port is not None:
                cups.setPort(port)
            return cast(_Connection, cups.Connection(host=host, port=port or DEFAULT_PORT))
        return cast(_Connection, cups.Connection())

    @staticmethod
    def _translate(operation: str, error: BaseException) -> Exception:
        if isinstance(error, cups.IPPError):
            status, message = _ipp_error_args(error.args)
            return CupsCallFailed(operation, status, message)
        if isinstance(error, cups.HTTPError):
            code = error.args[0] if error.args else 0
            if code in (401, 403):
                return CupsCallFailed(operation, IPP_NOT_AUTHORIZED, f"HTTP {code}")
            return CupsNoAnswer(f"{operation}: HTTP error {code}")
        if isinstance(error, RuntimeError) and "connect" in str(error):
            return CupsNoAnswer(str(error))  # pycups: "failed to connect to server"
        if isinstance(error, OSError):
            return CupsNoAnswer(f"{operation}: {error}")
        if isinstance(error, Exception):
            return error
        return RuntimeError(f"{operation}: {error!r}")


def _ipp_error_args(args: tuple[object, ...]) -> tuple[int, str]:
    status = args[0] if args and isinstance(args[0], int) else 0
    message = args[1] if len(args) > 1 and isinstance(args[1], str) else ""
    return status, message
