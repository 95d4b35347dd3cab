"""Write a DICOMDIR (Basic Directory IOD, PS3.3 F; PS3.10 file format) from records.

Records come from the index (appliance/media/records.py), never from re-reading the
instances. The file is laid out in one pass: every record is encoded with its three offset
elements as fixed-size placeholders (UL and US values have fixed sizes), so each record's
position is known from the lengths alone, and the offsets are then patched in place. Offsets
count from the first byte of the file (the preamble), as PS3.10 defines them.
"""

from __future__ import annotations

import itertools
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydicom.charset import convert_encodings

from appliance.media.record_encoding import RecordValue, encode_elements
from appliance.media.record_types import PRIVATE_RECORD_UID, RecordType

MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
EXPLICIT_LE = "1.2.840.10008.1.2.1"

# Where the values of Offset of the Next Directory Record and Offset of Referenced
# Lower-Level Directory Entity lie in a record's item: after the item header (8 bytes),
# the first element's header (8); then that value (4), the Record In-use Flag (10) and the
# second element's header (8).
_NEXT_AT, _LOWER_AT = 16, 38
_ITEM = struct.pack("<HH", 0xFFFE, 0xE000)
_IN_USE = 0xFFFF


@dataclass(frozen=True)
class FileRef:
    """The instance a leaf record points to."""

    file_id: tuple[str, ...]  # components, e.g. ("DICOM", "P0000001", ..., "I0000001")
    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax: str


@dataclass
class Record:
    type: RecordType
    values: dict[str, RecordValue]
    character_set: str = ""  # the record's Specific Character Set, "" for the default
    file: FileRef | None = None
    children: list[Record] = field(default_factory=list)

    def walk(self) -> Iterator[Record]:
        """This record and all below it, in the order they are written."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class FileMeta:
    media_storage_sop_instance_uid: str
    implementation_class_uid: str
    implementation_version_name: str
    source_ae_title: str


def encode_meta(
    sop_class_uid: str,
    meta: FileMeta,
    transfer_syntax: str = EXPLICIT_LE,
) -> bytes:
    """Preamble, DICM prefix and the group 0002 File Meta Information."""
    group: dict[str, RecordValue] = {
        "FileMetaInformationVersion": b"\x00\x01",
        "MediaStorageSOPClassUID": sop_class_uid,
        "MediaStorageSOPInstanceUID": meta.media_storage_sop_instance_uid,
        "TransferSyntaxUID": transfer_syntax,
        "ImplementationClassUID": meta.implementation_class_uid,
        "ImplementationVersionName": meta.implementation_version_name,
    }
    if meta.source_ae_title:
        group["SourceApplicationEntityTitle"] = meta.source_ae_title
    body = encode_elements(group, ["iso8859"])
    length = struct.pack("<HH2sHL", 0x0002, 0x0000, b"UL", 4, len(body))
    return b"\x00" * 128 + b"DICM" + length + body


def _record_body(record: Record) -> bytes:
    values: dict[str, RecordValue] = dict(record.values)
    values["DirectoryRecordType"] = record.type.value
    if record.type is RecordType.PRIVATE:
        values["PrivateRecordUID"] = PRIVATE_RECORD_UID
    if record.character_set:
        values["SpecificCharacterSet"] = record.character_set
    if record.file is not None:
        values["ReferencedFileID"] = "\\".join(record.file.file_id)
        values["ReferencedSOPClassUIDInFile"] = record.file.sop_class_uid
        values["ReferencedSOPInstanceUIDInFile"] = record.file.sop_instance_uid
        values["ReferencedTransferSyntaxUIDInFile"] = record.file.transfer_syntax
    encodings = convert_encodings(record.character_set.split("\\") if record.character_set else [])
    body = encode_elements(values, encodings)
    fixed = (
        struct.pack("<HH2sHL", 0x0004, 0x1400, b"UL", 4, 0)
        + struct.pack("<HH2sHH", 0x0004, 0x1410, b"US", 2, _IN_USE)
        + struct.pack("<HH2sHL", 0x0004, 0x1420, b"UL", 4, 0)
    )
    return _ITEM + struct.pack("<L", len(fixed) + len(body)) + fixed + body


def encode_dicomdir(roots: list[Record], file_set_id: str, meta: FileMeta) -> bytes:
    """The whole DICOMDIR file for the record trees `roots` (PATIENT records)."""
    records = [record for root in roots for record in root.walk()]
    items = [bytearray(_record_body(record)) for record in records]
    head = encode_meta(MEDIA_STORAGE_DIRECTORY, meta)
    top = encode_elements({"FileSetID": file_set_id}, ["iso8859"])
    # Root offsets (filled below), consistency flag 0, then the sequence header.
    first_at = len(head) + len(top) + 8
    last_at = first_at + 12
    sequence_length = sum(len(item) for item in items)
    top += (
        struct.pack("<HH2sHL", 0x0004, 0x1200, b"UL", 4, 0)
        + struct.pack("<HH2sHL", 0x0004, 0x1202, b"UL", 4, 0)
        + struct.pack("<HH2sHH", 0x0004, 0x1212, b"US", 2, 0)
        + struct.pack("<HH2sHL", 0x0004, 0x1220, b"SQ", 0, sequence_length)
    )
    # Where each record starts, then its two offsets patched in its own bytes.
    index = {id(record): i for i, record in enumerate(records)}
    positions = []
    at = len(head) + len(top)
    for item in items:
        positions.append(at)
        at += len(item)

    def link(siblings: list[Record]) -> None:
        for record, after in itertools.pairwise(siblings):
            struct.pack_into("<L", items[index[id(record)]], _NEXT_AT, positions[index[id(after)]])

    for record, item in zip(records, items, strict=True):
        if record.children:
            struct.pack_into("<L", item, _LOWER_AT, positions[index[id(record.children[0])]])
            link(record.children)
    link(roots)
    out = bytearray(head + top)
    if roots:
        struct.pack_into("<L", out, first_at, positions[index[id(roots[0])]])
        struct.pack_into("<L", out, last_at, positions[index[id(roots[-1])]])
    for item in items:
        out += item
    return bytes(out)


def write_dicomdir(path: Path, roots: list[Record], file_set_id: str, meta: FileMeta) -> int:
    """Write (and fsync) the DICOMDIR at `path`; returns its size."""
    data = encode_dicomdir(roots, file_set_id, meta)
    with path.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    return len(data)
