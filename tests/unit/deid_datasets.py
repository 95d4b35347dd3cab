"""Realistic instances full of identity, for the de-identification tests.

A CT series (three slices of pydicom's GE CT, with the patient, staff, site, request and
private data a clinic's instances carry), an MR with Siemens private blocks, a Comprehensive
SR whose content and evidence reference the CT slices, and a Grayscale Softcopy Presentation
State whose nested sequences hold names and references. Everything identifying is listed in
`IDENTITY` so the tests can look for it in the written files.
"""

from __future__ import annotations

import copy

import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

CT_STORAGE = UID("1.2.840.10008.5.1.4.1.1.2")
COMPREHENSIVE_SR = UID("1.2.840.10008.5.1.4.1.1.88.33")
GSPS = UID("1.2.840.10008.5.1.4.1.1.11.1")

# Identity that no de-identification level may leave anywhere in a written file.
PATIENT = {
    "name": "Kowalczyk^Marianne^Theresa",
    "id": "MRN4471932",
    "other_id": "INS88310277",
    "birth": "19560317",
    "accession": "ACC20261202X",
    "address": "Lindenweg 42, Zwickau",
    "phone": "+49-375-556-0192",
    "mother": "Brunhilde",
}
STAFF = {
    "referring": "Oyelaran^Babatunde",
    "performing": "Haverkamp^Ingrid",
    "operator": "Szczepanski^Tomasz",
    "reader": "Ravindranath^Priya",
    "requesting": "Castellanos^Emilio",
    "observer": "Lindqvist^Annika",
    "creator": "Fairweather^Oswin",
}
SITE = {
    "institution": "Klinikum Muldental",
    "station": "CTSCAN07",
    "serial": "SN7731904",
    "department": "Radiologie Nord",
}
DATES = ("20261202", "20261201")


def identity_strings(*, site: bool = True) -> list[str]:
    """Every word of identity the fixtures carry (site identity when `site`)."""
    words: list[str] = [PATIENT["id"], PATIENT["other_id"], PATIENT["accession"]]
    words += [PATIENT["birth"], PATIENT["phone"], "Lindenweg", PATIENT["mother"]]
    for name in [PATIENT["name"], *STAFF.values()]:
        words += name.split("^")
    if site:
        words += [SITE["institution"], SITE["station"], SITE["serial"], SITE["department"]]
    return words


def _read_testdata(name: str) -> Dataset:
    path = get_testdata_file(name)
    assert isinstance(path, str)
    return pydicom.dcmread(path)


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def _patient_and_study(ds: Dataset, study_uid: str) -> None:
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = PATIENT["name"]
    ds.PatientID = PATIENT["id"]
    ds.IssuerOfPatientID = "KLINIKUM"
    ds.PatientBirthDate = PATIENT["birth"]
    ds.PatientSex = "F"
    ds.PatientAge = "070Y"
    ds.PatientWeight = "64"
    ds.PatientSize = "1.68"
    ds.OtherPatientIDs = PATIENT["other_id"]
    ds.PatientAddress = PATIENT["address"]
    ds.PatientTelephoneNumbers = PATIENT["phone"]
    ds.PatientMotherBirthName = PATIENT["mother"] + "^Erna"
    ds.PatientComments = f"Allergic to contrast, call {PATIENT['phone']}"
    other = Dataset()
    other.PatientID = PATIENT["other_id"]
    other.IssuerOfPatientID = "AOK"
    other.TypeOfPatientID = "TEXT"
    ds.OtherPatientIDsSequence = Sequence([other])
    ds.StudyInstanceUID = study_uid
    ds.StudyDate = DATES[0]
    ds.StudyTime = "101502"
    ds.AccessionNumber = PATIENT["accession"]
    ds.StudyID = "S4471"
    ds.ReferringPhysicianName = STAFF["referring"]
    ds.StudyDescription = f"CT HEAD {PATIENT['name'].split('^')[0].upper()}"
    ds.NameOfPhysiciansReadingStudy = STAFF["reader"]
    ds.PhysiciansOfRecord = STAFF["referring"]
    referenced_patient = Dataset()
    referenced_patient.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.1.1"
    referenced_patient.ReferencedSOPInstanceUID = generate_uid()
    ds.ReferencedPatientSequence = Sequence([referenced_patient])


def _equipment(ds: Dataset) -> None:
    ds.InstitutionName = SITE["institution"]
    ds.InstitutionAddress = "Muldenstrasse 1, Wurzen"
    ds.InstitutionalDepartmentName = SITE["department"]
    ds.StationName = SITE["station"]
    ds.DeviceSerialNumber = SITE["serial"]
    ds.OperatorsName = STAFF["operator"]
    ds.PerformingPhysicianName = STAFF["performing"]


def _request(ds: Dataset) -> None:
    request = Dataset()
    request.RequestedProcedureID = "RP99123"
    request.ScheduledProcedureStepID = "SPS99123"
    request.ScheduledProcedureStepDescription = f"Head for {STAFF['requesting']}"
    request.RequestedProcedureDescription = "CT head native"
    request.AccessionNumber = PATIENT["accession"]
    request.StudyInstanceUID = ds.StudyInstanceUID
    vendor = request.private_block(0x0041, "KILN TEST RIS", create=True)
    vendor.add_new(0x01, "LO", PATIENT["mother"])  # private text nested in a sequence
    vendor.add_new(0x02, "US", 7)
    ds.RequestAttributesSequence = Sequence([request])
    ds.RequestingPhysician = STAFF["requesting"]
    ds.PerformedProcedureStepID = "PPS5531"
    ds.PerformedProcedureStepStartDate = DATES[0]
    ds.PerformedProcedureStepDescription = "CT head"
    original = Dataset()
    original.AttributeModificationDateTime = DATES[1] + "120000"
    original.ModifyingSystem = "RIS"
    original.ReasonForTheAttributeModification = "COERCE"
    original.SourceOfPreviousValues = SITE["institution"]
    old = Dataset()
    old.PatientName = PATIENT["name"]
    old.PatientID = "OLD" + PATIENT["id"]
    original.ModifiedAttributesSequence = Sequence([old])
    ds.OriginalAttributesSequence = Sequence([original])


def _overlay_and_curve(ds: Dataset) -> None:
    ds.add_new(0x60000010, "US", 8)
    ds.add_new(0x60000011, "US", 8)
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    ds.add_new(0x60000022, "LO", "initials MK")
    ds.add_new(0x60003000, "OW", np.full(4, 0xFFFF, dtype=np.uint16).tobytes())
    ds.add_new(0x50000005, "US", 2)
    ds.add_new(0x50002500, "LO", "curve of " + PATIENT["name"])


def _ge_private(ds: Dataset) -> None:
    block = ds.private_block(0x0009, "GEMS_IDEN_01", create=True)
    block.add_new(0x01, "LO", PATIENT["name"])  # a name in a private text element
    block.add_new(0x27, "SL", 1546789012)
    block = ds.private_block(0x0043, "GEMS_PARM_01", create=True)
    block.add_new(0x1E, "DS", "12.5")
    block.add_new(0x40, "FL", 1.25)
    block.add_new(0x60, "SH", PATIENT["id"])  # a short string: never safe


def ct_series(count: int = 3) -> list[Dataset]:
    """`count` CT slices of one study and series; each refers to the first as its localiser."""
    base = _read_testdata("CT_small.dcm")
    study_uid, series_uid, frame_uid = generate_uid(), generate_uid(), generate_uid()
    sop_uids = [generate_uid() for _ in range(count)]
    out: list[Dataset] = []
    for number, sop_uid in enumerate(sop_uids, start=1):
        ds = copy.deepcopy(base)
        for elem in list(ds):
            if elem.tag.is_private:
                del ds[elem.tag]
        ds.SOPInstanceUID = sop_uid
        ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
        _patient_and_study(ds, study_uid)
        _equipment(ds)
        _request(ds)
        ds.SeriesInstanceUID = series_uid
        ds.FrameOfReferenceUID = frame_uid
        ds.SeriesDate = DATES[0]
        ds.SeriesTime = "101733"
        ds.AcquisitionDate = DATES[0]
        ds.ContentDate = DATES[0]
        ds.InstanceCreationDate = DATES[0]
        ds.SeriesDescription = "Head 5mm"
        ds.ProtocolName = f"HEAD ROUTINE {SITE['station']}"
        ds.ImageComments = f"re-scan ordered by {STAFF['requesting'].replace('^', ' ')}"
        ds.InstanceNumber = number
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        if number > 1:
            ref = Dataset()
            ref.ReferencedSOPClassUID = CT_STORAGE
            ref.ReferencedSOPInstanceUID = sop_uids[0]
            ds.ReferencedImageSequence = Sequence([ref])
        icon = Dataset()
        icon.Rows = icon.Columns = 2
        icon.SamplesPerPixel = 1
        icon.PhotometricInterpretation = "MONOCHROME2"
        icon.BitsAllocated = icon.BitsStored = 8
        icon.HighBit = 7
        icon.PixelRepresentation = 0
        icon.PixelData = bytes(4)
        ds.IconImageSequence = Sequence([icon])
        _overlay_and_curve(ds)
        _ge_private(ds)
        out.append(ds)
    return out


def siemens_mr() -> Dataset:
    """pydicom's MR slice dressed as a syngo MR instance, with Siemens private blocks."""
    ds = _read_testdata("MR_small.dcm")
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    _patient_and_study(ds, generate_uid())
    _equipment(ds)
    ds.Manufacturer = "SIEMENS"
    ds.SeriesInstanceUID = generate_uid()
    ds.FrameOfReferenceUID = generate_uid()
    ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = DATES[0]
    ds.SeriesDescription = "t1_se_tra"
    ds.ProtocolName = "t1_se_tra"
    header = ds.private_block(0x0019, "SIEMENS MR HEADER", create=True)
    header.add_new(0x08, "CS", "IMAGE NUM 4")
    header.add_new(0x0B, "DS", "2870")  # Slice Measurement Duration
    header.add_new(0x0C, "IS", "0")  # B value
    header.add_new(0x13, "SL", [0, 0, -1267])  # Absolute Table Position
    header.add_new(0x15, "FD", [0.0, -12.5, 31.25])  # Slice Position PCS
    csa = ds.private_block(0x0029, "SIEMENS CSA HEADER", create=True)
    csa.add_new(0x08, "CS", "IMAGE NUM 4")
    csa.add_new(0x10, "OB", b"SV10\x04\x03\x02\x01" + PATIENT["name"].encode() + b"\x00")
    csa.add_new(0x20, "OB", b"SV10" + PATIENT["id"].encode() + b"\x00\x00")
    return ds


def _content(value_type: str, relationship: str, meaning: Dataset) -> Dataset:
    item = Dataset()
    item.RelationshipType = relationship
    item.ValueType = value_type
    item.ConceptNameCodeSequence = Sequence([meaning])
    return item


def comprehensive_sr(ct: list[Dataset]) -> Dataset:
    """A report on the CT: text naming the patient, a person name, a date, image references."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = COMPREHENSIVE_SR
    ds.SOPClassUID = COMPREHENSIVE_SR
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    _patient_and_study(ds, ct[0].StudyInstanceUID)
    _equipment(ds)
    ds.Manufacturer = "Kiln tests"
    ds.Modality = "SR"
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = 99
    ds.InstanceNumber = 1
    ds.ContentDate = DATES[0]
    ds.ContentTime = "113000"
    ds.ReferencedPerformedProcedureStepSequence = Sequence()
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "VERIFIED"
    observer = Dataset()
    observer.VerifyingObserverName = STAFF["observer"]
    observer.VerifyingObserverIdentificationCodeSequence = Sequence(
        [_code("LA77", "99KLINIKUM", STAFF["observer"].replace("^", " "))]
    )
    observer.VerifyingOrganization = SITE["institution"]
    observer.VerificationDateTime = DATES[0] + "120000"
    ds.VerifyingObserverSequence = Sequence([observer])
    request = Dataset()
    request.StudyInstanceUID = ct[0].StudyInstanceUID
    request.AccessionNumber = PATIENT["accession"]
    request.PlacerOrderNumberImagingServiceRequest = "PLC771"
    request.FillerOrderNumberImagingServiceRequest = "FIL771"
    request.RequestedProcedureID = "RP99123"
    request.RequestedProcedureDescription = "CT head native"
    request.RequestedProcedureCodeSequence = Sequence()
    request.ReferencedStudySequence = Sequence()
    ds.ReferencedRequestSequence = Sequence([request])
    ds.PerformedProcedureCodeSequence = Sequence()
    evidence_series = Dataset()
    evidence_series.SeriesInstanceUID = ct[0].SeriesInstanceUID
    refs = []
    for image in ct:
        ref = Dataset()
        ref.ReferencedSOPClassUID = CT_STORAGE
        ref.ReferencedSOPInstanceUID = image.SOPInstanceUID
        refs.append(ref)
    evidence_series.ReferencedSOPSequence = Sequence(refs)
    evidence = Dataset()
    evidence.StudyInstanceUID = ct[0].StudyInstanceUID
    evidence.ReferencedSeriesSequence = Sequence([evidence_series])
    ds.CurrentRequestedProcedureEvidenceSequence = Sequence([evidence])

    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = Sequence([_code("18748-4", "LN", "Diagnostic Imaging Report")])
    ds.ContinuityOfContent = "SEPARATE"
    finding = _content("TEXT", "CONTAINS", _code("121071", "DCM", "Finding"))
    finding.TextValue = f"Patient {PATIENT['name'].replace('^', ' ')} ({PATIENT['id']}): no bleed."
    recorder = _content("PNAME", "HAS OBS CONTEXT", _code("121008", "DCM", "Person Observer Name"))
    recorder.PersonName = STAFF["reader"]
    when = _content("DATE", "CONTAINS", _code("111060", "DCM", "Study Date"))
    when.Date = DATES[0]
    uid = _content("UIDREF", "CONTAINS", _code("121018", "DCM", "Procedure Study Instance UID"))
    uid.UID = ct[0].StudyInstanceUID
    image = _content("IMAGE", "CONTAINS", _code("121080", "DCM", "Best illustration of finding"))
    image_ref = Dataset()
    image_ref.ReferencedSOPClassUID = CT_STORAGE
    image_ref.ReferencedSOPInstanceUID = ct[1].SOPInstanceUID
    image.ReferencedSOPSequence = Sequence([image_ref])
    ds.ContentSequence = Sequence([recorder, finding, when, uid, image])
    return ds


def presentation_state(ct: list[Dataset]) -> Dataset:
    """A GSPS on the CT slices: nested references, a creator's name, a text annotation."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = GSPS
    ds.SOPClassUID = GSPS
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    _patient_and_study(ds, ct[0].StudyInstanceUID)
    _equipment(ds)
    ds.Manufacturer = "Kiln tests"
    ds.Modality = "PR"
    ds.Laterality = None
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = 98
    ds.InstanceNumber = 1
    ds.ContentLabel = "ANNOTATED"
    ds.ContentDescription = "Key slice"
    ds.PresentationCreationDate = DATES[0]
    ds.PresentationCreationTime = "114500"
    ds.ContentCreatorName = STAFF["creator"]
    series = Dataset()
    series.SeriesInstanceUID = ct[0].SeriesInstanceUID
    images = []
    for image in ct:
        ref = Dataset()
        ref.ReferencedSOPClassUID = CT_STORAGE
        ref.ReferencedSOPInstanceUID = image.SOPInstanceUID
        images.append(ref)
    series.ReferencedImageSequence = Sequence(images)
    ds.ReferencedSeriesSequence = Sequence([series])
    layer = Dataset()
    layer.GraphicLayer = "LAYER1"
    layer.GraphicLayerOrder = 1
    ds.GraphicLayerSequence = Sequence([layer])
    text = Dataset()
    text.UnformattedTextValue = f"{PATIENT['name'].split('^')[0]} bleed?"
    text.AnchorPointAnnotationUnits = "PIXEL"
    text.AnchorPoint = [10.0, 10.0]
    text.AnchorPointVisibility = "N"
    annotation = Dataset()
    annotation.GraphicLayer = "LAYER1"
    annotation.ReferencedImageSequence = Sequence([copy.deepcopy(images[1])])
    annotation.TextObjectSequence = Sequence([text])
    ds.GraphicAnnotationSequence = Sequence([annotation])
    display = Dataset()
    display.ReferencedImageSequence = Sequence([copy.deepcopy(i) for i in images])
    display.PresentationSizeMode = "SCALE TO FIT"
    display.PixelOriginInterpretation = "VOLUME"
    display.PresentationPixelSpacing = [0.661468, 0.661468]
    display.DisplayedAreaTopLeftHandCorner = [1, 1]
    display.DisplayedAreaBottomRightHandCorner = [128, 128]
    ds.DisplayedAreaSelectionSequence = Sequence([display])
    ds.PresentationLUTShape = "IDENTITY"
    return ds
