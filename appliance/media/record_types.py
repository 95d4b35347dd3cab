"""Directory Record Types (PS3.3 F.5) and which one each stored SOP class gets.

The keys of each record type are listed with their presence: type 1 must have a value,
type 2 is written even when empty, the rest only when the instance has a value. The image
keys are PS3.3 F.5.18 plus the additional keys of PS3.11 table H.3-2 (which the DVD, BD and
USB profiles share) and CDRobot3 table 8.1-1.
"""

from __future__ import annotations

from enum import Enum

from pydicom import uid as sop
from pydicom.uid import UID


class RecordType(Enum):
    PATIENT = "PATIENT"
    STUDY = "STUDY"
    SERIES = "SERIES"
    IMAGE = "IMAGE"
    RT_DOSE = "RT DOSE"
    RT_STRUCTURE_SET = "RT STRUCTURE SET"
    RT_PLAN = "RT PLAN"
    RT_TREAT_RECORD = "RT TREAT RECORD"
    PRESENTATION = "PRESENTATION"
    WAVEFORM = "WAVEFORM"
    SR_DOCUMENT = "SR DOCUMENT"
    KEY_OBJECT_DOC = "KEY OBJECT DOC"
    SPECTROSCOPY = "SPECTROSCOPY"
    RAW_DATA = "RAW DATA"
    REGISTRATION = "REGISTRATION"
    FIDUCIAL = "FIDUCIAL"
    ENCAP_DOC = "ENCAP DOC"
    VALUE_MAP = "VALUE MAP"
    STEREOMETRIC = "STEREOMETRIC"
    MEASUREMENT = "MEASUREMENT"
    SURFACE = "SURFACE"
    SURFACE_SCAN = "SURFACE SCAN"
    TRACT = "TRACT"
    ASSESSMENT = "ASSESSMENT"
    RADIOTHERAPY = "RADIOTHERAPY"
    PRIVATE = "PRIVATE"


class Presence(Enum):
    REQUIRED = "1"  # a value is needed
    EMPTY_OK = "2"  # present, possibly empty
    IF_PRESENT = "1C/3"  # written when the instance has a value


_1, _2, _C = Presence.REQUIRED, Presence.EMPTY_OK, Presence.IF_PRESENT

# Keys of each record type, in addition to Specific Character Set (1C) and the file
# reference (1C) that every leaf record carries.
KEYS: dict[RecordType, tuple[tuple[str, Presence], ...]] = {
    RecordType.PATIENT: (
        ("PatientName", _2),
        ("PatientID", _1),
        ("PatientBirthDate", _C),
        ("PatientSex", _C),
    ),
    RecordType.STUDY: (
        ("StudyDate", _1),
        ("StudyTime", _1),
        ("AccessionNumber", _2),
        ("StudyDescription", _2),
        ("StudyInstanceUID", _1),
        ("StudyID", _1),
    ),
    RecordType.SERIES: (
        ("SeriesDate", _C),
        ("SeriesTime", _C),
        ("Modality", _1),
        ("InstitutionName", _C),
        ("InstitutionAddress", _C),
        ("SeriesDescription", _C),
        ("PerformingPhysicianName", _C),
        ("SeriesInstanceUID", _1),
        ("SeriesNumber", _1),
    ),
    RecordType.IMAGE: (
        ("ImageType", _C),
        ("AcquisitionDateTime", _C),
        ("ReferencedImageSequence", _C),
        ("AcquisitionTimeSynchronized", _C),
        ("InstanceNumber", _1),
        ("ImagePositionPatient", _C),
        ("ImageOrientationPatient", _C),
        ("FrameOfReferenceUID", _C),
        ("SynchronizationFrameOfReferenceUID", _C),
        ("NumberOfFrames", _C),
        ("Rows", _C),
        ("Columns", _C),
        ("PixelSpacing", _C),
        ("LossyImageCompressionRatio", _C),
        ("CalibrationImage", _C),
    ),
    RecordType.RT_DOSE: (("InstanceNumber", _1), ("DoseSummationType", _1)),
    RecordType.RT_STRUCTURE_SET: (
        ("InstanceNumber", _1),
        ("StructureSetLabel", _1),
        ("StructureSetDate", _2),
        ("StructureSetTime", _2),
    ),
    RecordType.RT_PLAN: (
        ("InstanceNumber", _1),
        ("RTPlanLabel", _1),
        ("RTPlanDate", _2),
        ("RTPlanTime", _2),
    ),
    RecordType.RT_TREAT_RECORD: (
        ("InstanceNumber", _1),
        ("TreatmentDate", _2),
        ("TreatmentTime", _2),
    ),
    RecordType.PRESENTATION: (
        ("PresentationCreationDate", _1),
        ("PresentationCreationTime", _1),
        ("ReferencedSeriesSequence", _C),
        ("InstanceNumber", _1),
        ("ContentLabel", _1),
        ("ContentDescription", _2),
        ("ContentCreatorName", _2),
        ("BlendingSequence", _C),
    ),
    RecordType.WAVEFORM: (("ContentDate", _1), ("ContentTime", _1), ("InstanceNumber", _1)),
    RecordType.SR_DOCUMENT: (
        ("ContentDate", _1),
        ("ContentTime", _1),
        ("InstanceNumber", _1),
        ("VerificationDateTime", _C),
        ("ConceptNameCodeSequence", _1),
        ("CompletionFlag", _1),
        ("VerificationFlag", _1),
        ("ContentSequence", _C),
    ),
    RecordType.KEY_OBJECT_DOC: (
        ("ContentDate", _1),
        ("ContentTime", _1),
        ("InstanceNumber", _1),
        ("ConceptNameCodeSequence", _1),
        ("ContentSequence", _C),
    ),
    RecordType.SPECTROSCOPY: (
        ("ImageType", _1),
        ("ContentDate", _1),
        ("ContentTime", _1),
        ("ReferencedImageEvidenceSequence", _C),
        ("InstanceNumber", _1),
        ("NumberOfFrames", _1),
        ("Rows", _1),
        ("Columns", _1),
        ("DataPointRows", _1),
        ("DataPointColumns", _1),
    ),
    RecordType.RAW_DATA: (("ContentDate", _2), ("ContentTime", _2), ("InstanceNumber", _1)),
    RecordType.ENCAP_DOC: (
        ("ContentDate", _2),
        ("ContentTime", _2),
        ("InstanceNumber", _1),
        ("ConceptNameCodeSequence", _2),
        ("DocumentTitle", _2),
        ("HL7InstanceIdentifier", _C),
        ("MIMETypeOfEncapsulatedDocument", _1),
    ),
    RecordType.STEREOMETRIC: (),
    RecordType.SURFACE_SCAN: (("ContentDate", _1), ("ContentTime", _1)),
    RecordType.ASSESSMENT: (
        ("InstanceCreationDate", _1),
        ("InstanceCreationTime", _2),
        ("InstanceNumber", _1),
    ),
    RecordType.RADIOTHERAPY: (
        ("InstanceNumber", _1),
        ("ContentDescription", _2),
        ("ContentCreatorName", _2),
        ("UserContentLabel", _C),
        ("UserContentLongLabel", _C),
    ),
    RecordType.PRIVATE: (),
}
# Content identification (PS3.3 C.10.9) keys, shared by several record types.
_CONTENT_ID: tuple[tuple[str, Presence], ...] = (
    ("ContentDate", _1),
    ("ContentTime", _1),
    ("InstanceNumber", _1),
    ("ContentLabel", _1),
    ("ContentDescription", _2),
    ("ContentCreatorName", _2),
)
for _type in (
    RecordType.REGISTRATION,
    RecordType.FIDUCIAL,
    RecordType.VALUE_MAP,
    RecordType.MEASUREMENT,
    RecordType.SURFACE,
    RecordType.TRACT,
):
    KEYS[_type] = _CONTENT_ID

# Record types for the keys of which the index has every value (the rest are read from
# each instance's header when a file-set is built: they are few and small).
FROM_INDEX = frozenset({RecordType.IMAGE})

# The UID that names Kiln's PRIVATE records (unknown or private SOP classes): a 2.25 UID
# derived from a fixed UUID, so it never changes.
PRIVATE_RECORD_UID = "2.25.302346612870131812364185011577616738817"

_BY_CLASS: dict[str, RecordType] = {
    sop.RTDoseStorage: RecordType.RT_DOSE,
    sop.RTStructureSetStorage: RecordType.RT_STRUCTURE_SET,
    sop.RTPlanStorage: RecordType.RT_PLAN,
    sop.RTIonPlanStorage: RecordType.RT_PLAN,
    sop.RTBeamsTreatmentRecordStorage: RecordType.RT_TREAT_RECORD,
    sop.RTBrachyTreatmentRecordStorage: RecordType.RT_TREAT_RECORD,
    sop.RTTreatmentSummaryRecordStorage: RecordType.RT_TREAT_RECORD,
    sop.RTIonBeamsTreatmentRecordStorage: RecordType.RT_TREAT_RECORD,
    sop.BasicStructuredDisplayStorage: RecordType.PRESENTATION,
    sop.KeyObjectSelectionDocumentStorage: RecordType.KEY_OBJECT_DOC,
    sop.MRSpectroscopyStorage: RecordType.SPECTROSCOPY,
    sop.RawDataStorage: RecordType.RAW_DATA,
    sop.SpatialRegistrationStorage: RecordType.REGISTRATION,
    sop.DeformableSpatialRegistrationStorage: RecordType.REGISTRATION,
    sop.SpatialFiducialsStorage: RecordType.FIDUCIAL,
    sop.RealWorldValueMappingStorage: RecordType.VALUE_MAP,
    sop.StereometricRelationshipStorage: RecordType.STEREOMETRIC,
    sop.SurfaceSegmentationStorage: RecordType.SURFACE,
    sop.SurfaceScanMeshStorage: RecordType.SURFACE_SCAN,
    sop.SurfaceScanPointCloudStorage: RecordType.SURFACE_SCAN,
    sop.TractographyResultsStorage: RecordType.TRACT,
    sop.ContentAssessmentResultsStorage: RecordType.ASSESSMENT,
    sop.LensometryMeasurementsStorage: RecordType.MEASUREMENT,
    sop.AutorefractionMeasurementsStorage: RecordType.MEASUREMENT,
    sop.KeratometryMeasurementsStorage: RecordType.MEASUREMENT,
    sop.SubjectiveRefractionMeasurementsStorage: RecordType.MEASUREMENT,
    sop.VisualAcuityMeasurementsStorage: RecordType.MEASUREMENT,
    sop.OphthalmicAxialMeasurementsStorage: RecordType.MEASUREMENT,
    sop.OphthalmicVisualFieldStaticPerimetryMeasurementsStorage: RecordType.MEASUREMENT,
}
# Families of classes that share a record type, by UID prefix.
_BY_PREFIX: tuple[tuple[str, RecordType], ...] = (
    ("1.2.840.10008.5.1.4.1.1.88.", RecordType.SR_DOCUMENT),  # structured reports
    ("1.2.840.10008.5.1.4.1.1.11.", RecordType.PRESENTATION),  # presentation states
    ("1.2.840.10008.5.1.4.1.1.104.", RecordType.ENCAP_DOC),  # PDF, CDA, STL, OBJ, MTL
    ("1.2.840.10008.5.1.4.1.1.9.", RecordType.WAVEFORM),  # ECG, audio, EEG, ...
)
# Waveform presentation states and annotations share the waveform prefix but are not
# waveforms; annotations (a record type newer than most readers) get the generic rule.
_WAVEFORM_PRESENTATION_STATE = "1.2.840.10008.5.1.4.1.1.9.100.1"
_WAVEFORM_NOT = "1.2.840.10008.5.1.4.1.1.9.100."
_SECOND_GENERATION_RT = "1.2.840.10008.5.1.4.1.1.481."
_FIRST_SECOND_GENERATION_RT = 10  # .481.10 RT Physician Intent onwards


def record_type(sop_class_uid: str) -> RecordType:
    """The leaf record type for an instance of `sop_class_uid`; PRIVATE for classes the
    standard does not define (vendor-private ones such as Siemens CSA Non-Image)."""
    known = _BY_CLASS.get(sop_class_uid)
    if known is not None:
        return known
    if sop_class_uid.startswith(_SECOND_GENERATION_RT):
        suffix = sop_class_uid[len(_SECOND_GENERATION_RT) :]
        if suffix.isdigit() and int(suffix) >= _FIRST_SECOND_GENERATION_RT:
            return RecordType.RADIOTHERAPY
    if sop_class_uid == _WAVEFORM_PRESENTATION_STATE:
        return RecordType.PRESENTATION
    for prefix, kind in _BY_PREFIX:
        if sop_class_uid.startswith(prefix) and not sop_class_uid.startswith(_WAVEFORM_NOT):
            return kind
    uid = UID(sop_class_uid)
    if uid.is_valid and uid.type == "SOP Class" and "Storage" in uid.name:
        return RecordType.IMAGE
    return RecordType.PRIVATE
