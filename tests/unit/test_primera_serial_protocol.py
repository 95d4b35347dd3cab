"""Kiln's reference command set, from byte traces: requests, replies, status, both ways."""

from __future__ import annotations

import pytest

from drivers.primera.flavors import (
    FLAVORS,
    REFERENCE_COMMANDS,
    BinRole,
    CartridgeKind,
    Operation,
    flavor,
)
from drivers.primera.robot_errors import ProtocolError
from drivers.primera.robot_status import (
    BinStatus,
    CartridgeStatus,
    DriveStatus,
    PrinterTray,
    RobotStatus,
    SystemState,
)
from drivers.primera.serial_protocol import (
    Accepted,
    Identity,
    Refused,
    Request,
    decode_identity,
    decode_reply,
    decode_request,
    decode_status,
    encode_identity,
    encode_print,
    encode_request,
    encode_status,
)

C = REFERENCE_COMMANDS
SE = flavor("disc-publisher-se")

REQUEST_TRACES: list[tuple[Operation, dict[str, int], bytes]] = [
    (Operation.STATUS, {}, b"ST\r"),
    (Operation.IDENTIFY, {}, b"ID\r"),
    (Operation.LOAD_DRIVE, {"source": 1, "drive": 0, "clear": 1}, b"LD 1 0 1\r"),
    (Operation.LOAD_DRIVE, {"source": 0, "drive": 1, "clear": 0}, b"LD 0 1 0\r"),
    (Operation.UNLOAD_DRIVE, {"drive": 1, "target": 200}, b"UD 1 200\r"),
    (Operation.UNLOAD_DRIVE, {"drive": 0, "target": 100}, b"UD 0 100\r"),
    (Operation.LOAD_PRINTER, {"source": 2}, b"LP 2\r"),
    (Operation.LOAD_PRINTER_FROM_DRIVE, {"drive": 0}, b"LF 0\r"),
    (Operation.UNLOAD_PRINTER, {"target": 2}, b"UP 2\r"),
    (Operation.MOVE_DISC, {"source": 1, "target": 200}, b"MV 1 200\r"),
    (Operation.KILL_ERROR, {"reset": 0}, b"KE 0\r"),
    (Operation.SYSTEM_ACTION, {"action": 0x80}, b"SA 00000080\r"),
    (Operation.PRINT, {"length": 3, "crc32": 0x352441C2}, b"PR 3 352441C2\r"),
]


@pytest.mark.parametrize(("operation", "fields", "trace"), REQUEST_TRACES)
def test_request_encodes_to_the_trace_and_decodes_back(
    operation: Operation, fields: dict[str, int], trace: bytes
) -> None:
    assert encode_request(C, operation, **fields) == trace
    assert decode_request(C, trace.removesuffix(C.line_end)) == Request(operation, fields)


def test_print_carries_the_label_after_its_length_and_crc() -> None:
    assert encode_print(C, b"abc") == b"PR 3 352441C2\rabc"


def test_print_refuses_an_empty_label() -> None:
    with pytest.raises(ProtocolError, match="empty"):
        encode_print(C, b"")


def test_a_missing_field_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="drive"):
        encode_request(C, Operation.LOAD_DRIVE, source=1, clear=0)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"", "empty"),
        (b"XX 1", "unknown request"),
        (b"LD 1 0", "3 fields"),
        (b"LD 1 zero 0", "not a number"),
        (b"\xffST", "not ascii"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(line: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        decode_request(C, line)


@pytest.mark.parametrize(
    ("line", "reply"),
    [(b"OK", Accepted()), (b"NAK 515", Refused(515)), (b"NAK 528\r", Refused(528))],
)
def test_replies(line: bytes, reply: Accepted | Refused) -> None:
    assert decode_reply(C, line) == reply


@pytest.mark.parametrize("line", [b"NAK", b"NAK x", b"HELLO", b"ST sys=0"])
def test_unexpected_replies_are_protocol_errors(line: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_reply(C, line)


SE_TRACE = b"ST sys=2 err=15 bins=17,3 pick=O ptray=D cover=1 cart=1,2 ink=912345,-1 drv=O1"


def test_status_trace_of_a_disc_publisher_se() -> None:
    status = decode_status(SE, SE_TRACE)
    assert status == RobotStatus(
        state=SystemState.ERROR,
        error_code=15,
        bins=(
            BinStatus(1, "input", BinRole.INPUT, 20, 17),
            BinStatus(2, "output", BinRole.OUTPUT, 20, 3),
        ),
        picker_has_disc=True,
        printer_tray=PrinterTray.IN_WITH_DISC,
        cover_open=True,
        cartridges=(
            CartridgeStatus(CartridgeKind.COLOR, True, 91.2345),
            CartridgeStatus(CartridgeKind.BLACK, True, None),
        ),
        drives=(DriveStatus(0, tray_open=True, has_disc=True),),
    )
    assert status.disc_in_printer
    assert status.lowest_ink() == 91.2345
    assert encode_status(SE, status) == SE_TRACE + b"\r\n"


def test_status_trace_of_a_4100_xrp_with_unknown_bins_and_a_missing_tank() -> None:
    model = flavor("disc-publisher-4100-xrp")
    trace = (
        b"ST sys=0 err=0 bins=255,40 pick=X ptray=I cover=0 "
        b"cart=2,4,0,3 ink=500000,250000,0,1000000 drv=C0,C1"
    )
    status = decode_status(model, trace)
    assert status.idle
    assert status.bin("right").discs is None
    assert status.bin("left").discs == 40
    assert [c.kind for c in status.cartridges] == [
        CartridgeKind.BLACK,
        CartridgeKind.CYAN,
        CartridgeKind.MAGENTA,
        CartridgeKind.YELLOW,
    ]
    assert [c.present for c in status.cartridges] == [True, True, False, True]
    assert status.lowest_ink() == 25.0  # the missing tank does not count
    assert [d.has_disc for d in status.drives] == [False, True]
    assert encode_status(model, status) == trace + b"\r\n"


@pytest.mark.parametrize(
    ("trace", "message"),
    [
        (b"ST sys=0 err=0 bins=1 pick=X ptray=I cover=0 cart=1,2 ink=0,0 drv=C0", "does not fit"),
        (b"ST sys=0 err=0 bins=1,2 pick=X ptray=I cover=0 cart=1,2 ink=0,0 drv=C0,C0", "fit"),
        (b"ST sys=0 err=0 bins=1,2 pick=X ptray=I cover=0 cart=1 ink=0 drv=C0", "cartridges"),
        (b"ST sys=0 err=0 bins=1,2 pick=Q ptray=I cover=0 cart=1,2 ink=0,0 drv=C0", "picker"),
        (b"ST sys=7 err=0 bins=1,2 pick=X ptray=I cover=0 cart=1,2 ink=0,0 drv=C0", "bad"),
        (b"ST sys=0 err=0 bins=1,2 pick=X ptray=I cover=0 cart=1,2 ink=0,0 drv=Z0", "drive"),
        (b"ST sys=0 err=0 bins=1,2 pick=X ptray=I cover=0 cart=1,2 ink=0,0", "without"),
        (b"ST sys=0 junk", "without '='"),
        (b"OK", "expected"),
    ],
)
def test_status_lines_that_do_not_fit_are_protocol_errors(trace: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        decode_status(SE, trace)


def test_identity_trace() -> None:
    trace = b"ID type=6 fw=1.23 drives=1 bins=2"
    identity = decode_identity(SE, trace)
    assert identity == Identity(6, "1.23", 1, 2)
    assert encode_identity(SE, identity) == trace + b"\r\n"


@pytest.mark.parametrize("key", sorted(FLAVORS))
def test_every_model_round_trips_its_own_status(key: str) -> None:
    model = FLAVORS[key]
    status = RobotStatus(
        state=SystemState.BUSY,
        error_code=0,
        bins=tuple(
            BinStatus(b.number, b.name, b.role, b.capacity, b.capacity // 2) for b in model.bins
        ),
        picker_has_disc=False,
        printer_tray=PrinterTray.OUT if model.printer else None,
        cover_open=False,
        cartridges=tuple(CartridgeStatus(kind, True, 50.0) for kind in model.cartridges),
        drives=tuple(DriveStatus(i, False, i == 0) for i in range(model.drives)),
    )
    assert decode_status(model, encode_status(model, status).removesuffix(b"\r\n")) == status


def test_model_facts_from_ptrobot_h() -> None:
    # ROBOT_* numbers in PTRobot.h; the 4100 family has four separate ink tanks.
    assert {k: f.robot_type for k, f in FLAVORS.items()} == {
        "disc-publisher-ii": 1,
        "disc-publisher-pro": 2,
        "disc-publisher-xrp": 5,
        "disc-publisher-se": 6,
        "disc-publisher-xi": 7,
        "disc-publisher-4100": 8,
        "disc-publisher-4100-xrp": 9,
        "bravo-4200": None,
    }
    assert len(flavor("disc-publisher-4100").cartridges) == 4
    assert (C.auto_location, C.printer_location, C.reject_location) == (0, 100, 200)


def test_an_unknown_model_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="disc-publisher-se"):
        flavor("bravo-9000")
