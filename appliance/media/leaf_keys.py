"""The keys of a leaf directory record (IMAGE, SR DOCUMENT, RT PLAN...) for one instance.

Image records, nearly all of any file-set, take their keys from the index (captured by the
receive path). The other record types need keys the index does not keep (content labels,
code sequences, RT labels); their instances are few and small, so their own header is read
(pydicom, stopping before pixel data and deferring large values). A dataset already in
memory (decoded or de-identified) gives its keys directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.valuerep import PersonName

from appliance.media.errors import MediaError, MediaProblem
from appliance.media.record_encoding import RecordItem, RecordValue
from appliance.media.record_types import KEYS, RecordType

_DEFER = 64 * 1024  # values larger than this (documents, curves) are never read
# Series-level keys a SERIES record takes from its instances (with their character set).
SERIES_LEVEL = (
    "SpecificCharacterSet",
    "SeriesDate",
    "SeriesTime",
    "InstitutionName",
    "InstitutionAddress",
    "PerformingPhysicianName",
)
# Of an SR's content, the record keeps only the items that modify the root concept name.
_CONCEPT_MODIFIER = "HAS CONCEPT MOD"


def index_image_keys(keys: Mapping[str, Any]) -> dict[str, RecordValue]:
    """IMAGE record keys from an instance's media_keys."""
    out: dict[str, RecordValue] = {}
    for keyword, _ in KEYS[RecordType.IMAGE]:
        value = keys.get(keyword)
        if value is None or value == "":
            continue
        if keyword == "ReferencedImageSequence":
            out[keyword] = [
                {"ReferencedSOPClassUID": pair[0], "ReferencedSOPInstanceUID": pair[1]}
                for pair in value
            ]
        else:
            out[keyword] = value
    return out


def _value(element: DataElement) -> RecordValue | None:
    """A pydicom element as a record value; None for what a record cannot hold."""
    value = element.value
    if element.VR == "SQ":
        return [_item(item) for item in value]
    if value is None or value == "":
        return None
    if isinstance(value, MultiValue):
        return "\\".join(str(v) for v in value)
    if isinstance(value, PersonName | str):
        return str(value)
    if isinstance(value, bytes):
        return value
    if isinstance(value, int | float):
        return value
    return str(value)


def _item(item: Dataset) -> RecordItem:
    out: dict[str, RecordValue] = {}
    for element in item:
        if element.tag.is_private or not element.keyword:
            continue
        value = _value(element)
        if value is not None:
            out[element.keyword] = value
    return out


# Image keys that an enhanced (functional group) object keeps in its Shared Functional
# Groups Sequence rather than at the top level (PS3.11 table H.3-2).
FUNCTIONAL_GROUP_KEYS = frozenset(
    {"ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "ReferencedImageSequence"}
)


def needs_header(keys: Mapping[str, Any]) -> bool:
    """Whether an image's index keys may lack what its functional groups hold: a
    multi-frame object without top-level plane keys (a few, large files)."""
    return "NumberOfFrames" in keys and not (
        "ImageOrientationPatient" in keys or "PixelSpacing" in keys
    )


def _shared_group(ds: Dataset, keyword: str) -> DataElement | None:
    """`keyword` in the first Shared Functional Groups item, directly or one macro down."""
    groups = ds.get("SharedFunctionalGroupsSequence")
    if not groups:
        return None
    item = groups[0]
    if keyword in item:
        return item[keyword]  # type: ignore[no-any-return]
    for element in item:
        if element.VR == "SQ" and element.value and keyword in element.value[0]:
            return element.value[0][keyword]  # type: ignore[no-any-return]
    return None


def dataset_keys(ds: Dataset, record_type: RecordType) -> dict[str, RecordValue]:
    """The keys of `record_type` that `ds` has a value for."""
    out: dict[str, RecordValue] = {}
    for keyword, _ in KEYS[record_type]:
        if keyword not in ds:
            nested = (
                _shared_group(ds, keyword)
                if record_type is RecordType.IMAGE and keyword in FUNCTIONAL_GROUP_KEYS
                else None
            )
            if nested is not None and (value := _value(nested)) not in (None, []):
                out[keyword] = value
            continue
        element = ds[keyword]
        if keyword == "ContentSequence":
            items = [
                item
                for item in element.value
                if item.get("RelationshipType", "") == _CONCEPT_MODIFIER
            ]
            if items:
                out[keyword] = [_item(item) for item in items]
            continue
        value = _value(element)
        if value is not None and value != []:
            out[keyword] = value
    return out


def read_header(path: Path) -> Dataset:
    """The instance's header: no pixel data, no value larger than 64 KiB."""
    try:
        return dcmread(path, stop_before_pixels=True, defer_size=_DEFER)
    except (OSError, InvalidDicomError, ValueError) as exc:
        raise MediaError(
            MediaProblem.MISSING_FILE, f"the stored instance {path} cannot be read: {exc}"
        ) from None


def character_set(ds: Dataset) -> str:
    value = ds.get("SpecificCharacterSet", "")
    return "\\".join(value) if isinstance(value, MultiValue) else str(value)


def series_level(ds: Dataset) -> dict[str, Any]:
    """The series-level keys (and character set) a dataset gives, as the index keeps them."""
    out: dict[str, Any] = {}
    for keyword in SERIES_LEVEL:
        value = _value(ds[keyword]) if keyword in ds else None
        if isinstance(value, str) and value:
            out[keyword] = value
    return out
