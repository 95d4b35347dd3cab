"""DICOMDIR encoding: offsets, record keys and character sets, read back by pydicom."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset

from appliance.media.contents import InstanceEntry, SeriesEntry, StudyEntry
from appliance.media.dicomdir import FileMeta, FileRef, Record, write_dicomdir
from appliance.media.record_types import RecordType
from appliance.media.records import UNICODE, Leaf, build_records, record_charset

CT = "1.2.840.10008.5.1.4.1.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
JIS = "ISO 2022 IR 6\\ISO 2022 IR 87"
META = FileMeta("1.2.3.4", "2.25.1", "KILN_TEST", "KILN")


def study(uid: str, patient_id: str, name: str, charset: str, series: int = 2) -> StudyEntry:
    members = []
    for s in range(1, series + 1):
        instances = tuple(
            InstanceEntry(
                f"{uid}.{s}.{i}",
                CT,
                EXPLICIT_LE,
                f"dicom/{uid}/{s}/{i}.dcm",
                100,
                str(i),
                {"ImageType": "ORIGINAL\\PRIMARY", "Rows": 64, "Columns": 64},
            )
            for i in (1, 2)
        )
        members.append(SeriesEntry(f"{uid}.{s}", "CT", str(s), "", "", instances))
    return StudyEntry(
        uid,
        patient_id,
        name,
        "19700101",
        "F",
        "20261202",
        "101500",
        "ACC",
        "7",
        "Thorax",
        "",
        "",
        charset,
        0.0,
        tuple(members),
    )


def leaves_for(studies: list[StudyEntry]) -> dict[str, Leaf]:
    leaves = {}
    for n, entry in enumerate(e for s in studies for e in s.instances):
        leaves[entry.path] = Leaf(
            FileRef(("DICOM", f"I{n:07d}"), CT, entry.sop_instance_uid, EXPLICIT_LE),
            RecordType.IMAGE,
            {"ImageType": "ORIGINAL\\PRIMARY", "InstanceNumber": entry.instance_number},
        )
    return leaves


def written(tmp_path: Path, studies: list[StudyEntry]) -> tuple[Path, list[Record]]:
    roots = build_records(studies, leaves_for(studies), "TESTSET")
    path = tmp_path / "DICOMDIR"
    write_dicomdir(path, roots, "TESTSET", META)
    return path, roots


def test_offsets_link_every_record_where_it_lies(tmp_path: Path) -> None:
    studies = [
        study("1.1", "P1", "Doe^Jane", ""),
        study("1.2", "P1", "Doe^Jane", ""),  # same patient: one PATIENT record
        study("1.3", "P2", "Roe^Rick", ""),
    ]
    path, _ = written(tmp_path, studies)
    ds = dcmread(path)
    at = {item.seq_item_tell: item for item in ds.DirectoryRecordSequence}

    def chain(offset: int) -> list[Dataset]:
        found = []
        while offset:
            record = at[offset]
            found.append(record)
            offset = record.OffsetOfTheNextDirectoryRecord
        return found

    patients = chain(ds.OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity)
    assert [p.PatientID for p in patients] == ["P1", "P2"]
    assert at[ds.OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity] is patients[-1]
    first = chain(patients[0].OffsetOfReferencedLowerLevelDirectoryEntity)
    assert [s.StudyInstanceUID for s in first] == ["1.1", "1.2"]
    series = chain(first[0].OffsetOfReferencedLowerLevelDirectoryEntity)
    assert [s.SeriesNumber for s in series] == [1, 2]
    images = chain(series[1].OffsetOfReferencedLowerLevelDirectoryEntity)
    assert [i.ReferencedSOPInstanceUIDInFile for i in images] == ["1.1.2.1", "1.1.2.2"]
    assert all(i.OffsetOfReferencedLowerLevelDirectoryEntity == 0 for i in images)
    assert len(ds.DirectoryRecordSequence) == 2 + 3 + 6 + 12
    assert all(r.RecordInUseFlag == 0xFFFF for r in ds.DirectoryRecordSequence)


def test_file_meta_and_file_set_id(tmp_path: Path) -> None:
    path, _ = written(tmp_path, [study("1.1", "P1", "Doe^Jane", "")])
    ds = dcmread(path)
    assert ds.file_meta.MediaStorageSOPClassUID == "1.2.840.10008.1.3.10"
    assert ds.file_meta.TransferSyntaxUID == EXPLICIT_LE
    assert ds.file_meta.ImplementationVersionName == "KILN_TEST"
    assert ds.file_meta.SourceApplicationEntityTitle == "KILN"
    assert ds.FileSetID == "TESTSET"
    assert ds.FileSetConsistencyFlag == 0
    image = next(r for r in ds.DirectoryRecordSequence if r.DirectoryRecordType == "IMAGE")
    assert list(image.ReferencedFileID) == ["DICOM", "I0000000"]
    assert image.ImageType == ["ORIGINAL", "PRIMARY"]


@pytest.mark.parametrize(
    ("name", "declared", "expected"),
    [
        ("Doe^Jane", "ISO_IR 100", ""),  # plain ASCII needs no character set
        ("Müller^Jürgen", "ISO_IR 100", "ISO_IR 100"),
        ("Müller^Jürgen", "", UNICODE),  # not ASCII and nothing declared
        ("山田^太郎", "ISO_IR 100", UNICODE),  # the declared set cannot hold it
        ("山田^太郎=やまだ^たろう", "ISO_IR 192", "ISO_IR 192"),
        (
            "Yamada^Tarou=山田^太郎",
            "ISO 2022 IR 6\\ISO 2022 IR 87",
            "ISO 2022 IR 6\\ISO 2022 IR 87",
        ),
    ],
)
def test_names_round_trip_in_their_character_set(
    tmp_path: Path, name: str, declared: str, expected: str
) -> None:
    assert record_charset({"PatientName": name}, declared) == expected
    path, _ = written(tmp_path, [study("1.1", "P1", name, declared)])
    patient = dcmread(path).DirectoryRecordSequence[0]
    assert str(patient.PatientName) == name
    assert patient.get("SpecificCharacterSet", "") == (
        expected.split("\\") if "\\" in expected else expected
    )


def test_missing_type_1_keys_are_made_up_and_type_2_written_empty(tmp_path: Path) -> None:
    bare = study("1.1", "", "", "", series=1)
    bare = StudyEntry(
        bare.study_uid, "", "", "", "", "", "", "", "", "", "", "", "", 1_790_000_000.0,
        bare.series,
    )  # fmt: skip
    path, _ = written(tmp_path, [bare])
    records = dcmread(path).DirectoryRecordSequence
    patient, record = records[0], records[1]
    assert patient.PatientID == "TESTSET_1"
    assert patient.PatientName == ""
    assert record.StudyID == "1"
    assert len(record.StudyDate) == 8 and len(record.StudyTime) == 6
    assert "AccessionNumber" in record and record.AccessionNumber == ""
