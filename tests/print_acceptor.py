"""Kiln's own acceptor in the test process, with the Print SCP over a recording backend.

The acceptor is the production one (AssociationHandler, Policy, the SOP-class router and
PrintScp); only the backend is a fake, so a test can see exactly which PrintRequest an
N-ACTION queued and can make the queue full or the printer fail.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from appliance.config.schema import BoxSection, DicomSection, KilnConfig
from appliance.db.database import connect, migrate
from appliance.dicom import command as cmd
from appliance.dicom.association import AcceptorDeps, AssociationHandler
from appliance.dicom.echo_service import EchoService
from appliance.dicom.negotiation import Policy
from appliance.dicom.sop_router import SopClassRouter
from appliance.dicom.store_service import ConnectionFactory, StoreService
from appliance.dicom.syntaxes import UNCOMPRESSED, VERIFICATION
from appliance.printing.backend import (
    ExecutionStatus,
    OutputKind,
    OutputRoute,
    PrinterReport,
    PrinterStatus,
    PrintJobReport,
    QueueFull,
)
from appliance.printing.film import PrintRequest
from appliance.printing.scp.service import PrintScp
from appliance.printing.scp.uids import PRINT_CONTEXTS
from appliance.printing.settings import FILM_SIZES
from appliance.storage.layout import DataLayout

PAPER_AE = "KILN_PAPER"
FILM_AE = "KILN_FILM"
GRAY_AE = "KILN_GRAY"  # a film output without color
STORE_AE = "KILN"  # the box's storage title: prints nowhere

ALL_SIZES = FILM_SIZES
FILM_MEDIA = ("BLUE FILM", "CLEAR FILM", "MAMMO CLEAR FILM", "MAMMO BLUE FILM")


NORMAL_PRINTER = PrinterReport(
    PrinterStatus.NORMAL,
    "NORMAL",
    "film",
    model_name="Sim 1",
    serial_number="SN-1",
    software_versions="1.0",
)


def default_routes() -> dict[str, OutputRoute]:
    return {
        PAPER_AE: OutputRoute(
            "paper", OutputKind.PAPER, ("A4", "A3", "8_5INX11IN", "14INX17IN"), ("PAPER",)
        ),
        FILM_AE: OutputRoute(
            "film", OutputKind.FILM, ALL_SIZES, FILM_MEDIA, min_density=20, max_density=300
        ),
        GRAY_AE: OutputRoute("gray", OutputKind.FILM, ALL_SIZES, FILM_MEDIA, color=False),
    }


@dataclass
class RecordingBackend:
    """A PrintBackend that keeps what it is given."""

    routes: dict[str, OutputRoute] = field(default_factory=default_routes)
    enqueued: list[PrintRequest] = field(default_factory=list)
    full: bool = False
    status: PrinterReport = field(default_factory=lambda: NORMAL_PRINTER)
    # A job's Execution Status and Info once a test moves it on; PENDING/QUEUED before.
    job_states: dict[str, tuple[ExecutionStatus, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def route(self, called_ae: str) -> OutputRoute | None:
        return self.routes.get(called_ae.strip())

    def enqueue(self, request: PrintRequest) -> None:
        with self.lock:
            if self.full:
                raise QueueFull("100 print jobs are waiting")
            self.enqueued.append(request)

    def printer(self, called_ae: str) -> PrinterReport:
        return self.status

    def job(self, job_uid: str) -> PrintJobReport | None:
        with self.lock:
            found = [r for r in self.enqueued if r.job_uid == job_uid]
            state, info = self.job_states.get(job_uid, (ExecutionStatus.PENDING, "QUEUED"))
        if not found:
            return None
        return PrintJobReport(
            state,
            info,
            found[0].session.print_priority,
            "20260101",
            "120000",
            "film",
            found[0].calling_ae,
        )


class _NoLimit:
    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        pass


@dataclass
class Acceptor:
    port: int
    backend: RecordingBackend
    scp: PrintScp
    handlers: list[threading.Thread]


@contextmanager
def print_acceptor(
    root: Path,
    backend: RecordingBackend | None = None,
    *,
    max_session_bytes: int | None = None,
    event_report_aes: tuple[str, ...] = (),
) -> Iterator[Acceptor]:
    """Kiln's acceptor on a loopback port until the block ends.

    `event_report_aes` are the calling AE titles sent Printer and Print Job
    N-EVENT-REPORTs (`[print] event_report_aes`).
    """
    backend = backend or RecordingBackend()
    data = root / "kiln-data"
    migrate(data)
    config = KilnConfig(
        box=BoxSection(data_dir=data),
        dicom=DicomSection(ae_titles=[STORE_AE], bind="127.0.0.1", network_timeout=20.0),
    )
    connections = ConnectionFactory(lambda: connect(data, durable=False))
    scp = (
        PrintScp(backend, event_report_aes=event_report_aes)
        if max_session_bytes is None
        else PrintScp(
            backend, max_session_bytes=max_session_bytes, event_report_aes=event_report_aes
        )
    )
    router = SopClassRouter(scp.routes())
    supported: dict[str, tuple[str, ...]] = {
        VERIFICATION: UNCOMPRESSED,
        **dict.fromkeys(PRINT_CONTEXTS, UNCOMPRESSED),
    }
    stopping, abort_now = threading.Event(), threading.Event()
    deps = AcceptorDeps(
        dicom=config.dicom,
        policy=Policy(config.dicom, supported, tuple(backend.routes)),
        limit=_NoLimit(),
        connections=connections,
        store=StoreService(config.storage, DataLayout(data), os.getpid(), connections),
        messages={
            cmd.CommandField.C_ECHO_RQ: EchoService(),
            **dict.fromkeys(router.fields, router),
        },
        stopping=stopping,
        abort_now=abort_now,
        pid=os.getpid(),
    )
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    handlers: list[threading.Thread] = []

    def accept() -> None:
        while not stopping.is_set():
            try:
                sock, address = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            handler = AssociationHandler(sock, address, deps)
            thread = threading.Thread(target=handler.run, daemon=True)
            thread.start()
            handlers.append(thread)

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield Acceptor(listener.getsockname()[1], backend, scp, handlers)
    finally:
        stopping.set()
        acceptor.join(5)
        listener.close()
        abort_now.set()
        for thread in handlers:
            thread.join(5)
