"""One accepted TCP connection: negotiate, then carry DIMSE messages until release or abort."""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from pynetdicom.pdu import A_ASSOCIATE_AC, A_ASSOCIATE_RJ, A_ASSOCIATE_RQ
from pynetdicom.pdu_primitives import (
    A_ASSOCIATE,
    ImplementationClassUIDNotification,
    ImplementationVersionNameNotification,
    MaximumLengthNotification,
)

from appliance import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
from appliance.config.schema import DicomSection
from appliance.dicom import command as cmd
from appliance.dicom.negotiation import (
    LOCAL_LIMIT_EXCEEDED,
    AcceptedContext,
    Policy,
    Rejection,
)
from appliance.dicom.pdu import (
    RELEASE_RP,
    PduReader,
    PduType,
    PeerClosed,
    ProtocolViolation,
    abort_pdu,
    iter_pdvs,
    p_data_pdus,
    set_waits,
)
from appliance.dicom.services import (
    DatasetSink,
    IdleAware,
    MessageService,
    Outgoing,
    Peer,
    Reply,
    StreamService,
)
from appliance.dicom.store_service import ConnectionFactory
from appliance.storage.index import Associations

log = logging.getLogger(__name__)

MAX_MESSAGE_DATASET = 64 * 1024 * 1024  # non-streamed datasets (N-ACTION, C-FIND) stay small
COALESCE = 64 * 1024  # bytes of queued replies written at once


class AssociationLimit(Protocol):
    """The box-wide association count (shared by the worker processes)."""

    def acquire(self) -> bool: ...
    def release(self) -> None: ...


@dataclass
class AcceptorDeps:
    dicom: DicomSection
    policy: Policy
    limit: AssociationLimit
    connections: ConnectionFactory
    store: StreamService
    messages: dict[int, MessageService]  # by request Command Field
    stopping: threading.Event
    abort_now: threading.Event
    pid: int


class Aborted(Exception):
    """The association ended by abort (ours or the peer's)."""


class AssociationHandler:
    """Runs one association on a blocking socket in its own thread."""

    def __init__(self, sock: socket.socket, address: tuple[str, int], deps: AcceptorDeps) -> None:
        self.sock = sock
        self.host, self.port = address[0], address[1]
        self.deps = deps
        self.reader = PduReader(sock, deps.dicom.max_pdu)
        self.contexts: dict[int, AcceptedContext] = {}
        self.peer_max_pdu = 0
        self.peer: Peer | None = None
        self.next_message_id = 1
        self.pending: dict[int, tuple[MessageService, int]] = {}  # our message id -> (svc, key)
        self.undelivered: dict[MessageService, list[int]] = {}
        self.wait_slice = 1.0
        self.release_requested = False

    # -- socket helpers -------------------------------------------------------------------
    def _send(self, data: bytes) -> None:
        self.sock.sendall(data)

    # -- life cycle -----------------------------------------------------------------------
    def run(self) -> None:
        conn: sqlite3.Connection | None = None
        holding_slot = False
        aborted = True
        try:
            set_waits(self.sock, self.deps.dicom.acse_timeout, self.deps.dicom.network_timeout)
            pdu_type, body = self.reader.read()
            if pdu_type != PduType.ASSOCIATE_RQ:
                raise ProtocolViolation(f"expected A-ASSOCIATE-RQ, got PDU type {pdu_type}")
            request_pdu = A_ASSOCIATE_RQ()
            request_pdu.decode(bytes([pdu_type, 0]) + len(body).to_bytes(4, "big") + bytes(body))
            request = request_pdu.to_primitive()
            rejection = self.deps.policy.check(request, self.host)
            if rejection is None:
                holding_slot = self.deps.limit.acquire()
                if not holding_slot:
                    rejection = LOCAL_LIMIT_EXCEEDED
            if rejection is not None:
                self._reject(request, rejection)
                aborted = False
                return
            conn = self.deps.connections.get()
            association_id = Associations(conn).open(
                str(request.calling_ae_title).strip(),
                str(request.called_ae_title).strip(),
                self.host,
                self.port,
                self.deps.pid,
            )
            self.peer = Peer(
                str(request.calling_ae_title).strip(),
                str(request.called_ae_title).strip(),
                self.host,
                self.port,
                association_id,
            )
            self._accept(request)
            self.wait_slice = min(1.0, self.deps.dicom.network_timeout)
            set_waits(self.sock, self.wait_slice, self.deps.dicom.network_timeout)
            aborted = self._serve()
        except (PeerClosed, ConnectionError) as exc:
            log.info("association from %s:%s: connection lost: %s", self.host, self.port, exc)
        except ProtocolViolation as exc:
            log.warning("association from %s:%s aborted: %s", self.host, self.port, exc)
            self._try_send(abort_pdu(2, 0))
        except Aborted as exc:
            log.info("association from %s:%s aborted: %s", self.host, self.port, exc)
        except TimeoutError:
            log.info("association from %s:%s timed out during negotiation", self.host, self.port)
            self._try_send(abort_pdu(2, 0))
        except Exception:
            log.exception("association from %s:%s failed; aborting", self.host, self.port)
            self._try_send(abort_pdu(2, 0))
        finally:
            # The slot and the index row are settled before the peer hears the association
            # is over, so a peer that reconnects at once finds both up to date.
            if holding_slot:
                self.deps.limit.release()
            self._finish(conn, aborted=aborted)

    def _finish(self, conn: sqlite3.Connection | None, *, aborted: bool) -> None:
        if self.peer is not None:
            # Every service hears the association end once, even without requests of its
            # own outstanding: per-association state (a print session) is dropped there.
            ended: dict[MessageService, list[int]] = {
                service: [] for service in self.deps.messages.values()
            }
            for service, keys in self.undelivered.items():
                ended.setdefault(service, []).extend(keys)
            for service, key in self.pending.values():
                ended.setdefault(service, []).append(key)
            for service, keys in ended.items():
                service.association_ended(self.peer, keys)
        if conn is not None and self.peer is not None:
            try:
                Associations(conn).close(self.peer.association_id, aborted=aborted)
            finally:
                self.deps.connections.close()
        if self.release_requested:
            self._try_send(RELEASE_RP)
        with contextlib.suppress(OSError):
            self.sock.close()

    def _try_send(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            self._send(data)

    def _reject(self, request: A_ASSOCIATE, rejection: Rejection) -> None:
        log.info(
            "rejecting association from %s:%s (%s -> %s): %s",
            self.host,
            self.port,
            request.calling_ae_title,
            request.called_ae_title,
            rejection.why,
        )
        primitive = A_ASSOCIATE()
        primitive.result = rejection.result
        primitive.result_source = rejection.source
        primitive.diagnostic = rejection.reason
        pdu = A_ASSOCIATE_RJ()
        pdu.from_primitive(primitive)
        self._send(pdu.encode())

    def _accept(self, request: A_ASSOCIATE) -> None:
        results, accepted, roles = self.deps.policy.negotiate(request)
        self.contexts = {c.context_id: c for c in accepted}
        assert self.peer is not None
        for context in accepted:
            self.peer.contexts.setdefault(context.abstract_syntax, context)
        self.peer_max_pdu = int(request.maximum_length_received or 0)
        primitive = A_ASSOCIATE()
        primitive.application_context_name = request.application_context_name
        primitive.calling_ae_title = request.calling_ae_title
        primitive.called_ae_title = request.called_ae_title
        primitive.result = 0x00
        primitive.result_source = 0x01
        primitive.presentation_context_definition_results_list = results
        max_length = MaximumLengthNotification()
        max_length.maximum_length_received = self.deps.dicom.max_pdu
        class_uid = ImplementationClassUIDNotification()
        class_uid.implementation_class_uid = IMPLEMENTATION_CLASS_UID
        version = ImplementationVersionNameNotification()
        version.implementation_version_name = IMPLEMENTATION_VERSION_NAME
        primitive.user_information = [max_length, class_uid, version, *roles]
        pdu = A_ASSOCIATE_AC()
        pdu.from_primitive(primitive)
        self._send(pdu.encode())
        assert self.peer is not None
        log.info(
            "accepted association %d from %s at %s:%s for %s with %d of %d contexts",
            self.peer.association_id,
            self.peer.calling_ae,
            self.host,
            self.port,
            self.peer.called_ae,
            len(accepted),
            len(results),
        )

    # -- the message loop -----------------------------------------------------------------
    def _read_waiting(self, *, between_messages: bool = False) -> tuple[int, memoryview]:
        """Read a PDU, watching the idle and shutdown clocks while the peer is silent.

        Between messages, each silent slice gives the services a moment to send what
        they have waiting (IdleAware: the Print SCP's N-EVENT-REPORTs).
        """
        idle = 0.0
        slice_ = self.wait_slice
        while True:
            try:
                return self.reader.read()
            except TimeoutError:
                idle += slice_
                if self.reader.partial:
                    # A PDU was half read: the network time-out applies between packets.
                    if idle >= self.deps.dicom.network_timeout:
                        self._try_send(abort_pdu(2, 0))
                        raise Aborted("network time-out inside a PDU") from None
                    continue
                if idle >= self.deps.dicom.network_timeout:
                    self._try_send(abort_pdu(2, 0))
                    raise Aborted("idle for longer than the network time-out") from None
                if self.deps.stopping.is_set():
                    self._try_send(abort_pdu(2, 0))
                    raise Aborted("the service is stopping") from None
                if between_messages:
                    self._idle()

    def _idle(self) -> None:
        assert self.peer is not None
        for service in dict.fromkeys(self.deps.messages.values()):
            if isinstance(service, IdleAware):
                for item in service.idle(self.peer):
                    self._send_request(service, item)

    def _serve(self) -> bool:
        """Returns True when the association ended by abort, False on release."""
        command_buffer = bytearray()
        current: cmd.Command | None = None
        current_context: AcceptedContext | None = None
        sink: DatasetSink | None = None
        message_data = bytearray()
        try:
            while True:
                if self.deps.abort_now.is_set():
                    self._try_send(abort_pdu(2, 0))
                    raise Aborted("the service stopped before the association ended")
                quiet = current is None and not command_buffer
                pdu_type, body = self._read_waiting(between_messages=quiet)
                if pdu_type == PduType.RELEASE_RQ:
                    self.release_requested = True  # answered once the books are closed
                    return False
                if pdu_type == PduType.ABORT:
                    raise Aborted("the peer aborted the association")
                if pdu_type != PduType.P_DATA_TF:
                    raise ProtocolViolation(f"unexpected PDU type {pdu_type} on an association")
                for context_id, is_command, last, data in iter_pdvs(body):
                    context = self.contexts.get(context_id)
                    if context is None:
                        raise ProtocolViolation(f"presentation context {context_id} not accepted")
                    if is_command:
                        if current is not None:
                            raise ProtocolViolation("a command arrived before the previous dataset")
                        command_buffer += data
                        if not last:
                            continue
                        try:
                            current = cmd.decode(command_buffer)
                        except cmd.CommandError as exc:
                            raise ProtocolViolation(str(exc)) from exc
                        command_buffer.clear()
                        current_context = context
                        if not current.has_dataset:
                            self._dispatch(current, context, None)
                            current = None
                        elif current.field == cmd.CommandField.C_STORE_RQ:
                            assert self.peer is not None
                            sink = self.deps.store.begin(self.peer, current, context)
                        continue
                    if current is None or context is not current_context:
                        raise ProtocolViolation("a dataset arrived without its command")
                    if sink is not None:
                        sink.feed(data)
                    else:
                        message_data += data
                        if len(message_data) > MAX_MESSAGE_DATASET:
                            raise ProtocolViolation("dataset too large for this service")
                    if last:
                        if sink is not None:
                            reply = sink.complete()
                            sink = None
                            self._send_message(context, reply.command, reply.dataset)
                        else:
                            self._dispatch(current, context, bytes(message_data))
                            message_data.clear()
                        current = None
        finally:
            if sink is not None:
                sink.abort()

    def _dispatch(
        self, request: cmd.Command, context: AcceptedContext, dataset: bytes | None
    ) -> None:
        field = request.field
        for pending_id, (service, key) in list(self.pending.items()):
            if field & 0x8000 and request.get_int(cmd.RESPONDED_TO) == pending_id:
                del self.pending[pending_id]
                assert self.peer is not None
                service.response_received(self.peer, key, request)
                return
        if field == cmd.CommandField.C_CANCEL_RQ:
            return  # for a request already answered in full: nothing left to stop
        handler = self.deps.messages.get(field)
        if handler is None:
            raise ProtocolViolation(f"unsupported DIMSE command 0x{field:04x}")
        assert self.peer is not None
        replies, outgoing = handler.handle(self.peer, request, context, dataset)
        if isinstance(replies, list):
            for reply in replies:
                self._send_message(context, reply.command, reply.dataset)
        else:
            self._send_cancellable(request, context, iter(replies))
        for item in outgoing:
            self._send_request(handler, item)

    def _send_cancellable(
        self, request: cmd.Command, context: AcceptedContext, replies: Iterator[Reply]
    ) -> None:
        """Send replies as they come; a C-CANCEL from the peer ends them with Cancel (FE00).

        Replies are gathered into writes of up to COALESCE bytes: hundreds of small C-FIND
        responses then cost a few system calls, not one each.
        """
        waiting: list[bytes] = []
        size = 0
        try:
            for count, reply in enumerate(replies):
                # A select() per reply costs more than the reply; every 8th is soon enough.
                if count % 8 == 0 and self._cancel_arrived(request.message_id):
                    cancel = cmd.response(request, cmd.CommandField(request.field | 0x8000), 0xFE00)
                    waiting.append(self._message_bytes(context, cancel, None))
                    log.info("request %d cancelled by the peer", request.message_id)
                    return
                data = self._message_bytes(context, reply.command, reply.dataset)
                waiting.append(data)
                size += len(data)
                if size >= COALESCE:
                    self._send(b"".join(waiting))
                    waiting.clear()
                    size = 0
        finally:
            close = getattr(replies, "close", None)
            if close is not None:
                close()
            if waiting:
                self._send(b"".join(waiting))

    def _cancel_arrived(self, message_id: int) -> bool:
        """Whether the peer has sent a C-CANCEL for `message_id` (never waits)."""
        readable, _, _ = select.select([self.sock], [], [], 0)
        if not readable:
            return False
        buffer = bytearray()
        while True:
            pdu_type, body = self.reader.read()
            if pdu_type == PduType.ABORT:
                raise Aborted("the peer aborted the association")
            if pdu_type != PduType.P_DATA_TF:
                raise ProtocolViolation(f"PDU type {pdu_type} while a request is answered")
            for _, is_command, last, data in iter_pdvs(body):
                if not is_command:
                    raise ProtocolViolation("a dataset arrived while a request is answered")
                buffer += data
                if last:
                    try:
                        request = cmd.decode(buffer)
                    except cmd.CommandError as exc:
                        raise ProtocolViolation(str(exc)) from exc
                    if request.field != cmd.CommandField.C_CANCEL_RQ:
                        # Asynchronous operations are not negotiated: one request at a time.
                        raise ProtocolViolation("a new request arrived before the last was done")
                    return request.get_int(cmd.RESPONDED_TO) == message_id

    def _send_request(self, service: MessageService, item: Outgoing) -> None:
        message_id = self.next_message_id
        self.next_message_id = (self.next_message_id % 0xFFFF) + 1
        context = self.contexts.get(item.context_id)
        if context is None:
            self.undelivered.setdefault(service, []).append(item.key)
            return
        try:
            elements, dataset = item.build()
            encoded = cmd.encode({**elements, cmd.MESSAGE_ID: message_id})
            self._send_message(context, encoded, dataset)
        except OSError:
            self.undelivered.setdefault(service, []).append(item.key)
            raise
        self.pending[message_id] = (service, item.key)

    def _message_bytes(
        self, context: AcceptedContext, command_bytes: bytes, dataset: bytes | None
    ) -> bytes:
        max_pdv = self.peer_max_pdu or 0
        pdus = p_data_pdus(context.context_id, True, command_bytes, max_pdv)
        if dataset is not None:
            pdus += p_data_pdus(context.context_id, False, dataset, max_pdv)
        return b"".join(pdus)

    def _send_message(
        self, context: AcceptedContext, command_bytes: bytes, dataset: bytes | None
    ) -> None:
        self._send(self._message_bytes(context, command_bytes, dataset))
