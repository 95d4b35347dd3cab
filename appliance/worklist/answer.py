"""C-FIND response identifiers, encoded directly from stored items.

A worklist answer is small and regular (text, a few US values, nested sequences), so it is
written straight to bytes for the negotiated little-endian transfer syntax; building a
pydicom Dataset per response would cost more than the whole query.
"""

from __future__ import annotations

import struct
from typing import Any

from pydicom.charset import python_encoding

from appliance.dicom.syntaxes import IMPLICIT_LE
from appliance.worklist.attributes import TAGS, VRS
from appliance.worklist.item import Item
from appliance.worklist.query import SPECIFIC_CHARACTER_SET, Key

_IMPLICIT = struct.Struct("<HHI")
_EXPLICIT_SHORT = struct.Struct("<HH2sH")
_EXPLICIT_LONG = struct.Struct("<HH2sHI")
_LONG_VRS = frozenset(
    {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}
)
_ITEM = 0xE000
# Universal sequence matching returns whole items: their keys, made once.
_WHOLE = {k: Key(TAGS[k], k, VRS[k]) for k in TAGS}


def _tag(key: Key) -> int:
    return key.tag


def codec_for(charset: str) -> str:
    return "ascii" if charset == "ISO_IR 6" else python_encoding[charset]


class AnswerEncoder:
    """Encodes items for one association context and one answer character set."""

    def __init__(self, transfer_syntax: str, charset: str) -> None:
        self.implicit = transfer_syntax == IMPLICIT_LE
        self.charset = charset
        self.codec = codec_for(charset)

    def _element(self, tag: int, vr: str, value: bytes) -> bytes:
        group, number = tag >> 16, tag & 0xFFFF
        if self.implicit:
            return _IMPLICIT.pack(group, number, len(value)) + value
        if vr in _LONG_VRS:
            return _EXPLICIT_LONG.pack(group, number, vr.encode(), 0, len(value)) + value
        return _EXPLICIT_SHORT.pack(group, number, vr.encode(), len(value)) + value

    def _value(self, vr: str, value: Any) -> bytes:
        if value is None or value == "":
            return b""
        if vr == "US":
            return struct.pack("<H", int(value))
        if vr == "UI":
            raw = str(value).encode("ascii")
            return raw + b"\x00" if len(raw) % 2 else raw
        if vr in ("DA", "TM", "CS", "AE", "AS", "DS", "IS", "DT"):
            raw = str(value).encode("ascii", "replace")
        else:
            # Characters the answer set cannot carry become '?', never an error.
            raw = str(value).encode(self.codec, "replace")
        return raw + b" " if len(raw) % 2 else raw

    def _sequence(self, key: Key, entries: list[Item]) -> bytes:
        body = bytearray()
        for entry in entries:
            whole = key.children is None
            inner = self._whole(entry) if whole else self._keys(key.children or [], entry)
            body += _IMPLICIT.pack(0xFFFE, _ITEM, len(inner)) + inner
        return bytes(body)

    def _keys(self, keys: list[Key], item: Item) -> bytes:
        out = bytearray()
        for key in keys:
            value = item.get(key.keyword) if key.keyword else None
            if key.vr == "SQ":
                entries = value if isinstance(value, list) else []
                if key.item_checks:
                    # Only the items that matched the query's item come back.
                    entries = [e for e in entries if all(c(e) for c in key.item_checks)]
                out += self._element(key.tag, "SQ", self._sequence(key, entries))
            else:
                out += self._element(key.tag, key.vr, self._value(key.vr, value))
        return bytes(out)

    def _whole(self, item: Item) -> bytes:
        """Universal sequence matching: every attribute of the stored item."""
        return self._keys(sorted((_WHOLE[k] for k in item), key=_tag), item)

    def encode(self, keys: list[Key], item: Item, *, wants_charset: bool) -> bytes:
        head = b""
        if self.charset != "ISO_IR 6":
            head = self._element(SPECIFIC_CHARACTER_SET, "CS", self._value("CS", self.charset))
        elif wants_charset:
            head = self._element(SPECIFIC_CHARACTER_SET, "CS", b"")
        return head + self._keys(keys, item)
