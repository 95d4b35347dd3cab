"""A receiving worker process: accepts associations on the shared socket, one thread each."""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import signal
import socket
import threading
from multiprocessing.sharedctypes import SynchronizedArray
from types import FrameType

from appliance.config.schema import KilnConfig
from appliance.db.database import connect
from appliance.dicom import command as cmd
from appliance.dicom.association import AcceptorDeps, AssociationHandler, AssociationLimit
from appliance.dicom.commitment_service import CommitmentService
from appliance.dicom.echo_service import EchoService
from appliance.dicom.limit import SharedLimit
from appliance.dicom.negotiation import Policy
from appliance.dicom.sop_router import Route, SopClassRouter
from appliance.dicom.store_service import ConnectionFactory, StoreService
from appliance.dicom.syntaxes import (
    EXPLICIT_LE,
    IMPLICIT_LE,
    STORAGE_COMMITMENT_PUSH,
    UNCOMPRESSED,
    VERIFICATION,
    storage_classes,
    storage_transfer_syntaxes,
)
from appliance.logsetup import configure_logging
from appliance.mpps import MPPS_SOP_CLASS
from appliance.mpps.service import MppsService
from appliance.printing.database_backend import DatabasePrintBackend
from appliance.printing.scp.service import PrintScp
from appliance.printing.scp.uids import PRINT_CONTEXTS
from appliance.storage.layout import DataLayout
from appliance.worklist.find_service import MODALITY_WORKLIST_FIND, WorklistFindService

log = logging.getLogger(__name__)


def supported_contexts(config: KilnConfig) -> dict[str, tuple[str, ...]]:
    storage_ts = storage_transfer_syntaxes()
    supported = {uid: storage_ts for uid in storage_classes(config.storage.extra_sop_classes)}
    supported[VERIFICATION] = UNCOMPRESSED
    supported[STORAGE_COMMITMENT_PUSH] = UNCOMPRESSED
    # Answers are written little endian only (worklist/answer.py); every SCU offers one.
    supported[MODALITY_WORKLIST_FIND] = (IMPLICIT_LE, EXPLICIT_LE)
    supported[MPPS_SOP_CLASS] = UNCOMPRESSED
    if config.print.enabled:
        # The Print Management meta classes, Presentation LUT, Printer and Print Job.
        for uid in PRINT_CONTEXTS:
            supported[uid] = UNCOMPRESSED
    return supported


def build_deps(
    config: KilnConfig,
    limit: AssociationLimit,
    stopping: threading.Event,
    abort_now: threading.Event,
) -> AcceptorDeps:
    layout = DataLayout(config.box.data_dir)
    pid = os.getpid()
    # Files and directories are synced before the answer; the row needs no sync of its
    # own (storage/reconcile.py restores rows lost to a power cut).
    connections = ConnectionFactory(lambda: connect(layout.root, durable=False, checkpoints=False))
    store = StoreService(config.storage, layout, pid, connections)
    commitment = CommitmentService(
        config, layout, connections, lambda: connect(layout.root, durable=True)
    )
    mpps = MppsService(config, lambda: connect(layout.root, durable=True))
    # MPPS, commitment and Print share N-CREATE/N-SET/N-ACTION: the router picks the
    # service by the command's SOP class.
    routes = {
        MPPS_SOP_CLASS: Route(
            mpps, frozenset({cmd.CommandField.N_CREATE_RQ, cmd.CommandField.N_SET_RQ})
        ),
        STORAGE_COMMITMENT_PUSH: Route(commitment, frozenset({cmd.CommandField.N_ACTION_RQ})),
    }
    if config.print.enabled:
        backend = DatabasePrintBackend(config, lambda: connect(layout.root, durable=True))
        scp = PrintScp(backend, event_report_aes=config.print.event_report_aes)
        routes.update(scp.routes())
    router = SopClassRouter(routes)
    return AcceptorDeps(
        dicom=config.dicom,
        policy=Policy(config.dicom, supported_contexts(config), tuple(config.print.ae_titles())),
        limit=limit,
        connections=connections,
        store=store,
        messages={
            cmd.CommandField.C_ECHO_RQ: EchoService(),
            cmd.CommandField.C_FIND_RQ: WorklistFindService(config.worklist, connections),
            **dict.fromkeys(router.fields, router),
        },
        stopping=stopping,
        abort_now=abort_now,
        pid=pid,
    )


def worker_main(
    config: KilnConfig, listener: socket.socket, counts: SynchronizedArray[int], number: int
) -> None:
    """Entry point of a worker process (started by the dicom role)."""
    configure_logging(config.logging.level, f"dicom-{number}")
    stopping = threading.Event()
    abort_now = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the role's parent decides
    shared = SharedLimit(counts, number, config.dicom.max_associations)
    deps = build_deps(config, shared, stopping, abort_now)
    # The receive path makes few reference cycles: collect rarely, and never walk the
    # start-up objects again (perf showed the cyclic collector in every instance's path).
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    listener.settimeout(0.5)
    # The role's pid as it spawned us (os.getppid() now could already be init's).
    role = multiprocessing.parent_process()
    parent = role.pid if role is not None and role.pid else os.getppid()
    threads: list[threading.Thread] = []
    log.info("worker %d (pid %d) accepting", number, os.getpid())
    while not stopping.is_set():
        try:
            sock, address = listener.accept()
        except TimeoutError:
            threads = [t for t in threads if t.is_alive()]
            if os.getppid() != parent:
                # The role was killed (SIGKILL leaves no chance to stop us): an orphan
                # must not keep the port, or the restarted role cannot listen.
                log.error("worker %d: the dicom role (pid %d) is gone; stopping", number, parent)
                stopping.set()
            continue
        except OSError as exc:
            if stopping.is_set():
                break
            log.warning("accept failed: %s", exc)
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        handler = AssociationHandler(sock, address, deps)
        thread = threading.Thread(
            target=handler.run, name=f"assoc-{address[0]}:{address[1]}", daemon=True
        )
        thread.start()
        threads.append(thread)
    listener.close()
    _drain(threads, config.dicom.shutdown_grace, abort_now)
    log.info("worker %d stopped", number)


def _drain(threads: list[threading.Thread], grace: float, abort_now: threading.Event) -> None:
    """Let running associations finish for `grace` seconds, then abort the rest."""
    deadline = threading.Event()
    timer = threading.Timer(grace, deadline.set)
    timer.start()
    for thread in threads:
        while thread.is_alive() and not deadline.is_set():
            thread.join(0.2)
    timer.cancel()
    abort_now.set()
    for thread in threads:
        thread.join(5.0)
