"""The dicom role: a listening socket, receiving workers, and the role's housekeeping."""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
import time
from multiprocessing.process import BaseProcess
from multiprocessing.sharedctypes import SynchronizedArray
from pathlib import Path
from types import FrameType
from typing import Any

from appliance.config.schema import KilnConfig
from appliance.db.database import checkpoint, connect, migrate
from appliance.dicom.commitment_check import settle
from appliance.dicom.commitment_service import KIND as COMMITMENT_KIND
from appliance.dicom.limit import SharedLimit
from appliance.dicom.scu import ScuError, Target, send_commitment_report
from appliance.mpps.completion import complete_by_mpps
from appliance.mpps.relay import MppsRelay
from appliance.outbox.queue import Backoff, Outbox
from appliance.roles.heartbeat import beat, stopped
from appliance.roles.ready_worker import run_ready_worker
from appliance.roles.sd_notify import Notifier, notifier
from appliance.storage.completeness import mark_complete
from appliance.storage.index import Associations, Index
from appliance.storage.layout import DataLayout
from appliance.storage.reconcile import reconcile
from appliance.worklist.mllp import Hl7OrderListener
from appliance.worklist.upstream import UpstreamCache

log = logging.getLogger(__name__)
ROLE = "dicom"


def open_listener(bind: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind((bind, port))
    sock.listen(256)
    return sock


def clean_incoming(layout: DataLayout, prefix: str = "") -> int:
    """Partial files of associations that never finished are removed, never indexed."""
    removed = 0
    for part in layout.incoming.glob(f"{prefix}*.part"):
        part.unlink(missing_ok=True)
        removed += 1
    return removed


class DicomRole:
    def __init__(self, config: KilnConfig, notify: Notifier) -> None:
        self.config = config
        self.notify = notify
        self.layout = DataLayout(config.box.data_dir)
        self.stop = threading.Event()
        self.ctx = multiprocessing.get_context("spawn")
        self.counts: SynchronizedArray[int] = self.ctx.Array("i", config.dicom.workers)
        self.workers: list[BaseProcess | None] = [None] * config.dicom.workers
        self.worker_ready = [self.ctx.Event() for _ in range(config.dicom.workers)]
        self.started_at = time.time()
        upstream = config.worklist.upstream
        self.upstream = UpstreamCache(upstream, config.dicom, self.layout) if upstream else None
        self.hl7 = (
            Hl7OrderListener(config.hl7, self.layout.root, read_timeout=config.hl7.read_timeout)
            if config.hl7.enabled
            else None
        )
        self.backoff = Backoff(
            config.commitment.retry_initial_seconds,
            config.commitment.retry_max_seconds,
            config.commitment.retry_limit,
        )

    def prepare(self) -> None:
        self.layout.ensure()
        migrate(self.layout.root)
        conn = connect(self.layout.root)
        try:
            stale = Associations(conn).abort_stale()
            released = Outbox(conn).release_claims()
            reconcile(conn, self.layout)
        finally:
            conn.close()
        removed = clean_incoming(self.layout)
        if stale or removed or released:
            log.info(
                "recovered after an unclean stop: %d association(s) closed, %d partial "
                "file(s) removed, %d report(s) requeued",
                stale,
                removed,
                released,
            )

    def _start_worker(self, number: int, listener: socket.socket) -> None:
        process = self.ctx.Process(
            target=run_ready_worker,
            args=(self.worker_ready[number], self.config, listener, self.counts, number),
            name=f"kiln-dicom-{number}",
            daemon=False,
        )
        process.start()
        self.workers[number] = process

    def _recover_worker(self, number: int, process: BaseProcess) -> None:
        log.error(
            "receiving worker %d (pid %s) exited with %s; restarting it",
            number,
            process.pid,
            process.exitcode,
        )
        SharedLimit.reset(self.counts, number)
        conn = connect(self.layout.root)
        try:
            Associations(conn).abort_stale(process.pid)
            Outbox(conn).release_claims(process.pid)
        finally:
            conn.close()
        clean_incoming(self.layout, f"{process.pid}-")

    def run(self) -> int:
        self.prepare()
        listener = open_listener(self.config.dicom.bind, self.config.dicom.port)
        log.info(
            "DICOM listening on %s:%d as %s with %d worker(s)",
            self.config.dicom.bind,
            self.config.dicom.port,
            ", ".join(self.config.dicom.ae_titles),
            self.config.dicom.workers,
        )

        def on_term(signum: int, frame: FrameType | None) -> None:
            self.stop.set()

        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)
        for number in range(self.config.dicom.workers):
            self._start_worker(number, listener)
        housekeeping = threading.Thread(target=self._housekeeping, name="housekeeping")
        outbox = threading.Thread(target=self._outbox_loop, name="outbox")
        relay = MppsRelay(self.config, lambda: connect(self.layout.root))
        mpps_relay = threading.Thread(target=relay.run, args=(self.stop,), name="mpps-relay")
        housekeeping.start()
        outbox.start()
        mpps_relay.start()
        if self.upstream is not None:
            self.upstream.start()
        if self.hl7 is not None:
            self.hl7.start()
        try:
            while not self.stop.wait(0.5):
                for number, process in enumerate(self.workers):
                    if process is not None and not process.is_alive():
                        self._recover_worker(number, process)
                        self._start_worker(number, listener)
                if all(event.is_set() for event in self.worker_ready):
                    self.notify.ready(
                        f"listening on {self.config.dicom.bind}:{self.config.dicom.port}"
                    )
        finally:
            self.notify.stopping()
            if self.hl7 is not None:
                self.hl7.stop()
            if self.upstream is not None:
                self.upstream.stop()
            self._shutdown(listener)
            housekeeping.join()
            outbox.join()
            mpps_relay.join()
        return 0

    def _shutdown(self, listener: socket.socket) -> None:
        log.info(
            "stopping: letting open associations finish (grace %.0f s)",
            self.config.dicom.shutdown_grace,
        )
        for process in self.workers:
            if process is not None and process.is_alive() and process.pid:
                process.terminate()
        deadline = time.monotonic() + self.config.dicom.shutdown_grace + 10
        for process in self.workers:
            if process is not None:
                process.join(max(0.1, deadline - time.monotonic()))
                if process.is_alive():
                    log.error("worker pid %s did not stop; killing it", process.pid)
                    process.kill()
                    process.join(5)
        listener.close()
        clean_incoming(self.layout)
        conn = connect(self.layout.root)
        try:
            Associations(conn).abort_stale()
            stopped(conn, ROLE)
        finally:
            conn.close()
        log.info("stopped")

    def _housekeeping(self) -> None:
        conn = connect(self.layout.root)
        try:
            while not self.stop.is_set():
                try:
                    for study in mark_complete(conn, self.config.storage.study_idle_seconds):
                        log.info("study %s is complete", study)
                    for study in complete_by_mpps(conn):
                        log.info("study %s is complete: its MPPS instances have all arrived", study)
                    checkpoint(conn)
                    beat(
                        conn,
                        ROLE,
                        self.started_at,
                        {
                            "port": self.config.dicom.port,
                            "bind": self.config.dicom.bind,
                            "ae_titles": list(self.config.dicom.ae_titles),
                            "workers": sum(1 for p in self.workers if p and p.is_alive()),
                            "open_associations": SharedLimit.total(self.counts),
                            **self._upstream_detail(),
                        },
                    )
                except Exception:
                    log.exception("housekeeping failed; trying again shortly")
                self.notify.ping()
                self.stop.wait(1.0)
        finally:
            conn.close()

    def _upstream_detail(self) -> dict[str, Any]:
        if self.upstream is None:
            return {}
        state = self.upstream.state
        return {
            "upstream_worklist": {
                "ae_title": self.upstream.config.ae_title,
                "last_success": state.last_success,
                "last_error": state.last_error,
                "items": state.items,
            }
        }

    def _outbox_loop(self) -> None:
        conn = connect(self.layout.root)
        outbox = Outbox(conn)
        pid = multiprocessing.current_process().pid or 0
        try:
            while not self.stop.is_set():
                try:
                    for item in outbox.claim_due(COMMITMENT_KIND, pid):
                        self._deliver(outbox, item.id, item.destination, item.payload)
                except Exception:
                    log.exception("outbox pass failed; trying again shortly")
                self.stop.wait(1.0)
        finally:
            outbox.release_claims(pid)
            conn.close()

    def _deliver(
        self, outbox: Outbox, item_id: int, calling_ae: str, payload: dict[str, Any]
    ) -> None:
        peer = self.config.commitment.peers.get(calling_ae)
        if peer is None:
            outbox.fail(
                item_id,
                f"no [commitment.peers.{calling_ae}] is configured, so the "
                "report cannot be sent on a new association",
            )
            log.error(
                "commitment report %d for %s undeliverable: no peer configured", item_id, calling_ae
            )
            return
        target = Target(peer.host, peer.port, peer.ae_title)
        calling = str(payload.get("retrieve_ae") or self.config.dicom.ae_titles[0])
        try:
            if payload.get("results") is None:
                settle(payload, Index(outbox.conn), self.layout)
                outbox.update_payload(item_id, payload)
            send_commitment_report(payload, target, calling, self.config.dicom)
        except (ScuError, OSError) as exc:
            outbox.retry(item_id, str(exc), self.backoff)
            log.warning("commitment report %d to %s not delivered: %s", item_id, calling_ae, exc)
            return
        except Exception as exc:
            # Never leave a claimed message behind: retry it like any failed delivery.
            outbox.retry(item_id, f"internal error: {exc}", self.backoff)
            log.exception("commitment report %d to %s failed", item_id, calling_ae)
            return
        outbox.sent(item_id)
        log.info("commitment report %d delivered to %s on a new association", item_id, calling_ae)


def run_dicom_role(config: KilnConfig, config_path: Path | None) -> int:
    return DicomRole(config, notifier()).run()
