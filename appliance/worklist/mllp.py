"""HL7 orders over MLLP: framing, limits and time-outs, one transaction and one ACK per message.

`MllpListener` moves frames (a thread per connection, bounded); `OrderService` turns each
message into worklist writes and is the edge where every error becomes a NAK;
`Hl7OrderListener` puts the two together on the box's database for the dicom role.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Protocol

from appliance.config.schema import Hl7Section
from appliance.db.database import connect, transaction
from appliance.worklist.hl7_orders import (
    STATUS_OF,
    AckCode,
    Action,
    ErrorCode,
    Header,
    Order,
    OrderError,
    acknowledge,
    parse_orders,
    read_header,
)
from appliance.worklist.item import Item, normalise, step_of
from appliance.worklist.store import StoredItem, WorklistStore

log = logging.getLogger(__name__)

START_BLOCK, END_BLOCK, CARRIAGE_RETURN = b"\x0b", b"\x1c", b"\x0d"
_POLL = 0.5  # seconds between looks at the stop flag while a socket waits
_HEAD = 1024  # bytes of a refused message kept to read its MSH for the NAK


def frame(message: bytes) -> bytes:
    return START_BLOCK + message + END_BLOCK + CARRIAGE_RETURN


class FrameTooLarge(Exception):
    """A frame grew past the limit before its end block; `head` is its beginning."""

    def __init__(self, head: bytes) -> None:
        super().__init__("frame too large")
        self.head = head


class Deframer:
    """Splits a byte stream into MLLP frames (0x0B message 0x1C 0x0D).

    Bytes outside a frame are dropped; a start block inside an unfinished frame begins a
    new one (the sender gave up on the first).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.buffer = bytearray()
        self._scanned = 0  # bytes after the start block already searched for an end block

    @property
    def in_frame(self) -> bool:
        return bool(self.buffer)

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return the frames they complete. Raises FrameTooLarge."""
        self.buffer += data
        frames: list[bytes] = []
        while self.buffer:
            start = self.buffer.find(START_BLOCK)
            if start < 0:
                self.buffer.clear()
                self._scanned = 0
                break
            if start > 0:
                del self.buffer[:start]
                self._scanned = 0
            end = self.buffer.find(END_BLOCK, 1 + self._scanned)
            if end < 0:
                restart = self.buffer.rfind(START_BLOCK, 1 + self._scanned)
                if restart > 0:
                    del self.buffer[:restart]
                self._scanned = len(self.buffer) - 1
                if self._scanned > self.limit:
                    raise FrameTooLarge(bytes(self.buffer[1 : 1 + _HEAD]))
                break
            body = bytes(self.buffer[1:end])
            restart = body.rfind(START_BLOCK)
            if restart >= 0:
                body = body[restart + 1 :]
            del self.buffer[: end + 1]
            self._scanned = 0
            if self.buffer[:1] == CARRIAGE_RETURN:
                del self.buffer[:1]
            if len(body) > self.limit:
                raise FrameTooLarge(body[:_HEAD])
            frames.append(body)
        return frames


class MessageHandler(Protocol):
    def handle(self, message: bytes) -> bytes:
        """The answer to one complete message; never raises."""

    def too_large(self, head: bytes, limit: int) -> bytes:
        """The answer to a message refused for its size, from its first bytes."""


class MllpListener:
    """Accepts MLLP connections and answers every framed message through `handler`.

    A connection that stops sending in the middle of a message is closed after
    `read_timeout`; one idle between messages after `idle_timeout`. At most
    `max_connections` are served at once; more wait in the listen backlog. If the port is
    taken, binding is retried every `retry_seconds` (DICOM keeps working meanwhile).
    """

    def __init__(
        self,
        bind: str,
        port: int,
        handler: MessageHandler,
        *,
        max_message_bytes: int,
        read_timeout: float,
        idle_timeout: float = 600.0,
        max_connections: int = 16,
        retry_seconds: float = 5.0,
    ) -> None:
        self.bind = bind
        self.port = port
        self.handler = handler
        self.max_message_bytes = max_message_bytes
        self.read_timeout = read_timeout
        self.idle_timeout = idle_timeout
        self.retry_seconds = retry_seconds
        self._slots = threading.BoundedSemaphore(max_connections)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._server: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._connections: dict[threading.Thread, socket.socket] = {}
        self._bind_failed = False

    def start(self) -> None:
        self._stop.clear()
        self._try_bind()
        # Daemon threads: a failure elsewhere in the role can never be held up by them.
        self._acceptor = threading.Thread(target=self._accept_loop, name="hl7-accept", daemon=True)
        self._acceptor.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, let messages being answered finish, and join every thread."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        if self._acceptor is not None:
            self._acceptor.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            if self._server is not None:
                self._server.close()
                self._server = None
            threads = list(self._connections)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            stuck = list(self._connections.items())
        for thread, sock in stuck:
            # Only a peer that does not read its ACK gets here; cut it off.
            log.warning("HL7 connection did not finish in time; closing it")
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            thread.join(1.0)

    def _try_bind(self) -> bool:
        try:
            family = socket.AF_INET6 if ":" in self.bind else socket.AF_INET
            server = socket.create_server((self.bind, self.port), family=family, backlog=64)
        except OSError as exc:
            if not self._bind_failed:
                log.error(
                    "HL7 cannot listen on %s:%d (%s); orders are not received until it can. "
                    "Retrying every %.0f s; free the port or change [hl7] port.",
                    self.bind,
                    self.port,
                    exc.strerror or exc,
                    self.retry_seconds,
                )
            self._bind_failed = True
            return False
        server.settimeout(_POLL)
        with self._lock:
            self._server = server
        self._bind_failed = False
        log.info("HL7 listening on %s:%d", self.bind, self.port)
        return True

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                server = self._server
            if server is None:
                if not self._try_bind():
                    self._stop.wait(self.retry_seconds)
                continue
            if not self._slots.acquire(timeout=_POLL):
                continue
            try:
                sock, peer = server.accept()
            except OSError:  # time-out (socket.timeout is an OSError), or closed by stop()
                self._slots.release()
                continue
            thread = threading.Thread(
                target=self._serve, args=(sock, f"{peer[0]}:{peer[1]}"), daemon=True
            )
            thread.name = f"hl7-{peer[0]}:{peer[1]}"
            with self._lock:
                self._connections[thread] = sock
            thread.start()

    def _serve(self, sock: socket.socket, peer: str) -> None:
        sock.settimeout(_POLL)
        deframer = Deframer(self.max_message_bytes)
        last = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    data = sock.recv(65536)
                except TimeoutError:
                    waited = time.monotonic() - last
                    if deframer.in_frame and waited > self.read_timeout:
                        log.warning(
                            "HL7 connection from %s stalled mid-message for %.0f s; closed",
                            peer,
                            waited,
                        )
                        return
                    if not deframer.in_frame and waited > self.idle_timeout:
                        log.info("HL7 connection from %s idle for %.0f s; closed", peer, waited)
                        return
                    continue
                if not data:
                    return
                last = time.monotonic()
                try:
                    messages = deframer.feed(data)
                except FrameTooLarge as exc:
                    log.warning(
                        "HL7 message from %s is longer than %d bytes; refused and closed",
                        peer,
                        self.max_message_bytes,
                    )
                    sock.sendall(frame(self.handler.too_large(exc.head, self.max_message_bytes)))
                    return
                for message in messages:
                    sock.sendall(frame(self.handler.handle(message)))
        except OSError as exc:
            log.info("HL7 connection from %s ended: %s", peer, exc)
        finally:
            sock.close()
            with self._lock:
                self._connections.pop(threading.current_thread(), None)
            self._slots.release()


class OrderService:
    """Applies each order message to the worklist in one transaction and answers it."""

    def __init__(self, store: WorklistStore, default_encoding: str) -> None:
        self.store = store
        self.default_encoding = default_encoding
        self._lock = threading.Lock()  # one connection, shared by the connection threads

    def handle(self, message: bytes) -> bytes:
        header: Header | None = None
        try:
            header = read_header(message)
            orders = parse_orders(message, header, self.default_encoding)
            with self._lock:
                done = self.apply(orders)
        except OrderError as exc:
            return self._refuse(header, exc)
        except sqlite3.Error as exc:
            log.error("HL7 order not stored: database error: %s", exc)
            error = OrderError(
                f"the worklist could not store the order ({exc}); nothing was changed, "
                "send it again",
                ErrorCode.INTERNAL,
            )
            return self._refuse(header, error)
        except Exception:
            log.exception("HL7 order not stored: internal error")
            error = OrderError(
                "Kiln failed inside while storing the order; nothing was changed",
                ErrorCode.INTERNAL,
            )
            return self._refuse(header, error)
        log.info(
            "HL7 %s %s from %s: %s",
            header.message_type,
            header.control_id,
            header.sending_application or "?",
            "; ".join(done),
        )
        return acknowledge(header, AckCode.ACCEPT, default_encoding=self.default_encoding)

    def too_large(self, head: bytes, limit: int) -> bytes:
        try:
            header: Header | None = read_header(head)
        except OrderError:
            header = None
        error = OrderError(
            f"the message is longer than {limit} bytes ([hl7] max_message_bytes)",
            ErrorCode.INTERNAL,
            ack=AckCode.REJECT,
        )
        return self._refuse(header, error)

    def _refuse(self, header: Header | None, error: OrderError) -> bytes:
        log.warning(
            "HL7 %s %s refused (%s): %s",
            header.message_type if header else "message",
            header.control_id if header else "",
            error.ack,
            error,
        )
        return acknowledge(header, error.ack, error, default_encoding=self.default_encoding)

    def apply(self, orders: list[Order]) -> list[str]:
        """Write every order of one message, or none; returns what was done, for the log."""
        # The lookups and the writes are one transaction (put_many joins it), so an MPPS
        # status set in between is not overwritten with an older one.
        with transaction(self.store.conn):
            writes = [self._plan(order) for order in orders]
            self.store.put_many(writes, source="hl7")
        return [
            f"{order.action.value} {key} (study {item.get('StudyInstanceUID', '')})"
            for order, (item, key) in zip(orders, writes, strict=True)
        ]

    def _existing(self, order: Order) -> StoredItem | None:
        for key in order.keys:
            found = self.store.get(key)
            if found is not None:
                return found
        return None

    def _plan(self, order: Order) -> tuple[Item, str]:
        existing = self._existing(order)
        if order.item is None:
            if existing is None:
                raise OrderError(
                    f"{order.label} is not in the worklist, so it cannot be "
                    f"{STATUS_OF[order.action].lower()}",
                    ErrorCode.UNKNOWN_KEY,
                    where=order.where,
                )
            item = copy.deepcopy(existing.item)
            step_of(item)["ScheduledProcedureStepStatus"] = STATUS_OF[order.action]
            return item, existing.key
        item = copy.deepcopy(order.item)
        if existing is None:
            return normalise(item), order.keys[0]  # generated UIDs are known for the log
        # A changed order keeps what was generated for it and how far the step has got.
        old, step = existing.item, step_of(item)
        for name in ("StudyInstanceUID", "RequestedProcedureID"):
            if not item.get(name) and old.get(name):
                item[name] = old[name]
        old_step = step_of(old)
        if not step.get("ScheduledProcedureStepID") and old_step.get("ScheduledProcedureStepID"):
            step["ScheduledProcedureStepID"] = old_step["ScheduledProcedureStepID"]
        status = existing.status
        if order.action is Action.NEW and status == "CANCELED":
            status = "SCHEDULED"  # ordered again after a cancel
        step["ScheduledProcedureStepStatus"] = status
        return normalise(item), existing.key


class Hl7OrderListener:
    """The dicom role's HL7 service: an MLLP listener writing orders into the worklist."""

    def __init__(self, settings: Hl7Section, data_dir: Path, *, read_timeout: float) -> None:
        self.settings = settings
        self.data_dir = data_dir
        self.read_timeout = read_timeout
        self._conn: sqlite3.Connection | None = None
        self._listener: MllpListener | None = None

    def start(self) -> None:
        self._conn = connect(self.data_dir)
        service = OrderService(WorklistStore(self._conn), self.settings.default_encoding)
        self._listener = MllpListener(
            self.settings.bind,
            self.settings.port,
            service,
            max_message_bytes=self.settings.max_message_bytes,
            read_timeout=self.read_timeout,
            idle_timeout=self.settings.idle_timeout,
            max_connections=self.settings.max_connections,
        )
        self._listener.start()

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
