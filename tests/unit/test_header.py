"""The head walker reads what the index needs from every encoding, without the pixels."""

from __future__ import annotations

from io import BytesIO

import pytest
from pydicom.dataset import Dataset
from pydicom.filewriter import write_dataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from appliance.storage.header import DEFLATED, HeaderError, Truncated, parse_header
from tests.dicomdata import make_instance

JPIP_DEFLATE = "1.2.840.10008.1.2.4.95"


def encode(ds: Dataset, ts: str) -> bytes:
    buffer = BytesIO()
    if ts in DEFLATED:
        import zlib

        raw = encode(ds, ExplicitVRLittleEndian)
        c = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        return c.compress(raw) + c.flush()
    ds_copy = Dataset(ds)
    from pydicom.filebase import DicomFileLike

    fp = DicomFileLike(buffer)
    fp.is_little_endian = ts != ExplicitVRBigEndian
    fp.is_implicit_VR = ts == ImplicitVRLittleEndian
    write_dataset(fp, ds_copy)
    return buffer.getvalue()


def with_sequences(ds: Dataset) -> Dataset:
    inner = Dataset()
    inner.ReferencedSOPClassUID = "1.2.3"
    inner.ReferencedSOPInstanceUID = "1.2.3.4"
    ds.ReferencedImageSequence = Sequence([inner, inner])
    ds.ProcedureCodeSequence = Sequence([Dataset()])
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
def test_every_encoding(ts: str) -> None:
    ds = with_sequences(make_instance(patient="Doe^Jane", number=7))
    header = parse_header(encode(ds, ts), ts, complete=True)
    assert header.sop_instance_uid == ds.SOPInstanceUID
    assert header.study_uid == ds.StudyInstanceUID
    assert header.series_uid == ds.SeriesInstanceUID
    assert header.sop_class_uid == ds.SOPClassUID
    assert header.values["patient_name"] == "Doe^Jane"
    assert header.values["instance_number"] == "7"
    assert header.values["modality"] == "CT"


def test_undefined_length_sequences_are_skipped() -> None:
    ds = with_sequences(make_instance())
    ds["ReferencedImageSequence"].is_undefined_length = True
    for item in ds.ReferencedImageSequence:
        item.is_undefined_length_sequence_item = True
    data = encode(ds, ExplicitVRLittleEndian)
    assert b"\xfe\xff\xdd\xe0" in data  # a sequence delimiter really is there
    header = parse_header(data, ExplicitVRLittleEndian, complete=True)
    assert header.study_uid == ds.StudyInstanceUID


def test_character_set_decodes_names() -> None:
    ds = make_instance(charset="ISO_IR 192", patient="Müller^Jürgen")
    header = parse_header(encode(ds, ExplicitVRLittleEndian), ExplicitVRLittleEndian, complete=True)
    assert header.values["patient_name"] == "Müller^Jürgen"
    ds = make_instance(charset="ISO_IR 100", patient="Müller^Jürgen")
    header = parse_header(encode(ds, ExplicitVRLittleEndian), ExplicitVRLittleEndian, complete=True)
    assert header.values["patient_name"] == "Müller^Jürgen"


def test_truncation_is_told_apart_from_garbage() -> None:
    data = encode(make_instance(), ExplicitVRLittleEndian)
    with pytest.raises(Truncated):
        parse_header(data[:60], ExplicitVRLittleEndian)
    with pytest.raises(HeaderError):
        parse_header(data[:60], ExplicitVRLittleEndian, complete=True)
    garbage = data[:4] + b"\x00\x01" + data[6:]  # a VR that is not two letters
    with pytest.raises(HeaderError):
        parse_header(garbage, ExplicitVRLittleEndian, complete=True)


def test_stops_before_pixels() -> None:
    data = encode(make_instance(size=512), ExplicitVRLittleEndian)
    pixels_at = data.index(b"\xe0\x7f\x10\x00")
    header = parse_header(data[: pixels_at + 4], ExplicitVRLittleEndian)
    assert header.sop_instance_uid
