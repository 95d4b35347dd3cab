"""DIMSE command sets (PS3.7 Annex E): always Implicit VR Little Endian."""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum

_ELEMENT = struct.Struct("<HHL")


class CommandField(IntEnum):
    C_STORE_RQ = 0x0001
    C_STORE_RSP = 0x8001
    C_ECHO_RQ = 0x0030
    C_ECHO_RSP = 0x8030
    C_FIND_RQ = 0x0020
    C_FIND_RSP = 0x8020
    C_CANCEL_RQ = 0x0FFF
    N_SET_RQ = 0x0120
    N_SET_RSP = 0x8120
    N_CREATE_RQ = 0x0140
    N_CREATE_RSP = 0x8140
    N_EVENT_REPORT_RQ = 0x0100
    N_EVENT_REPORT_RSP = 0x8100
    N_ACTION_RQ = 0x0130
    N_ACTION_RSP = 0x8130
    N_GET_RQ = 0x0110
    N_GET_RSP = 0x8110
    N_DELETE_RQ = 0x0150
    N_DELETE_RSP = 0x8150


class Status(IntEnum):
    SUCCESS = 0x0000
    PENDING = 0xFF00
    PENDING_WARNING = 0xFF01  # C-FIND: some matching keys were not supported
    CANCEL = 0xFE00
    NO_SUCH_ATTRIBUTE = 0x0105
    INVALID_ATTRIBUTE_VALUE = 0x0106
    ATTRIBUTE_LIST_ERROR = 0x0107  # warning
    ATTRIBUTE_VALUE_OUT_OF_RANGE = 0x0116  # warning
    INVALID_OBJECT_INSTANCE = 0x0117
    RESOURCE_LIMITATION = 0x0213
    DUPLICATE_SOP_INSTANCE = 0x0111
    MISSING_ATTRIBUTE = 0x0120
    MISSING_ATTRIBUTE_VALUE = 0x0121
    PROCESSING_FAILURE = 0x0110
    NO_SUCH_OBJECT_INSTANCE = 0x0112
    CLASS_INSTANCE_CONFLICT = 0x0119
    NO_SUCH_SOP_CLASS = 0x0118
    UNRECOGNIZED_OPERATION = 0x0211
    NO_SUCH_ACTION_TYPE = 0x0123
    OUT_OF_RESOURCES = 0xA700
    DATASET_DOES_NOT_MATCH = 0xA900
    CANNOT_UNDERSTAND = 0xC000
    COERCION = 0xB000
    ELEMENTS_DISCARDED = 0xB006
    WARNING_SOP_MISMATCH = 0xB007


NO_DATASET = 0x0101

# Tag -> value kind for the command elements the box reads or writes.
_UI, _US, _UL, _TEXT, _AT = "UI", "US", "UL", "TEXT", "AT"
_KINDS: dict[int, str] = {
    0x00000002: _UI,  # Affected SOP Class UID
    0x00000003: _UI,  # Requested SOP Class UID
    0x00000100: _US,  # Command Field
    0x00000110: _US,  # Message ID
    0x00000120: _US,  # Message ID Being Responded To
    0x00000600: _TEXT,  # Move Destination
    0x00000700: _US,  # Priority
    0x00000800: _US,  # Command Data Set Type
    0x00000900: _US,  # Status
    0x00000902: _TEXT,  # Error Comment
    0x00000903: _US,  # Error ID
    0x00001000: _UI,  # Affected SOP Instance UID
    0x00001001: _UI,  # Requested SOP Instance UID
    0x00001002: _US,  # Event Type ID
    0x00001005: _AT,  # Attribute Identifier List (N-GET)
    0x00001008: _US,  # Action Type ID
    0x00001030: _TEXT,  # Move Originator AE Title
    0x00001031: _US,  # Move Originator Message ID
}

AFFECTED_SOP_CLASS = 0x00000002
REQUESTED_SOP_CLASS = 0x00000003
COMMAND_FIELD = 0x00000100
MESSAGE_ID = 0x00000110
RESPONDED_TO = 0x00000120
PRIORITY = 0x00000700
DATASET_TYPE = 0x00000800
STATUS = 0x00000900
ERROR_COMMENT = 0x00000902
ERROR_ID = 0x00000903
AFFECTED_SOP_INSTANCE = 0x00001000
REQUESTED_SOP_INSTANCE = 0x00001001
EVENT_TYPE = 0x00001002
ATTRIBUTE_IDENTIFIER_LIST = 0x00001005
ACTION_TYPE = 0x00001008
MOVE_ORIGINATOR_AE = 0x00001030
MOVE_ORIGINATOR_ID = 0x00001031


class CommandError(ValueError):
    """A command set that cannot be decoded."""


# A command element's value: UI/text as str, US/UL as int, AT as a tuple of tags.
Value = str | int | tuple[int, ...]


@dataclass
class Command:
    elements: dict[int, Value] = field(default_factory=dict)

    def get_int(self, tag: int, default: int = 0) -> int:
        value = self.elements.get(tag, default)
        return value if isinstance(value, int) else default

    def get_str(self, tag: int) -> str:
        value = self.elements.get(tag, "")
        return value if isinstance(value, str) else ""

    def get_tags(self, tag: int) -> tuple[int, ...]:
        """An AT element as (group << 16 | element) tags; () when absent."""
        value = self.elements.get(tag, ())
        return value if isinstance(value, tuple) else ()

    @property
    def field(self) -> int:
        return self.get_int(COMMAND_FIELD, -1)

    @property
    def message_id(self) -> int:
        return self.get_int(MESSAGE_ID)

    @property
    def has_dataset(self) -> bool:
        return self.get_int(DATASET_TYPE, NO_DATASET) != NO_DATASET


def decode(data: bytes | bytearray) -> Command:
    """Decode an Implicit VR LE command set; unknown elements are skipped."""
    elements: dict[int, Value] = {}
    offset, end = 0, len(data)
    while offset < end:
        if end - offset < _ELEMENT.size:
            raise CommandError("truncated command element")
        group, element, length = _ELEMENT.unpack_from(data, offset)
        offset += _ELEMENT.size
        if length == 0xFFFFFFFF or offset + length > end:
            raise CommandError(f"bad length for command element ({group:04X},{element:04X})")
        if group != 0:
            raise CommandError(f"element ({group:04X},{element:04X}) in a command set")
        raw = bytes(data[offset : offset + length])
        offset += length
        tag = (group << 16) | element
        kind = _KINDS.get(tag)
        if kind == _US and length == 2:
            elements[tag] = struct.unpack("<H", raw)[0]
        elif kind == _UL and length == 4:
            elements[tag] = struct.unpack("<L", raw)[0]
        elif kind in (_UI, _TEXT):
            elements[tag] = raw.decode("ascii", "replace").rstrip("\x00 ")
        elif kind == _AT:
            if length % 4:
                raise CommandError(f"AT element ({group:04X},{element:04X}) of odd length")
            pairs = struct.unpack(f"<{length // 2}H", raw)
            elements[tag] = tuple((pairs[i] << 16) | pairs[i + 1] for i in range(0, len(pairs), 2))
    if COMMAND_FIELD not in elements:
        raise CommandError("command set has no Command Field")
    return Command(elements)


def encode(elements: Mapping[int, Value]) -> bytes:
    """Encode a command set with its group length, elements in tag order."""
    body = bytearray()
    for tag in sorted(elements):
        value = elements[tag]
        kind = _KINDS[tag]
        if isinstance(value, tuple):
            raw = b"".join(struct.pack("<HH", t >> 16, t & 0xFFFF) for t in value)
        elif kind == _US:
            raw = struct.pack("<H", int(value))
        elif kind == _UL:
            raw = struct.pack("<L", int(value))
        else:
            raw = str(value).encode("ascii", "replace")
            if len(raw) % 2:
                raw += b"\x00" if kind == _UI else b" "
        body += _ELEMENT.pack(tag >> 16, tag & 0xFFFF, len(raw)) + raw
    return _ELEMENT.pack(0, 0, 4) + struct.pack("<L", len(body)) + bytes(body)


def response(
    request: Command,
    field_value: CommandField,
    status: int,
    *,
    comment: str = "",
    has_dataset: bool = False,
    sop_class_tag: int = AFFECTED_SOP_CLASS,
    sop_instance_tag: int = AFFECTED_SOP_INSTANCE,
) -> bytes:
    """A response echoing the request's SOP class/instance, as PS3.7 asks."""
    elements: dict[int, str | int] = {
        COMMAND_FIELD: int(field_value),
        RESPONDED_TO: request.message_id,
        DATASET_TYPE: 0x0000 if has_dataset else NO_DATASET,
        STATUS: status,
    }
    sop_class = request.get_str(AFFECTED_SOP_CLASS) or request.get_str(REQUESTED_SOP_CLASS)
    sop_instance = request.get_str(AFFECTED_SOP_INSTANCE) or request.get_str(REQUESTED_SOP_INSTANCE)
    if sop_class:
        elements[sop_class_tag] = sop_class
    if sop_instance:
        elements[sop_instance_tag] = sop_instance
    if comment:
        elements[ERROR_COMMENT] = comment[:64]
    return encode(elements)
