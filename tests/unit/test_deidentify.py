"""De-identification on export: the PS3.15 Basic Profile, its Options and syngo MR's levels.

Every level is run on a CT series, a Siemens MR with private blocks, an SR and a presentation
state that reference the CT: nothing identifying may be left in the written files, every
attribute the table names must have been removed or changed as it says, references must
still resolve inside the export, the input must be untouched, and dicom3tools must find no
error in the output that it did not find in the input.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.datadict import dictionary_description
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.sr.codedict import Collection
from pydicom.uid import UID, generate_uid

from appliance.media.deid_table import (
    BASIC_PROFILE_CODE,
    OPTION_CODES,
    TABLE,
    Action,
    Option,
    Source,
    iod_family,
    required_type,
)
from appliance.media.deid_values import UidMap
from appliance.media.deidentify import (
    LEVEL_OPTIONS,
    BurnedInAnnotation,
    Deidentifier,
    DeidLevel,
    InvalidOptions,
    PatientReplacement,
)
from tests.unit import deid_datasets as data

KINDS = ("ct", "mr", "sr", "pr")
# Z may be written as a dummy: the patient gets the replacement, the study keeps keys that a
# DICOMDIR STUDY record needs (Type 1 there).
PLACEHOLDERS = {0x00100010, 0x00100020, 0x00080020, 0x00080030, 0x00200010}


@dataclass
class Study:
    ct: list[Dataset]
    mr: Dataset
    sr: Dataset
    pr: Dataset

    def one(self, kind: str) -> Dataset:
        chosen: Dataset = self.ct[1] if kind == "ct" else getattr(self, kind)
        return chosen


@pytest.fixture
def study() -> Study:
    ct = data.ct_series()
    return Study(ct, data.siemens_mr(), data.comprehensive_sr(ct), data.presentation_state(ct))


def _write(ds: Dataset, path: Path) -> Path:
    ds.save_as(path, enforce_file_format=True)
    return path


def _instance_uids(ds: Dataset) -> set[str]:
    """Every UID value in the instance that is not a registered (class, syntax) UID."""
    found: set[str] = set()
    for elem in _walk(ds):
        if elem.VR == "UI" and elem.value:
            values = elem.value if isinstance(elem.value, list) else [elem.value]
            found |= {str(v) for v in values if UID(str(v)).name == str(v)}
    return found


def _walk(ds: Dataset) -> Iterator[pydicom.DataElement]:
    for elem in ds:
        yield elem
        if elem.VR == "SQ":
            for item in elem.value:
                yield from _walk(item)


def _empty(value: object) -> bool:
    return value is None or value in ("", b"") or (isinstance(value, Sequence) and not value)


def _check_table(src: Dataset, out: Dataset, options: frozenset[Option], path: str) -> int:
    """Compare one (nested) dataset with its de-identified copy against the table's rows."""
    family = iod_family(str(src.get("SOPClassUID", data.CT_STORAGE)))
    checked = 0
    for elem in src:
        rule = TABLE.get(int(elem.tag))
        if rule is None or elem.tag.is_private:
            continue
        action = rule.action(options)
        where = f"{path}{rule.name}"
        present = elem.tag in out
        new = out[elem.tag].value if present else None
        checked += 1
        if required_type(int(elem.tag), family) < 3:
            assert present, f"{where}: Type 1/2 in this IOD, must stay"
        elif action is Action.REMOVE:
            assert not present, f"{where}: X, still there"
        elif action is Action.UID:
            assert present and str(new).startswith("2.25.") and new != elem.value, where
        elif action is Action.KEEP and elem.VR != "SQ":
            assert new == elem.value, f"{where}: K, changed"
        elif action is Action.ZERO and int(elem.tag) not in PLACEHOLDERS:
            assert present and _empty(new), f"{where}: Z, not empty"
        elif action in (Action.ZERO, Action.DUMMY) and elem.VR != "SQ":
            assert present and new != elem.value, f"{where}: {action}, unchanged"
        elif action.value.startswith("X/") and elem.VR != "SQ":
            assert not present or _empty(new) or new != elem.value, f"{where}: {action}"
        if present and elem.VR == "SQ" and len(out[elem.tag].value) == len(elem.value):
            for index, (a, b) in enumerate(zip(elem.value, out[elem.tag].value, strict=True)):
                checked += _check_table(a, b, options, f"{where}[{index}]/")
    return checked


# -- the table itself ----------------------------------------------------------------------


def test_every_row_names_the_attribute_the_dictionary_gives_its_tag() -> None:
    def norm(text: str) -> str:
        return re.sub(r"[^a-z0-9]", "", text.lower())

    for rule in TABLE.values():
        assert norm(dictionary_description(rule.tag)) == norm(rule.name), hex(rule.tag)
    sources = [rule.source for rule in TABLE.values()]
    assert sources.count(Source.PS3_15) == 456
    assert len(TABLE) == 468


def test_profile_and_option_codes_are_those_of_cid_7050() -> None:
    cid = Collection("CID7050")
    standard = {(c.value, c.scheme_designator, c.meaning) for c in map(cid.__getattr__, cid.dir())}
    ours = {
        (value, "DCM", meaning) for value, meaning in [BASIC_PROFILE_CODE, *OPTION_CODES.values()]
    }
    # Clean Pixel Data and Clean Recognizable Visual Features are never claimed: Kiln does not
    # touch pixel data.
    assert standard - ours == {
        ("113101", "DCM", "Clean Pixel Data Option"),
        ("113102", "DCM", "Clean Recognizable Visual Features Option"),
    }
    assert ours <= standard
    assert set(OPTION_CODES) == set(Option)


def test_an_option_overrides_the_basic_action_and_the_most_retaining_option_wins() -> None:
    device_uid = TABLE[0x00181002]
    assert device_uid.action(frozenset()) is Action.UID
    assert device_uid.action(frozenset({Option.RETAIN_DEVICE_IDENTITY})) is Action.KEEP
    allergies = TABLE[0x00102110]
    assert allergies.action(frozenset({Option.RETAIN_PATIENT_CHARACTERISTICS})) is Action.CLEAN
    referenced_patient = TABLE[0x00081120]
    assert referenced_patient.action(frozenset({Option.RETAIN_UIDS})) is Action.REMOVE


def test_levels_map_to_the_documented_options() -> None:
    assert LEVEL_OPTIONS[DeidLevel.FULL] == frozenset()
    assert LEVEL_OPTIONS[DeidLevel.REDUCED] == {
        Option.RETAIN_UIDS,
        Option.RETAIN_PATIENT_CHARACTERISTICS,
        Option.RETAIN_LONGITUDINAL_FULL_DATES,
    }
    assert LEVEL_OPTIONS[DeidLevel.SERVICE] == {
        Option.RETAIN_SAFE_PRIVATE,
        Option.RETAIN_DEVICE_IDENTITY,
        Option.RETAIN_INSTITUTION_IDENTITY,
        Option.RETAIN_PATIENT_CHARACTERISTICS,
        Option.RETAIN_LONGITUDINAL_FULL_DATES,
        Option.CLEAN_DESCRIPTORS,
    }


# -- per level, per kind of instance ---------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("level", list(DeidLevel))
def test_nothing_identifying_is_left_in_the_written_file(
    study: Study, level: DeidLevel, kind: str, tmp_path: Path
) -> None:
    src = study.one(kind)
    written = _write(Deidentifier(level).apply(src), tmp_path / "out.dcm").read_bytes().upper()
    site_goes = level is not DeidLevel.SERVICE
    left = [
        word
        for word in data.identity_strings(site=site_goes)
        if word.upper().encode("latin-1") in written
    ]
    assert left == []
    if level is not DeidLevel.REDUCED:
        assert [uid for uid in _instance_uids(src) if uid.encode() in written] == []


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("level", list(DeidLevel))
def test_every_attribute_the_table_names_was_removed_or_changed_as_it_says(
    study: Study, level: DeidLevel, kind: str
) -> None:
    src = study.one(kind)
    out = Deidentifier(level).apply(src)
    assert _check_table(src, out, LEVEL_OPTIONS[level], "") > 20


@pytest.mark.parametrize("level", list(DeidLevel))
def test_the_input_dataset_is_not_changed(study: Study, level: DeidLevel) -> None:
    deid = Deidentifier(level)
    for kind in KINDS:
        src = study.one(kind)
        before = copy.deepcopy(src)
        deid.apply(src)
        assert src == before
        assert src.file_meta == before.file_meta


def _dciodvfy_errors(path: Path) -> set[str]:
    """dciodvfy's error lines, without the values they quote (those change on purpose)."""
    assert shutil.which("dciodvfy"), "dicom3tools is installed by scripts/test"
    run = subprocess.run(["dciodvfy", "-new", str(path)], capture_output=True, text=True)
    lines = (run.stdout + run.stderr).splitlines()
    return {re.sub(r" = <[^>]*>", "", line) for line in lines if line.startswith("Error")}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("level", list(DeidLevel))
def test_dciodvfy_finds_no_new_error_in_the_output(
    study: Study, level: DeidLevel, kind: str, tmp_path: Path
) -> None:
    src = study.one(kind)
    before = _dciodvfy_errors(_write(src, tmp_path / "in.dcm"))
    after = _dciodvfy_errors(_write(Deidentifier(level).apply(src), tmp_path / "out.dcm"))
    assert after - before == set()


@pytest.mark.parametrize(
    "name",
    [
        "MR_small_implicit.dcm",
        "MR_small_bigendian.dcm",
        "JPEG2000.dcm",
        "SC_rgb_rle.dcm",
        "rtplan.dcm",
        "rtdose.dcm",
        "test-SR.dcm",
        "waveform_ecg.dcm",
        "liver_1frame.dcm",
    ],
)
@pytest.mark.parametrize("level", list(DeidLevel))
def test_other_encodings_and_iods_keep_their_syntax_and_validity(
    name: str, level: DeidLevel, tmp_path: Path
) -> None:
    path = get_testdata_file(name)
    assert isinstance(path, str)
    src = pydicom.dcmread(path)
    before = copy.deepcopy(src)
    out = Deidentifier(level).apply(src)
    assert src == before
    assert out.file_meta.TransferSyntaxUID == src.file_meta.TransferSyntaxUID
    assert out.PixelData == src.PixelData if "PixelData" in src else "PixelData" not in out
    written = _write(out, tmp_path / "out.dcm")
    assert _dciodvfy_errors(written) - _dciodvfy_errors(Path(path)) == set()
    assert str(pydicom.dcmread(written).PatientName).startswith("ANONYMIZED^")


@pytest.mark.parametrize("level", list(DeidLevel))
def test_the_deidentification_attributes_say_what_was_done(study: Study, level: DeidLevel) -> None:
    out = Deidentifier(level).apply(study.ct[0])
    options = sorted(LEVEL_OPTIONS[level], key=lambda o: OPTION_CODES[o][0])
    expected = [BASIC_PROFILE_CODE, *(OPTION_CODES[o] for o in options)]
    assert out.PatientIdentityRemoved == "YES"
    assert [(i.CodeValue, i.CodeMeaning) for i in out.DeidentificationMethodCodeSequence] == (
        expected
    )
    assert {i.CodingSchemeDesignator for i in out.DeidentificationMethodCodeSequence} == {"DCM"}
    methods = out.DeidentificationMethod
    methods = [methods] if isinstance(methods, str) else list(methods)
    assert methods == [meaning for _, meaning in expected]
    dates = "REMOVED" if level is DeidLevel.FULL else "UNMODIFIED"
    assert out.LongitudinalTemporalInformationModified == dates
    assert "101010" not in {i.CodeValue for i in out.DeidentificationMethodCodeSequence}


# -- UIDs --------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", [DeidLevel.FULL, DeidLevel.SERVICE])
def test_uids_are_replaced_consistently_across_the_file_set(study: Study, level: DeidLevel) -> None:
    deid = Deidentifier(level)
    ct = [deid.apply(ds) for ds in study.ct]
    sr, pr = deid.apply(study.sr), deid.apply(study.pr)
    new_sops = [ds.SOPInstanceUID for ds in ct]

    assert len({ds.StudyInstanceUID for ds in [*ct, sr, pr]}) == 1
    assert ct[0].StudyInstanceUID != study.ct[0].StudyInstanceUID
    assert len({ds.SeriesInstanceUID for ds in ct}) == 1
    assert len({ds.FrameOfReferenceUID for ds in ct}) == 1
    assert len(set(new_sops)) == 3
    assert not set(new_sops) & {ds.SOPInstanceUID for ds in study.ct}
    for ds in [*ct, sr, pr]:
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert UID(ds.SOPInstanceUID).is_valid and ds.SOPInstanceUID.startswith("2.25.")

    evidence = sr.CurrentRequestedProcedureEvidenceSequence[0]
    assert evidence.StudyInstanceUID == ct[0].StudyInstanceUID
    series = evidence.ReferencedSeriesSequence[0]
    assert series.SeriesInstanceUID == ct[0].SeriesInstanceUID
    assert [r.ReferencedSOPInstanceUID for r in series.ReferencedSOPSequence] == new_sops
    image_item = next(i for i in sr.ContentSequence if i.ValueType == "IMAGE")
    assert image_item.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == new_sops[1]
    uid_item = next(i for i in sr.ContentSequence if i.ValueType == "UIDREF")
    assert ct[0].StudyInstanceUID == uid_item.UID
    assert sr.ReferencedRequestSequence[0].StudyInstanceUID == ct[0].StudyInstanceUID

    pr_series = pr.ReferencedSeriesSequence[0]
    assert pr_series.SeriesInstanceUID == ct[0].SeriesInstanceUID
    assert [r.ReferencedSOPInstanceUID for r in pr_series.ReferencedImageSequence] == new_sops
    annotated = pr.GraphicAnnotationSequence[0].ReferencedImageSequence[0]
    assert annotated.ReferencedSOPInstanceUID == new_sops[1]

    assert deid.apply(study.ct[0]).SOPInstanceUID == new_sops[0]
    assert study.ct[0].SOPInstanceUID in deid.uids.replacements()


def test_two_exports_with_different_secrets_cannot_be_linked(study: Study) -> None:
    one = Deidentifier(DeidLevel.FULL, secret=b"a" * 32).apply(study.ct[0])
    two = Deidentifier(DeidLevel.FULL, secret=b"b" * 32).apply(study.ct[0])
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "PatientID"):
        assert getattr(one, keyword) != getattr(two, keyword), keyword
    assert one.StudyID != two.StudyID
    again = Deidentifier(DeidLevel.FULL, secret=b"a" * 32).apply(study.ct[0])
    assert again.SOPInstanceUID == one.SOPInstanceUID  # linkable only when asked
    assert again.PatientID == one.PatientID
    fresh = [Deidentifier(DeidLevel.FULL).apply(study.ct[0]) for _ in range(2)]
    assert fresh[0].SOPInstanceUID != fresh[1].SOPInstanceUID


def test_registered_uids_are_never_replaced(study: Study) -> None:
    uids = UidMap(b"k" * 32)
    assert uids(data.CT_STORAGE) == data.CT_STORAGE
    out = Deidentifier(DeidLevel.FULL).apply(study.sr)
    assert out.SOPClassUID == data.COMPREHENSIVE_SR
    refs = out.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0]
    assert {r.ReferencedSOPClassUID for r in refs.ReferencedSOPSequence} == {data.CT_STORAGE}
    assert out.file_meta.TransferSyntaxUID == study.sr.file_meta.TransferSyntaxUID


def test_reduced_keeps_uids_dates_and_patient_characteristics(study: Study) -> None:
    src = study.ct[1]
    out = Deidentifier(DeidLevel.REDUCED).apply(src)
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "StudyDate"):
        assert getattr(out, keyword) == getattr(src, keyword), keyword
    assert out.ReferencedImageSequence[0].ReferencedSOPInstanceUID == study.ct[0].SOPInstanceUID
    assert (out.PatientSex, out.PatientAge, out.PatientWeight) == ("F", "070Y", 64)
    assert "ReferencedPatientSequence" not in out  # Retain UIDs still says X
    for keyword in ("InstitutionName", "StationName", "StudyDescription", "ProtocolName"):
        assert keyword not in out, keyword
    assert out.file_meta.MediaStorageSOPInstanceUID == src.SOPInstanceUID
    report = Deidentifier(DeidLevel.REDUCED).apply(study.sr)
    uid_item = next(i for i in report.ContentSequence if i.ValueType == "UIDREF")
    assert src.StudyInstanceUID == uid_item.UID


# -- what each level keeps ----------------------------------------------------------------


def test_private_attributes_go_except_safe_numbers_at_service_level(study: Study) -> None:
    for level in (DeidLevel.FULL, DeidLevel.REDUCED):
        for src in (study.mr, study.ct[0]):
            assert [e.tag for e in Deidentifier(level).apply(src) if e.tag.is_private] == []

    mr = Deidentifier(DeidLevel.SERVICE).apply(study.mr)
    header = mr.private_block(0x0019, "SIEMENS MR HEADER")
    assert header[0x0B].value == 2870
    assert header[0x0C].value == 0
    assert list(header[0x13].value) == [0, 0, -1267]
    assert list(header[0x15].value) == [0.0, -12.5, 31.25]
    assert 0x08 not in header  # CS: not known to be safe
    with pytest.raises(KeyError):
        mr.private_block(0x0029, "SIEMENS CSA HEADER")  # OB blobs hold the patient's name

    ct = Deidentifier(DeidLevel.SERVICE).apply(study.ct[0])
    assert 0x01 not in ct.private_block(0x0009, "GEMS_IDEN_01")  # the name in LO went
    kept = {int(e.tag) & 0xFFFF00FF for e in ct if e.tag.is_private and e.tag.element > 0xFF}
    assert kept == {0x00430040, 0x0043001E, 0x00090027}
    nested = ct.RequestAttributesSequence[0].private_block(0x0041, "KILN TEST RIS")
    assert nested[0x02].value == 7
    assert 0x01 not in nested


@pytest.mark.parametrize("level", list(DeidLevel))
def test_overlays_curves_icons_and_unknown_attributes_are_removed(
    study: Study, level: DeidLevel
) -> None:
    src = copy.deepcopy(study.ct[0])
    # standard tags the data dictionary does not know: nothing to judge them by
    src.add_new(0x00080FFE, "UN", b"nothing to judge it by")
    src.add_new(0x00180FFE, "UN", data.PATIENT["name"].encode())
    out = Deidentifier(level).apply(src)
    assert 0x00080FFE not in out and 0x00180FFE not in out
    groups = {e.tag.group for e in out}
    assert not {g for g in groups if 0x5000 <= g <= 0x60FF}
    assert "IconImageSequence" not in out
    assert "OriginalAttributesSequence" not in out


def test_clean_descriptors_keeps_the_description_and_takes_the_names_out(study: Study) -> None:
    src = study.ct[0]
    out = Deidentifier(DeidLevel.SERVICE).apply(src)
    assert out.StudyDescription == "CT HEAD ***"
    assert out.ImageComments == "re-scan ordered by *** ***"
    assert out.PatientComments == "Allergic to contrast, call ***"
    assert out.SeriesDescription == src.SeriesDescription
    assert out.RequestAttributesSequence[0].ScheduledProcedureStepDescription == "Head for ***^***"
    assert "ScheduledProcedureStepID" not in out.RequestAttributesSequence[0]
    assert out.InstitutionName == data.SITE["institution"]  # Retain Institution Identity
    assert out.StationName == data.SITE["station"]  # Retain Device Identity


def test_full_level_replaces_sr_free_text_and_names_but_keeps_codes(study: Study) -> None:
    out = Deidentifier(DeidLevel.FULL).apply(study.sr)
    items = {item.ValueType: item for item in out.ContentSequence}
    assert items["TEXT"].TextValue == "ANONYMIZED"
    assert items["PNAME"].PersonName == "ANONYMIZED"
    assert items["DATE"].Date == "19000101"
    assert items["TEXT"].ConceptNameCodeSequence[0].CodeValue == "121071"
    observer = out.VerifyingObserverSequence[0]
    assert observer.VerifyingObserverName == "ANONYMIZED"
    assert len(observer.VerifyingObserverIdentificationCodeSequence) == 0


def test_modified_dates_move_every_date_by_the_same_number_of_days(study: Study) -> None:
    deid = Deidentifier(options={Option.RETAIN_LONGITUDINAL_MODIFIED_DATES}, date_shift_days=400)
    ct, sr = deid.apply(study.ct[0]), deid.apply(study.sr)
    moved = (dt.date(2026, 12, 2) - dt.timedelta(days=400)).strftime("%Y%m%d")
    assert (ct.StudyDate, ct.SeriesDate, ct.AcquisitionDate, ct.ContentDate) == (moved,) * 4
    assert ct.StudyTime == study.ct[0].StudyTime
    assert _empty(ct.PatientBirthDate)  # no Option retains the birth date
    assert next(i for i in sr.ContentSequence if i.ValueType == "DATE").Date == moved
    assert sr.VerifyingObserverSequence[0].VerificationDateTime == moved + "120000"
    assert ct.LongitudinalTemporalInformationModified == "MODIFIED"
    assert "113107" in {i.CodeValue for i in ct.DeidentificationMethodCodeSequence}


def test_retaining_full_and_modified_dates_together_is_refused() -> None:
    with pytest.raises(InvalidOptions):
        Deidentifier(
            options={
                Option.RETAIN_LONGITUDINAL_FULL_DATES,
                Option.RETAIN_LONGITUDINAL_MODIFIED_DATES,
            }
        )


def test_attributes_the_iod_requires_get_dummies_instead_of_removal() -> None:
    enhanced = Dataset()
    enhanced.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4.1"  # Enhanced MR Image
    enhanced.SOPInstanceUID = generate_uid()
    enhanced.AcquisitionDateTime = "20261202101500"
    enhanced.DeviceSerialNumber = data.SITE["serial"]
    enhanced.StationName = data.SITE["station"]
    out = Deidentifier(DeidLevel.FULL).apply(enhanced)
    assert out.AcquisitionDateTime == "19000101000000"
    assert out.DeviceSerialNumber == "ANONYMIZED"
    assert "StationName" not in out

    pet = Dataset()
    pet.SOPClassUID = "1.2.840.10008.5.1.4.1.1.128"
    pet.SOPInstanceUID = generate_uid()
    pet.SeriesDate = "20261202"
    assert Deidentifier(DeidLevel.FULL).apply(pet).SeriesDate == "19000101"


# -- patient replacement, character sets, refusal ---------------------------------------------


def test_generated_patient_is_the_same_for_every_instance_of_one_patient(study: Study) -> None:
    deid = Deidentifier(DeidLevel.FULL)
    outs = [deid.apply(ds) for ds in [*study.ct, study.mr, study.sr]]
    assert len({(str(o.PatientName), o.PatientID) for o in outs}) == 1
    other = copy.deepcopy(study.mr)
    other.PatientID = "SOMEONE-ELSE"
    assert deid.apply(other).PatientID != outs[0].PatientID
    assert str(outs[0].PatientName).startswith("ANONYMIZED^")


@pytest.mark.parametrize(
    ("name", "charset"), [("Müller^Jörg", "ISO_IR 100"), ("山田^太郎", "ISO_IR 192")]
)
def test_the_operators_replacement_is_written_in_a_character_set_that_holds_it(
    study: Study, name: str, charset: str, tmp_path: Path
) -> None:
    deid = Deidentifier(DeidLevel.FULL, patient=PatientReplacement(name, "KILN-7"))
    path = _write(deid.apply(study.ct[0]), tmp_path / "out.dcm")
    back = pydicom.dcmread(path)
    assert back.SpecificCharacterSet == charset
    assert (str(back.PatientName), back.PatientID) == (name, "KILN-7")
    assert deid.apply(study.sr).PatientName == name


def test_burned_in_annotation_refuses_the_instance(study: Study) -> None:
    src = copy.deepcopy(study.ct[0])
    src.BurnedInAnnotation = "YES"
    with pytest.raises(BurnedInAnnotation) as refused:
        Deidentifier(DeidLevel.FULL).apply(src)
    assert refused.value.sop_instance_uid == src.SOPInstanceUID
    assert "0028,0301" in str(refused.value)
    src.BurnedInAnnotation = "NO"
    assert Deidentifier(DeidLevel.FULL).apply(src).BurnedInAnnotation == "NO"
