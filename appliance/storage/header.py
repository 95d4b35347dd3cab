"""Read the identifying attributes from the head of a received dataset, never the pixels."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from pydicom.dataset import Dataset
from pydicom.filereader import read_dataset
from pydicom.tag import BaseTag
from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian, ImplicitVRLittleEndian

# Everything the index needs lies at or before (0020,0013) Instance Number.
_LAST_TAG = 0x00200013


class HeaderError(ValueError):
    """The dataset cannot be understood."""


@dataclass(frozen=True)
class InstanceHeader:
    sop_class_uid: str
    sop_instance_uid: str
    study_uid: str
    series_uid: str
    values: dict[str, str]


_TEXT_KEYWORDS = {
    "SpecificCharacterSet": "character_set",
    "PatientID": "patient_id",
    "PatientName": "patient_name",
    "PatientBirthDate": "patient_birth_date",
    "PatientSex": "patient_sex",
    "StudyDate": "study_date",
    "StudyTime": "study_time",
    "AccessionNumber": "accession_number",
    "StudyID": "study_id",
    "StudyDescription": "study_description",
    "ReferringPhysicianName": "referring_physician",
    "InstitutionName": "institution_name",
    "Modality": "modality",
    "SeriesNumber": "series_number",
    "SeriesDescription": "series_description",
    "BodyPartExamined": "body_part",
    "InstanceNumber": "instance_number",
}


def _stop(tag: BaseTag, vr: str | None, length: int) -> bool:
    return int(tag) > _LAST_TAG


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def parse_header(prefix: bytes, transfer_syntax: str) -> InstanceHeader:
    """Parse the dataset head in `prefix` (the first bytes of the dataset as received)."""
    data = prefix
    if transfer_syntax == DeflatedExplicitVRLittleEndian:
        data = zlib.decompressobj(-zlib.MAX_WBITS).decompress(prefix)
    implicit = transfer_syntax == ImplicitVRLittleEndian
    little = transfer_syntax != ExplicitVRBigEndian
    try:
        ds: Dataset = read_dataset(BytesIO(data), implicit, little, stop_when=_stop)
        values = {
            column: _text(ds.get(keyword)) for keyword, column in _TEXT_KEYWORDS.items()
        }
        uids = [
            _text(ds.get(k))
            for k in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")
        ]
    except Exception as exc:  # pydicom raises many kinds for malformed input
        raise HeaderError(f"the dataset cannot be parsed: {exc}") from exc
    if values["character_set"] and "patient_name" in values:
        values = _decoded_names(ds, values)
    return InstanceHeader(uids[0], uids[1], uids[2], uids[3], values)


def _decoded_names(ds: Dataset, values: dict[str, str]) -> dict[str, str]:
    """Person names decoded with the dataset's own Specific Character Set."""
    try:
        ds.decode()
    except Exception:  # an unknown character set leaves the raw text, which is still useful
        return values
    return {
        **values,
        "patient_name": _text(ds.get("PatientName")),
        "referring_physician": _text(ds.get("ReferringPhysicianName")),
        "institution_name": _text(ds.get("InstitutionName")),
        "study_description": _text(ds.get("StudyDescription")),
        "series_description": _text(ds.get("SeriesDescription")),
    }
