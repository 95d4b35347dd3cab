"""Which attributes a worklist item holds: Sectra CDS table 6 and syngo MR tables 34 and 35."""

from __future__ import annotations

from pydicom.datadict import dictionary_VR, tag_for_keyword

CODE_ITEM = frozenset({"CodeValue", "CodingSchemeDesignator", "CodingSchemeVersion", "CodeMeaning"})
REFERENCE_ITEM = frozenset({"ReferencedSOPClassUID", "ReferencedSOPInstanceUID"})

SPS_ITEM = frozenset(
    {
        "Modality",
        "ScheduledStationAETitle",
        "ScheduledProcedureStepStartDate",
        "ScheduledProcedureStepStartTime",
        "ScheduledProcedureStepEndDate",
        "ScheduledProcedureStepEndTime",
        "ScheduledPerformingPhysicianName",
        "ScheduledProcedureStepDescription",
        "ScheduledProtocolCodeSequence",
        "ScheduledProcedureStepID",
        "ScheduledStationName",
        "ScheduledProcedureStepLocation",
        "ScheduledProcedureStepStatus",
        "CommentsOnTheScheduledProcedureStep",
        "PreMedication",
        "RequestedContrastAgent",
    }
)

TOP_LEVEL = frozenset(
    {
        # Requested Procedure
        "StudyDate",
        "StudyTime",
        "ReferencedStudySequence",
        "StudyInstanceUID",
        "RequestedProcedureDescription",
        "RequestedProcedureCodeSequence",
        "RequestedProcedureID",
        "ReasonForTheRequestedProcedure",
        "RequestedProcedurePriority",
        "PatientTransportArrangements",
        "ConfidentialityCode",
        "ReportingPriority",
        "NamesOfIntendedRecipientsOfResults",
        "RequestedProcedureComments",
        "ScheduledProcedureStepSequence",
        # Imaging Service Request
        "AccessionNumber",
        "ReferringPhysicianName",
        "RequestingPhysician",
        "RequestingService",
        "IssueDateOfImagingServiceRequest",
        "IssueTimeOfImagingServiceRequest",
        "PlacerOrderNumberImagingServiceRequest",
        "FillerOrderNumberImagingServiceRequest",
        "OrderEnteredBy",
        "OrderEntererLocation",
        "OrderCallbackPhoneNumber",
        "ImagingServiceRequestComments",
        # Visit
        "AdmissionID",
        "IssuerOfAdmissionID",
        "CurrentPatientLocation",
        "AdmittingDiagnosesDescription",
        "AdmittingDate",
        "InstitutionName",
        # Patient
        "PatientName",
        "PatientID",
        "IssuerOfPatientID",
        "OtherPatientIDs",
        "OtherPatientNames",
        "PatientBirthName",
        "PatientBirthDate",
        "PatientBirthTime",
        "PatientSex",
        "PatientInsurancePlanCodeSequence",
        "PatientAge",
        "PatientSize",
        "PatientWeight",
        "PatientAddress",
        "MilitaryRank",
        "BranchOfService",
        "EthnicGroup",
        "PatientComments",
        "ReferencedPatientSequence",
        # Patient medical
        "MedicalAlerts",
        "Allergies",
        "PregnancyStatus",
        "SmokingStatus",
        "LastMenstrualDate",
        "AdditionalPatientHistory",
        "SpecialNeeds",
        "PatientState",
    }
)

# Sequence keyword -> the keywords its items may hold.
SEQUENCES: dict[str, frozenset[str]] = {
    "ScheduledProcedureStepSequence": SPS_ITEM,
    "ScheduledProtocolCodeSequence": CODE_ITEM,
    "RequestedProcedureCodeSequence": CODE_ITEM,
    "PatientInsurancePlanCodeSequence": CODE_ITEM,
    "ReferencedStudySequence": REFERENCE_ITEM,
    "ReferencedPatientSequence": REFERENCE_ITEM,
}

SPS = "ScheduledProcedureStepSequence"


def tag_of(keyword: str) -> int:
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise KeyError(keyword)
    return int(tag)


def vr_of(keyword: str) -> str:
    return str(dictionary_VR(tag_of(keyword)))


# Every keyword the box knows, with its tag and VR, resolved once.
ALL_KEYWORDS = TOP_LEVEL | SPS_ITEM | CODE_ITEM | REFERENCE_ITEM
TAGS: dict[str, int] = {k: tag_of(k) for k in ALL_KEYWORDS}
KEYWORDS: dict[int, str] = {v: k for k, v in TAGS.items()}
VRS: dict[str, str] = {k: vr_of(k) for k in ALL_KEYWORDS}
