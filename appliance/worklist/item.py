"""A worklist item: one Scheduled Procedure Step with its request, visit and patient.

Items are plain JSON-able dicts keyed by DICOM keyword: text values are str (several values
joined by a backslash, as on the wire), US values are int, sequences are lists of dicts.
Every source (CLI, import, REST, HL7, upstream RIS) goes through `normalise`, so the store
only ever holds items that encode to valid DICOM.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from appliance.storage.uids import InvalidUID, check_uid
from appliance.worklist.attributes import SEQUENCES, SPS, TOP_LEVEL, VRS

Item = dict[str, Any]

# PS3.5 table 6.2-1: maximum characters per value.
_MAX_LENGTH = {"AE": 16, "CS": 16, "SH": 16, "LO": 64, "PN": 64 * 3, "DA": 8, "TM": 14}
_MAX_LENGTH.update({"AS": 4, "DS": 16, "UI": 64, "LT": 10240, "ST": 1024, "UT": 1 << 20})
_DATE = re.compile(r"\d{8}")
_TIME = re.compile(r"\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?")
_CS = re.compile(r"[A-Z0-9_ ]*")
_AS = re.compile(r"\d{3}[DWMY]")
_DS = re.compile(r"[ ]*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?[ ]*")
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")  # ESC (0x1b) is allowed

# SPS statuses (PS3.3 C.4.10) and which are final: final items drop out of default queries.
SPS_STATUSES = (
    "SCHEDULED",
    "ARRIVED",
    "READY",
    "STARTED",
    "DEPARTED",
    "COMPLETED",
    "DISCONTINUED",
    "CANCELED",
)
FINISHED = frozenset({"COMPLETED", "DISCONTINUED", "CANCELED"})


class ItemError(ValueError):
    """A worklist item that cannot be stored; the message names the attribute."""


def new_uid() -> str:
    """A UID under 2.25 (PS3.5 B.2): no registered root needed."""
    return f"2.25.{uuid.uuid4().int}"


def _check_value(path: str, vr: str, value: str) -> None:
    if _FORBIDDEN.search(value):
        raise ItemError(f"{path}: control characters are not allowed")
    for part in value.split("\\") if vr not in ("LT", "ST", "UT") else [value]:
        limit = _MAX_LENGTH.get(vr)
        if limit is not None and len(part) > limit:
            raise ItemError(f"{path}: {vr} values are at most {limit} characters (got {len(part)})")
        if not part:
            continue
        if vr == "DA" and not _DATE.fullmatch(part):
            raise ItemError(f"{path}: {part!r} is not a date (YYYYMMDD)")
        if vr == "TM" and not _TIME.fullmatch(part):
            raise ItemError(f"{path}: {part!r} is not a time (HHMMSS)")
        if vr == "CS" and not _CS.fullmatch(part):
            raise ItemError(f"{path}: {part!r} must be upper case letters, digits, '_' or space")
        if vr == "AS" and not _AS.fullmatch(part):
            raise ItemError(f"{path}: {part!r} is not an age (e.g. 042Y)")
        if vr == "DS" and not _DS.fullmatch(part):
            raise ItemError(f"{path}: {part!r} is not a decimal number")
        if vr == "UI":
            try:
                check_uid(part, path)
            except InvalidUID as exc:
                raise ItemError(str(exc)) from None
        if vr == "AE" and "\\" in part:
            raise ItemError(f"{path}: AE titles cannot contain a backslash")


def _clean(path: str, keyword: str, value: Any, allowed: frozenset[str]) -> Any:
    if keyword not in allowed:
        raise ItemError(f"{path}: not a worklist attribute Kiln keeps")
    vr = VRS[keyword]
    if vr == "SQ":
        if not isinstance(value, list) or not all(isinstance(i, dict) for i in value):
            raise ItemError(f"{path}: a sequence must be a list of items")
        inner = SEQUENCES[keyword]
        return [
            {k: _clean(f"{path}[{n}].{k}", k, v, inner) for k, v in entry.items() if v is not None}
            for n, entry in enumerate(value)
        ]
    if vr == "US":
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 0xFFFF:
            raise ItemError(f"{path}: must be a whole number 0-65535")
        return value
    if isinstance(value, list):
        value = "\\".join(str(v) for v in value)
    if not isinstance(value, str):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        else:
            raise ItemError(f"{path}: must be text")
    value = value.strip() if vr not in ("LT", "ST", "UT") else value.rstrip()
    _check_value(path, vr, value)
    return value


def normalise(raw: Item, *, generate: bool = True) -> Item:
    """Check an item and fill what the standard needs and a source may leave out.

    Required: Patient ID and Name, and one Scheduled Procedure Step with Modality and Start
    Date. Generated when missing: Study Instance UID (2.25 form), Requested Procedure ID
    (the Accession Number, else the step ID), Scheduled Procedure Step ID and Status.
    """
    if not isinstance(raw, dict):
        raise ItemError("a worklist item must be an object of DICOM keywords")
    item: Item = {k: _clean(k, k, v, TOP_LEVEL) for k, v in raw.items() if v is not None}
    for required in ("PatientID", "PatientName"):
        if not item.get(required):
            raise ItemError(f"{required}: required")
    steps = item.get(SPS)
    if not steps:
        raise ItemError(f"{SPS}: one scheduled procedure step is required")
    if len(steps) != 1:
        raise ItemError(f"{SPS}: exactly one step per item (got {len(steps)}); send one item each")
    step = steps[0]
    for required in ("Modality", "ScheduledProcedureStepStartDate"):
        if not step.get(required):
            raise ItemError(f"{SPS}[0].{required}: required")
    status = step.setdefault("ScheduledProcedureStepStatus", "SCHEDULED")
    if status not in SPS_STATUSES:
        raise ItemError(
            f"{SPS}[0].ScheduledProcedureStepStatus: {status!r} is not one of "
            + ", ".join(SPS_STATUSES)
        )
    if generate:
        if not item.get("StudyInstanceUID"):
            item["StudyInstanceUID"] = new_uid()
        if not step.get("ScheduledProcedureStepID"):
            step["ScheduledProcedureStepID"] = uuid.uuid4().hex[:16].upper()
        if not item.get("RequestedProcedureID"):
            item["RequestedProcedureID"] = (
                item.get("AccessionNumber") or step["ScheduledProcedureStepID"]
            )
    return item


def default_key(item: Item) -> str:
    """The identity of an item when its source gives none: request and step IDs."""
    step = item[SPS][0]
    return "/".join(
        (
            str(item.get("AccessionNumber", "")),
            str(item.get("RequestedProcedureID", "")),
            str(step.get("ScheduledProcedureStepID", "")),
        )
    )


def step_of(item: Item) -> Item:
    step: Item = item[SPS][0]
    return step
