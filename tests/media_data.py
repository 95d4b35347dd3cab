"""Complete test instances for the media tests: every one passes dciodvfy with no error, so
an error found in an exported file-set is the exporter's.

CT images (every module of the CT Image IOD), an RGB Secondary Capture image, a Key Object
Selection document and a Basic Text SR; compressed variants made by DCMTK (dcmcjpeg,
dcmcjpls, dcmcrle, dcmconv) or by pydicom's JPEG 2000 encoder where DCMTK has none.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    JPEG2000,
    UID,
    BasicTextSRStorage,
    CTImageStorage,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    KeyObjectSelectionDocumentStorage,
    SecondaryCaptureImageStorage,
    generate_uid,
)

from tests.dcmtk import convert, save


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    code = Dataset()
    code.CodeValue = value
    code.CodingSchemeDesignator = scheme
    code.CodeMeaning = meaning
    return code


class Patient:
    """Who a study belongs to, and the character set the modality sends names in."""

    def __init__(
        self,
        name: str,
        patient_id: str,
        charset: str = "",
        birth_date: str = "19700101",
        sex: str = "F",
    ) -> None:
        self.name = name
        self.patient_id = patient_id
        self.charset = charset
        self.birth_date = birth_date
        self.sex = sex


def _common(
    ds: Dataset,
    sop_class: str,
    patient: Patient,
    study_uid: str,
    series_uid: str,
    modality: str,
    series_number: int,
    number: int,
) -> None:
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = UID(sop_class)
    ds.SOPClassUID = UID(sop_class)
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    if patient.charset:
        ds.SpecificCharacterSet = patient.charset
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = "20261202"
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = "101500"
    ds.AccessionNumber = "ACC1"
    ds.Modality = modality
    ds.Manufacturer = "Kiln tests"
    ds.InstitutionName = "Klinik Süd" if patient.charset else "Clinic South"
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = "Thorax" if not patient.charset else "Thorax Übersicht"
    ds.SeriesDescription = f"series {series_number}"
    ds.PatientName = patient.name
    ds.PatientID = patient.patient_id
    ds.PatientBirthDate = patient.birth_date
    ds.PatientSex = patient.sex
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = "S1"
    if modality in ("CT", "OT"):
        ds.Laterality = ""
    ds.SeriesNumber = series_number
    ds.InstanceNumber = number


def ct(
    patient: Patient,
    study_uid: str,
    series_uid: str,
    *,
    series_number: int = 1,
    number: int = 1,
    size: int = 64,
    references: list[Dataset] | None = None,
) -> Dataset:
    """A CT image with every module of the CT Image IOD filled in."""
    ds = Dataset()
    _common(ds, CTImageStorage, patient, study_uid, series_uid, "CT", series_number, number)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.AcquisitionNumber = 1
    ds.PatientPosition = "HFS"
    ds.FrameOfReferenceUID = generate_uid(entropy_srcs=[study_uid, "frame of reference"])
    ds.PositionReferenceIndicator = ""
    ds.PixelSpacing = ["0.5", "0.5"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.ImagePositionPatient = ["-16", "-16", str(number * 2.5)]
    ds.SliceThickness = "2.5"
    ds.KVP = "120"
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = size
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    if references:
        ds.ReferencedImageSequence = Sequence(references)
    y, x = np.mgrid[0:size, 0:size]
    ds.PixelData = ((x * 40 + y * 25 + number * 97) % 4096).astype(np.uint16).tobytes()
    return ds


def rgb_secondary_capture(
    patient: Patient,
    study_uid: str,
    series_uid: str,
    *,
    series_number: int,
    size: int = 64,
    rgb: bool = True,
) -> Dataset:
    """An 8-bit Secondary Capture image, RGB or MONOCHROME2."""
    ds = Dataset()
    _common(
        ds, SecondaryCaptureImageStorage, patient, study_uid, series_uid, "OT", series_number, 1
    )
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.ConversionType = "WSD"
    ds.PatientOrientation = ""
    ds.SamplesPerPixel = 3 if rgb else 1
    ds.PhotometricInterpretation = "RGB" if rgb else "MONOCHROME2"
    if rgb:
        ds.PlanarConfiguration = 0
    ds.Rows = ds.Columns = size
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    y, x = np.mgrid[0:size, 0:size]
    plane = ((x * 3 + y * 2) % 256).astype(np.uint8)
    pixels = np.stack([plane, plane[::-1], plane.T], axis=-1) if rgb else plane
    ds.PixelData = pixels.tobytes()
    return ds


def reference(ds: Dataset) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = ds.SOPClassUID
    item.ReferencedSOPInstanceUID = ds.SOPInstanceUID
    return item


def _evidence(images: list[Dataset]) -> Sequence:
    series = Dataset()
    series.SeriesInstanceUID = images[0].SeriesInstanceUID
    series.ReferencedSOPSequence = Sequence([reference(ds) for ds in images])
    study = Dataset()
    study.StudyInstanceUID = images[0].StudyInstanceUID
    study.ReferencedSeriesSequence = Sequence([series])
    return Sequence([study])


def key_objects(
    patient: Patient, study_uid: str, series_uid: str, images: list[Dataset], series_number: int
) -> Dataset:
    """A Key Object Selection document ("Of Interest") naming `images`."""
    ds = Dataset()
    _common(
        ds,
        KeyObjectSelectionDocumentStorage,
        patient,
        study_uid,
        series_uid,
        "KO",
        series_number,
        1,
    )
    del ds.SeriesDescription
    ds.ReferencedPerformedProcedureStepSequence = Sequence()
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = Sequence([_code("113000", "DCM", "Of Interest")])
    ds.ContinuityOfContent = "SEPARATE"
    template = Dataset()
    template.MappingResource = "DCMR"
    template.TemplateIdentifier = "2010"
    ds.ContentTemplateSequence = Sequence([template])
    ds.CurrentRequestedProcedureEvidenceSequence = _evidence(images)
    items = []
    for image in images:
        item = Dataset()
        item.RelationshipType = "CONTAINS"
        item.ValueType = "IMAGE"
        item.ReferencedSOPSequence = Sequence([reference(image)])
        items.append(item)
    ds.ContentSequence = Sequence(items)
    return ds


def text_report(
    patient: Patient, study_uid: str, series_uid: str, images: list[Dataset], series_number: int
) -> Dataset:
    """A Basic Text SR with a language modifier on its title (kept in the DICOMDIR)."""
    ds = Dataset()
    _common(ds, BasicTextSRStorage, patient, study_uid, series_uid, "SR", series_number, 1)
    ds.ReferencedPerformedProcedureStepSequence = Sequence()
    ds.PerformedProcedureCodeSequence = Sequence()
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = Sequence([_code("18748-4", "LN", "Diagnostic Imaging Report")])
    ds.ContinuityOfContent = "SEPARATE"
    ds.CurrentRequestedProcedureEvidenceSequence = _evidence(images)
    language = Dataset()
    language.RelationshipType = "HAS CONCEPT MOD"
    language.ValueType = "CODE"
    language.ConceptNameCodeSequence = Sequence([_code("121049", "DCM", "Language of Content")])
    language.ConceptCodeSequence = Sequence([_code("en", "RFC5646", "English")])
    finding = Dataset()
    finding.RelationshipType = "CONTAINS"
    finding.ValueType = "TEXT"
    finding.ConceptNameCodeSequence = Sequence([_code("121071", "DCM", "Finding")])
    finding.TextValue = "No acute findings."
    ds.ContentSequence = Sequence([language, finding])
    return ds


def j2k(ds: Dataset, lossless: bool) -> Dataset:
    """JPEG 2000 by pydicom (DCMTK has no encoder), marked lossy when it is."""
    if lossless:
        ds.compress(JPEG2000Lossless)
    else:
        ds.compress(JPEG2000, j2k_cr=[10])
        ds.LossyImageCompression = "01"
        ds.LossyImageCompressionRatio = "10"
        ds.LossyImageCompressionMethod = "ISO_15444_1"
    return ds


# How each stored transfer syntax is made from an Explicit VR LE file: (tool, options).
DCMTK_ENCODINGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "1.2.840.10008.1.2": ("dcmconv", ("+ti",)),
    "1.2.840.10008.1.2.2": ("dcmconv", ("+tb",)),
    "1.2.840.10008.1.2.1.99": ("dcmconv", ("+td",)),
    "1.2.840.10008.1.2.4.50": ("dcmcjpeg", ("+eb",)),
    "1.2.840.10008.1.2.4.51": ("dcmcjpeg", ("+ee",)),
    "1.2.840.10008.1.2.4.70": ("dcmcjpeg", ("+e1",)),
    "1.2.840.10008.1.2.4.80": ("dcmcjpls", ("+el",)),
    "1.2.840.10008.1.2.5": ("dcmcrle", ()),
}


def saved(ds: Dataset, folder: Path, name: str, transfer_syntax: str | None = None) -> Path:
    """`ds` as a file in `transfer_syntax` (Explicit VR LE when None)."""
    plain = save(ds, folder / f"{name}.plain.dcm")
    if transfer_syntax is None or transfer_syntax == ExplicitVRLittleEndian:
        return plain
    tool, options = DCMTK_ENCODINGS[transfer_syntax]
    return convert(tool, plain, folder / f"{name}.dcm", *options)
