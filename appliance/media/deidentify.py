"""De-identification on export: the PS3.15 Basic Profile and its Options, per instance.

The "anonymised" copy type of the media builder makes one `Deidentifier` per export and calls
`apply` on every instance it writes. One Deidentifier holds the per-export secret, so within
the export the same original UID always becomes the same new UID (references between the
instances still resolve), and two exports are not linkable unless they are given the same
secret. See docs/deidentification.md for the levels, the actions and what each level keeps.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from pydicom.charset import convert_encodings
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag, Tag
from pydicom.uid import UID, ExplicitVRLittleEndian

from appliance import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
from appliance.media.deid_table import (
    BASIC_PROFILE_CODE,
    CLASS_UID_TAGS,
    OPTION_CODES,
    SAFE_PRIVATE_BINARY_VRS,
    SAFE_PRIVATE_NUMBER_VRS,
    TABLE,
    Action,
    IodFamily,
    Option,
    iod_family,
    is_curve_group,
    is_overlay_group,
    required_type,
)
from appliance.media.deid_values import (
    Scrubber,
    UidMap,
    birth_date_forms,
    dummy_value,
    identifying_tokens,
    shift_date,
    shift_days,
    short_code,
)


class DeidLevel(StrEnum):
    """The three levels syngo MR offers on export (seed 004 §7.1), as PS3.15 Options."""

    FULL = "full"
    REDUCED = "reduced"
    SERVICE = "service"


LEVEL_OPTIONS: Final[dict[DeidLevel, frozenset[Option]]] = {
    # syngo "full": everything in its Table 70 anonymised, private attributes dropped.
    DeidLevel.FULL: frozenset(),
    # syngo "reduced": "Retain UIDs, Patient Chars, Long Full Dates" (its own note).
    DeidLevel.REDUCED: frozenset(
        {
            Option.RETAIN_UIDS,
            Option.RETAIN_PATIENT_CHARACTERISTICS,
            Option.RETAIN_LONGITUDINAL_FULL_DATES,
        }
    ),
    # syngo "service": patient and staff identity goes, what a service engineer needs to
    # judge the machine stays (device, site, dates, descriptions, private numbers).
    DeidLevel.SERVICE: frozenset(
        {
            Option.RETAIN_SAFE_PRIVATE,
            Option.RETAIN_DEVICE_IDENTITY,
            Option.RETAIN_INSTITUTION_IDENTITY,
            Option.RETAIN_PATIENT_CHARACTERISTICS,
            Option.RETAIN_LONGITUDINAL_FULL_DATES,
            Option.CLEAN_DESCRIPTORS,
        }
    ),
}


class BurnedInAnnotation(Exception):
    """The instance says its pixels carry burned-in text; Kiln cannot clean pixel data.

    The caller decides: refuse the whole export, or leave this instance out of it.
    """

    def __init__(self, sop_instance_uid: str) -> None:
        super().__init__(
            f"instance {sop_instance_uid} has Burned In Annotation (0028,0301) YES: its pixels "
            "may show the patient's identity and cannot be de-identified"
        )
        self.sop_instance_uid = sop_instance_uid


class InvalidOptions(ValueError):
    """A set of Options that PS3.15 does not allow together."""


@dataclass(frozen=True, slots=True)
class PatientReplacement:
    """The Patient's Name and Patient ID every instance of the export gets."""

    name: str
    patient_id: str


_PATIENT_NAME: Final = 0x00100010
_PATIENT_ID: Final = 0x00100020
_STUDY_DATE: Final = 0x00080020
_STUDY_TIME: Final = 0x00080030
_STUDY_ID: Final = 0x00200010
_DATE_VRS: Final = frozenset({"DA", "DT", "TM"})
_TEXT_VRS: Final = frozenset({"LO", "LT", "SH", "ST", "UC", "UT"})
_IDENTITY_TAGS: Final = (
    0x00100020,  # Patient ID
    0x00101000,  # Other Patient IDs
    0x00080050,  # Accession Number
    0x00200010,  # Study ID
    0x00101040,  # Patient's Address
    0x00102154,  # Patient's Telephone Numbers
    0x00101090,  # Medical Record Locator
)
_INSTITUTION_TAGS: Final = (0x00080080, 0x00080081, 0x00081040)
_DEID_METHOD_LIMIT: Final = 64


@dataclass(frozen=True, slots=True)
class _Instance:
    """What the walk needs to know about the instance being de-identified."""

    family: IodFamily
    patient: PatientReplacement
    study_id: str
    scrub: Scrubber


class Deidentifier:
    """Applies one profile (a level, or explicit Options) to every instance of one export.

    `patient`: the name and ID the operator typed; when None, each original patient gets a
    generated pair (ANONYMIZED^<code>, ANON<code>) that is stable within the export.
    `secret`: the per-export key behind every replacement; random unless the caller wants
    two exports to be linkable (then it passes the same secret to both).
    `date_shift_days`: for the Modified Dates Option; derived from the secret when None.
    """

    def __init__(
        self,
        level: DeidLevel | None = DeidLevel.FULL,
        *,
        options: Iterable[Option] | None = None,
        patient: PatientReplacement | None = None,
        secret: bytes | None = None,
        date_shift_days: int | None = None,
    ) -> None:
        if options is not None:
            chosen = frozenset(options)
        else:
            chosen = LEVEL_OPTIONS[level or DeidLevel.FULL]
        if {
            Option.RETAIN_LONGITUDINAL_FULL_DATES,
            Option.RETAIN_LONGITUDINAL_MODIFIED_DATES,
        } <= chosen:
            raise InvalidOptions("Full Dates and Modified Dates cannot both be retained")
        self.level = level if options is None else None
        self.options: frozenset[Option] = chosen
        self._patient = patient
        self._secret = secret if secret is not None else secrets.token_bytes(32)
        self.uids = UidMap(self._secret)
        self.date_shift_days = (
            date_shift_days if date_shift_days is not None else shift_days(self._secret)
        )

    # -- public -------------------------------------------------------------------------

    def apply(self, ds: Dataset) -> Dataset:
        """A de-identified copy of `ds` (with new File Meta); `ds` itself is not changed.

        Raises BurnedInAnnotation when the instance declares burned-in text.
        """
        sop_uid = str(ds.get("SOPInstanceUID", ""))
        if str(ds.get("BurnedInAnnotation", "")).strip().upper() == "YES":
            raise BurnedInAnnotation(sop_uid)
        instance = self._instance(ds)
        out = self._dataset(ds, instance)
        out.PatientName = instance.patient.name
        out.PatientID = instance.patient.patient_id
        self._fit_character_set(out, instance.patient)
        self._mark(out)
        out.file_meta = self._file_meta(ds, out)
        return out

    def method_description(self) -> list[str]:
        """The values of De-identification Method (0012,0063): profile, then each Option."""
        names = [BASIC_PROFILE_CODE[1]]
        names += [OPTION_CODES[option][1] for option in self._ordered_options()]
        return [name[:_DEID_METHOD_LIMIT] for name in names]

    # -- per instance -------------------------------------------------------------------

    def _instance(self, ds: Dataset) -> _Instance:
        family = iod_family(str(ds.get("SOPClassUID", "")))
        original_id = str(ds.get("PatientID", ""))
        issuer = str(ds.get("IssuerOfPatientID", ""))
        patient = self._patient or PatientReplacement(
            name=f"ANONYMIZED^{short_code(self._secret, 'patient', issuer + '|' + original_id)}",
            patient_id=f"ANON{short_code(self._secret, 'patient-id', issuer + '|' + original_id)}",
        )
        study_uid = str(ds.get("StudyInstanceUID", ""))
        study_id = short_code(self._secret, "study", study_uid, 8)
        scrub = Scrubber(identifying_tokens(self._identifying_values(ds)))
        return _Instance(family, patient, study_id, scrub)

    def _identifying_values(self, ds: Dataset) -> Iterator[str]:
        """Every person name in the instance, its IDs, birth date and (unless retained) site."""
        for elem in _walk_elements(ds):
            if elem.VR == "PN" and elem.value:
                for name in _values(elem):
                    yield from str(name).replace("^", " ").replace("=", " ").split()
        tags = list(_IDENTITY_TAGS)
        if Option.RETAIN_INSTITUTION_IDENTITY not in self.options:
            tags += _INSTITUTION_TAGS
        for tag in tags:
            if tag in ds and ds[tag].value:
                yield from (str(v) for v in _values(ds[tag]))
        yield from birth_date_forms(str(ds.get("PatientBirthDate", "")))

    def _dataset(self, src: Dataset, instance: _Instance) -> Dataset:
        out = Dataset()
        private: list[DataElement] = []
        for elem in src:
            tag = elem.tag
            if tag.element == 0:
                continue  # group lengths are retired and recomputed when written
            if tag.is_private:
                if self._private_is_safe(elem):
                    private.append(elem)
                continue
            if is_curve_group(tag.group) or is_overlay_group(tag.group):
                continue  # X (Clean Graphics cannot clean bitmaps or curves either)
            new = self._element(elem, instance)
            if new is not None:
                out.add(new)
        _add_private(src, out, private)
        return out

    # -- one element --------------------------------------------------------------------

    def _action(self, tag: BaseTag, vr: str, family: IodFamily) -> Action:
        rule = TABLE.get(int(tag))
        if rule is not None:
            action = rule.action(self.options)
        elif vr in _DATE_VRS:
            # E.1-1 Note 4: dates and times are handled by their VR, listed or not.
            action = self._date_action()
        elif vr == "PN":
            action = Action.REMOVE_ZERO_OR_DUMMY  # every person name names someone
        elif vr == "UI" and int(tag) not in CLASS_UID_TAGS:
            # E.1.1 5: every reference to an instance is protected, listed or not.
            action = Action.KEEP if Option.RETAIN_UIDS in self.options else Action.UID
        elif vr == "UN":
            action = Action.REMOVE  # an attribute not even pydicom knows cannot be judged
        else:
            action = Action.KEEP
        return _fit_iod(action, int(tag), family)

    def _date_action(self) -> Action:
        if Option.RETAIN_LONGITUDINAL_FULL_DATES in self.options:
            return Action.KEEP
        if Option.RETAIN_LONGITUDINAL_MODIFIED_DATES in self.options:
            return Action.CLEAN
        return Action.REMOVE_ZERO_OR_DUMMY

    def _element(self, elem: DataElement, instance: _Instance) -> DataElement | None:
        action = self._action(elem.tag, elem.VR, instance.family)
        if action is Action.REMOVE:
            return None
        if elem.VR == "SQ":
            if action is Action.ZERO:
                return DataElement(elem.tag, "SQ", Sequence())
            # K, C, D and U* on a sequence: keep its items, each cleaned by the same rules.
            items = [self._dataset(item, instance) for item in elem.value]
            return DataElement(elem.tag, "SQ", Sequence(items))
        value = self._value(elem, action, instance)
        return DataElement(elem.tag, elem.VR, value)

    def _value(self, elem: DataElement, action: Action, instance: _Instance) -> object:
        tag = int(elem.tag)
        if action is Action.KEEP:
            return _copy(elem.value)
        if action is Action.ZERO:
            return self._zero(tag, elem.VR, instance)
        if action is Action.UID or elem.VR == "UI":
            return _map_values(elem, self.uids)
        if action is Action.CLEAN:
            return self._clean(elem, instance)
        return dummy_value(elem.VR)  # D

    def _zero(self, tag: int, vr: str, instance: _Instance) -> object:
        # Z allows a dummy: the study keeps non-empty keys so a DICOMDIR STUDY record (where
        # they are Type 1) still agrees with its instances.
        if tag == _PATIENT_NAME:
            return instance.patient.name
        if tag == _PATIENT_ID:
            return instance.patient.patient_id
        if tag == _STUDY_ID:
            return instance.study_id
        if tag in (_STUDY_DATE, _STUDY_TIME):
            return dummy_value(vr)
        return b"" if vr in ("OB", "OW", "UN") else None

    def _clean(self, elem: DataElement, instance: _Instance) -> object:
        if elem.VR in ("DA", "DT"):
            return _map_values(elem, lambda v: shift_date(v, self.date_shift_days))
        if elem.VR in _TEXT_VRS:
            return _map_values(elem, instance.scrub)
        if elem.VR == "PN":
            return dummy_value("PN")
        return _copy(elem.value)  # TM (whole-day shifts keep the time) and numbers

    # -- private attributes ---------------------------------------------------------------

    def _private_is_safe(self, elem: DataElement) -> bool:
        if Option.RETAIN_SAFE_PRIVATE not in self.options or elem.tag.is_private_creator:
            return False
        if elem.VR in SAFE_PRIVATE_BINARY_VRS:
            return True
        if elem.VR in SAFE_PRIVATE_NUMBER_VRS:
            return all(_is_number(str(v)) for v in _values(elem))
        return False

    # -- what is written about the de-identification ------------------------------------

    def _ordered_options(self) -> list[Option]:
        return sorted(self.options, key=lambda option: OPTION_CODES[option][0])

    def _mark(self, out: Dataset) -> None:
        out.PatientIdentityRemoved = "YES"
        out.DeidentificationMethod = self.method_description()
        codes = [BASIC_PROFILE_CODE] + [OPTION_CODES[o] for o in self._ordered_options()]
        items = []
        for value, meaning in codes:
            item = Dataset()
            item.CodeValue = value
            item.CodingSchemeDesignator = "DCM"
            item.CodeMeaning = meaning
            items.append(item)
        out.DeidentificationMethodCodeSequence = Sequence(items)
        if Option.RETAIN_LONGITUDINAL_MODIFIED_DATES in self.options:
            out.LongitudinalTemporalInformationModified = "MODIFIED"
        elif Option.RETAIN_LONGITUDINAL_FULL_DATES in self.options:
            out.LongitudinalTemporalInformationModified = "UNMODIFIED"
        else:
            out.LongitudinalTemporalInformationModified = "REMOVED"

    def _fit_character_set(self, out: Dataset, patient: PatientReplacement) -> None:
        """Switch to UTF-8 when the operator's replacement needs it and the set cannot."""
        text = patient.name + patient.patient_id
        if text.isascii():
            return
        declared = out.get("SpecificCharacterSet")
        charsets = list(_values(out["SpecificCharacterSet"])) if declared else ["ISO_IR 6"]
        codecs = convert_encodings([str(c) for c in charsets])
        if len(codecs) == 1:
            try:
                text.encode(codecs[0])
            except (UnicodeEncodeError, LookupError):
                pass
            else:
                return
        out.SpecificCharacterSet = "ISO_IR 192"

    def _file_meta(self, src: Dataset, out: Dataset) -> FileMetaDataset:
        """New File Meta (E.1.1 7): nothing of the original's meta or preamble survives."""
        meta = FileMetaDataset()
        src_meta = getattr(src, "file_meta", None)
        syntax = src_meta.get("TransferSyntaxUID") if src_meta is not None else None
        meta.MediaStorageSOPClassUID = out.get("SOPClassUID", "")
        meta.MediaStorageSOPInstanceUID = out.get("SOPInstanceUID", "")
        meta.TransferSyntaxUID = syntax or ExplicitVRLittleEndian
        meta.ImplementationClassUID = UID(IMPLEMENTATION_CLASS_UID)
        meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
        return meta


def _fit_iod(action: Action, tag: int, family: IodFamily) -> Action:
    """Resolve X/Z/D and friends, and never remove what the IOD requires (E.1.1 Note 1)."""
    needed = required_type(tag, family)
    if action in (Action.KEEP, Action.CLEAN, Action.UID, Action.DUMMY):
        return action
    if action is Action.REMOVE_ZERO_OR_UIDS:
        # Type 1: keep the sequence; its instance UIDs are replaced by their own rows.
        return Action.KEEP if needed == 1 else Action.ZERO if needed == 2 else Action.REMOVE
    if needed == 1:
        return Action.DUMMY
    if needed == 2 or action in (Action.ZERO, Action.ZERO_OR_DUMMY):
        return Action.ZERO
    return Action.REMOVE


def _walk_elements(ds: Dataset) -> Iterator[DataElement]:
    for elem in ds:
        yield elem
        if elem.VR == "SQ":
            for item in elem.value:
                yield from _walk_elements(item)


def _values(elem: DataElement) -> list[object]:
    value = elem.value
    if value is None or value == "":
        return []
    if isinstance(value, (list, MultiValue)):
        return list(value)
    return [value]


def _map_values(elem: DataElement, change: Callable[[str], str]) -> object:
    values = [change(str(v)) for v in _values(elem)]
    if not values:
        return None
    return values if len(values) > 1 else values[0]


def _copy(value: object) -> object:
    if isinstance(value, (list, MultiValue)):
        return list(value)
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _add_private(src: Dataset, out: Dataset, kept: list[DataElement]) -> None:
    """Add the kept private elements, each with the creator of its block."""
    for elem in kept:
        group, element = elem.tag.group, elem.tag.element
        creator = Tag(group, element >> 8)
        if creator not in out and creator in src:
            out.add(DataElement(creator, "LO", src[creator].value))
        out.add(DataElement(elem.tag, elem.VR, _copy(elem.value)))
