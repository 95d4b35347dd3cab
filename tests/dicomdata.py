"""Test datasets made on the fly (no binary fixtures in the repository)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

CT = UID("1.2.840.10008.5.1.4.1.1.2")
MR = UID("1.2.840.10008.5.1.4.1.1.4")


def make_instance(
    *,
    sop_class: str = CT,
    study_uid: str | None = None,
    series_uid: str | None = None,
    sop_uid: str | None = None,
    size: int = 16,
    patient: str = "Test^Patient",
    number: int = 1,
    charset: str | None = None,
) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = UID(sop_class)
    ds.SOPClassUID = UID(sop_class)
    ds.SOPInstanceUID = UID(sop_uid or generate_uid())
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    if charset:
        ds.SpecificCharacterSet = charset
    ds.StudyInstanceUID = UID(study_uid or generate_uid())
    ds.SeriesInstanceUID = UID(series_uid or generate_uid())
    ds.PatientName = patient
    ds.PatientID = "PID1"
    ds.StudyDate = "20261202"
    ds.Modality = "CT" if sop_class == CT else "MR"
    ds.InstanceNumber = number
    ds.Rows = size
    ds.Columns = size
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = (np.arange(size * size, dtype=np.uint16) % 4096).tobytes()
    return ds


def write_series(folder: Path, count: int, **kwargs: object) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    study = str(kwargs.pop("study_uid", generate_uid()))
    series = str(kwargs.pop("series_uid", generate_uid()))
    paths = []
    for i in range(count):
        ds = make_instance(study_uid=study, series_uid=series, number=i + 1, **kwargs)  # type: ignore[arg-type]
        path = folder / f"img{i:05d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths
