"""build_fileset without a box: extras, label data, the anonymised-copy hook, old index rows."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from appliance.media.contents import InstanceEntry, SeriesEntry, StudyEntry
from appliance.media.copies import CopyType, transform_for
from appliance.media.errors import MediaError, MediaProblem
from appliance.media.extras import ExtrasOptions
from appliance.media.fileset import FileSetOptions, build_fileset, export_folder
from appliance.media.labels import person_name
from appliance.media.leaf_keys import dataset_keys, needs_header
from appliance.media.profiles import Profile
from appliance.media.record_types import RecordType
from tests.media_data import Patient, ct

EXPLICIT_LE = "1.2.840.10008.1.2.1"


def stored(data_dir: Path, patient: Patient, count: int = 2) -> StudyEntry:
    """Instances on disk as the box keeps them, and their index entries (no keys: as rows
    written before the keys were captured, so the builder must read their headers)."""
    study_uid, series_uid = str(generate_uid()), str(generate_uid())
    entries = []
    first: Dataset | None = None
    for number in range(1, count + 1):
        ds = ct(patient, study_uid, series_uid, number=number)
        first = first or ds
        path = f"dicom/{study_uid}/{series_uid}/{ds.SOPInstanceUID}.dcm"
        (data_dir / path).parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(data_dir / path, enforce_file_format=True)
        size = (data_dir / path).stat().st_size
        entries.append(
            InstanceEntry(
                str(ds.SOPInstanceUID), str(ds.SOPClassUID), EXPLICIT_LE, path, size, str(number)
            )
        )
    assert first is not None
    series = SeriesEntry(series_uid, "CT", "1", "series 1", "", tuple(entries))
    return StudyEntry(
        study_uid,
        patient.patient_id,
        patient.name,
        patient.birth_date,
        patient.sex,
        "20261202",
        "101500",
        "ACC1",
        "S1",
        str(first.StudyDescription),
        "",
        str(first.InstitutionName),
        patient.charset,
        0.0,
        (series,),
    )


def test_extras_lie_outside_the_dicom_folder(tmp_path: Path) -> None:
    data, root = tmp_path / "data", tmp_path / "out"
    study = stored(data, Patient("Müller^Jürgen", "PID-1", "ISO_IR 100"))
    viewer = tmp_path / "viewer"
    (viewer / "bin").mkdir(parents=True)
    (viewer / "bin" / "view.exe").write_bytes(b"MZ")
    options = FileSetOptions(
        Profile.STD_GEN_CD,
        copy_type=CopyType.PHYSICIAN,
        extras=ExtrasOptions(viewer_dir=viewer, autorun=True, autorun_open="bin/view.exe"),
        volume=2,
        volumes=3,
    )
    root.mkdir()
    result = build_fileset(data, [study], root, options)
    assert sorted(p.name for p in root.iterdir()) == [
        "AUTORUN.INF", "DICOM", "DICOMDIR", "INDEX.HTM", "README.TXT", "VIEWER",
    ]  # fmt: skip
    assert (root / "VIEWER" / "bin" / "view.exe").read_bytes() == b"MZ"
    assert (root / "AUTORUN.INF").read_bytes() == (
        b"[autorun]\r\nopen=VIEWER\\bin\\view.exe\r\nlabel=KILN\r\n"
    )
    readme = (root / "README.TXT").read_text(encoding="utf-8-sig")
    assert "Volume 2 of 3 - physician copy" in readme
    assert "Patient: Müller, Jürgen (ID PID-1, born 1970-01-01)" in readme
    assert "Klinik Süd" in readme
    page = (root / "INDEX.HTM").read_text(encoding="utf-8")
    assert "<td>Müller, Jürgen</td>" in page and 'href="VIEWER/"' in page
    labels = result.labels
    assert labels.volume_text == "2 of 3"
    assert labels.patient is not None
    assert labels.patient.birth_date == "1970-01-01"
    assert labels.patient.studies[0].modalities == ("CT",)
    assert labels.patient.studies[0].instances == 2
    assert labels.institution == "Klinik Süd"


def test_keys_missing_from_the_index_are_read_from_the_header(tmp_path: Path) -> None:
    data, root = tmp_path / "data", tmp_path / "out"
    study = stored(data, Patient("Doe^Jane", "PID-2"))
    root.mkdir()
    build_fileset(data, [study], root, FileSetOptions(Profile.STD_GEN_CD))
    images = [
        r
        for r in dcmread(root / "DICOMDIR").DirectoryRecordSequence
        if r.DirectoryRecordType == "IMAGE"
    ]
    assert [r.ImageType for r in images] == [["ORIGINAL", "PRIMARY", "AXIAL"]] * 2
    assert [r.ImagePositionPatient[2] for r in images] == [2.5, 5.0]


def test_a_transform_rewrites_every_instance_and_the_directory_follows(tmp_path: Path) -> None:
    data, root = tmp_path / "data", tmp_path / "out"
    study = stored(data, Patient("Müller^Jürgen", "PID-1", "ISO_IR 100"))
    new_study = str(generate_uid())

    def anonymise(ds: Dataset) -> Dataset:
        out = ds.copy()
        out.PatientName = "ANONYMOUS"
        out.PatientID = "ANON-1"
        out.StudyInstanceUID = new_study
        out.SOPInstanceUID = generate_uid(entropy_srcs=[str(ds.SOPInstanceUID)])
        return out

    root.mkdir()
    options = FileSetOptions(Profile.STD_GEN_DVD_J2K, copy_type=CopyType.ANONYMISED)
    result = build_fileset(data, [study], root, options, transform=anonymise)
    directory = dcmread(root / "DICOMDIR")
    records = directory.DirectoryRecordSequence
    assert records[0].PatientName == "ANONYMOUS" and records[0].PatientID == "ANON-1"
    assert records[1].StudyInstanceUID == new_study
    for record in records[3:]:
        written = dcmread(root.joinpath(*record.ReferencedFileID))
        assert written.PatientName == "ANONYMOUS"
        assert written.SOPInstanceUID == record.ReferencedSOPInstanceUIDInFile
        assert written.file_meta.MediaStorageSOPInstanceUID == written.SOPInstanceUID
    originals = {e.sop_instance_uid for e in study.instances}
    assert originals.isdisjoint(result.file_ids)
    assert result.labels.patient is not None and result.labels.patient.name == "ANONYMOUS"
    assert "Müller" not in (root / "README.TXT").read_text(encoding="utf-8-sig")


def test_copy_types_that_keep_instances_have_no_transform() -> None:
    assert transform_for(CopyType.PATIENT) is None
    assert transform_for(CopyType.PHYSICIAN) is None


def test_bad_file_set_id_and_empty_selection_change_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    study = stored(data, Patient("Doe^Jane", "PID-3"))
    with pytest.raises(MediaError) as caught:
        export_folder(data, [study], tmp_path / "a", FileSetOptions(Profile.STD_GEN_CD, "bad-id"))
    assert caught.value.problem is MediaProblem.BAD_VALUE
    empty = replace(study, series=())
    with pytest.raises(MediaError) as caught:
        export_folder(data, [empty], tmp_path / "b", FileSetOptions(Profile.STD_GEN_CD))
    assert caught.value.problem is MediaProblem.NOTHING_SELECTED
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


@pytest.mark.parametrize(
    ("dicom", "written"),
    [
        ("Doe^Jane", "Doe, Jane"),
        ("Doe^Jane^Mary^Dr^PhD", "Doe, Dr Jane Mary PhD"),
        ("Doe", "Doe"),
        ("^Jane", "Jane"),
        ("山田^太郎=やまだ^たろう", "山田, 太郎"),
    ],
)
def test_person_names_as_people_write_them(dicom: str, written: str) -> None:
    assert person_name(dicom) == written


def test_anonymised_copies_get_a_deidentifier_of_a_known_level() -> None:
    assert transform_for(CopyType.ANONYMISED, "reduced") is not None
    with pytest.raises(MediaError) as caught:
        transform_for(CopyType.ANONYMISED, "partial")
    assert caught.value.problem is MediaProblem.BAD_VALUE
    assert "full, reduced, service" in caught.value.message


def test_burned_in_annotation_refuses_the_anonymised_copy(tmp_path: Path) -> None:
    data = tmp_path / "data"
    study = stored(data, Patient("Doe^Jane", "PID-4"), count=1)
    path = data / study.series[0].instances[0].path
    ds = dcmread(path)
    ds.BurnedInAnnotation = "YES"
    ds.save_as(path, enforce_file_format=True)
    transform = transform_for(CopyType.ANONYMISED)
    options = FileSetOptions(Profile.STD_GEN_CD, copy_type=CopyType.ANONYMISED)
    with pytest.raises(MediaError) as caught:
        export_folder(data, [study], tmp_path / "out", options, transform=transform)
    assert caught.value.problem is MediaProblem.BURNED_IN
    assert str(ds.SOPInstanceUID) in caught.value.message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_enhanced_objects_give_plane_keys_from_their_shared_functional_groups() -> None:
    ds = Dataset()
    ds.NumberOfFrames = 40
    ds.Rows = ds.Columns = 256
    orientation, measures, reference = Dataset(), Dataset(), Dataset()
    orientation.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    measures.PixelSpacing = ["0.7", "0.7"]
    measures.SliceThickness = 1
    reference.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    reference.ReferencedSOPInstanceUID = "1.2.3.4"
    shared = Dataset()
    shared.PlaneOrientationSequence = [orientation]
    shared.PixelMeasuresSequence = [measures]
    shared.ReferencedImageSequence = [reference]
    ds.SharedFunctionalGroupsSequence = [shared]
    # The index has NumberOfFrames but no plane keys: the builder reads the header.
    assert needs_header({"NumberOfFrames": "40", "Rows": 256})
    assert not needs_header({"NumberOfFrames": "40", "PixelSpacing": "0.7\\0.7"})
    assert not needs_header({"Rows": 512})
    keys = dataset_keys(ds, RecordType.IMAGE)
    assert keys["ImageOrientationPatient"] == "1\\0\\0\\0\\1\\0"
    assert keys["PixelSpacing"] == "0.7\\0.7"
    assert keys["ReferencedImageSequence"] == [
        {
            "ReferencedSOPClassUID": "1.2.840.10008.5.1.4.1.1.4",
            "ReferencedSOPInstanceUID": "1.2.3.4",
        }
    ]
    assert keys["NumberOfFrames"] == "40"
