"""Read the identifying attributes from the head of a received dataset, never the pixels.

A small element walker instead of a full parse: the receive path must stay cheap, and
everything the index needs lies at or before (0020,0013) Instance Number. A whole walk (the
receive path's check of every element) also collects the DICOMDIR keys a file-set needs
(`media`), so media are built from the index without reading the files again.
"""

from __future__ import annotations

import contextlib
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from pydicom.charset import convert_encodings, decode_bytes

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
# Transfer syntaxes whose whole dataset is deflated (PS3.5 A.5): plain, JPIP and JPIP HTJ2K.
DEFLATED = frozenset(
    {"1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.4.95", "1.2.840.10008.1.2.4.205"}
)

_LAST_TAG = 0x00200013
_UNDEFINED = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_LONG_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)
_MAX_DEPTH = 32


class HeaderError(ValueError):
    """The dataset cannot be understood."""


class Truncated(HeaderError):
    """The bytes given end before the head of the dataset does."""


# A DICOMDIR key as kept in the index: text as in the dataset (multiple values joined by
# a backslash), a US number, or the (class, instance) UID pairs of a reference sequence.
MediaValue = str | int | list[list[str]]


@dataclass(frozen=True)
class InstanceHeader:
    sop_class_uid: str
    sop_instance_uid: str
    study_uid: str
    series_uid: str
    values: dict[str, str]
    media: dict[str, MediaValue] = field(default_factory=dict)


# tag -> (column, is person name)
_WANTED: dict[int, tuple[str, bool]] = {
    0x00080005: ("character_set", False),
    0x00080016: ("sop_class_uid", False),
    0x00080018: ("sop_instance_uid", False),
    0x00080020: ("study_date", False),
    0x00080030: ("study_time", False),
    0x00080050: ("accession_number", False),
    0x00080060: ("modality", False),
    0x00080080: ("institution_name", False),
    0x00080090: ("referring_physician", True),
    0x00081030: ("study_description", False),
    0x0008103E: ("series_description", False),
    0x00100010: ("patient_name", True),
    0x00100020: ("patient_id", False),
    0x00100030: ("patient_birth_date", False),
    0x00100040: ("patient_sex", False),
    0x00180015: ("body_part", False),
    0x0020000D: ("study_uid", False),
    0x0020000E: ("series_uid", False),
    0x00200010: ("study_id", False),
    0x00200011: ("series_number", False),
    0x00200013: ("instance_number", False),
}


class _Kind(Enum):
    TEXT = "text"
    PERSON = "person"
    US = "us"
    REFERENCES = "references"


_REFERENCED_IMAGES = 0x00081140
# tag -> (keyword, kind): the series- and image-level DICOMDIR keys of PS3.11 table H.3-2
# and CDRobot3 table 8.1-1 that have no column, plus what a decoded size needs (samples,
# bits). Kept per instance as JSON (instances.media_keys) and read by appliance/media.
_MEDIA: dict[int, tuple[str, _Kind]] = {
    0x00080005: ("SpecificCharacterSet", _Kind.TEXT),
    0x00080008: ("ImageType", _Kind.TEXT),
    0x00080021: ("SeriesDate", _Kind.TEXT),
    0x0008002A: ("AcquisitionDateTime", _Kind.TEXT),
    0x00080031: ("SeriesTime", _Kind.TEXT),
    0x00080080: ("InstitutionName", _Kind.TEXT),
    0x00080081: ("InstitutionAddress", _Kind.TEXT),
    0x00081050: ("PerformingPhysicianName", _Kind.PERSON),
    _REFERENCED_IMAGES: ("ReferencedImageSequence", _Kind.REFERENCES),
    0x00181800: ("AcquisitionTimeSynchronized", _Kind.TEXT),
    0x00200032: ("ImagePositionPatient", _Kind.TEXT),
    0x00200037: ("ImageOrientationPatient", _Kind.TEXT),
    0x00200052: ("FrameOfReferenceUID", _Kind.TEXT),
    0x00200200: ("SynchronizationFrameOfReferenceUID", _Kind.TEXT),
    0x00280002: ("SamplesPerPixel", _Kind.US),
    0x00280008: ("NumberOfFrames", _Kind.TEXT),
    0x00280010: ("Rows", _Kind.US),
    0x00280011: ("Columns", _Kind.US),
    0x00280030: ("PixelSpacing", _Kind.TEXT),
    0x00280100: ("BitsAllocated", _Kind.US),
    0x00282110: ("LossyImageCompression", _Kind.TEXT),
    0x00282112: ("LossyImageCompressionRatio", _Kind.TEXT),
    0x00500004: ("CalibrationImage", _Kind.TEXT),
}
# The reference sequence is parsed by the walker itself, never kept as bytes.
_COLLECT = frozenset(_WANTED) | (frozenset(_MEDIA) - {_REFERENCED_IMAGES})
_REFERENCED_CLASS, _REFERENCED_INSTANCE = 0x00081150, 0x00081155
_PN_DELIMITERS = {0x5E, 0x3D}
_TEXT_DELIMITERS = {0x5C}


class DatasetSource:
    """A dataset of `size` bytes: its first bytes in memory, the rest in a file.

    The receive path keeps the head of each dataset in memory and has the whole of it in
    the temporary file; the walker reads element headers from whichever holds them and
    skips values by arithmetic, so a large pixel element costs nothing to check.
    """

    def __init__(
        self,
        prefix: bytes,
        size: int,
        read_at: Callable[[int, int], bytes] | None = None,
        base: int = 0,
    ) -> None:
        self.prefix = prefix
        self.size = size
        self.read_at = read_at
        self.base = base

    def get(self, offset: int, count: int) -> bytes:
        if offset + count > self.size:
            raise Truncated("the dataset ends in the middle of an element")
        if offset + count <= len(self.prefix):
            return self.prefix[offset : offset + count]
        if self.read_at is None:
            raise Truncated("the dataset head is longer than the bytes read")
        data = self.read_at(self.base + offset, count)
        if len(data) != count:
            raise Truncated("the dataset ends in the middle of an element")
        return data


class _Walker:
    def __init__(self, src: DatasetSource, implicit: bool, little: bool) -> None:
        self.src = src
        self.implicit = implicit
        end = "<" if little else ">"
        self.u16 = struct.Struct(end + "H")
        self.u32 = struct.Struct(end + "L")
        self.tag = struct.Struct(end + "HH")

    def element(self, offset: int, implicit: bool) -> tuple[int, bytes, int, int]:
        """(tag, VR, value offset, value length) of the element at `offset`."""
        head = self.src.get(offset, 8)
        group, elem = self.tag.unpack_from(head, 0)
        tag = (group << 16) | elem
        if implicit or group == 0xFFFE:
            return tag, b"", offset + 8, self.u32.unpack_from(head, 4)[0]
        vr = head[4:6]
        if vr in _LONG_VRS:
            length = self.u32.unpack(self.src.get(offset + 8, 4))[0]
            return tag, vr, offset + 12, length
        if not vr.isalpha() or not vr.isupper():
            raise HeaderError(f"bad VR {vr!r} at element ({group:04X},{elem:04X})")
        return tag, vr, offset + 8, self.u16.unpack_from(head, 6)[0]

    def skip_value(self, value: int, length: int) -> int:
        end = value + length
        if end > self.src.size:
            raise Truncated("an element's value runs past the end of the dataset")
        return end

    def skip_undefined(self, offset: int, implicit: bool, depth: int) -> int:
        """Skip a sequence (or UN) of undefined length; returns the offset after it."""
        if depth > _MAX_DEPTH:
            raise HeaderError("sequences nested too deeply")
        while True:
            tag, _, value, length = self.element(offset, True)
            if tag == _SEQ_END:
                return value
            if tag != _ITEM:
                raise HeaderError(
                    f"unexpected element ({tag >> 16:04X},{tag & 0xFFFF:04X}) in a sequence"
                )
            if length != _UNDEFINED:
                offset = self.skip_value(value, length)
                continue
            offset = value
            while True:
                tag, vr, value, length = self.element(offset, implicit)
                if tag == _ITEM_END:
                    offset = value
                    break
                if length == _UNDEFINED:
                    offset = self.skip_undefined(value, implicit or vr == b"UN", depth + 1)
                else:
                    offset = self.skip_value(value, length)

    def walk(self, whole: bool) -> tuple[dict[int, tuple[bytes, bytes]], list[list[str]]]:
        """Collect the wanted values and the Referenced Image Sequence's UID pairs; with
        `whole`, check the structure to the very end."""
        found: dict[int, tuple[bytes, bytes]] = {}
        references: list[list[str]] = []
        offset, size = 0, self.src.size
        while offset < size:
            tag, vr, value, length = self.element(offset, self.implicit)
            if tag > _LAST_TAG and not whole:
                return found, references
            if tag == _REFERENCED_IMAGES and vr in (b"SQ", b"") and length == _UNDEFINED:
                references, offset = self.references(value, length)
                continue
            if tag == _REFERENCED_IMAGES and vr in (b"SQ", b""):
                # A defined length is skipped as before even if its items make no sense:
                # the DICOMDIR key is a courtesy, not a reason to refuse the instance.
                with contextlib.suppress(HeaderError):
                    references = self.references(value, length)[0]
            if length == _UNDEFINED:
                offset = self.skip_undefined(value, self.implicit or vr == b"UN", 1)
                continue
            if tag in _COLLECT:
                found[tag] = (vr, self.src.get(value, length))
            offset = self.skip_value(value, length)
        return found, references

    def references(self, value: int, length: int) -> tuple[list[list[str]], int]:
        """The (class, instance) pairs of a top-level Referenced Image Sequence and the
        offset after it; its structure is checked as strictly as a skipped one's."""
        pairs: list[list[str]] = []
        end = None if length == _UNDEFINED else self.skip_value(value, length)
        offset = value
        while end is None or offset < end:
            tag, _, item, item_length = self.element(offset, True)
            if tag == _SEQ_END and end is None:
                return pairs, item
            if tag != _ITEM:
                raise HeaderError("unexpected element in the Referenced Image Sequence")
            item_end = None if item_length == _UNDEFINED else self.skip_value(item, item_length)
            pair = ["", ""]
            offset = item
            while item_end is None or offset < item_end:
                etag, vr, evalue, elength = self.element(offset, self.implicit)
                if etag == _ITEM_END and item_end is None:
                    offset = evalue
                    break
                if elength == _UNDEFINED:
                    offset = self.skip_undefined(evalue, self.implicit or vr == b"UN", 2)
                    continue
                if etag in (_REFERENCED_CLASS, _REFERENCED_INSTANCE):
                    uid = self.src.get(evalue, elength).rstrip(b"\x00 ")
                    pair[etag == _REFERENCED_INSTANCE] = uid.decode("ascii", "replace")
                offset = self.skip_value(evalue, elength)
            pairs.append(pair)
        return pairs, offset


def _text(raw: bytes, encodings: list[str] | None, person: bool) -> str:
    raw = raw.rstrip(b"\x00 ")
    if not raw:
        return ""
    if encodings:
        with contextlib.suppress(Exception):  # unknown set: keep the bytes readable, store anyway
            return decode_bytes(raw, encodings, _PN_DELIMITERS if person else _TEXT_DELIMITERS)
    return raw.decode("latin-1")


def parse_header(prefix: bytes, transfer_syntax: str, *, complete: bool = False) -> InstanceHeader:
    """The head of a dataset held in memory; `complete` also checks it to the very end."""
    return read_header(DatasetSource(prefix, len(prefix)), transfer_syntax, whole=complete)


def read_header(src: DatasetSource, transfer_syntax: str, *, whole: bool = True) -> InstanceHeader:
    """Walk a dataset: its identifying values, and with `whole` a check that every element
    is complete and every sequence closed (a truncated or padded-out dataset fails)."""
    if transfer_syntax in DEFLATED:
        src = _inflated(src)
    implicit = transfer_syntax == IMPLICIT_LE
    walker = _Walker(src, implicit, transfer_syntax != EXPLICIT_BE)
    try:
        found, references = walker.walk(whole)
    except Truncated as exc:
        if whole:
            raise HeaderError(str(exc)) from None
        raise
    except (struct.error, IndexError) as exc:
        raise HeaderError(f"the dataset cannot be parsed: {exc}") from None
    charset_raw = found.get(0x00080005, (b"", b""))[1].rstrip(b"\x00 ")
    encodings = None
    if charset_raw:
        try:
            encodings = convert_encodings(
                [v.strip() for v in charset_raw.decode("ascii", "replace").split("\\")]
            )
        except Exception:
            encodings = None
    values = {column: "" for column, _ in _WANTED.values()}
    media: dict[str, MediaValue] = {}
    for tag, (vr, raw) in found.items():
        if tag in _WANTED:
            column, person = _WANTED[tag]
            values[column] = _text(raw, encodings, person)
        if tag in _MEDIA:
            keyword, kind = _MEDIA[tag]
            if kind is not _Kind.US:
                text = _text(raw, encodings, kind is _Kind.PERSON)
                if text:
                    media[keyword] = text
            elif len(raw) >= 2 and vr in (b"US", b""):
                media[keyword] = walker.u16.unpack_from(raw)[0]
    if references:
        media["ReferencedImageSequence"] = references
    return InstanceHeader(
        values.pop("sop_class_uid"),
        values.pop("sop_instance_uid"),
        values.pop("study_uid"),
        values.pop("series_uid"),
        values,
        media,
    )


def _inflated(src: DatasetSource) -> DatasetSource:
    """Deflated datasets (rare) are inflated whole in memory to be walked."""
    raw = src.get(0, src.size) if src.size else b""
    try:
        data = zlib.decompressobj(-zlib.MAX_WBITS).decompress(raw)
    except zlib.error as exc:
        raise HeaderError(f"the deflated dataset cannot be inflated: {exc}") from None
    return DatasetSource(data, len(data))
