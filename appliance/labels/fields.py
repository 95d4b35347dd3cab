"""Field expressions: "{patient.name}", "Disc {volume_text}", "{studies[0].date}".

Only the names below exist: an expression is parsed into literal text and field references
when the template is loaded, so an unknown name is a template error then, never a surprise
at print time. Values are looked up through these tables, never by attribute name, so a
template cannot reach anything LabelData does not offer. "{{" and "}}" are literal braces.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from appliance.media.copies import CopyType
from appliance.media.labels import LabelData, LabelPatient, LabelStudy

MODALITY_SEPARATOR = "/"


class Scope(Enum):
    DISC = "disc"  # text elements: the whole disc
    STUDY = "study"  # a study list's line: one study


COPY_TYPE_TEXT = {
    CopyType.PATIENT: "Patient copy",
    CopyType.PHYSICIAN: "Physician copy",
    CopyType.ANONYMISED: "Anonymised copy",
}


def _patient(pick: Callable[[LabelPatient], str]) -> Callable[[LabelData], str]:
    def value(data: LabelData) -> str:
        return pick(data.patient) if data.patient else ""

    return value


def _studies(data: LabelData) -> list[LabelStudy]:
    return [study for patient in data.patients for study in patient.studies]


def _all_modalities(data: LabelData) -> str:
    seen: list[str] = []
    for study in _studies(data):
        seen.extend(m for m in study.modalities if m not in seen)
    return MODALITY_SEPARATOR.join(seen)


@dataclass(frozen=True)
class Field:
    read: Callable[[LabelData], str]
    identifying: bool  # shows who the patient is: refused by templates for anonymised copies
    description: str


DISC_FIELDS: dict[str, Field] = {
    "patient.name": Field(_patient(lambda p: p.name), True, "Family, Given Middle"),
    "patient.name_dicom": Field(_patient(lambda p: p.name_dicom), True, "as in DICOM (^)"),
    "patient.id": Field(_patient(lambda p: p.patient_id), True, "Patient ID"),
    "patient.birth_date": Field(_patient(lambda p: p.birth_date), True, "YYYY-MM-DD"),
    "patient.sex": Field(_patient(lambda p: p.sex), False, "M, F, O or empty"),
    "patients": Field(lambda d: str(len(d.patients)), False, "how many patients"),
    "study_count": Field(lambda d: str(len(_studies(d))), False, "how many studies"),
    "modalities": Field(_all_modalities, False, "every study's modalities, e.g. CT/MR"),
    "institution": Field(lambda d: d.institution, False, "Institution Name"),
    "volume": Field(lambda d: str(d.volume), False, "n of 'n of m'"),
    "volumes": Field(lambda d: str(d.volumes), False, "m of 'n of m'"),
    "volume_text": Field(lambda d: d.volume_text, False, "'1 of 2'"),
    "copy_type": Field(lambda d: COPY_TYPE_TEXT[d.copy_type], False, "'Patient copy'..."),
    "copy_type.code": Field(lambda d: d.copy_type.value, False, "patient, physician..."),
    "file_set_id": Field(lambda d: d.file_set_id, False, "File-set ID"),
    "profile": Field(lambda d: d.profile, False, "e.g. STD-GEN-CD"),
}


@dataclass(frozen=True)
class StudyField:
    read: Callable[[LabelStudy], str]
    identifying: bool
    description: str


STUDY_FIELDS: dict[str, StudyField] = {
    "date": StudyField(lambda s: s.date, False, "YYYY-MM-DD"),
    "time": StudyField(lambda s: s.time, False, "HH:MM"),
    "modalities": StudyField(lambda s: MODALITY_SEPARATOR.join(s.modalities), False, "CT/MR"),
    "description": StudyField(lambda s: s.description, False, "Study Description"),
    "accession_number": StudyField(lambda s: s.accession_number, True, "Accession Number"),
    "instances": StudyField(lambda s: str(s.instances), False, "how many instances"),
}

MAX_STUDY_INDEX = 99
_STUDY_ITEM = re.compile(r"studies\[(\d{1,2})\]\.([a-z_]+)")
_NAME = re.compile(r"[a-z_][a-z_0-9.\[\]]*")


class FieldError(ValueError):
    """An expression that names no field; the template loader says where it is."""


@dataclass(frozen=True)
class Ref:
    name: str  # "patient.name", or a study field ("date") in a study list
    index: int | None = None  # studies[index].name in disc scope


Part = str | Ref


@dataclass(frozen=True)
class Expression:
    source: str
    scope: Scope
    parts: tuple[Part, ...]

    @property
    def identifying(self) -> tuple[str, ...]:
        """The fields in it that show who the patient is."""
        return tuple(
            part.name
            for part in self.parts
            if isinstance(part, Ref) and _identifying(part, self.scope)
        )

    def render(self, data: LabelData) -> str:
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            elif part.index is None:
                out.append(DISC_FIELDS[part.name].read(data))
            else:
                studies = _studies(data)
                study = studies[part.index] if part.index < len(studies) else None
                out.append(STUDY_FIELDS[part.name].read(study) if study else "")
        return printable("".join(out))

    def render_study(self, study: LabelStudy, extra: dict[str, str] | None = None) -> str:
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            elif extra is not None and part.name in extra:
                out.append(extra[part.name])
            else:
                out.append(STUDY_FIELDS[part.name].read(study))
        return printable("".join(out))


def _identifying(ref: Ref, scope: Scope) -> bool:
    if ref.index is not None or scope is Scope.STUDY:
        study_field = STUDY_FIELDS.get(ref.name)
        return study_field is not None and study_field.identifying  # extras ("more") are not
    return DISC_FIELDS[ref.name].identifying


def printable(text: str) -> str:
    """Control characters (a value's CR/LF, ESC) become spaces: a label line is one line."""
    return "".join(
        " " if unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} else ch for ch in text
    )


def parse(source: str, scope: Scope, *, extra: tuple[str, ...] = ()) -> Expression:
    """Literal text and {field} references; raises FieldError naming the bad part."""
    parts: list[Part] = []
    literal: list[str] = []
    i = 0
    while i < len(source):
        ch = source[i]
        if source.startswith("{{", i) or source.startswith("}}", i):
            literal.append(ch)
            i += 2
            continue
        if ch == "}":
            raise FieldError(f"a '}}' without its '{{' at character {i + 1} (write '}}}}')")
        if ch != "{":
            literal.append(ch)
            i += 1
            continue
        end = source.find("}", i)
        if end < 0:
            raise FieldError(f"a '{{' without its '}}' at character {i + 1} (write '{{{{')")
        if literal:
            parts.append("".join(literal))
            literal = []
        parts.append(_ref(source[i + 1 : end].strip(), scope, extra))
        i = end + 1
    if literal:
        parts.append("".join(literal))
    return Expression(source, scope, tuple(parts))


def _ref(name: str, scope: Scope, extra: tuple[str, ...]) -> Ref:
    if scope is Scope.STUDY:
        if name in STUDY_FIELDS or name in extra:
            return Ref(name)
        raise FieldError(_unknown(name, [*STUDY_FIELDS, *extra]))
    if name in DISC_FIELDS:
        return Ref(name)
    item = _STUDY_ITEM.fullmatch(name)
    if item and item.group(2) in STUDY_FIELDS:
        return Ref(item.group(2), int(item.group(1)))
    valid = [*DISC_FIELDS, *(f"studies[0].{key}" for key in STUDY_FIELDS)]
    if item:
        valid = [f"studies[{item.group(1)}].{key}" for key in STUDY_FIELDS]
    raise FieldError(_unknown(name, valid))


def _unknown(name: str, valid: list[str]) -> str:
    if not name:
        return "an empty field '{}'"
    if not _NAME.fullmatch(name):
        return f"'{{{name}}}' is not a field name (fields are names such as patient.name)"
    hint = difflib.get_close_matches(name, valid, n=1)
    text = f"unknown field '{{{name}}}'"
    return text + (
        f"; did you mean '{{{hint[0]}}}'?" if hint else f"; fields are {', '.join(valid)}"
    )
