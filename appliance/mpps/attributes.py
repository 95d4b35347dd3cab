"""MPPS attribute lists: decode, check (PS3.4 Table F.7.2-1, Sectra CDS table 8), merge, encode.

Every check raises `Refused` with the status PS3.7 Annex C gives for it: 0120 an attribute is
missing, 0121 it has no value, 0106 its value is invalid, 0105 it may not be set by N-SET.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from io import BytesIO

from pydicom.datadict import keyword_for_tag, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag

from appliance.dicom.command import Status
from appliance.dicom.syntaxes import EXPLICIT_BE, IMPLICIT_LE
from appliance.mpps.refused import Refused
from appliance.storage.uids import InvalidUID, check_uid


def _tags(*keywords: str) -> frozenset[int]:
    found = {tag_for_keyword(k) for k in keywords}
    assert None not in found, keywords
    return frozenset(t for t in found if t is not None)


SCHEDULED_STEP_ATTRIBUTES = 0x00400270
STATUS = 0x00400252
END_DATE, END_TIME = 0x00400250, 0x00400251

# Type 1 in the N-CREATE for SCU and SCP (PS3.4 Table F.7.2-1). The CDS marks Modality
# optional and Study Instance UID conditional; the standard requires both, and the box
# needs the study to follow the worklist and complete studies.
CREATE_TYPE1 = (
    "PerformedProcedureStepID",
    "PerformedStationAETitle",
    "PerformedProcedureStepStartDate",
    "PerformedProcedureStepStartTime",
    "PerformedProcedureStepStatus",
    "Modality",
)

# What an N-SET may carry (PS3.4 Table F.7.2-1, N-SET column not "-"; CDS table 8):
# the PPS Information, Image Acquisition Results, Radiation Dose and Billing and Material
# Management modules. Private attributes are accepted too; modalities send them.
SETTABLE = _tags(
    "SpecificCharacterSet",
    "PerformedProcedureStepStatus",
    "PerformedProcedureStepDescription",
    "PerformedProcedureTypeDescription",
    "ProcedureCodeSequence",
    "PerformedProcedureStepEndDate",
    "PerformedProcedureStepEndTime",
    "CommentsOnThePerformedProcedureStep",
    "PerformedProcedureStepDiscontinuationReasonCodeSequence",
    "PerformedProtocolCodeSequence",
    "PerformedSeriesSequence",
    "BillingProcedureStepSequence",
    "FilmConsumptionSequence",
    "BillingSuppliesAndDevicesSequence",
    "AnatomicStructureSpaceOrRegionSequence",
    "TotalTimeOfFluoroscopy",
    "TotalNumberOfExposures",
    "DistanceSourceToDetector",
    "DistanceSourceToEntrance",
    "DistanceSourceToSupport",
    "EntranceDose",
    "EntranceDoseInmGy",
    "ExposedArea",
    "ImageAndFluoroscopyAreaDoseProduct",
    "CommentsOnRadiationDose",
    "ExposureDoseSequence",
    "XRayOutput",
    "HalfValueLayer",
    "OrganDose",
    "OrganExposed",
)

_DATE = re.compile(r"\d{8}")
_TIME = re.compile(r"\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?")


def name_of(tag: int) -> str:
    t = BaseTag(tag)
    return f"{keyword_for_tag(t) or 'attribute'} ({t.group:04X},{t.element:04X})"


def decode(data: bytes | None, transfer_syntax: str) -> Dataset:
    """The request's dataset, every value decoded now so a malformed one refuses the request."""
    if not data:
        raise Refused(Status.MISSING_ATTRIBUTE, "the request has no attribute list")
    try:
        ds = read_dataset(
            BytesIO(data), transfer_syntax == IMPLICIT_LE, transfer_syntax != EXPLICIT_BE
        )
        for element in ds.iterall():
            _ = element.value
    except Exception as exc:  # malformed datasets raise many kinds
        raise Refused(
            Status.INVALID_ATTRIBUTE_VALUE, f"the attribute list cannot be parsed: {exc}"
        ) from None
    return ds


def encode(ds: Dataset) -> bytes:
    """The stored form of the step's attributes: Explicit VR Little Endian."""
    fp = DicomBytesIO()
    fp.is_little_endian = True
    fp.is_implicit_VR = False
    write_dataset(fp, ds)
    return fp.getvalue()


def decode_stored(data: bytes) -> Dataset:
    return read_dataset(BytesIO(data), False, True)


def _text(ds: Dataset, tag: int) -> str | None:
    """The value as text, None when absent; '' when present without a value."""
    if tag not in ds:
        return None
    value = ds[tag].value
    if value is None:
        return ""
    if isinstance(value, (list, tuple, MultiValue)):
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def _require(ds: Dataset, tag: int, where: str = "") -> str:
    value = _text(ds, tag)
    if value is None:
        raise Refused(Status.MISSING_ATTRIBUTE, f"{where}{name_of(tag)} is missing")
    if not value:
        raise Refused(Status.MISSING_ATTRIBUTE_VALUE, f"{where}{name_of(tag)} has no value")
    return value


def status_of(ds: Dataset) -> str | None:
    return _text(ds, STATUS)


def check_create(ds: Dataset) -> None:
    """N-CREATE: type 1 attributes present with values, and the values the box relies on."""
    for keyword in CREATE_TYPE1:
        tag = tag_for_keyword(keyword)
        assert tag is not None
        _require(ds, tag)
    if SCHEDULED_STEP_ATTRIBUTES not in ds:
        raise Refused(Status.MISSING_ATTRIBUTE, f"{name_of(SCHEDULED_STEP_ATTRIBUTES)} is missing")
    items = ds[SCHEDULED_STEP_ATTRIBUTES].value or []
    if not items:
        raise Refused(
            Status.MISSING_ATTRIBUTE_VALUE, f"{name_of(SCHEDULED_STEP_ATTRIBUTES)} has no item"
        )
    for number, item in enumerate(items, 1):
        where = f"Scheduled Step Attributes item {number}: "
        _uid(_require(item, 0x0020000D, where), f"{where}Study Instance UID")
    _check_date_time(ds, 0x00400244, 0x00400245)
    _check_date_time(ds, END_DATE, END_TIME)
    _check_references(ds)


def check_set(ds: Dataset) -> None:
    """N-SET: only attributes an N-SET may change, with valid values."""
    for element in ds:
        tag = BaseTag(element.tag)
        if tag.element == 0 or tag.group % 2 == 1 or tag in SETTABLE:
            continue  # group lengths and private attributes pass
        raise Refused(Status.NO_SUCH_ATTRIBUTE, f"{name_of(tag)} cannot be set by N-SET")
    _check_date_time(ds, END_DATE, END_TIME)
    _check_references(ds)


def check_final(ds: Dataset) -> None:
    """A step becomes COMPLETED or DISCONTINUED only with its end date and time (F.7.2-1)."""
    _require(ds, END_DATE)
    _require(ds, END_TIME)


def _uid(value: str, what: str) -> str:
    try:
        return check_uid(value, what)
    except InvalidUID as exc:
        raise Refused(Status.INVALID_ATTRIBUTE_VALUE, str(exc)) from None


def _check_date_time(ds: Dataset, date_tag: int, time_tag: int) -> None:
    date, time_ = _text(ds, date_tag), _text(ds, time_tag)
    if date and not _DATE.fullmatch(date):
        raise Refused(Status.INVALID_ATTRIBUTE_VALUE, f"{name_of(date_tag)}: {date!r} is no date")
    if time_ and not _TIME.fullmatch(time_):
        raise Refused(Status.INVALID_ATTRIBUTE_VALUE, f"{name_of(time_tag)}: {time_!r} is no time")


@dataclass(frozen=True)
class Reference:
    sop_instance_uid: str
    sop_class_uid: str
    series_uid: str


def references(ds: Dataset) -> list[Reference] | None:
    """Instances the Performed Series Sequence names; None when the dataset has no sequence."""
    if 0x00400340 not in ds:
        return None
    found: dict[str, Reference] = {}
    for series in ds[0x00400340].value or []:
        series_uid = _text(series, 0x0020000E) or ""
        for sequence in (0x00081140, 0x00400220):  # Referenced Image / Non-Image Composite
            if sequence not in series:
                continue
            for ref in series[sequence].value or []:
                uid = _text(ref, 0x00081155) or ""
                found[uid] = Reference(uid, _text(ref, 0x00081150) or "", series_uid)
    return list(found.values())


def _check_references(ds: Dataset) -> None:
    for ref in references(ds) or []:
        _uid(ref.sop_instance_uid, "Performed Series Sequence: Referenced SOP Instance UID")


def merge(stored: Dataset, changes: Dataset) -> Dataset:
    """N-SET replaces each attribute it carries, a sequence as a whole (PS3.4 F.7.2.2)."""
    for element in changes:
        if BaseTag(element.tag).element != 0:
            stored[element.tag] = element
    return stored


@dataclass(frozen=True)
class Summary:
    """The columns the store keeps beside the attribute set, for listing and lookups."""

    study_uid: str
    accession_number: str
    patient_id: str
    patient_name: str
    modality: str
    pps_id: str
    started: str
    ended: str


def summary(ds: Dataset) -> Summary:
    steps = ds[SCHEDULED_STEP_ATTRIBUTES].value if SCHEDULED_STEP_ATTRIBUTES in ds else []
    first = steps[0] if steps else Dataset()

    def text(source: Dataset, tag: int) -> str:
        return _text(source, tag) or ""

    return Summary(
        study_uid=text(first, 0x0020000D),
        accession_number=text(first, 0x00080050),
        patient_id=text(ds, 0x00100020),
        patient_name=text(ds, 0x00100010),
        modality=text(ds, 0x00080060),
        pps_id=text(ds, 0x00400253),
        started=f"{text(ds, 0x00400244)} {text(ds, 0x00400245)}".strip(),
        ended=f"{text(ds, END_DATE)} {text(ds, END_TIME)}".strip(),
    )


@dataclass(frozen=True)
class ScheduledKeys:
    """What one Scheduled Step Attributes item says about the worklist item it performs."""

    study_uid: str
    accession_number: str
    requested_procedure_id: str


def scheduled_keys(ds: Dataset) -> list[ScheduledKeys]:
    steps = ds[SCHEDULED_STEP_ATTRIBUTES].value if SCHEDULED_STEP_ATTRIBUTES in ds else []
    return [
        ScheduledKeys(
            _text(step, 0x0020000D) or "",
            _text(step, 0x00080050) or "",
            _text(step, 0x00401001) or "",
        )
        for step in steps
    ]


def study_id(ds: Dataset) -> str:
    return _text(ds, 0x00200010) or ""
