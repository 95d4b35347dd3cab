"""C-FIND response identifiers, encoded directly from stored items.

A worklist answer is small and regular (text, a few US values, nested sequences), so it is
written straight to bytes for the negotiated little-endian transfer syntax. The query's
keys are compiled once into a plan (tag headers and empty elements made in advance); each
item then costs a dictionary lookup per key and an encode per value it has.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydicom.charset import python_encoding

from appliance.dicom.syntaxes import IMPLICIT_LE
from appliance.worklist.attributes import TAGS, VRS
from appliance.worklist.item import Item
from appliance.worklist.query import SPECIFIC_CHARACTER_SET, Key

_LONG_VRS = frozenset(
    {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}
)
_ASCII_VRS = frozenset({"DA", "TM", "CS", "AE", "AS", "DS", "IS", "DT"})
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_ITEM_HEAD = struct.pack("<HH", 0xFFFE, 0xE000)


def codec_for(charset: str) -> str:
    return "ascii" if charset == "ISO_IR 6" else python_encoding[charset]


def _even(raw: bytes, pad: bytes = b" ") -> bytes:
    return raw + pad if len(raw) % 2 else raw


# How a value becomes bytes (inline in _write: this loop is the cost of a large answer).
_TEXT, _ASCII, _UID, _US, _SEQUENCE = range(5)


@dataclass(frozen=True)
class _Step:
    keyword: str
    head: bytes  # tag (and VR) before the length
    length: struct.Struct
    empty: bytes  # the whole element with no value
    kind: int
    children: list[_Step] | None = None  # sequences: None returns whole items
    checks: tuple[Callable[[Item], bool], ...] = ()


class AnswerEncoder:
    """Encodes items for one association context and one answer character set."""

    def __init__(self, transfer_syntax: str, charset: str) -> None:
        self.implicit = transfer_syntax == IMPLICIT_LE
        self.charset = charset
        self.codec = codec_for(charset)
        self._whole: dict[tuple[str, ...], list[_Step]] = {}

    def _head(self, tag: int, vr: str) -> tuple[bytes, struct.Struct]:
        tag_bytes = struct.pack("<HH", tag >> 16, tag & 0xFFFF)
        if self.implicit:
            return tag_bytes, _U32
        if vr in _LONG_VRS:
            return tag_bytes + vr.encode() + b"\x00\x00", _U32
        return tag_bytes + vr.encode(), _U16

    def _step(self, key: Key) -> _Step:
        head, length = self._head(key.tag, key.vr)
        empty = head + length.pack(0)
        if key.vr == "SQ":
            children = None if key.children is None else self.plan(key.children)
            checks = tuple(key.item_checks)
            return _Step(key.keyword, head, length, empty, _SEQUENCE, children, checks)
        kind = {"US": _US, "UI": _UID}.get(key.vr, _ASCII if key.vr in _ASCII_VRS else _TEXT)
        return _Step(key.keyword, head, length, empty, kind)

    def plan(self, keys: list[Key]) -> list[_Step]:
        """What to write for these requested keys, in tag order."""
        return [self._step(key) for key in sorted(keys, key=lambda k: k.tag)]

    def _whole_plan(self, item: Item) -> list[_Step]:
        """Universal sequence matching: every attribute of the stored item."""
        names = tuple(sorted(item))
        plan = self._whole.get(names)
        if plan is None:
            plan = self.plan([Key(TAGS[k], k, VRS[k]) for k in names])
            self._whole[names] = plan
        return plan

    def _write(self, plan: list[_Step], item: Item, out: list[bytes]) -> None:
        codec = self.codec
        for step in plan:
            value: Any = item.get(step.keyword) if step.keyword else None
            kind = step.kind
            if kind == _SEQUENCE:
                entries = value if isinstance(value, list) else []
                if step.checks:
                    # Only the items that matched the query's item come back.
                    entries = [e for e in entries if all(c(e) for c in step.checks)]
                body: list[bytes] = []
                for entry in entries:
                    inner: list[bytes] = []
                    self._write(step.children or self._whole_plan(entry), entry, inner)
                    encoded = b"".join(inner)
                    body += (_ITEM_HEAD, _U32.pack(len(encoded)), encoded)
                sequence = b"".join(body)
                out += (step.head, step.length.pack(len(sequence)), sequence)
                continue
            if value is None or value == "":
                out.append(step.empty)
                continue
            if kind == _TEXT:
                # Characters the answer set cannot carry become '?', never an error.
                raw = str(value).encode(codec, "replace")
            elif kind == _ASCII:
                raw = str(value).encode("ascii", "replace")
            elif kind == _UID:
                raw = str(value).encode("ascii")
                if len(raw) & 1:
                    raw += b"\x00"
            else:
                raw = _U16.pack(int(value))
            if len(raw) & 1:
                raw += b" "
            out += (step.head, step.length.pack(len(raw)), raw)

    def encode(self, plan: list[_Step], item: Item, *, wants_charset: bool) -> bytes:
        out: list[bytes] = []
        if self.charset != "ISO_IR 6":
            head, length = self._head(SPECIFIC_CHARACTER_SET, "CS")
            value = _even(self.charset.encode("ascii"))
            out += (head, length.pack(len(value)), value)
        elif wants_charset:
            head, length = self._head(SPECIFIC_CHARACTER_SET, "CS")
            out += (head, length.pack(0))
        self._write(plan, item, out)
        return b"".join(out)
