"""Tier 1: upper-layer framing and DIMSE command sets, from byte traces."""

from __future__ import annotations

import socket
import threading
from io import BytesIO

import pytest
from pydicom.filereader import read_dataset

from appliance.dicom import command as cmd
from appliance.dicom.pdu import (
    PduReader,
    PduType,
    PeerClosed,
    ProtocolViolation,
    iter_pdvs,
    p_data_pdus,
)

# The C-ECHO-RQ command set DCMTK 3.6.7 echoscu sent to the box, captured through a proxy.
ECHO_RQ = bytes.fromhex(
    "0000000004000000380000000000020012000000312e322e3834302e31303030382e312e3100"
    "000000010200000030000000100102000000010000000008020000000101"
)


def test_decode_echo_request_trace() -> None:
    command = cmd.decode(ECHO_RQ)
    assert command.field == cmd.CommandField.C_ECHO_RQ
    assert command.message_id == 1
    assert command.get_str(cmd.AFFECTED_SOP_CLASS) == "1.2.840.10008.1.1"
    assert not command.has_dataset


def test_response_is_valid_implicit_le_with_group_length() -> None:
    request = cmd.decode(ECHO_RQ)
    data = cmd.response(request, cmd.CommandField.C_ECHO_RSP, 0, comment="odd")
    ds = read_dataset(BytesIO(data), True, True)
    assert ds.CommandGroupLength == len(data) - 12
    assert ds.CommandField == 0x8030
    assert ds.MessageIDBeingRespondedTo == 1
    assert ds.Status == 0
    assert ds.ErrorComment == "odd"
    assert ds.AffectedSOPClassUID == "1.2.840.10008.1.1"
    assert ds.CommandDataSetType == 0x0101


@pytest.mark.parametrize(
    "data",
    [b"\x00\x00\x00\x01\x04\x00", ECHO_RQ[:-3], b"\x08\x00\x16\x00\x02\x00\x00\x00AB"],
    ids=["truncated-header", "truncated-value", "not-group-0"],
)
def test_bad_command_sets_raise(data: bytes) -> None:
    with pytest.raises(cmd.CommandError):
        cmd.decode(data)


def test_fragmenting_and_reading_back_round_trips() -> None:
    payload = bytes(range(256)) * 40
    pdus = p_data_pdus(3, False, payload, max_pdv=1000)
    assert len(pdus) == 11
    joined = b""
    for i, pdu in enumerate(pdus):
        assert pdu[0] == PduType.P_DATA_TF
        for context_id, is_command, last, data in iter_pdvs(memoryview(pdu[6:])):
            assert (context_id, is_command) == (3, False)
            assert last == (i == len(pdus) - 1)
            joined += bytes(data)
    assert joined == payload


def test_pdv_longer_than_pdu_is_a_violation() -> None:
    body = memoryview(b"\x00\x00\x00\x10\x01\x03ab")
    with pytest.raises(ProtocolViolation):
        list(iter_pdvs(body))


def _pair() -> tuple[socket.socket, socket.socket]:
    a, b = socket.socketpair()
    return a, b


def test_reader_resumes_after_a_timeout_mid_pdu() -> None:
    ours, theirs = _pair()
    ours.settimeout(0.2)
    reader = PduReader(ours, 4096)
    pdu = p_data_pdus(1, True, ECHO_RQ, 0)[0]
    theirs.sendall(pdu[:9])
    with pytest.raises(TimeoutError):
        reader.read()
    assert reader.partial
    theirs.sendall(pdu[9:])
    kind, body = reader.read()
    assert kind == PduType.P_DATA_TF and bytes(body) == pdu[6:]
    assert not reader.partial
    ours.close()
    theirs.close()


def test_reader_refuses_oversized_and_unknown_pdus() -> None:
    ours, theirs = _pair()
    reader = PduReader(ours, 4096)
    theirs.sendall(b"\x04\x00" + (1 << 24).to_bytes(4, "big"))
    with pytest.raises(ProtocolViolation):
        reader.read()
    ours2, theirs2 = _pair()
    theirs2.sendall(b"\x09\x00\x00\x00\x00\x00")
    with pytest.raises(ProtocolViolation):
        PduReader(ours2, 4096).read()
    for s in (ours, theirs, ours2, theirs2):
        s.close()


def test_reader_reports_closed_peer() -> None:
    ours, theirs = _pair()
    reader = PduReader(ours, 4096)

    def send_half_header_and_close() -> None:
        theirs.sendall(b"\x04\x00")
        theirs.close()

    sender = threading.Thread(target=send_half_header_and_close)
    sender.start()
    with pytest.raises(PeerClosed):
        reader.read()
    sender.join()
    ours.close()
