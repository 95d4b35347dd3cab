"""What a disc label (and the README and index page) shows, as plain Unicode data.

Taken from the DICOMDIR's own records, so a label always says what the medium holds — the
de-identified values on an anonymised copy. Label templates (the robot issue) format it.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.media.copies import CopyType
from appliance.media.dicomdir import Record


@dataclass(frozen=True)
class LabelStudy:
    date: str  # ISO 8601 (YYYY-MM-DD) or as stored when not a valid DA
    time: str  # HH:MM
    modalities: tuple[str, ...]
    description: str
    accession_number: str
    instances: int


@dataclass(frozen=True)
class LabelPatient:
    name: str  # "Family, Given Middle", Unicode
    name_dicom: str  # as in the DICOMDIR (components separated by ^)
    patient_id: str
    birth_date: str  # ISO 8601 or ""
    sex: str
    studies: tuple[LabelStudy, ...]


@dataclass(frozen=True)
class LabelData:
    patients: tuple[LabelPatient, ...]
    institution: str
    volume: int  # n of m
    volumes: int
    copy_type: CopyType
    file_set_id: str
    profile: str

    @property
    def patient(self) -> LabelPatient | None:
        return self.patients[0] if self.patients else None

    @property
    def volume_text(self) -> str:
        return f"{self.volume} of {self.volumes}"


def person_name(value: str) -> str:
    """DICOM PN (alphabetic group) as people write it: "Family, Given Middle Suffix"."""
    alphabetic = value.split("=", maxsplit=1)[0]
    parts = [p.strip() for p in alphabetic.split("^")] + [""] * 5
    family, given, middle, prefix, suffix = parts[:5]
    rest = " ".join(p for p in (prefix, given, middle, suffix) if p)
    if family and rest:
        return f"{family}, {rest}"
    return family or rest


def iso_date(value: str) -> str:
    value = value.strip()
    if len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value


def _clock(value: str) -> str:
    value = value.strip()
    if len(value) >= 4 and value[:4].isdigit():
        return f"{value[:2]}:{value[2:4]}"
    return value


def _text(record: Record, keyword: str) -> str:
    value = record.values.get(keyword, "")
    return value if isinstance(value, str) else ""


def label_data(
    roots: list[Record],
    *,
    volume: int,
    volumes: int,
    copy_type: CopyType,
    file_set_id: str,
    profile: str,
) -> LabelData:
    patients = []
    institution = ""
    for patient in roots:
        studies = []
        for study in patient.children:
            modalities: list[str] = []
            count = 0
            for series in study.children:
                modality = _text(series, "Modality")
                if modality and modality not in modalities:
                    modalities.append(modality)
                institution = institution or _text(series, "InstitutionName")
                count += len(series.children)
            studies.append(
                LabelStudy(
                    iso_date(_text(study, "StudyDate")),
                    _clock(_text(study, "StudyTime")),
                    tuple(modalities),
                    _text(study, "StudyDescription"),
                    _text(study, "AccessionNumber"),
                    count,
                )
            )
        name = _text(patient, "PatientName")
        patients.append(
            LabelPatient(
                person_name(name),
                name,
                _text(patient, "PatientID"),
                iso_date(_text(patient, "PatientBirthDate")),
                _text(patient, "PatientSex"),
                tuple(studies),
            )
        )
    return LabelData(tuple(patients), institution, volume, volumes, copy_type, file_set_id, profile)
