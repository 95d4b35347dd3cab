"""Printer and Print Job N-EVENT-REPORTs, for the calling AE titles that take them.

PS3.4 H.4.6.2.1 (Printer: NORMAL 1, WARNING 2, FAILURE 3, the last two with Printer
Status Info) and H.4.5.2.1 (Print Job: PENDING 1, PRINTING 2, DONE 3, FAILURE 4, with
Execution Status Info, Film Session Label and Printer Name). Only for a calling AE in
`[print] event_report_aes`: syngo MR and IDS5 take none.

Nothing here runs by itself. The service looks after each request it answered, and the
association asks on a quiet moment (`idle`): the printer once the SCU has started a film
session (reported at once when not NORMAL, then whenever it changes), and each job the
association queued until it is DONE or FAILURE. One report is outstanding at a time (no
asynchronous operations are negotiated); the others wait their turn. What the SCU
answers is logged and changes nothing: the film was acknowledged before.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pydicom.dataset import Dataset

from appliance.dicom import command as cmd
from appliance.dicom.command import CommandField, Status
from appliance.dicom.negotiation import AcceptedContext
from appliance.dicom.services import Outgoing, Peer
from appliance.printing.backend import ExecutionStatus, PrintBackend, PrinterStatus
from appliance.printing.scp import codec
from appliance.printing.scp.uids import PRINT_JOB, PRINTER, PRINTER_INSTANCE

log = logging.getLogger(__name__)

PRINTER_EVENT = {PrinterStatus.NORMAL: 1, PrinterStatus.WARNING: 2, PrinterStatus.FAILURE: 3}
JOB_EVENT = {
    ExecutionStatus.PENDING: 1,
    ExecutionStatus.PRINTING: 2,
    ExecutionStatus.DONE: 3,
    ExecutionStatus.FAILURE: 4,
}
_OVER = (ExecutionStatus.DONE, ExecutionStatus.FAILURE)


@dataclass(frozen=True)
class Event:
    context: AcceptedContext
    sop_class: str
    instance: str
    event_type: int
    information: Dataset
    what: str  # for the log: "Printer FAILURE (PAPER OUT)"


@dataclass
class _Job:
    label: str  # Film Session Label of the session that queued it
    reported: ExecutionStatus


@dataclass
class _Watch:
    """What one association has been told, and what waits to be told."""

    printer_context: AcceptedContext | None = None  # set once a film session started
    printer: tuple[PrinterStatus, str] | None = None
    jobs: dict[str, _Job] = field(default_factory=dict)
    waiting: deque[Event] = field(default_factory=deque)
    in_flight: tuple[int, Event] | None = None


class EventReports:
    def __init__(self, backend: PrintBackend, calling_aes: Iterable[str]) -> None:
        self.backend = backend
        self.calling_aes = frozenset(ae.strip() for ae in calling_aes)
        self._watches: dict[int, _Watch] = {}  # by association id
        self._keys = itertools.count(1)
        self._lock = threading.Lock()  # associations run in threads

    def after_request(
        self,
        peer: Peer,
        *,
        started_on: AcceptedContext | None,
        queued: Sequence[str],
        label: str,
    ) -> list[Outgoing]:
        """After a request was answered: a film session `started_on` that context, the
        jobs it `queued` (from a session labelled `label`), and any change since."""
        if peer.calling_ae.strip() not in self.calling_aes:
            return []
        try:
            return self._after(peer, started_on, queued, label)
        except Exception:
            # A report must never cost the SCU its answer: the reply still goes out.
            log.exception("N-EVENT-REPORTs for %s: looking failed", peer.calling_ae)
            return []

    def idle(self, peer: Peer) -> list[Outgoing]:
        with self._lock:
            watch = self._watches.get(peer.association_id)
        if watch is None:
            return []
        try:
            self._look(peer, watch)
        except Exception:
            log.exception("N-EVENT-REPORTs for %s: looking failed", peer.calling_ae)
            return []
        return self._next(watch)

    def _after(
        self,
        peer: Peer,
        started_on: AcceptedContext | None,
        queued: Sequence[str],
        label: str,
    ) -> list[Outgoing]:
        watch = self._watch(peer)
        if started_on is not None and watch.printer_context is None:
            printer = self.backend.printer(peer.called_ae)
            watch.printer_context = started_on
            watch.printer = (printer.status, printer.status_info)
            if printer.status is not PrinterStatus.NORMAL:
                self._printer_event(
                    watch, printer.status, printer.status_info, printer.printer_name
                )
        for uid in queued:
            if PRINT_JOB not in peer.contexts:
                # PS3.4 H.4.5: Print Job events travel on a Print Job context, and this
                # SCU proposed none (DCMTK's dcmprscu does not).
                log.info("print job %s: %s took no Print Job context", uid, peer.calling_ae)
                continue
            watch.jobs[uid] = _Job(label, ExecutionStatus.PENDING)
            report = self.backend.job(uid)
            pending = report is not None and report.execution_status is ExecutionStatus.PENDING
            info = report.execution_status_info if report is not None and pending else "QUEUED"
            name = report.printer_name if report is not None else ""
            self._job_event(peer, watch, uid, ExecutionStatus.PENDING, info, name)
        self._look(peer, watch)
        return self._next(watch)

    def response_received(self, peer: Peer, key: int, command: cmd.Command) -> None:
        with self._lock:
            watch = self._watches.get(peer.association_id)
        if watch is None or watch.in_flight is None or watch.in_flight[0] != key:
            return
        event = watch.in_flight[1]
        watch.in_flight = None
        status = command.get_int(cmd.STATUS, 0xFFFF)
        if status == Status.SUCCESS:
            log.info("%s reported to %s", event.what, peer.calling_ae)
        else:
            # The film was acknowledged already: the report is the SCU's business only.
            log.warning(
                "%s: %s answered the N-EVENT-REPORT with 0x%04X; printing goes on",
                event.what,
                peer.calling_ae,
                status,
            )

    def association_ended(self, peer: Peer, undelivered: list[int]) -> None:
        with self._lock:
            watch = self._watches.pop(peer.association_id, None)
        if watch is None:
            return
        if watch.in_flight is not None:
            log.warning(
                "%s: %s did not answer the N-EVENT-REPORT before the association ended",
                watch.in_flight[1].what,
                peer.calling_ae,
            )
        for event in watch.waiting:
            log.info("%s: not reported to %s, the association ended", event.what, peer.calling_ae)

    # -- looking -------------------------------------------------------------------------
    def _watch(self, peer: Peer) -> _Watch:
        with self._lock:
            return self._watches.setdefault(peer.association_id, _Watch())

    def _look(self, peer: Peer, watch: _Watch) -> None:
        if watch.printer_context is not None:
            report = self.backend.printer(peer.called_ae)
            now = (report.status, report.status_info)
            if now != watch.printer:
                watch.printer = now
                self._printer_event(watch, report.status, report.status_info, report.printer_name)
        for uid, job in list(watch.jobs.items()):
            state = self.backend.job(uid)
            if state is None or state.execution_status == job.reported:
                continue
            job.reported = state.execution_status
            self._job_event(
                peer,
                watch,
                uid,
                state.execution_status,
                state.execution_status_info,
                state.printer_name,
            )
            if state.execution_status in _OVER:
                del watch.jobs[uid]

    def _printer_event(
        self, watch: _Watch, status: PrinterStatus, info: str, printer_name: str
    ) -> None:
        assert watch.printer_context is not None
        ds = Dataset()
        if status is not PrinterStatus.NORMAL:
            ds.PrinterStatusInfo = info
        ds.PrinterName = printer_name[:64]
        what = f"Printer {status}" + (f" ({info})" if status is not PrinterStatus.NORMAL else "")
        watch.waiting.append(
            Event(watch.printer_context, PRINTER, PRINTER_INSTANCE, PRINTER_EVENT[status], ds, what)
        )

    def _job_event(
        self,
        peer: Peer,
        watch: _Watch,
        uid: str,
        status: ExecutionStatus,
        info: str,
        printer_name: str,
    ) -> None:
        ds = Dataset()
        ds.ExecutionStatusInfo = info
        ds.FilmSessionLabel = watch.jobs[uid].label
        ds.PrinterName = printer_name[:64]
        what = f"print job {uid} {status}" + (f" ({info})" if info else "")
        context = peer.contexts[PRINT_JOB]
        watch.waiting.append(Event(context, PRINT_JOB, uid, JOB_EVENT[status], ds, what))

    def _next(self, watch: _Watch) -> list[Outgoing]:
        """The next report, when none is outstanding."""
        if watch.in_flight is not None or not watch.waiting:
            return []
        event = watch.waiting.popleft()
        key = next(self._keys)
        watch.in_flight = (key, event)

        def build() -> tuple[dict[int, str | int], bytes]:
            elements: dict[int, str | int] = {
                cmd.COMMAND_FIELD: int(CommandField.N_EVENT_REPORT_RQ),
                cmd.DATASET_TYPE: 0x0000,
                cmd.AFFECTED_SOP_CLASS: event.sop_class,
                cmd.AFFECTED_SOP_INSTANCE: event.instance,
                cmd.EVENT_TYPE: event.event_type,
            }
            return elements, codec.encode(event.information, event.context.transfer_syntax)

        return [Outgoing(context_id=event.context.context_id, build=build, key=key)]
