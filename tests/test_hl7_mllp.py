"""HL7 orders over MLLP against a running box, sent with python-hl7's MLLPClient: new, update
and cancel land in the worklist; bad messages get a NAK and store nothing; framing holds across
TCP segments; oversized and stalled messages are cut off; the role stops promptly. The last
tests run in process: a database failure midway, an MPPS status kept, the MLLP deframer."""

from __future__ import annotations

import signal
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hl7  # type: ignore[import-untyped]
import pytest
from hl7.client import MLLPClient  # type: ignore[import-untyped]

from appliance.db.database import connect, migrate
from appliance.worklist.mllp import Deframer, FrameTooLarge, OrderService, frame
from appliance.worklist.store import StoredItem, WorklistStore
from tests.conftest import Box, free_port, wait_for

START, END = b"\x0b", b"\x1c\x0d"
OMI_STUDY = "1.2.826.0.1.3680043.2.1125.9.1"
TIMEOUT = 2.0  # the box's [hl7] read_timeout: how long a sender may stall mid-message


def order(
    control: str,
    number: str,
    *,
    control_id: str,
    description: str = "CT Head",
    start: str = "20240305093000",
    modality: str = "CT",
    set_id: str = "1",
    name: str = "Müller^Hans",
    charset: str = "8859/1",
) -> str:
    """An IHE RAD-4/RAD-13 style ORM^O01 (v2.3.1) with one ORC/OBR."""
    return "\r".join(
        (
            f"MSH|^~\\&|RIS|HOSP|KILN|RAD|20240301120000||ORM^O01|{control_id}|P|2.3.1"
            f"||||||{charset}",
            f"PID|1||PAT-{number}^^^HOSP||{name}||19700215|M",
            "PV1|1|O|RAD^101",
            f"ORC|{control}|{number}|||SC||^^^{start}^^R",
            f"OBR|{set_id}|{number}||P{number}^{description}^L||||||||||||||A{number}|"
            f"R{number}|||||{modality}|||^^^{start}^^R",
        )
    )


def omi(control_id: str) -> str:
    """An IHE OMI^O23 (v2.5.1, UTF-8) with two scheduled steps (IPC) for one request."""
    return "\r".join(
        (
            f"MSH|^~\\&|RIS|HOSP|KILN|RAD|20240301120000||OMI^O23^OMI_O23|{control_id}|P|2.5.1"
            "||||||UNICODE UTF-8",
            "PID|1||PAT-OMI^^^HOSP||Παπαδόπουλος^Νίκος||19800101|F",
            "ORC|NW|OMI1|FOMI1",
            "TQ1|1||||||20240306080000|||R",
            "OBR|1|OMI1|FOMI1|MRKNEE^MR Knee^L",
            f"IPC|ACC-OMI|RP-OMI|{OMI_STUDY}|SPS-A|MR|PK1^Knee left^L||MR1|MR_ONE",
            f"IPC|ACC-OMI|RP-OMI|{OMI_STUDY}|SPS-B|MR|PK2^Knee right^L||MR1|MR_ONE",
        )
    )


def hl7_port(box: Box) -> int:
    import tomllib

    return int(tomllib.loads(box.config_path.read_text())["hl7"]["port"])


def client(box: Box) -> Any:
    sender = MLLPClient("127.0.0.1", hl7_port(box), encoding="utf-8")
    sender.socket.settimeout(30)
    sender.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sender


def ack_of(raw: bytes, encoding: str = "latin-1") -> Any:
    assert raw.startswith(START) and raw.endswith(END), raw
    return hl7.parse(raw[1:-2].decode(encoding))


def send(box: Box, message: str, encoding: str = "latin-1") -> Any:
    with client(box) as sender:
        return ack_of(sender.send_message(message.encode(encoding)), encoding)


def msa(ack: Any) -> tuple[str, str, str]:
    segment = ack.segment("MSA")
    code, control, reason = (str(segment.extract_field(1, n)) for n in (1, 2, 3))
    return code, control, reason


def read_frames(sock: socket.socket, count: int) -> list[bytes]:
    data = b""
    while data.count(END) < count:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return [frame + END for frame in data.split(END) if frame]


def stored(box: Box, key: str) -> StoredItem | None:
    conn = box.db()
    try:
        return WorklistStore(conn).get(key)
    finally:
        conn.close()


def rows(box: Box) -> int:
    return box.count("SELECT count(*) FROM worklist_items")


def hl7_box(box_factory: Callable[..., Box], **hl7: Any) -> Box:
    return box_factory(
        {
            "hl7": {"port": free_port(), "read_timeout": TIMEOUT, **hl7},
        }
    )


def test_new_update_and_cancel_orders_reach_the_worklist(
    box_factory: Callable[..., Box],
) -> None:
    box = hl7_box(box_factory)
    assert f"HL7 listening on 127.0.0.1:{hl7_port(box)}" in box.log()

    ack = send(box, order("NW", "ORD1", control_id="M1"))
    assert msa(ack) == ("AA", "M1", "")
    assert str(ack.segment("MSH")(9)) == "ACK^O01^ACK"
    new = stored(box, "hl7:ORD1:1")
    assert new is not None and new.source == "hl7" and new.status == "SCHEDULED"
    assert new.item["PatientName"] == "Müller^Hans"  # 8859/1 as MSH-18 says
    assert new.item["AccessionNumber"] == "AORD1"
    assert new.item["StudyInstanceUID"].startswith("2.25.")  # generated: the order had none
    step = new.item["ScheduledProcedureStepSequence"][0]
    assert (step["Modality"], step["ScheduledProcedureStepStartDate"]) == ("CT", "20240305")

    changed = order("XO", "ORD1", control_id="M2", description="CT Neck", start="20240306101500")
    assert msa(send(box, changed))[:2] == ("AA", "M2")
    updated = stored(box, "hl7:ORD1:1")
    assert updated is not None and updated.id == new.id
    assert updated.item["RequestedProcedureDescription"] == "CT Neck"
    assert updated.item["StudyInstanceUID"] == new.item["StudyInstanceUID"]  # kept
    new_step = updated.item["ScheduledProcedureStepSequence"][0]
    assert new_step["ScheduledProcedureStepID"] == step["ScheduledProcedureStepID"]
    assert new_step["ScheduledProcedureStepStartTime"] == "101500"

    assert msa(send(box, order("CA", "ORD1", control_id="M3")))[:2] == ("AA", "M3")
    canceled = stored(box, "hl7:ORD1:1")
    assert canceled is not None and canceled.status == "CANCELED"
    assert rows(box) == 1

    ack = send(box, omi("M4"), encoding="utf-8")
    assert msa(ack)[:2] == ("AA", "M4") and str(ack.segment("MSH")(9)) == "ACK^O23^ACK"
    first, second = stored(box, "hl7:OMI1:1"), stored(box, "hl7:OMI1:1:2")
    assert first is not None and second is not None
    assert first.item["PatientName"] == "Παπαδόπουλος^Νίκος"
    assert first.item["StudyInstanceUID"] == second.item["StudyInstanceUID"]
    assert first.item["StudyInstanceUID"] == OMI_STUDY
    steps = [s.item["ScheduledProcedureStepSequence"][0] for s in (first, second)]
    assert [s["ScheduledProcedureStepID"] for s in steps] == ["SPS-A", "SPS-B"]
    assert steps[0]["ScheduledStationAETitle"] == "MR_ONE"
    assert rows(box) == 3


def test_invalid_messages_get_a_nak_and_store_nothing(box_factory: Callable[..., Box]) -> None:
    box = hl7_box(box_factory, max_message_bytes=2048)
    with client(box) as sender:
        # Two OBRs, the second with a modality DICOM cannot hold: neither is stored.
        good = order("NW", "ORD2", control_id="B1")
        bad = order("NW", "ORD2", control_id="B1", set_id="2", modality="C-T")
        both = good + "\r" + "\r".join(bad.split("\r")[3:])
        ack = ack_of(sender.send_message(both.encode("latin-1")))
        code, control, reason = msa(ack)
        assert (code, control) == ("AE", "B1")
        assert "order ORD2 OBR 2" in reason and "Modality" in reason
        assert rows(box) == 0

        nope = order("CA", "NOPE", control_id="B2").encode("latin-1")
        unknown = ack_of(sender.send_message(nope))
        assert msa(unknown) == (
            "AE",
            "B2",
            "order NOPE OBR 1 is not in the worklist, so it cannot be canceled",
        )
        assert str(unknown.segment("ERR")(1)).startswith("ORC^1^^204")

        adt = "MSH|^~\\&|RIS|H|KILN|R|2024||ADT^A01|B3|P|2.5\rPID|1||X||Y^Z"
        rejected = ack_of(sender.send_message(adt.encode()))
        assert msa(rejected)[:2] == ("AR", "B3") and "ADT^A01" in msa(rejected)[2]
        assert str(rejected.segment("ERR")(3)).startswith("200^")

        garbage = ack_of(sender.send_message(b"this is not HL7"))
        assert msa(garbage) == ("AR", "", "the message does not begin with an MSH segment")

        wrong_bytes = order("NW", "ORD3", control_id="B4", charset="UNICODE UTF-8")
        undecodable = ack_of(sender.send_message(wrong_bytes.encode("latin-1")))
        assert msa(undecodable)[0] == "AR" and "byte 0xFC" in msa(undecodable)[2]

        # The connection stays usable after NAKs.
        fine = ack_of(sender.send_message(order("NW", "ORD4", control_id="B5").encode("latin-1")))
        assert msa(fine)[:2] == ("AA", "B5")
    assert rows(box) == 1

    with client(box) as sender:
        huge = order("NW", "ORD5", control_id="B6", description="x" * 3000)
        refused = ack_of(sender.send_message(huge.encode("latin-1")))
        assert msa(refused)[:2] == ("AR", "B6")
        assert "longer than 2048 bytes" in msa(refused)[2]
        assert sender.socket.recv(1) == b""  # and the connection is closed
    assert rows(box) == 1
    assert stored(box, "hl7:ORD5:1") is None


def test_framing_across_segments_stalls_and_a_prompt_stop(
    box_factory: Callable[..., Box],
) -> None:
    box = hl7_box(box_factory)
    with client(box) as sender:
        framed = START + order("NW", "SPLIT", control_id="F1").encode("latin-1") + END
        for piece in (framed[:7], framed[7:150], framed[150:-1], framed[-1:]):
            sender.socket.sendall(piece)
            time.sleep(0.2)
        (answer,) = read_frames(sender.socket, 1)
        assert msa(ack_of(answer))[:2] == ("AA", "F1")

        two = b"".join(
            START + order("NW", number, control_id=cid).encode("latin-1") + END
            for number, cid in (("ONE", "F2"), ("TWO", "F3"))
        )
        sender.socket.sendall(two)  # both messages in one segment
        answers = read_frames(sender.socket, 2)
        assert [msa(ack_of(a))[:2] for a in answers] == [("AA", "F2"), ("AA", "F3")]
    assert stored(box, "hl7:SPLIT:1") is not None
    assert stored(box, "hl7:ONE:1") is not None and stored(box, "hl7:TWO:1") is not None

    with client(box) as staller:
        staller.socket.sendall(START + order("NW", "STALL", control_id="F4").encode()[:60])
        began = time.monotonic()
        assert staller.socket.recv(4096) == b""  # closed, with no answer
        waited = time.monotonic() - began
    assert TIMEOUT - 0.5 <= waited <= TIMEOUT + 5
    assert stored(box, "hl7:STALL:1") is None
    assert wait_for(lambda: "stalled mid-message" in box.log(), 5)

    idle = client(box)  # a sender that keeps its connection open between messages
    kept = ack_of(idle.send_message(order("NW", "IDLE", control_id="F5").encode("latin-1")))
    assert msa(kept)[:2] == ("AA", "F5")
    began = time.monotonic()
    assert box.stop(signal.SIGTERM, timeout=60) == 0
    assert time.monotonic() - began < 20
    assert idle.socket.recv(1) == b""  # the listener closed it on the way out
    idle.close()
    assert rows(box) == 4


# -- the service in process: the transaction and the status across updates -----------------------
@pytest.fixture
def orders(tmp_path: Path) -> Iterator[OrderService]:
    migrate(tmp_path)
    conn = connect(tmp_path)
    yield OrderService(WorklistStore(conn), "latin-1")
    conn.close()


def answer(orders: OrderService, message: str) -> tuple[str, str, str]:
    return msa(ack_of(frame(orders.handle(message.encode("latin-1")))))


def test_a_database_failure_midway_leaves_nothing_and_answers_ae(
    orders: OrderService, monkeypatch: pytest.MonkeyPatch
) -> None:
    two = (
        order("NW", "TX", control_id="T1")
        + "\r"
        + "\r".join(order("NW", "TX", control_id="T1", set_id="2").split("\r")[3:])
    )
    real_write = orders.store._write
    calls: list[int] = []

    def failing_write(*args: Any) -> tuple[int, bool]:
        calls.append(1)
        if len(calls) == 2:
            raise sqlite3.OperationalError("disk I/O error")
        return real_write(*args)

    monkeypatch.setattr(orders.store, "_write", failing_write)
    code, _control, reason = answer(orders, two)
    assert code == "AE" and "disk I/O error" in reason
    assert len(calls) == 2  # the first item was written, then rolled back
    assert orders.store.conn.execute("SELECT count(*) FROM worklist_items").fetchone()[0] == 0
    assert not orders.store.conn.in_transaction


def test_an_update_keeps_the_step_status_mpps_set(orders: OrderService) -> None:
    assert answer(orders, order("NW", "ST", control_id="S1"))[0] == "AA"
    item = orders.store.get("hl7:ST:1")
    assert item is not None
    orders.store.set_status(item.id, "STARTED")
    changed = order("XO", "ST", control_id="S2", description="CT Chest")
    assert answer(orders, changed)[0] == "AA"
    after = orders.store.get("hl7:ST:1")
    assert after is not None and after.status == "STARTED"
    assert after.item["RequestedProcedureDescription"] == "CT Chest"


def test_deframer_splits_joins_skips_noise_and_bounds_size() -> None:
    one, two = b"MSH|first", b"MSH|second"
    stream = b"\r\n" + START + one + END + b"noise" + START + two + END
    byte_by_byte = Deframer(100)
    got = [f for i in range(len(stream)) for f in byte_by_byte.feed(stream[i : i + 1])]
    assert got == [one, two] and not byte_by_byte.in_frame
    assert Deframer(100).feed(stream) == [one, two]
    restarted = Deframer(100)
    assert restarted.feed(START + b"MSH|cut off" + START + two + END) == [two]

    endless = Deframer(100)
    assert endless.feed(START + b"MSH|" + b"x" * 96) == [] and endless.in_frame
    with pytest.raises(FrameTooLarge) as caught:
        endless.feed(b"y")
    assert caught.value.head.startswith(b"MSH|xxx")
    with pytest.raises(FrameTooLarge):
        Deframer(100).feed(START + b"z" * 101 + END)
