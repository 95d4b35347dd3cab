"""The receive path's header walk keeps the DICOMDIR keys the index has no column for."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from appliance.db.database import connect, migrate
from appliance.storage.header import parse_header
from appliance.storage.index import Index, NewInstance
from tests.dicomdata import make_instance
from tests.unit.test_header import encode


def image_with_keys(charset: str = "ISO_IR 100") -> Dataset:
    ds = make_instance(patient="Doe^Jane", number=7, charset=charset)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SeriesDate = "20261202"
    ds.SeriesTime = "101500.5"
    ds.InstitutionAddress = "Hauptstraße 1"
    ds.PerformingPhysicianName = "Müller^Hans"
    ds.ImagePositionPatient = ["-125.5", "-130", "88.25"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.FrameOfReferenceUID = "1.2.3.4.5"
    ds.PixelSpacing = ["0.48828125", "0.48828125"]
    ds.LossyImageCompression = "00"
    ref = Dataset()
    ref.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ref.ReferencedSOPInstanceUID = "1.2.3.4.6"
    ds.ReferencedImageSequence = Sequence([ref])
    return ds


@pytest.mark.parametrize(
    "ts",
    [
        ImplicitVRLittleEndian,
        ExplicitVRLittleEndian,
        ExplicitVRBigEndian,
        DeflatedExplicitVRLittleEndian,
    ],
)
def test_keys_in_every_encoding(ts: str) -> None:
    media = parse_header(encode(image_with_keys(), ts), ts, complete=True).media
    assert media["ImageType"] == "ORIGINAL\\PRIMARY\\AXIAL"
    assert media["SeriesTime"] == "101500.5"
    assert media["InstitutionAddress"] == "Hauptstraße 1"
    assert media["PerformingPhysicianName"] == "Müller^Hans"
    assert media["ImagePositionPatient"] == "-125.5\\-130\\88.25"
    assert media["ImageOrientationPatient"] == "1\\0\\0\\0\\1\\0"
    assert media["PixelSpacing"] == "0.48828125\\0.48828125"
    assert media["Rows"] == 16
    assert media["Columns"] == 16
    assert media["BitsAllocated"] == 16
    assert media["SamplesPerPixel"] == 1
    assert media["SpecificCharacterSet"] == "ISO_IR 100"
    assert media["ReferencedImageSequence"] == [["1.2.840.10008.5.1.4.1.1.2", "1.2.3.4.6"]]


def test_undefined_length_references_are_read_and_checked() -> None:
    ds = image_with_keys()
    ds["ReferencedImageSequence"].is_undefined_length = True
    for item in ds.ReferencedImageSequence:
        item.is_undefined_length_sequence_item = True
    data = encode(ds, ExplicitVRLittleEndian)
    media = parse_header(data, ExplicitVRLittleEndian, complete=True).media
    assert media["ReferencedImageSequence"] == [["1.2.840.10008.5.1.4.1.1.2", "1.2.3.4.6"]]


def test_absent_keys_are_not_stored() -> None:
    ds = make_instance()
    media = parse_header(encode(ds, ExplicitVRLittleEndian), ExplicitVRLittleEndian, complete=True)
    assert "ImageType" not in media.media
    assert "ReferencedImageSequence" not in media.media


def test_index_keeps_the_keys_as_json(tmp_path: Path) -> None:
    migrate(tmp_path)
    conn = connect(tmp_path)
    header = parse_header(
        encode(image_with_keys("ISO_IR 192"), ExplicitVRLittleEndian),
        ExplicitVRLittleEndian,
        complete=True,
    )
    Index(conn).add(
        NewInstance(header, ExplicitVRLittleEndian, "dicom/x.dcm", 10, 0, "MOD", "KILN", None)
    )
    row: sqlite3.Row = conn.execute("SELECT media_keys FROM instances").fetchone()
    stored = orjson.loads(row[0])
    assert stored["PerformingPhysicianName"] == "Müller^Hans"
    assert stored["Rows"] == 16
