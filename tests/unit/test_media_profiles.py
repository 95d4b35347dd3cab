"""Profiles' transfer-syntax rules, record types per SOP class, and what a refusal does."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import UID

from appliance.media.errors import MediaError, MediaProblem
from appliance.media.profiles import (
    EXPLICIT_LE,
    Compression,
    Disposition,
    Medium,
    Profile,
    compression_for,
    disc_profile,
)
from appliance.media.record_types import RecordType, record_type
from appliance.media.transcode import decodable, write_instance

IMPLICIT = "1.2.840.10008.1.2"
BIG = "1.2.840.10008.1.2.2"
JPEG_LOSSLESS = "1.2.840.10008.1.2.4.70"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
JPEG_LS = "1.2.840.10008.1.2.4.80"
J2K_LOSSLESS = "1.2.840.10008.1.2.4.90"
RLE = "1.2.840.10008.1.2.5"
MPEG2 = "1.2.840.10008.1.2.4.100"

D = Disposition


@pytest.mark.parametrize(
    ("profile", "syntax", "expected"),
    [
        (Profile.STD_GEN_CD, EXPLICIT_LE, D.COPY),
        (Profile.STD_GEN_CD, IMPLICIT, D.REENCODE),
        (Profile.STD_GEN_CD, BIG, D.REENCODE),
        (Profile.STD_GEN_CD, JPEG_LOSSLESS, D.DECODE),
        (Profile.STD_GEN_CD, J2K_LOSSLESS, D.DECODE),
        (Profile.STD_GEN_CD, MPEG2, D.REFUSE),
        (Profile.STD_GEN_DVD_JPEG, JPEG_LOSSLESS, D.COPY),
        (Profile.STD_GEN_DVD_JPEG, JPEG_BASELINE, D.COPY),
        (Profile.STD_GEN_DVD_JPEG, J2K_LOSSLESS, D.DECODE),
        (Profile.STD_GEN_DVD_JPEG, JPEG_LS, D.DECODE),  # JPEG-LS is in no general profile
        (Profile.STD_GEN_DVD_JPEG, RLE, D.DECODE),
        (Profile.STD_GEN_DVD_J2K, J2K_LOSSLESS, D.COPY),
        (Profile.STD_GEN_DVD_J2K, JPEG_LOSSLESS, D.DECODE),
        (Profile.STD_GEN_BD_J2K, IMPLICIT, D.REENCODE),
        (Profile.STD_GEN_USB_JPEG, JPEG_BASELINE, D.COPY),
        (Profile.STD_GEN_SD_J2K, J2K_LOSSLESS, D.COPY),
        (Profile.STD_GEN_BD_MPEG2_MPML, MPEG2, D.COPY),
        (Profile.STD_GEN_BD_MPEG2_MPML, JPEG_LOSSLESS, D.DECODE),
    ],
)
def test_each_profile_keeps_decodes_or_refuses(profile: Profile, syntax: str, expected: D) -> None:
    assert profile.disposition(syntax, decodable(syntax)) is expected


def test_installed_decoders_cover_every_still_image_compression() -> None:
    for syntax in (JPEG_BASELINE, JPEG_LOSSLESS, JPEG_LS, J2K_LOSSLESS, RLE):
        assert decodable(syntax), syntax
    assert not decodable(MPEG2)


def test_every_profile_holds_explicit_little_endian_and_names_a_medium() -> None:
    for profile in Profile:
        assert EXPLICIT_LE in profile.syntaxes
        assert isinstance(profile.medium, Medium)
        assert profile.rule.dcmmkdir_option


def test_disc_profiles_by_medium_and_compression() -> None:
    assert disc_profile(Medium.CD, Compression.J2K) is Profile.STD_GEN_CD
    assert disc_profile(Medium.DVD_DL, Compression.J2K) is Profile.STD_GEN_DVD_J2K
    assert disc_profile(Medium.DVD, Compression.JPEG) is Profile.STD_GEN_DVD_JPEG
    assert disc_profile(Medium.BD, Compression.JPEG) is Profile.STD_GEN_BD_JPEG
    assert compression_for([J2K_LOSSLESS, J2K_LOSSLESS, JPEG_LOSSLESS]) is Compression.J2K
    assert compression_for([EXPLICIT_LE, JPEG_LOSSLESS]) is Compression.JPEG


@pytest.mark.parametrize(
    ("sop_class", "expected"),
    [
        ("1.2.840.10008.5.1.4.1.1.2", RecordType.IMAGE),  # CT
        ("1.2.840.10008.5.1.4.1.1.7", RecordType.IMAGE),  # secondary capture
        ("1.2.840.10008.5.1.4.1.1.66.4", RecordType.IMAGE),  # segmentation
        ("1.2.840.10008.5.1.4.1.1.481.1", RecordType.IMAGE),  # RT image
        ("1.2.840.10008.5.1.4.1.1.481.2", RecordType.RT_DOSE),
        ("1.2.840.10008.5.1.4.1.1.481.3", RecordType.RT_STRUCTURE_SET),
        ("1.2.840.10008.5.1.4.1.1.481.5", RecordType.RT_PLAN),
        ("1.2.840.10008.5.1.4.1.1.481.8", RecordType.RT_PLAN),  # ion plan
        ("1.2.840.10008.5.1.4.1.1.481.4", RecordType.RT_TREAT_RECORD),
        ("1.2.840.10008.5.1.4.1.1.481.12", RecordType.RADIOTHERAPY),  # RT radiation set
        ("1.2.840.10008.5.1.4.1.1.11.1", RecordType.PRESENTATION),
        ("1.2.840.10008.5.1.4.1.1.88.11", RecordType.SR_DOCUMENT),
        ("1.2.840.10008.5.1.4.1.1.88.67", RecordType.SR_DOCUMENT),  # dose SR
        ("1.2.840.10008.5.1.4.1.1.88.59", RecordType.KEY_OBJECT_DOC),
        ("1.2.840.10008.5.1.4.1.1.104.1", RecordType.ENCAP_DOC),  # PDF
        ("1.2.840.10008.5.1.4.1.1.104.2", RecordType.ENCAP_DOC),  # CDA
        ("1.2.840.10008.5.1.4.1.1.9.1.1", RecordType.WAVEFORM),  # 12-lead ECG
        ("1.2.840.10008.5.1.4.1.1.4.2", RecordType.SPECTROSCOPY),
        ("1.2.840.10008.5.1.4.1.1.66", RecordType.RAW_DATA),
        ("1.2.840.10008.5.1.4.1.1.66.1", RecordType.REGISTRATION),
        ("1.2.840.10008.5.1.4.1.1.66.2", RecordType.FIDUCIAL),
        ("1.2.840.10008.5.1.4.1.1.67", RecordType.VALUE_MAP),
        ("1.2.840.10008.5.1.4.1.1.66.5", RecordType.SURFACE),
        ("1.3.12.2.1107.5.9.1", RecordType.PRIVATE),  # Siemens CSA Non-Image
        ("1.2.3.4.5", RecordType.PRIVATE),
    ],
)
def test_record_type_per_sop_class(sop_class: str, expected: RecordType) -> None:
    assert record_type(sop_class) is expected


def test_a_refused_instance_names_itself_and_writes_nothing(tmp_path: Path) -> None:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = UID(MPEG2)
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.77.1.1.1"
    ds.SOPInstanceUID = "1.2.3.4.5.6"
    ds.PixelData = encapsulate([b"\x00\x00\x01\xb3" + b"\x00" * 60])
    source = tmp_path / "video.dcm"
    ds.save_as(source, enforce_file_format=True)
    target = tmp_path / "out"
    with pytest.raises(MediaError) as caught:
        write_instance(source, target, "1.2.3.4.5.6", MPEG2, Profile.STD_GEN_CD, "KILN")
    assert caught.value.problem is MediaProblem.UNDECODABLE
    assert "1.2.3.4.5.6" in caught.value.message
    assert "STD-GEN-CD" in caught.value.message
    assert not target.exists()
