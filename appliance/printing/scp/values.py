"""Reading typed attribute values from a request, each refusal naming the attribute."""

from __future__ import annotations

from collections.abc import Collection

from pydicom.datadict import dictionary_description, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import Tag

from appliance.dicom.command import Status
from appliance.printing.scp.refused import Refused, Warnings
from appliance.storage.uids import InvalidUID, check_uid

ALWAYS_ALLOWED = frozenset({"SpecificCharacterSet"})


def name(keyword: str) -> str:
    """'Medium Type (2000,0030)' for 'MediumType'."""
    tag = tag_for_keyword(keyword)
    if tag is None:
        return keyword
    t = Tag(tag)
    return f"{dictionary_description(tag)} ({t.group:04X},{t.element:04X})"


def text(ds: Dataset, keyword: str) -> str | None:
    """The value as text; None when absent, '' when present without a value."""
    if keyword not in ds:
        return None
    value = ds[keyword].value
    if value is None:
        return ""
    if isinstance(value, (list, tuple, MultiValue)):
        return "\\".join(str(v).strip() for v in value)
    if isinstance(value, bytes):
        return value.decode("ascii", "replace").strip()
    return str(value).strip()


def code(ds: Dataset, keyword: str, allowed: Collection[str], default: str) -> str:
    """A code string among `allowed`; absent or empty -> `default`."""
    value = text(ds, keyword)
    if not value:
        return default
    value = value.upper()
    if value not in allowed:
        raise Refused(Status.INVALID_ATTRIBUTE_VALUE, f"{name(keyword)} {value!r} not supported")
    return value


def integer(ds: Dataset, keyword: str, low: int, high: int) -> int | None:
    """A whole number in low..high; None when absent or empty."""
    number = _number(ds, keyword, int, low, high)
    return None if number is None else int(number)


def decimal(ds: Dataset, keyword: str, low: float, high: float) -> float | None:
    return _number(ds, keyword, float, low, high)


def _number(
    ds: Dataset, keyword: str, kind: type[int] | type[float], low: float, high: float
) -> float | None:
    value = text(ds, keyword)
    if not value:
        return None
    try:
        number = kind(value)
    except ValueError:
        raise Refused(
            Status.INVALID_ATTRIBUTE_VALUE, f"{name(keyword)} {value[:16]!r} not a number"
        ) from None
    if not low <= number <= high:
        raise Refused(
            Status.INVALID_ATTRIBUTE_VALUE, f"{name(keyword)} {number:g} outside {low:g}..{high:g}"
        )
    return number


def density(ds: Dataset, keyword: str, default: str) -> str:
    """BLACK, WHITE or hundredths of optical density (PS3.3 C.13.5)."""
    value = text(ds, keyword)
    if not value:
        return default
    value = value.upper()
    if value in ("BLACK", "WHITE"):
        return value
    if value.isdigit() and int(value) <= 1000:
        return str(int(value))
    raise Refused(Status.INVALID_ATTRIBUTE_VALUE, f"{name(keyword)} {value[:16]!r} not supported")


def reference(ds: Dataset, keyword: str, sop_class: str) -> str | None:
    """The SOP Instance UID of a one-item reference sequence to `sop_class`; None if absent."""
    if keyword not in ds:
        return None
    items = ds[keyword].value or []
    if len(items) != 1:
        raise Refused(Status.INVALID_ATTRIBUTE_VALUE, f"{name(keyword)} needs exactly one item")
    item = items[0]
    referenced_class = text(item, "ReferencedSOPClassUID")
    if referenced_class and referenced_class != sop_class:
        raise Refused(
            Status.INVALID_ATTRIBUTE_VALUE, f"{name(keyword)} refers to class {referenced_class}"
        )
    try:
        return check_uid(text(item, "ReferencedSOPInstanceUID"), "Referenced SOP Instance UID")
    except InvalidUID as exc:
        raise Refused(Status.INVALID_ATTRIBUTE_VALUE, f"{name(keyword)}: {exc}") from None


def unknown(ds: Dataset, known: Collection[str], warnings: Warnings) -> None:
    """Attributes the object does not have are ignored, with warning 0x0107 (PS3.7)."""
    for element in ds:
        if element.keyword in known or element.keyword in ALWAYS_ALLOWED:
            continue
        label = element.keyword or f"({element.tag.group:04X},{element.tag.element:04X})"
        warnings.add(Status.ATTRIBUTE_LIST_ERROR, f"{label} ignored: not an attribute here")
