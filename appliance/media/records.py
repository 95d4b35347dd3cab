"""The record tree of a DICOMDIR: PATIENT > STUDY > SERIES > leaf, from index entries.

PS3.11 wants one PATIENT record per Patient ID in a file-set, so studies are grouped by it.
A record carries a Specific Character Set only when one of its values needs one (PS3.3
F.5: 1C), and then the set the instance declared; a value that set cannot hold (an index
row decoded from an unknown set) moves the record to Unicode (ISO_IR 192).

Type 1 keys an instance lacks are made up the way dcmmkdir's --invent does, so the
DICOMDIR stays valid: Patient ID from the file-set, Study ID, Series and Instance Numbers
as positions, Study Date and Time from the day the box received the study, Modality OT.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

from pydicom.charset import convert_encodings

from appliance.media.contents import InstanceEntry, SeriesEntry, StudyEntry
from appliance.media.dicomdir import FileRef, Record
from appliance.media.errors import MediaError, MediaProblem
from appliance.media.record_encoding import RecordValue
from appliance.media.record_types import KEYS, Presence, RecordType

log = logging.getLogger(__name__)

UNICODE = "ISO_IR 192"
_SERIES_KEYS_FROM_INSTANCE = (
    "SeriesDate",
    "SeriesTime",
    "InstitutionName",
    "InstitutionAddress",
    "PerformingPhysicianName",
)


@dataclass(frozen=True)
class Leaf:
    """An instance as written into the file-set, with its leaf record's keys."""

    file: FileRef
    record_type: RecordType
    keys: dict[str, RecordValue]
    character_set: str = ""


def _texts(values: Mapping[str, RecordValue]) -> list[str]:
    found: list[str] = []
    for value in values.values():
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, list):
            for item in value:
                found.extend(_texts(item))
    return found


def _encodable(text: str, encodings: list[str]) -> bool:
    for char in set(text):
        for encoding in encodings:
            try:
                char.encode(encoding)
                break
            except (UnicodeError, LookupError):
                continue
        else:
            return False
    return True


def record_charset(values: Mapping[str, RecordValue], declared: str) -> str:
    """The Specific Character Set a record needs: none for plain ASCII, else `declared`
    when it can hold every value, else Unicode."""
    texts = [t for t in _texts(values) if not t.isascii()]
    if not texts:
        return ""
    if declared:
        try:
            encodings = convert_encodings(declared.split("\\"))
        except (LookupError, ValueError):
            encodings = []
        if encodings and all(_encodable(t, encodings) for t in texts):
            return declared
    return UNICODE


def _fill(
    record_type: RecordType,
    available: Mapping[str, RecordValue],
    invented: Mapping[str, str],
    where: str,
) -> dict[str, RecordValue]:
    """The keys of `record_type`: present values, type 2 empty, type 1 invented."""
    out: dict[str, RecordValue] = {}
    for keyword, presence in KEYS[record_type]:
        value = available.get(keyword, "")
        if value not in ("", [], None):
            out[keyword] = value
        elif presence is Presence.REQUIRED:
            if keyword in invented:
                log.warning(
                    "%s has no %s; the DICOMDIR record says %r", where, keyword, invented[keyword]
                )
                out[keyword] = invented[keyword]
            else:
                out[keyword] = ""
                log.warning(
                    "%s has no %s, which its %s record needs", where, keyword, record_type.value
                )
        elif presence is Presence.EMPTY_OK:
            out[keyword] = ""
    return out


def _record(
    record_type: RecordType,
    available: Mapping[str, RecordValue],
    invented: Mapping[str, str],
    declared: str,
    where: str,
    file: FileRef | None = None,
) -> Record:
    values = _fill(record_type, available, invented, where)
    return Record(record_type, values, record_charset(values, declared), file)


def _day(timestamp: float) -> tuple[str, str]:
    moment = time.localtime(timestamp)
    return time.strftime("%Y%m%d", moment), time.strftime("%H%M%S", moment)


def build_records(
    studies: list[StudyEntry], leaves: Mapping[str, Leaf], file_set_id: str
) -> list[Record]:
    """PATIENT records (with everything below them) for `studies`; `leaves` maps each
    instance's index path to how it was written."""
    patients: dict[str, Record] = {}
    for study_number, study in enumerate(studies, start=1):
        patient_id = study.patient_id or f"{file_set_id or 'KILN'}_{len(patients) + 1}"
        patient = patients.get(patient_id)
        if patient is None:
            patient = _record(
                RecordType.PATIENT,
                {
                    "PatientName": study.patient_name,
                    "PatientID": study.patient_id,
                    "PatientBirthDate": study.patient_birth_date,
                    "PatientSex": study.patient_sex,
                },
                {"PatientID": patient_id},
                study.character_set,
                f"study {study.study_uid}",
            )
            patients[patient_id] = patient
        patient.children.append(_study_record(study, study_number, leaves))
    return list(patients.values())


def _study_record(study: StudyEntry, number: int, leaves: Mapping[str, Leaf]) -> Record:
    date, clock = _day(study.received_at)
    record = _record(
        RecordType.STUDY,
        {
            "StudyDate": study.study_date,
            "StudyTime": study.study_time,
            "AccessionNumber": study.accession_number,
            "StudyDescription": study.study_description,
            "StudyInstanceUID": study.study_uid,
            "StudyID": study.study_id,
        },
        {"StudyDate": date, "StudyTime": clock, "StudyID": str(number)},
        study.character_set,
        f"study {study.study_uid}",
    )
    for series_number, series in enumerate(study.series, start=1):
        record.children.append(_series_record(study, series, series_number, leaves))
    return record


def _series_record(
    study: StudyEntry, series: SeriesEntry, number: int, leaves: Mapping[str, Leaf]
) -> Record:
    # Each series-level key from the first instance that has it (one may lack what the
    # others carry, e.g. a performing physician added part-way).
    available: dict[str, RecordValue] = {}
    for instance in series.instances:
        for keyword in _SERIES_KEYS_FROM_INSTANCE:
            if keyword not in available and instance.keys.get(keyword):
                available[keyword] = instance.keys[keyword]
    first = series.instances[0].keys
    available.update(
        {
            "Modality": series.modality,
            "SeriesDescription": series.series_description,
            "SeriesInstanceUID": series.series_uid,
            "SeriesNumber": series.series_number,
        }
    )
    declared = str(first.get("SpecificCharacterSet", study.character_set))
    record = _record(
        RecordType.SERIES,
        available,
        {"Modality": "OT", "SeriesNumber": str(number)},
        declared,
        f"series {series.series_uid}",
    )
    for position, instance in enumerate(series.instances, start=1):
        leaf = leaves.get(instance.path)
        if leaf is None:
            raise MediaError(
                MediaProblem.WRITE_FAILED, f"instance {instance.sop_instance_uid} was not written"
            )
        record.children.append(_leaf_record(instance, leaf, position))
    return record


def _leaf_record(instance: InstanceEntry, leaf: Leaf, position: int) -> Record:
    available = dict(leaf.keys)
    available.setdefault("InstanceNumber", instance.instance_number)
    declared = leaf.character_set or str(instance.keys.get("SpecificCharacterSet", ""))
    return _record(
        leaf.record_type,
        available,
        {"InstanceNumber": str(position)},
        declared,
        f"instance {instance.sop_instance_uid}",
        leaf.file,
    )
