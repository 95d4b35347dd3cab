"""Upper-layer PDUs on a blocking socket (PS3.8 section 9): framing only, no policy."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from enum import IntEnum

_HEADER = struct.Struct(">BxL")
_PDV = struct.Struct(">LBB")


class PduType(IntEnum):
    ASSOCIATE_RQ = 0x01
    ASSOCIATE_AC = 0x02
    ASSOCIATE_RJ = 0x03
    P_DATA_TF = 0x04
    RELEASE_RQ = 0x05
    RELEASE_RP = 0x06
    ABORT = 0x07


class PeerClosed(ConnectionError):
    """The peer closed the TCP connection."""


class ProtocolViolation(ValueError):
    """The peer sent something the upper layer does not allow."""


def set_waits(sock: socket.socket, receive: float, send: float) -> None:
    """Kernel-side time-outs on a blocking socket.

    Python's own socket time-out polls before every recv; SO_RCVTIMEO/SO_SNDTIMEO let the
    kernel do it, one system call fewer per read on the receive path.
    """
    sock.settimeout(None)
    for option, seconds in ((socket.SO_RCVTIMEO, receive), (socket.SO_SNDTIMEO, send)):
        whole = int(seconds)
        sock.setsockopt(
            socket.SOL_SOCKET, option, struct.pack("ll", whole, int((seconds - whole) * 1_000_000))
        )


class PduReader:
    """Reads whole PDUs into one reused buffer sized to our maximum PDU.

    A socket time-out may interrupt a read; the next call resumes where it stopped, so
    the caller can watch its clocks without losing bytes.
    """

    def __init__(self, sock: socket.socket, max_pdu: int) -> None:
        self.sock = sock
        # A P-DATA-TF body holds PDV items of at most max_pdu bytes each (plus headers).
        self.limit = max_pdu + 6 + 64
        self.buffer = bytearray(self.limit)
        self._head = bytearray(6)
        self._head_got = 0
        self._body: memoryview | None = None
        self._body_got = 0
        self._type = 0

    @property
    def partial(self) -> bool:
        return self._head_got > 0

    def _fill(self, view: memoryview, got: int) -> int:
        while got < len(view):
            try:
                n = self.sock.recv_into(view[got:])
            except BlockingIOError:  # SO_RCVTIMEO expired (see set_waits)
                raise TimeoutError("nothing received within the wait") from None
            if n == 0:
                raise PeerClosed("the peer closed the connection")
            got += n
            self._progress(got)
        return got

    def _progress(self, got: int) -> None:
        if self._body is None:
            self._head_got = got
        else:
            self._body_got = got

    def read(self) -> tuple[int, memoryview]:
        """The next PDU's type and body (valid until the next call)."""
        if self._body is None:
            self._fill(memoryview(self._head), self._head_got)
            pdu_type, length = _HEADER.unpack(self._head)
            if pdu_type not in _KNOWN:
                raise ProtocolViolation(f"unknown PDU type 0x{pdu_type:02x}")
            if length <= self.limit:
                self._body = memoryview(self.buffer)[:length]
            elif pdu_type != PduType.P_DATA_TF and length < 1 << 20:
                self._body = memoryview(bytearray(length))  # a rare large A-ASSOCIATE-RQ
            else:
                raise ProtocolViolation(
                    f"PDU of {length} bytes exceeds our maximum of {self.limit}"
                )
            self._type = pdu_type
            self._body_got = 0
        body = self._body
        self._fill(body, self._body_got)
        self._body, self._head_got, self._body_got = None, 0, 0
        return self._type, body


_KNOWN = frozenset(int(t) for t in PduType)


def whole_pdu(pdu_type: int, body: bytes | memoryview) -> bytes:
    return _HEADER.pack(pdu_type, len(body)) + bytes(body)


def iter_pdvs(body: memoryview) -> Iterator[tuple[int, bool, bool, memoryview]]:
    """(context id, is command, is last fragment, data) for each PDV item in a P-DATA-TF."""
    offset, end = 0, len(body)
    while offset < end:
        if end - offset < _PDV.size:
            raise ProtocolViolation("truncated PDV item")
        item_length, context_id, control = _PDV.unpack_from(body, offset)
        if item_length < 2 or offset + 4 + item_length > end:
            raise ProtocolViolation("PDV item length does not fit the PDU")
        data = body[offset + 6 : offset + 4 + item_length]
        yield context_id, bool(control & 0x01), bool(control & 0x02), data
        offset += 4 + item_length


def p_data_pdus(context_id: int, is_command: bool, data: bytes, max_pdv: int) -> list[bytes]:
    """Fragment one message part into P-DATA-TF PDUs that fit the peer's maximum."""
    chunk = max(1, (max_pdv or len(data) + 6) - 6)
    pdus = []
    for start in range(0, max(len(data), 1), chunk):
        part = data[start : start + chunk]
        last = start + chunk >= len(data)
        control = (0x01 if is_command else 0x00) | (0x02 if last else 0x00)
        item = _PDV.pack(len(part) + 2, context_id, control) + part
        pdus.append(whole_pdu(PduType.P_DATA_TF, item))
    return pdus


RELEASE_RP = whole_pdu(PduType.RELEASE_RP, b"\x00\x00\x00\x00")


def abort_pdu(source: int = 2, reason: int = 0) -> bytes:
    """A-ABORT; source 0 = service user, 2 = service provider."""
    return whole_pdu(PduType.ABORT, bytes([0, 0, source, reason]))
