"""The Print SCP as a MessageService: one print session per association.

Each request is routed to its operation by SOP class and Command Field, applied to the
association's session, and answered. A refusal (`Refused`) becomes the DIMSE status
here, once; any other error is a processing failure (0x0110) that changes nothing the
SCU can see. Printer and Print Job N-EVENT-REPORTs go only to the calling AE titles
given (`[print] event_report_aes`; events.py, docs/print-scp.md).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from appliance.dicom import command as cmd
from appliance.dicom.command import CommandField, Status
from appliance.dicom.negotiation import AcceptedContext
from appliance.dicom.services import Outgoing, Peer, Reply
from appliance.dicom.sop_router import Route
from appliance.printing.backend import PrintBackend
from appliance.printing.scp import (
    codec,
    events,
    film_box_ops,
    film_session_ops,
    image_box_ops,
    lut_ops,
    status_ops,
)
from appliance.printing.scp.exchange import Answer, Exchange, Operation, Tools
from appliance.printing.scp.refused import Refused, Warnings
from appliance.printing.scp.session import PrintSession
from appliance.printing.scp.uids import (
    COLOR_IMAGE_BOX,
    FILM_BOX,
    FILM_SESSION,
    GRAYSCALE_IMAGE_BOX,
    PRESENTATION_LUT,
    PRINT_JOB,
    PRINTER,
    carried_by,
)
from appliance.storage.uids import InvalidUID, check_uid
from appliance.worklist.item import new_uid

log = logging.getLogger(__name__)

DEFAULT_MAX_SESSION_BYTES = 512 * 1024 * 1024

_C = CommandField
OPERATIONS: dict[tuple[str, CommandField], Operation] = {
    (FILM_SESSION, _C.N_CREATE_RQ): film_session_ops.create,
    (FILM_SESSION, _C.N_SET_RQ): film_session_ops.update,
    (FILM_SESSION, _C.N_DELETE_RQ): film_session_ops.delete,
    (FILM_SESSION, _C.N_ACTION_RQ): film_session_ops.action,
    (FILM_BOX, _C.N_CREATE_RQ): film_box_ops.create,
    (FILM_BOX, _C.N_SET_RQ): film_box_ops.update,
    (FILM_BOX, _C.N_ACTION_RQ): film_box_ops.action,
    (FILM_BOX, _C.N_DELETE_RQ): film_box_ops.delete,
    (GRAYSCALE_IMAGE_BOX, _C.N_SET_RQ): image_box_ops.update,
    (COLOR_IMAGE_BOX, _C.N_SET_RQ): image_box_ops.update,
    (PRESENTATION_LUT, _C.N_CREATE_RQ): lut_ops.create,
    (PRESENTATION_LUT, _C.N_DELETE_RQ): lut_ops.delete,
    (PRINTER, _C.N_GET_RQ): status_ops.printer,
    (PRINT_JOB, _C.N_GET_RQ): status_ops.print_job,
}
_NAMES = {
    FILM_SESSION: "Film Session",
    FILM_BOX: "Film Box",
    GRAYSCALE_IMAGE_BOX: "Grayscale Image Box",
    COLOR_IMAGE_BOX: "Color Image Box",
    PRESENTATION_LUT: "Presentation LUT",
    PRINTER: "Printer",
    PRINT_JOB: "Print Job",
}


class PrintScp:
    def __init__(
        self,
        backend: PrintBackend,
        *,
        clock: Callable[[], float] = time.time,
        uids: Callable[[], str] = new_uid,
        max_session_bytes: int = DEFAULT_MAX_SESSION_BYTES,
        event_report_aes: Iterable[str] = (),
    ) -> None:
        self.tools = Tools(backend, clock, uids, max_session_bytes)
        self.events = events.EventReports(backend, event_report_aes)
        self._sessions: dict[int, PrintSession] = {}  # by association id
        self._lock = threading.Lock()  # associations run in threads

    def routes(self) -> dict[str, Route]:
        """The SOP classes this SCP answers, for the SOP-class router."""
        operations: dict[str, set[CommandField]] = {}
        for sop_class, field in OPERATIONS:
            operations.setdefault(sop_class, set()).add(field)
        return {
            sop_class: Route(self, frozenset(fields)) for sop_class, fields in operations.items()
        }

    def handle(
        self, peer: Peer, command: cmd.Command, context: AcceptedContext, dataset: bytes | None
    ) -> tuple[list[Reply], list[Outgoing]]:
        """The answer, then the N-EVENT-REPORTs that are due (for the AEs that take them)."""
        with self._lock:
            session = self._sessions.get(peer.association_id)
        before = session.film_session if session is not None else None
        queued = len(session.jobs) if session is not None else 0
        reply = self._answer(peer, command, context, dataset)
        with self._lock:
            session = self._sessions.get(peer.association_id)
        if session is None:
            return [reply], []
        film_session = session.film_session
        started = film_session is not None and film_session is not before
        outgoing = self.events.after_request(
            peer,
            started_on=context if started else None,
            queued=session.jobs[queued:],
            label=film_session.spec.film_session_label if film_session is not None else "",
        )
        return [reply], outgoing

    def _answer(
        self, peer: Peer, command: cmd.Command, context: AcceptedContext, dataset: bytes | None
    ) -> Reply:
        field = CommandField(command.field)
        answer_field = CommandField(command.field | 0x8000)
        creating = field == CommandField.N_CREATE_RQ
        sop_class = command.get_str(cmd.AFFECTED_SOP_CLASS if creating else cmd.REQUESTED_SOP_CLASS)
        given = command.get_str(
            cmd.AFFECTED_SOP_INSTANCE if creating else cmd.REQUESTED_SOP_INSTANCE
        )
        what = f"{_NAMES.get(sop_class, sop_class)} {field.name[:-3].replace('_', '-')}"
        warnings = Warnings()
        try:
            uid = self._instance(given, creating)
            operation = self._operation(sop_class, field, context)
            exchange = Exchange(peer, command, context, dataset, sop_class, uid, warnings)
            answer = operation(self._session(peer), exchange, self.tools)
        except Refused as exc:
            log.warning(
                "%s %s from %s refused with 0x%04X: %s",
                what,
                given or "(no UID)",
                peer.calling_ae,
                exc.status,
                exc.comment,
            )
            return _reply(command, answer_field, sop_class, given, exc.status, exc.comment)
        except Exception:
            log.exception("%s from %s failed", what, peer.calling_ae)
            comment = "the print server failed; nothing was changed"
            return _reply(
                command, answer_field, sop_class, given, Status.PROCESSING_FAILURE, comment
            )
        status, comment = warnings.status, warnings.comment
        if status:
            log.info(
                "%s %s from %s: warning 0x%04X: %s", what, uid, peer.calling_ae, status, comment
            )
        return _reply(command, answer_field, sop_class, uid, status, comment, answer, context)

    def _instance(self, given: str, creating: bool) -> str:
        if not given:
            if creating:
                # PS3.4 H.4: the SCP creates the UID and returns it (DCMTK relies on it).
                return self.tools.new_uid()
            raise Refused(Status.INVALID_OBJECT_INSTANCE, "Requested SOP Instance UID missing")
        try:
            return check_uid(given, "SOP Instance UID")
        except InvalidUID as exc:
            raise Refused(Status.INVALID_OBJECT_INSTANCE, str(exc)) from None

    def _operation(
        self, sop_class: str, field: CommandField, context: AcceptedContext
    ) -> Operation:
        if not carried_by(sop_class, context.abstract_syntax):
            raise Refused(
                Status.NO_SUCH_SOP_CLASS, "SOP class not part of the presentation context"
            )
        operation = OPERATIONS.get((sop_class, field))
        if operation is None:
            raise Refused(Status.UNRECOGNIZED_OPERATION, "operation not supported for this class")
        return operation

    def _session(self, peer: Peer) -> PrintSession:
        with self._lock:
            session = self._sessions.get(peer.association_id)
        if session is None:
            route = self.tools.backend.route(peer.called_ae)
            session = PrintSession(peer.called_ae, route)
            with self._lock:
                self._sessions[peer.association_id] = session
        return session

    def idle(self, peer: Peer) -> list[Outgoing]:
        """The association is quiet: the N-EVENT-REPORTs that are due meanwhile."""
        return self.events.idle(peer)

    def response_received(self, peer: Peer, key: int, command: cmd.Command) -> None:
        """The SCU answered an N-EVENT-REPORT: logged, nothing else changes."""
        self.events.response_received(peer, key, command)

    def association_ended(self, peer: Peer, undelivered: list[int]) -> None:
        """The association's film session and everything in it end with it (PS3.4 H.2)."""
        self.events.association_ended(peer, undelivered)
        with self._lock:
            session = self._sessions.pop(peer.association_id, None)
        if session is not None and session.film_session is not None:
            log.info(
                "association %d ended: film session %s dropped (%d job(s) queued on it)",
                peer.association_id,
                session.film_session.uid,
                len(session.jobs),
            )


def _reply(
    request: cmd.Command,
    field: CommandField,
    sop_class: str,
    uid: str,
    status: int,
    comment: str,
    answer: Answer | None = None,
    context: AcceptedContext | None = None,
) -> Reply:
    dataset = None
    if answer is not None and answer.dataset is not None and context is not None:
        dataset = codec.encode(answer.dataset, context.transfer_syntax)
    elements: dict[int, cmd.Value] = {
        cmd.COMMAND_FIELD: int(field),
        cmd.RESPONDED_TO: request.message_id,
        cmd.DATASET_TYPE: 0x0000 if dataset is not None else cmd.NO_DATASET,
        cmd.STATUS: status,
    }
    if sop_class:
        elements[cmd.AFFECTED_SOP_CLASS] = sop_class
    if uid:
        elements[cmd.AFFECTED_SOP_INSTANCE] = uid
    if comment:
        elements[cmd.ERROR_COMMENT] = comment[:64]
    if field == CommandField.N_ACTION_RSP and answer is not None:
        elements[cmd.ACTION_TYPE] = request.get_int(cmd.ACTION_TYPE)
    return Reply(cmd.encode(elements), dataset)
