"""Directory record elements written straight to Explicit VR Little Endian bytes.

A DICOMDIR holds one record per instance; building a pydicom Dataset per record and
encoding it costs more than the whole DICOMDIR is worth, so records are plain mappings
from keyword to value, encoded here. Text is encoded in the record's Specific Character
Set with pydicom's codecs (ISO 2022 escapes included).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from functools import cache

from pydicom.charset import encode_string
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.valuerep import PersonName

# A record value: text as in a dataset (several values joined by a backslash), a number
# for binary VRs, raw bytes, or a sequence as a list of items.
RecordValue = str | int | float | bytes | list["RecordItem"]
RecordItem = Mapping[str, RecordValue]

_LONG_VRS = frozenset(
    {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}
)
_CHARSET_VRS = frozenset({"SH", "LO", "ST", "LT", "UT", "UC", "PN"})
_BINARY = {"US": "<H", "SS": "<h", "UL": "<L", "SL": "<l", "FL": "<f", "FD": "<d"}
_FLOATS = frozenset({"FL", "FD"})
_ITEM = struct.pack("<HH", 0xFFFE, 0xE000)


class RecordValueError(ValueError):
    """A value that cannot be written as its element requires."""


@cache
def element_of(keyword: str) -> tuple[int, str]:
    """(tag, VR) of a keyword; an ambiguous VR ("US or SS") takes its first choice."""
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise RecordValueError(f"{keyword} is not a DICOM keyword")
    return tag, dictionary_VR(tag).split(" ")[0]


def header(tag: int, vr: str, length: int) -> bytes:
    if vr in _LONG_VRS:
        return struct.pack("<HH2sHL", tag >> 16, tag & 0xFFFF, vr.encode(), 0, length)
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr.encode(), length)


def encode_value(vr: str, value: RecordValue, encodings: Sequence[str]) -> bytes:
    """The value bytes of one element, padded to even length."""
    if vr == "SQ":
        if not isinstance(value, list):
            raise RecordValueError("a sequence needs a list of items")
        return b"".join(encode_item(item, encodings) for item in value)
    if vr in _BINARY:
        fmt, number = _BINARY[vr], float if vr in _FLOATS else int
        if isinstance(value, int | float):
            return struct.pack(fmt, number(value))
        if isinstance(value, str):
            return b"".join(struct.pack(fmt, number(v)) for v in value.split("\\") if v)
        if isinstance(value, bytes):
            return value
        raise RecordValueError(f"a {vr} value must be a number")
    if isinstance(value, bytes):
        data = value
    elif isinstance(value, str | int | float):
        text = str(value)
        if vr == "PN":
            data = PersonName(text).encode(list(encodings))
        elif vr in _CHARSET_VRS:
            data = encode_string(text, list(encodings))
        else:
            data = text.encode("ascii")
    else:
        raise RecordValueError(f"a {vr} value cannot be a sequence")
    if len(data) % 2:
        data += b"\x00" if vr in ("UI", "OB", "UN") else b" "
    return data


def encode_item(item: RecordItem, encodings: Sequence[str]) -> bytes:
    body = encode_elements(item, encodings)
    return _ITEM + struct.pack("<L", len(body)) + body


def encode_elements(values: RecordItem, encodings: Sequence[str]) -> bytes:
    """Every element of `values` in ascending tag order; None-free by construction."""
    parts = []
    for keyword in values:
        tag, vr = element_of(keyword)
        parts.append((tag, vr, values[keyword]))
    parts.sort(key=lambda part: part[0])
    out = bytearray()
    for tag, vr, value in parts:
        data = encode_value(vr, value, encodings)
        if len(data) > 0xFFFF and vr not in _LONG_VRS:
            raise RecordValueError(f"({tag >> 16:04X},{tag & 0xFFFF:04X}) is too long")
        out += header(tag, vr, len(data))
        out += data
    return bytes(out)
