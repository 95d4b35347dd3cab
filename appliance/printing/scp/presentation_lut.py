"""Presentation LUT N-CREATE (PS3.3 C.11.4; seed 004 table 53).

Either Presentation LUT Shape (IDENTITY or LIN OD) or a Presentation LUT Sequence with
one explicit table, never both. The table's descriptor is checked against its data so
composition never reads past it.
"""

from __future__ import annotations

import struct

from pydicom.dataset import Dataset

from appliance.dicom.command import Status
from appliance.printing.film import LutSpec
from appliance.printing.scp import values
from appliance.printing.scp.refused import Refused, Warnings

LUT_KEYS = frozenset({"PresentationLUTShape", "PresentationLUTSequence"})
SHAPES = ("IDENTITY", "LIN OD")


def read_lut(ds: Dataset, warnings: Warnings, *, little_endian: bool = True) -> LutSpec:
    values.unknown(ds, LUT_KEYS, warnings)
    shape = values.text(ds, "PresentationLUTShape")
    has_table = "PresentationLUTSequence" in ds
    if shape and has_table:
        raise Refused(Status.INVALID_ATTRIBUTE_VALUE, "both a LUT shape and a LUT sequence")
    if shape:
        return LutSpec(shape=values.code(ds, "PresentationLUTShape", SHAPES, ""))
    if not has_table:
        raise Refused(Status.MISSING_ATTRIBUTE, "Presentation LUT Shape or Sequence missing")
    items = ds.PresentationLUTSequence or []
    if len(items) != 1:
        raise Refused(Status.INVALID_ATTRIBUTE_VALUE, "Presentation LUT Sequence: one item")
    return _table(items[0], little_endian)


def _table(item: Dataset, little_endian: bool) -> LutSpec:
    descriptor = _words(item, "LUTDescriptor", little_endian)
    if len(descriptor) != 3:
        raise Refused(Status.MISSING_ATTRIBUTE, "LUT Descriptor (0028,3002) needs 3 values")
    entries, first, bits = descriptor
    entries = entries or 65536  # PS3.3 C.11.1.1: 0 means 2^16
    if first != 0:
        raise Refused(Status.INVALID_ATTRIBUTE_VALUE, f"LUT Descriptor first value {first}, not 0")
    if not 8 <= bits <= 16:
        raise Refused(Status.INVALID_ATTRIBUTE_VALUE, f"LUT Descriptor: {bits} bits, not 8..16")
    data = _words(item, "LUTData", little_endian)
    if len(data) != entries:
        raise Refused(
            Status.INVALID_ATTRIBUTE_VALUE, f"LUT Data has {len(data)} entries, not {entries}"
        )
    if max(data) >= 1 << bits:
        raise Refused(Status.INVALID_ATTRIBUTE_VALUE, f"LUT Data has values over {bits} bits")
    explanation = values.text(item, "LUTExplanation") or ""
    return LutSpec(descriptor=(entries, first, bits), data=data, explanation=explanation[:64])


def _words(item: Dataset, keyword: str, little_endian: bool) -> tuple[int, ...]:
    """US values; the ambiguous US/SS/OW elements may arrive undecoded (Implicit VR)."""
    if keyword not in item or item[keyword].value is None:
        raise Refused(Status.MISSING_ATTRIBUTE, f"{values.name(keyword)} missing")
    value = item[keyword].value
    if isinstance(value, bytes):
        if len(value) % 2:
            raise Refused(Status.INVALID_ATTRIBUTE_VALUE, f"{values.name(keyword)} odd length")
        fmt = f"{'<' if little_endian else '>'}{len(value) // 2}H"
        return tuple(struct.unpack(fmt, value))
    if isinstance(value, int):
        return (value,)
    return tuple(int(v) for v in value)
