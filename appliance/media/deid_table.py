"""PS3.15 Annex E, Table E.1-1 (Application Level Confidentiality Profile Attributes) as data.

One row per attribute: the Basic Profile action and, per Option, the action that overrides it
(E.1.1: "a requirement for an Option, when implemented, overrides any requirement for the
underlying Profile"). The rows are transcribed from the standard's table; a few rows come from
syngo MR's conformance statement (Table 70, seed 004) or are Kiln's own additions, and say so in
their `source`. Everything here is constant data; `deidentify` decides what to do with it.

Action codes (E.1.1): D dummy value of the VR, Z zero length (or a dummy), X remove, K keep
(sequences: keep and clean their items), C clean (similar meaning, nothing identifying),
U replace the UID consistently across the file-set. The combinations (X/Z, X/D, X/Z/D, Z/D,
X/Z/U*) pick the weakest action the IOD allows: see `REQUIRED_TYPE`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from pydicom.uid import UID


class Action(StrEnum):
    DUMMY = "D"
    ZERO = "Z"
    REMOVE = "X"
    KEEP = "K"
    CLEAN = "C"
    UID = "U"
    ZERO_OR_DUMMY = "Z/D"
    REMOVE_OR_ZERO = "X/Z"
    REMOVE_OR_DUMMY = "X/D"
    REMOVE_ZERO_OR_DUMMY = "X/Z/D"
    REMOVE_ZERO_OR_UIDS = "X/Z/U*"


class Option(StrEnum):
    """The Options of PS3.15 E.3; the value is the column key used in `_ROWS`."""

    RETAIN_SAFE_PRIVATE = "priv"
    RETAIN_UIDS = "uids"
    RETAIN_DEVICE_IDENTITY = "dev"
    RETAIN_INSTITUTION_IDENTITY = "inst"
    RETAIN_PATIENT_CHARACTERISTICS = "pat"
    RETAIN_LONGITUDINAL_FULL_DATES = "full"
    RETAIN_LONGITUDINAL_MODIFIED_DATES = "mod"
    CLEAN_DESCRIPTORS = "desc"
    CLEAN_STRUCTURED_CONTENT = "sc"
    CLEAN_GRAPHICS = "gr"


# CID 7050 De-identification Method (DCM): the codes written in (0012,0064).
BASIC_PROFILE_CODE: Final = ("113100", "Basic Application Confidentiality Profile")
OPTION_CODES: Final[Mapping[Option, tuple[str, str]]] = {
    Option.CLEAN_GRAPHICS: ("113103", "Clean Graphics Option"),
    Option.CLEAN_STRUCTURED_CONTENT: ("113104", "Clean Structured Content Option"),
    Option.CLEAN_DESCRIPTORS: ("113105", "Clean Descriptors Option"),
    Option.RETAIN_LONGITUDINAL_FULL_DATES: (
        "113106",
        "Retain Longitudinal Temporal Information Full Dates Option",
    ),
    Option.RETAIN_LONGITUDINAL_MODIFIED_DATES: (
        "113107",
        "Retain Longitudinal Temporal Information Modified Dates Option",
    ),
    Option.RETAIN_PATIENT_CHARACTERISTICS: ("113108", "Retain Patient Characteristics Option"),
    Option.RETAIN_DEVICE_IDENTITY: ("113109", "Retain Device Identity Option"),
    Option.RETAIN_UIDS: ("113110", "Retain UIDs Option"),
    Option.RETAIN_SAFE_PRIVATE: ("113111", "Retain Safe Private Option"),
    Option.RETAIN_INSTITUTION_IDENTITY: ("113112", "Retain Institution Identity Option"),
}


class Source(StrEnum):
    PS3_15 = "PS3.15 Table E.1-1"
    SYNGO_MR = "syngo MR conformance statement, Table 70"
    KILN = "Kiln"


# When several Options speak for one attribute (Device UID: Retain UIDs and Retain Device
# Identity), the one that retains most wins: Options only ever add retention.
_RETENTION_ORDER: Final = (
    Action.KEEP,
    Action.CLEAN,
    Action.UID,
    Action.DUMMY,
    Action.ZERO_OR_DUMMY,
    Action.ZERO,
    Action.REMOVE_ZERO_OR_UIDS,
    Action.REMOVE_ZERO_OR_DUMMY,
    Action.REMOVE_OR_DUMMY,
    Action.REMOVE_OR_ZERO,
    Action.REMOVE,
)


@dataclass(frozen=True, slots=True)
class Rule:
    tag: int
    name: str
    basic: Action
    overrides: tuple[tuple[Option, Action], ...]
    source: Source

    def action(self, options: frozenset[Option]) -> Action:
        chosen = [action for option, action in self.overrides if option in options]
        if not chosen:
            return self.basic
        return min(chosen, key=_RETENTION_ORDER.index)


# (tag, Basic Profile action, Option overrides as "key=action ...", attribute name).
# Keys: priv uids dev inst pat full mod desc sc gr (see `Option`).
_ROWS: Final[tuple[tuple[int, str, str, str], ...]] = (
    (0x00080050, "Z", "", "Accession Number"),
    (0x00184000, "X", "desc=C", "Acquisition Comments"),
    (0x00400555, "X/Z", "sc=C", "Acquisition Context Sequence"),
    (0x00080022, "X/Z", "full=K mod=C", "Acquisition Date"),
    (0x0008002A, "X/Z/D", "full=K mod=C", "Acquisition DateTime"),
    (0x00181400, "X/D", "desc=C", "Acquisition Device Processing Description"),
    (0x001811BB, "D", "desc=C", "Acquisition Field Of View Label"),
    (0x00189424, "X", "desc=C", "Acquisition Protocol Description"),
    (0x00080032, "X/Z", "full=K mod=C", "Acquisition Time"),
    (0x00404035, "X", "", "Actual Human Performers Sequence"),
    (0x001021B0, "X", "desc=C", "Additional Patient History"),
    (0x0040A353, "X", "", "Address (Trial)"),
    (0x00380010, "X", "", "Admission ID"),
    (0x00380020, "X", "full=K mod=C", "Admitting Date"),
    (0x00081084, "X", "desc=C", "Admitting Diagnoses Code Sequence"),
    (0x00081080, "X", "desc=C", "Admitting Diagnoses Description"),
    (0x00380021, "X", "full=K mod=C", "Admitting Time"),
    (0x00001000, "X", "uids=K", "Affected SOP Instance UID"),
    (0x00102110, "X", "pat=C desc=C", "Allergies"),
    (0x40000010, "X", "", "Arbitrary"),
    (0x0040A078, "X", "", "Author Observer Sequence"),
    (0x22000005, "X/Z", "", "Barcode Value"),
    (0x300A00C3, "X", "desc=C", "Beam Description"),
    (0x300A00DD, "X", "desc=C", "Bolus Description"),
    (0x00101081, "X", "", "Branch of Service"),
    (0x0016004D, "X", "", "Camera Owner Name"),
    (0x00181007, "X", "dev=K", "Cassette ID"),
    (0x00120060, "Z", "inst=K", "Clinical Trial Coordinating Center Name"),
    (0x00120082, "X", "", "Clinical Trial Protocol Ethics Committee Approval Number"),
    (0x00120081, "D", "inst=K", "Clinical Trial Protocol Ethics Committee Name"),
    (0x00120020, "D", "", "Clinical Trial Protocol ID"),
    (0x00120021, "Z", "", "Clinical Trial Protocol Name"),
    (0x00120072, "X", "desc=C", "Clinical Trial Series Description"),
    (0x00120071, "X", "", "Clinical Trial Series ID"),
    (0x00120030, "Z", "inst=K", "Clinical Trial Site ID"),
    (0x00120031, "Z", "inst=K", "Clinical Trial Site Name"),
    (0x00120010, "D", "", "Clinical Trial Sponsor Name"),
    (0x00120040, "D", "", "Clinical Trial Subject ID"),
    (0x00120042, "D", "", "Clinical Trial Subject Reading ID"),
    (0x00120051, "X", "desc=C", "Clinical Trial Time Point Description"),
    (0x00120050, "Z", "", "Clinical Trial Time Point ID"),
    (0x00400310, "X", "desc=C", "Comments on Radiation Dose"),
    (0x00400280, "X", "desc=C", "Comments on the Performed Procedure Step"),
    (0x300A02EB, "X", "desc=C", "Compensator Description"),
    (0x00209161, "U", "uids=K", "Concatenation UID"),
    (0x3010000F, "Z", "desc=C", "Conceptual Volume Combination Description"),
    (0x30100017, "Z", "desc=C", "Conceptual Volume Description"),
    (0x30100006, "U", "uids=K", "Conceptual Volume UID"),
    (0x00403001, "X", "", "Confidentiality Constraint on Patient Data Description"),
    (0x30100013, "U", "uids=K", "Constituent Conceptual Volume UID"),
    (0x0008009C, "Z", "", "Consulting Physician's Name"),
    (0x0008009D, "X", "", "Consulting Physician Identification Sequence"),
    (0x0050001B, "X", "", "Container Component ID"),
    (0x0040051A, "X", "desc=C", "Container Description"),
    (0x00400512, "D", "", "Container Identifier"),
    (0x00700086, "X", "", "Content Creator's Identification Code Sequence"),
    (0x00700084, "Z/D", "", "Content Creator's Name"),
    (0x00080023, "Z/D", "full=K mod=C", "Content Date"),
    (0x0040A730, "D", "sc=C", "Content Sequence"),
    (0x00080033, "Z/D", "full=K mod=C", "Content Time"),
    (0x00180010, "Z/D", "desc=C", "Contrast/Bolus Agent"),
    (0x0018A003, "X", "desc=C", "Contribution Description"),
    (0x00102150, "X", "", "Country of Residence"),
    (0x0040A307, "X", "", "Current Observer (Trial)"),
    (0x00380300, "X", "", "Current Patient Location"),
    (0x00080025, "X", "full=K mod=C", "Curve Date"),
    (0x00080035, "X", "full=K mod=C", "Curve Time"),
    (0x0040A07C, "X", "", "Custodial Organization Sequence"),
    (0xFFFCFFFC, "X", "", "Data Set Trailing Padding"),
    (0x0018937F, "X", "desc=C", "Decomposition Description"),
    (0x00082111, "X", "desc=C", "Derivation Description"),
    (0x0018700A, "X/D", "dev=K", "Detector ID"),
    (0x3010001B, "Z", "", "Device Alternate Identifier"),
    (0x00500020, "X", "dev=K", "Device Description"),
    (0x3010002D, "D", "dev=K", "Device Label"),
    (0x00181000, "X/Z/D", "dev=K", "Device Serial Number"),
    (0x0016004B, "X", "desc=C", "Device Setting Description"),
    (0x00181002, "U", "uids=K dev=K", "Device UID"),
    (0xFFFAFFFA, "X", "", "Digital Signatures Sequence"),
    (0x04000100, "U", "", "Digital Signature UID"),
    (0x00209164, "U", "uids=K", "Dimension Organization UID"),
    (0x00380040, "X", "desc=C", "Discharge Diagnosis Description"),
    (0x4008011A, "X", "", "Distribution Address"),
    (0x40080119, "X", "", "Distribution Name"),
    (0x300A0016, "X", "desc=C", "Dose Reference Description"),
    (0x300A0013, "U", "uids=K", "Dose Reference UID"),
    (0x3010006E, "U", "uids=K", "Dosimetric Objective UID"),
    (0x00189517, "X/D", "full=K mod=C", "End Acquisition DateTime"),
    (0x30100037, "X", "desc=C", "Entity Description"),
    (0x30100035, "D", "desc=C", "Entity Label"),
    (0x30100038, "D", "desc=C", "Entity Long Label"),
    (0x30100036, "X", "desc=C", "Entity Name"),
    (0x300A0676, "X", "desc=C", "Equipment Frame of Reference Description"),
    (0x00102160, "X", "pat=K", "Ethnic Group"),
    (0x00404011, "X", "full=K mod=C", "Expected Completion DateTime"),
    (0x00080058, "U", "uids=K", "Failed SOP Instance UID List"),
    (0x0070031A, "U", "uids=K", "Fiducial UID"),
    (0x00402017, "Z", "", "Filler Order Number / Imaging Service Request"),
    (0x30080054, "X/D", "full=K mod=C", "First Treatment Date"),
    (0x300A0196, "X", "desc=C", "Fixation Device Description"),
    (0x00340002, "D", "", "Flow Identifier"),
    (0x00340001, "D", "", "Flow Identifier Sequence"),
    (0x3010007F, "Z", "desc=C", "Fractionation Notes"),
    (0x300A0072, "X", "desc=C", "Fraction Group Description"),
    (0x00209158, "X", "desc=C", "Frame Comments"),
    (0x00200052, "U", "uids=K", "Frame of Reference UID"),
    (0x00340007, "D", "full=K mod=C", "Frame Origin Timestamp"),
    (0x00181008, "X", "dev=K", "Gantry ID"),
    (0x00181005, "X", "dev=K", "Generator ID"),
    (0x00160076, "X", "", "GPS Altitude"),
    (0x00160075, "X", "", "GPS Altitude Ref"),
    (0x0016008C, "X", "", "GPS Area Information"),
    (0x0016008D, "X", "full=K mod=C", "GPS Date Stamp"),
    (0x00160088, "X", "", "GPS Dest Bearing"),
    (0x00160087, "X", "", "GPS Dest Bearing Ref"),
    (0x0016008A, "X", "", "GPS Dest Distance"),
    (0x00160089, "X", "", "GPS Dest Distance Ref"),
    (0x00160084, "X", "", "GPS Dest Latitude"),
    (0x00160083, "X", "", "GPS Dest Latitude Ref"),
    (0x00160086, "X", "", "GPS Dest Longitude"),
    (0x00160085, "X", "", "GPS Dest Longitude Ref"),
    (0x0016008E, "X", "", "GPS Differential"),
    (0x0016007B, "X", "", "GPS DOP"),
    (0x00160081, "X", "", "GPS Img Direction"),
    (0x00160080, "X", "", "GPS Img Direction Ref"),
    (0x00160072, "X", "", "GPS Latitude"),
    (0x00160071, "X", "", "GPS Latitude Ref"),
    (0x00160074, "X", "", "GPS Longitude"),
    (0x00160073, "X", "", "GPS Longitude Ref"),
    (0x00160082, "X", "", "GPS Map Datum"),
    (0x0016007A, "X", "", "GPS Measure Mode"),
    (0x0016008B, "X", "", "GPS Processing Method"),
    (0x00160078, "X", "", "GPS Satellites"),
    (0x0016007D, "X", "", "GPS Speed"),
    (0x0016007C, "X", "", "GPS Speed Ref"),
    (0x00160079, "X", "", "GPS Status"),
    (0x00160077, "X", "", "GPS Time Stamp"),
    (0x0016007F, "X", "", "GPS Track"),
    (0x0016007E, "X", "", "GPS Track Ref"),
    (0x00160070, "X", "", "GPS Version ID"),
    (0x00700001, "D", "gr=C", "Graphic Annotation Sequence"),
    (0x00404037, "X", "", "Human Performer's Name"),
    (0x00404036, "X", "", "Human Performer's Organization"),
    (0x00880200, "X", "", "Icon Image Sequence"),
    (0x00084000, "X", "desc=C", "Identifying Comments"),
    (0x00204000, "X", "desc=C", "Image Comments"),
    (0x00284000, "X", "", "Image Presentation Comments"),
    (0x00402400, "X", "desc=C", "Imaging Service Request Comments"),
    (0x003A0314, "D", "full=K mod=C", "Impedance Measurement DateTime"),
    (0x40080300, "X", "desc=C", "Impressions"),
    (0x00080015, "X", "full=K mod=C", "Instance Coercion DateTime"),
    (0x00080014, "U", "uids=K", "Instance Creator UID"),
    (0x04000600, "X", "", "Instance Origin Status"),
    (0x00080081, "X", "inst=K", "Institution Address"),
    (0x00081040, "X", "inst=K", "Institutional Department Name"),
    (0x00081041, "X", "inst=K", "Institutional Department Type Code Sequence"),
    (0x00080082, "X/Z/D", "inst=K", "Institution Code Sequence"),
    (0x00080080, "X/Z/D", "inst=K", "Institution Name"),
    (0x00101050, "X", "", "Insurance Plan Identification"),
    (0x3010004D, "X/D", "full=K mod=C", "Intended Phase End Date"),
    (0x3010004C, "X/D", "full=K mod=C", "Intended Phase Start Date"),
    (0x00401011, "X", "", "Intended Recipients of Results Identification Sequence"),
    (0x300A0741, "D", "full=K mod=C", "Interlock DateTime"),
    (0x300A0742, "D", "desc=C", "Interlock Description"),
    (0x300A0783, "D", "desc=C", "Interlock Origin Description"),
    (0x40080111, "X", "", "Interpretation Approver Sequence"),
    (0x4008010C, "X", "", "Interpretation Author"),
    (0x40080115, "X", "desc=C", "Interpretation Diagnosis Description"),
    (0x40080202, "X", "", "Interpretation ID Issuer"),
    (0x40080102, "X", "", "Interpretation Recorder"),
    (0x4008010B, "X", "desc=C", "Interpretation Text"),
    (0x4008010A, "X", "", "Interpretation Transcriber"),
    (0x00083010, "U", "uids=K", "Irradiation Event UID"),
    (0x00380011, "X", "", "Issuer of Admission ID"),
    (0x00380014, "X", "", "Issuer of Admission ID Sequence"),
    (0x00100021, "X", "", "Issuer of Patient ID"),
    (0x00380061, "X", "", "Issuer of Service Episode ID"),
    (0x00380064, "X", "", "Issuer of Service Episode ID Sequence"),
    (0x00400513, "Z", "", "Issuer of the Container Identifier Sequence"),
    (0x00400562, "Z", "", "Issuer of the Specimen Identifier Sequence"),
    (0x22000002, "X/Z", "desc=C", "Label Text"),
    (0x00281214, "U", "uids=K", "Large Palette Color Lookup Table UID"),
    (0x001021D0, "X", "full=K mod=C", "Last Menstrual Date"),
    (0x0016004F, "X", "dev=K", "Lens Make"),
    (0x00160050, "X", "dev=K", "Lens Model"),
    (0x00160051, "X", "dev=K", "Lens Serial Number"),
    (0x0016004E, "X", "dev=K", "Lens Specification"),
    (0x00500021, "X", "desc=C", "Long Device Description"),
    (0x04000404, "X", "", "MAC"),
    (0x0016002B, "X", "desc=C", "Maker Note"),
    (0x0018100B, "U", "uids=K dev=K", "Manufacturer's Device Class UID"),
    (0x30100043, "Z", "dev=K", "Manufacturer's Device Identifier"),
    (0x00020003, "U", "uids=K", "Media Storage SOP Instance UID"),
    (0x00102000, "X", "desc=C", "Medical Alerts"),
    (0x00101090, "X", "", "Medical Record Locator"),
    (0x00101080, "X", "", "Military Rank"),
    (0x04000550, "X", "", "Modified Attributes Sequence"),
    (0x00203406, "X", "", "Modified Image Description"),
    (0x00203401, "X", "", "Modifying Device ID"),
    (0x30080056, "X/D", "full=K mod=C", "Most Recent Treatment Date"),
    (0x0018937B, "X", "desc=C", "Multi-energy Acquisition Description"),
    (0x003A0310, "U", "uids=K", "Multiplex Group UID"),
    (0x00081060, "X", "", "Name of Physician(s) Reading Study"),
    (0x00401010, "X", "", "Names of Intended Recipients of Results"),
    (0x04000551, "X", "", "Nonconforming Modified Attributes Sequence"),
    (0x04000552, "X", "", "Nonconforming Data Element Value"),
    (0x0040A192, "X", "full=K mod=C", "Observation Date (Trial)"),
    (0x0040A402, "U", "uids=K", "Observation Subject UID (Trial)"),
    (0x0040A193, "X", "full=K mod=C", "Observation Time (Trial)"),
    (0x0040A171, "U", "uids=K", "Observation UID"),
    (0x00102180, "X", "desc=C", "Occupation"),
    (0x00081072, "X/D", "", "Operator Identification Sequence"),
    (0x00081070, "X/Z/D", "", "Operators' Name"),
    (0x00402010, "X", "", "Order Callback Phone Number"),
    (0x00402011, "X", "", "Order Callback Telecom Information"),
    (0x00402008, "X", "", "Order Entered By"),
    (0x00402009, "X", "", "Order Enterer's Location"),
    (0x04000561, "X", "", "Original Attributes Sequence"),
    (0x00101000, "X", "", "Other Patient IDs"),
    (0x00101002, "X", "", "Other Patient IDs Sequence"),
    (0x00101001, "X", "", "Other Patient Names"),
    (0x00080024, "X", "full=K mod=C", "Overlay Date"),
    (0x00080034, "X", "full=K mod=C", "Overlay Time"),
    (0x300A0760, "D", "full=K mod=C", "Override DateTime"),
    (0x00281199, "U", "uids=K", "Palette Color Lookup Table UID"),
    (0x0040A07A, "X", "", "Participant Sequence"),
    (0x00101040, "X", "", "Patient's Address"),
    (0x00101010, "X", "pat=K", "Patient's Age"),
    (0x00100030, "Z", "", "Patient's Birth Date"),
    (0x00101005, "X", "", "Patient's Birth Name"),
    (0x00100032, "X", "", "Patient's Birth Time"),
    (0x00380400, "X", "", "Patient's Institution Residence"),
    (0x00100050, "X", "", "Patient's Insurance Plan Code Sequence"),
    (0x00101060, "X", "", "Patient's Mother's Birth Name"),
    (0x00100010, "Z", "", "Patient's Name"),
    (0x00100101, "X", "", "Patient's Primary Language Code Sequence"),
    (0x00100102, "X", "", "Patient's Primary Language Modifier Code Sequence"),
    (0x001021F0, "X", "", "Patient's Religious Preference"),
    (0x00100040, "Z", "pat=K", "Patient's Sex"),
    (0x00102203, "X/Z", "pat=K", "Patient's Sex Neutered"),
    (0x00101020, "X", "pat=K", "Patient's Size"),
    (0x00102155, "X", "", "Patient's Telecom Information"),
    (0x00102154, "X", "", "Patient's Telephone Numbers"),
    (0x00101030, "X", "pat=K", "Patient's Weight"),
    (0x00104000, "X", "desc=C", "Patient Comments"),
    (0x00100020, "Z", "", "Patient ID"),
    (0x300A0650, "U", "uids=K", "Patient Setup UID"),
    (0x00380500, "X", "pat=C desc=C", "Patient State"),
    (0x00401004, "X", "", "Patient Transport Arrangements"),
    (0x00400243, "X", "", "Performed Location"),
    (0x00400254, "X", "desc=C", "Performed Procedure Step Description"),
    (0x00400250, "X", "full=K mod=C", "Performed Procedure Step End Date"),
    (0x00404051, "X", "full=K mod=C", "Performed Procedure Step End DateTime"),
    (0x00400251, "X", "full=K mod=C", "Performed Procedure Step End Time"),
    (0x00400253, "X", "", "Performed Procedure Step ID"),
    (0x00400244, "X", "full=K mod=C", "Performed Procedure Step Start Date"),
    (0x00404050, "X", "full=K mod=C", "Performed Procedure Step Start DateTime"),
    (0x00400245, "X", "full=K mod=C", "Performed Procedure Step Start Time"),
    (0x00400241, "X", "dev=K", "Performed Station AE Title"),
    (0x00404030, "X", "dev=K", "Performed Station Geographic Location Code Sequence"),
    (0x00400242, "X", "dev=K", "Performed Station Name"),
    (0x00404028, "X", "dev=K", "Performed Station Name Code Sequence"),
    (0x00081050, "X", "", "Performing Physician's Name"),
    (0x00081052, "X", "", "Performing Physician Identification Sequence"),
    (0x00401102, "X", "", "Person's Address"),
    (0x00401104, "X", "", "Person's Telecom Information"),
    (0x00401103, "X", "", "Person's Telephone Numbers"),
    (0x00401101, "D", "", "Person Identification Code Sequence"),
    (0x0040A123, "D", "", "Person Name"),
    (0x00081048, "X", "", "Physician(s) of Record"),
    (0x00081049, "X", "", "Physician(s) of Record Identification Sequence"),
    (0x00081062, "X", "", "Physician(s) Reading Study Identification Sequence"),
    (0x40080114, "X", "", "Physician Approving Interpretation"),
    (0x00402016, "Z", "", "Placer Order Number / Imaging Service Request"),
    (0x00181004, "X", "dev=K", "Plate ID"),
    (0x001021C0, "X", "pat=K", "Pregnancy Status"),
    (0x00400012, "X", "pat=C", "Pre-Medication"),
    (0x300A000E, "X", "desc=C", "Prescription Description"),
    (0x3010007B, "Z", "desc=C", "Prescription Notes"),
    (0x30100081, "Z", "desc=C", "Prescription Notes Sequence"),
    (0x00701101, "U", "uids=K", "Presentation Display Collection UID"),
    (0x00701102, "U", "uids=K", "Presentation Sequence Collection UID"),
    (0x30100061, "X", "desc=C", "Prior Treatment Dose Description"),
    (0x00404052, "X", "full=K mod=C", "Procedure Step Cancellation DateTime"),
    (0x00181030, "X/D", "desc=C", "Protocol Name"),
    (0x300A0619, "D", "desc=C", "Radiation Dose Identification Label"),
    (0x300A0623, "D", "desc=C", "Radiation Dose In-Vivo Measurement Label"),
    (0x300A067D, "Z", "desc=C", "Radiation Generation Mode Description"),
    (0x300A067C, "D", "desc=C", "Radiation Generation Mode Label"),
    (0x300C0113, "X", "desc=C", "Reason for Omission Description"),
    (0x0040100A, "X", "desc=C", "Reason for Requested Procedure Code Sequence"),
    (0x00321030, "X", "desc=C", "Reason for Study"),
    (0x3010005C, "Z", "desc=C", "Reason for Superseding"),
    (0x00402001, "X", "desc=C", "Reason for the Imaging Service Request"),
    (0x00401002, "X", "desc=C", "Reason for the Requested Procedure"),
    (0x00321066, "X", "desc=C", "Reason for Visit"),
    (0x00321067, "X", "desc=C", "Reason for Visit Code Sequence"),
    (0x300A073A, "D", "full=K mod=C", "Recorded RT Control Point DateTime"),
    (0x3010000B, "U", "uids=K", "Referenced Conceptual Volume UID"),
    (0x04000402, "X", "", "Referenced Digital Signature Sequence"),
    (0x300A0083, "U", "uids=K", "Referenced Dose Reference UID"),
    (0x3010006F, "U", "uids=K", "Referenced Dosimetric Objective UID"),
    (0x30100031, "U", "uids=K", "Referenced Fiducials UID"),
    (0x30060024, "U", "uids=K", "Referenced Frame of Reference UID"),
    (
        0x00404023,
        "U",
        "uids=K",
        "Referenced General Purpose Scheduled Procedure Step Transaction UID",
    ),
    (0x00081140, "X/Z/U*", "uids=K", "Referenced Image Sequence"),
    (0x0040A172, "U", "uids=K", "Referenced Observation UID (Trial)"),
    (0x00380004, "X", "", "Referenced Patient Alias Sequence"),
    (0x00101100, "X", "", "Referenced Patient Photo Sequence"),
    (0x00081120, "X", "uids=X", "Referenced Patient Sequence"),
    (0x00081111, "X/Z/D", "uids=K", "Referenced Performed Procedure Step Sequence"),
    (0x04000403, "X", "", "Referenced SOP Instance MAC Sequence"),
    (0x00081155, "U", "uids=K", "Referenced SOP Instance UID"),
    (0x00041511, "U", "uids=K", "Referenced SOP Instance UID in File"),
    (0x00081110, "X/Z", "uids=K", "Referenced Study Sequence"),
    (0x00080092, "X", "", "Referring Physician's Address"),
    (0x00080090, "Z", "", "Referring Physician's Name"),
    (0x00080094, "X", "", "Referring Physician's Telephone Numbers"),
    (0x00080096, "X", "", "Referring Physician Identification Sequence"),
    (0x00102152, "X", "", "Region of Residence"),
    (0x300600C2, "U", "uids=K", "Related Frame of Reference UID"),
    (0x00400275, "X", "desc=C", "Request Attributes Sequence"),
    (0x00321070, "X", "desc=C", "Requested Contrast Agent"),
    (0x00401400, "X", "desc=C", "Requested Procedure Comments"),
    (0x00321060, "X/Z", "desc=C", "Requested Procedure Description"),
    (0x00401001, "X", "", "Requested Procedure ID"),
    (0x00401005, "X", "", "Requested Procedure Location"),
    (0x00189937, "X", "desc=C", "Requested Series Description"),
    (0x00001001, "U", "uids=K", "Requested SOP Instance UID"),
    (0x00321032, "X", "", "Requesting Physician"),
    (0x00321033, "X", "", "Requesting Service"),
    (0x00189185, "X", "desc=C", "Respiratory Motion Compensation Technique Description"),
    (0x00102299, "X", "", "Responsible Organization"),
    (0x00102297, "X", "", "Responsible Person"),
    (0x40084000, "X", "desc=C", "Results Comments"),
    (0x40080118, "X", "", "Results Distribution List Sequence"),
    (0x40080042, "X", "", "Results ID Issuer"),
    (0x300E0008, "X/Z", "", "Reviewer Name"),
    (0x30060028, "X", "desc=C", "ROI Description"),
    (0x30060038, "X", "desc=C", "ROI Generation Description"),
    (0x300600A6, "Z", "", "ROI Interpreter"),
    (0x30060026, "Z", "desc=C", "ROI Name"),
    (0x30060088, "X", "desc=C", "ROI Observation Description"),
    (0x30060085, "X", "desc=C", "ROI Observation Label"),
    (0x300A0615, "Z", "", "RT Accessory Device Slot ID"),
    (0x300A0611, "Z", "", "RT Accessory Holder Slot ID"),
    (0x3010005A, "Z", "desc=C", "RT Physician Intent Narrative"),
    (0x300A0006, "X/D", "full=K mod=C", "RT Plan Date"),
    (0x300A0004, "X", "desc=C", "RT Plan Description"),
    (0x300A0002, "D", "desc=C", "RT Plan Label"),
    (0x300A0003, "X", "desc=C", "RT Plan Name"),
    (0x300A0007, "X/D", "full=K mod=C", "RT Plan Time"),
    (0x30100054, "D", "desc=C", "RT Prescription Label"),
    (0x300A062A, "D", "desc=C", "RT Tolerance Set Label"),
    (0x30100056, "X/D", "desc=C", "RT Treatment Approach Label"),
    (0x3010003B, "U", "uids=K", "RT Treatment Phase UID"),
    (0x00404034, "X", "", "Scheduled Human Performers Sequence"),
    (0x0038001E, "X", "", "Scheduled Patient Institution Residence"),
    (0x00400006, "X", "", "Scheduled Performing Physician's Name"),
    (0x0040000B, "X", "", "Scheduled Performing Physician Identification Sequence"),
    (0x00400007, "X", "desc=C", "Scheduled Procedure Step Description"),
    (0x00400004, "X", "full=K mod=C", "Scheduled Procedure Step End Date"),
    (0x00400005, "X", "full=K mod=C", "Scheduled Procedure Step End Time"),
    (0x00404008, "X", "full=K mod=C", "Scheduled Procedure Step Expiration DateTime"),
    (0x00400009, "X", "", "Scheduled Procedure Step ID"),
    (0x00400011, "X", "dev=K", "Scheduled Procedure Step Location"),
    (0x00404010, "X", "full=K mod=C", "Scheduled Procedure Step Modification DateTime"),
    (0x00400002, "X", "full=K mod=C", "Scheduled Procedure Step Start Date"),
    (0x00404005, "X", "full=K mod=C", "Scheduled Procedure Step Start DateTime"),
    (0x00400003, "X", "full=K mod=C", "Scheduled Procedure Step Start Time"),
    (0x00400001, "X", "dev=K", "Scheduled Station AE Title"),
    (0x00404027, "X", "dev=K", "Scheduled Station Geographic Location Code Sequence"),
    (0x00400010, "X", "dev=K", "Scheduled Station Name"),
    (0x00404025, "X", "dev=K", "Scheduled Station Name Code Sequence"),
    (0x00321020, "X", "dev=K", "Scheduled Study Location"),
    (0x00321021, "X", "dev=K", "Scheduled Study Location AE Title"),
    (0x00080021, "X/D", "full=K mod=C", "Series Date"),
    (0x0008103E, "X", "desc=C", "Series Description"),
    (0x0020000E, "U", "uids=K", "Series Instance UID"),
    (0x00080031, "X/D", "full=K mod=C", "Series Time"),
    (0x00380062, "X", "desc=C", "Service Episode Description"),
    (0x00380060, "X", "", "Service Episode ID"),
    (0x300A01B2, "X", "desc=C", "Setup Technique Description"),
    (0x300A01A6, "X", "desc=C", "Shielding Device Description"),
    (0x004006FA, "X", "", "Slide Identifier"),
    (0x001021A0, "X", "pat=K", "Smoking Status"),
    (0x00080018, "U", "uids=K", "SOP Instance UID"),
    (0x30100015, "U", "uids=K", "Source Conceptual Volume UID"),
    (0x0018936A, "D", "full=K mod=C", "Source End DateTime"),
    (0x00340005, "D", "", "Source Identifier"),
    (0x00082112, "X/Z/U*", "uids=K", "Source Image Sequence"),
    (0x300A0216, "X", "dev=K", "Source Manufacturer"),
    (0x30080105, "X/Z", "dev=K", "Source Serial Number"),
    (0x00189369, "D", "full=K mod=C", "Source Start DateTime"),
    (0x00380050, "X", "pat=C", "Special Needs"),
    (0x0040050A, "X", "", "Specimen Accession Number"),
    (0x00400602, "X", "desc=C", "Specimen Detailed Description"),
    (0x00400551, "D", "", "Specimen Identifier"),
    (0x00400610, "Z", "sc=C", "Specimen Preparation Sequence"),
    (0x00400600, "X", "desc=C", "Specimen Short Description"),
    (0x00400554, "U", "uids=K", "Specimen UID"),
    (0x00189516, "X/D", "full=K mod=C", "Start Acquisition DateTime"),
    (0x00081010, "X/Z/D", "dev=K", "Station Name"),
    (0x00880140, "U", "uids=K", "Storage Media File-set UID"),
    (0x30060008, "Z", "full=K mod=C", "Structure Set Date"),
    (0x30060006, "X", "desc=C", "Structure Set Description"),
    (0x30060002, "D", "desc=C", "Structure Set Label"),
    (0x30060004, "X", "desc=C", "Structure Set Name"),
    (0x30060009, "X/D", "full=K mod=C", "Structure Set Time"),
    (0x00324000, "X", "desc=C", "Study Comments"),
    (0x00080020, "Z", "full=K mod=C", "Study Date"),
    (0x00081030, "X", "desc=C", "Study Description"),
    (0x00200010, "Z", "", "Study ID"),
    (0x00320012, "X", "", "Study ID Issuer"),
    (0x0020000D, "U", "uids=K", "Study Instance UID"),
    (0x00080030, "Z", "full=K mod=C", "Study Time"),
    (0x00200200, "U", "uids=K", "Synchronization Frame of Reference UID"),
    (0x00182042, "U", "uids=K", "Target UID"),
    (0x0040A354, "X", "", "Telephone Number (Trial)"),
    (0x0040DB0D, "U", "uids=K", "Template Extension Creator UID"),
    (0x0040DB0C, "U", "uids=K", "Template Extension Organization UID"),
    (0x40004000, "X", "", "Text Comments"),
    (0x20300020, "X", "", "Text String"),
    (0x00080201, "X", "full=K mod=C", "Timezone Offset From UTC"),
    (0x00880910, "X", "", "Topic Author"),
    (0x00880912, "X", "", "Topic Keywords"),
    (0x00880906, "X", "", "Topic Subject"),
    (0x00880904, "X", "", "Topic Title"),
    (0x00620021, "U", "uids=K", "Tracking UID"),
    (0x00081195, "U", "uids=K", "Transaction UID"),
    (0x00185011, "X", "dev=K", "Transducer Identification Sequence"),
    (0x30080250, "X/D", "full=K mod=C", "Treatment Date"),
    (0x300A00B2, "X", "dev=K", "Treatment Machine Name"),
    (0x300A0608, "D", "desc=C", "Treatment Position Group Label"),
    (0x300A0609, "U", "uids=K", "Treatment Position Group UID"),
    (0x300A0700, "U", "uids=K", "Treatment Session UID"),
    (0x30100077, "D", "desc=C", "Treatment Site"),
    (0x3010007A, "Z", "desc=C", "Treatment Technique Notes"),
    (0x30080251, "X/D", "full=K mod=C", "Treatment Time"),
    (0x300A0736, "D", "full=K mod=C", "Treatment Tolerance Violation DateTime"),
    (0x300A0734, "D", "desc=C", "Treatment Tolerance Violation Description"),
    (0x0018100A, "X", "dev=K", "UDI Sequence"),
    # The transcribed edition gives UID no Retain UIDs column; Kiln keeps it with the other
    # UIDs, or an SR's UIDREF would point at a study that the retained UIDs no longer name.
    (0x0040A124, "U", "uids=K", "UID"),
    (0x00181009, "X", "dev=K", "Unique Device Identifier"),
    (0x30100033, "D", "desc=C", "User Content Label"),
    (0x30100034, "D", "desc=C", "User Content Long Label"),
    (0x0040A352, "X", "", "Verbal Source (Trial)"),
    (0x0040A358, "X", "", "Verbal Source Identifier Code Sequence (Trial)"),
    (0x0040A088, "Z", "", "Verifying Observer Identification Code Sequence"),
    (0x0040A075, "D", "", "Verifying Observer Name"),
    (0x0040A073, "D", "", "Verifying Observer Sequence"),
    (0x0040A027, "D", "", "Verifying Organization"),
    (0x00384000, "X", "desc=C", "Visit Comments"),
    (0x00189371, "D", "dev=K", "X-Ray Detector ID"),
    (0x00189373, "X", "dev=K", "X-Ray Detector Label"),
    (0x00189367, "D", "dev=K", "X-Ray Source ID"),
)

# Rows in syngo MR's Table 70 (anonymised at its "full" level) that the transcribed edition
# of E.1-1 does not list.
_SYNGO_ROWS: Final[tuple[tuple[int, str, str, str], ...]] = (
    (0x0008010D, "U", "uids=K", "Context Group Extension Creator UID"),
    (0x00089123, "U", "uids=K", "Creator-Version UID"),
    (0x00203404, "X", "dev=K", "Modifying Device Manufacturer"),
)

# Kiln's own rows. The patient-identity sequences and alternative-calendar dates carry the
# same facts as rows above. Text Value and Unformatted Text Value are the free text inside
# Content Sequence and Graphic Annotation Sequence, which E.1-1 makes D as a whole: Kiln keeps
# those sequences' structure (codes, references) and applies D or C to the text itself.
_KILN_ROWS: Final[tuple[tuple[int, str, str, str], ...]] = (
    (0x00080051, "X", "", "Issuer of Accession Number Sequence"),
    (0x00100024, "X", "", "Issuer of Patient ID Qualifiers Sequence"),
    (0x00100026, "X", "", "Source Patient Group Identification Sequence"),
    (0x00100027, "X", "", "Group of Patients Identification Sequence"),
    (0x00100033, "X", "", "Patient's Birth Date in Alternative Calendar"),
    (0x00100034, "X", "", "Patient's Death Date in Alternative Calendar"),
    (0x00100035, "X", "", "Patient's Alternative Calendar"),
    (0x0040A160, "D", "sc=C", "Text Value"),
    (0x00700006, "D", "gr=C", "Unformatted Text Value"),
)


def _rule(row: tuple[int, str, str, str], source: Source) -> Rule:
    tag, basic, overrides, name = row
    pairs = tuple(
        (Option(key), Action(value))
        for key, value in (item.split("=") for item in overrides.split())
    )
    return Rule(tag, name, Action(basic), pairs, source)


def _index() -> dict[int, Rule]:
    table: dict[int, Rule] = {}
    for rows, source in (
        (_ROWS, Source.PS3_15),
        (_SYNGO_ROWS, Source.SYNGO_MR),
        (_KILN_ROWS, Source.KILN),
    ):
        for row in rows:
            if row[0] in table:
                raise ValueError(f"de-identification table lists ({row[0]:08X}) twice")
            table[row[0]] = _rule(row, source)
    return table


TABLE: Final[Mapping[int, Rule]] = _index()

# Masked rows of E.1-1 that `TABLE` cannot key: Curve Data (50xx,xxxx) is X (Clean Graphics:
# C); Overlay Data (60xx,3000) and Overlay Comments (60xx,4000) are X (Clean Graphics: C).
# An overlay plane without its data is not a valid Overlay Plane Module, so Kiln removes the
# whole repeating group.
CURVE_RULE: Final = Rule(0x50000000, "Curve Data", Action.REMOVE, (), Source.PS3_15)
OVERLAY_RULE: Final = Rule(0x60003000, "Overlay Data", Action.REMOVE, (), Source.PS3_15)


def is_curve_group(group: int) -> bool:
    return 0x5000 <= group <= 0x50FF and group % 2 == 0


def is_overlay_group(group: int) -> bool:
    return 0x6000 <= group <= 0x60FF and group % 2 == 0


# Private attributes (gggg,eeee) with gggg odd: X, Retain Safe Private: C. Kiln's reading of
# "safe" is the one E.3.10 Note 2 offers: binary numbers, and IS/DS strings that are only
# numbers; text, code strings, OB/UN blobs and sequences are never safe.
SAFE_PRIVATE_BINARY_VRS: Final = frozenset({"US", "SS", "UL", "SL", "UV", "SV", "FL", "FD"})
SAFE_PRIVATE_NUMBER_VRS: Final = frozenset({"IS", "DS"})

# UI attributes that name a class, a syntax or a definition, never an instance: they are
# outside the table and never remapped by the "every other UID" rule in `deidentify`.
CLASS_UID_TAGS: Final = frozenset(
    {
        0x00020002,  # Media Storage SOP Class UID
        0x00020010,  # Transfer Syntax UID
        0x00020012,  # Implementation Class UID
        0x00041510,  # Referenced SOP Class UID in File
        0x00041512,  # Referenced Transfer Syntax UID in File
        0x00080016,  # SOP Class UID
        0x0008001A,  # Related General SOP Class UID
        0x0008001B,  # Original Specialized SOP Class UID
        0x00080062,  # SOP Classes in Study
        0x0008010C,  # Coding Scheme UID
        0x00080118,  # Mapping Resource UID
        0x00081150,  # Referenced SOP Class UID
        0x00081490,  # Referenced Transfer Syntax UID (retired, still seen)
        0x04000010,  # MAC Calculation Transfer Syntax UID
        0x04000510,  # Encrypted Content Transfer Syntax UID
    }
)


class IodFamily(StrEnum):
    """Groups of IODs that agree on the Type of the attributes `REQUIRED_TYPE` lists."""

    IMAGE = "image"
    ENHANCED = "enhanced multi-frame image"
    PET = "PET image"
    STRUCTURED_REPORT = "structured report"
    PRESENTATION_STATE = "presentation state"
    RADIOTHERAPY = "radiotherapy object"
    WAVEFORM = "waveform"


_ALL: Final = frozenset(IodFamily)
_SR: Final = frozenset({IodFamily.STRUCTURED_REPORT})
_ENH: Final = frozenset({IodFamily.ENHANCED})
_PR: Final = frozenset({IodFamily.PRESENTATION_STATE})
_RT: Final = frozenset({IodFamily.RADIOTHERAPY})
_WAVE: Final = frozenset({IodFamily.WAVEFORM})

# Attributes that an action of E.1-1 (or the date, person-name and UID rules that extend it)
# would remove but that are Type 1 or Type 2 in an IOD a clinic sends. E.1.1 Note 1 makes the
# de-identifier keep the IOD valid: Type 1 gets a dummy value (D), Type 2 zero length (Z).
# Maps tag -> (Type, families of IODs where that Type holds).
REQUIRED_TYPE: Final[Mapping[int, tuple[int, frozenset[IodFamily]]]] = {
    0x0008002A: (1, _ENH | _WAVE),  # Acquisition DateTime (Enhanced images, Waveform Id.)
    0x00181000: (1, _ENH),  # Device Serial Number (Enhanced General Equipment)
    0x00400555: (2, _ENH | _WAVE),  # Acquisition Context Sequence (Acquisition Context)
    0x00189074: (1, _ENH),  # Frame Acquisition DateTime (Frame Content Macro)
    0x00189151: (1, _ENH),  # Frame Reference DateTime (Frame Content Macro)
    0x00080023: (1, _SR | _ENH | _WAVE),  # Content Date
    0x00080033: (1, _SR | _ENH | _WAVE),  # Content Time
    # Source Image Sequence in an enhanced object's Derivation Image Sequence: the Common
    # Instance Reference Module must find the instances it lists, so U* (kept, new UIDs).
    0x00082112: (1, _ENH),
    0x00080021: (1, frozenset({IodFamily.PET})),  # Series Date (PET Series)
    0x00080031: (1, frozenset({IodFamily.PET})),  # Series Time (PET Series)
    0x00081111: (2, _SR),  # Referenced Performed Procedure Step Sequence (SR Series)
    0x00081110: (2, _SR),  # Referenced Study Sequence (Referenced Request Sequence)
    0x00081140: (1, _PR),  # Referenced Image Sequence (Presentation State Relationship)
    0x00401001: (2, _SR),  # Requested Procedure ID (Referenced Request Sequence)
    0x00321060: (2, _SR),  # Requested Procedure Description (Referenced Request Sequence)
    0x0040A030: (1, _SR),  # Verification DateTime
    0x0040A120: (1, _SR),  # DateTime (DATETIME content item)
    0x0040A121: (1, _SR),  # Date (DATE content item)
    0x0040A122: (1, _SR),  # Time (TIME content item)
    0x00700082: (1, _PR),  # Presentation Creation Date
    0x00700083: (1, _PR),  # Presentation Creation Time
    0x00102203: (2, _ALL),  # Patient's Sex Neutered (2C: present only for animals)
    0x00081070: (2, _RT),  # Operators' Name (RT Series)
    0x300A0006: (2, _RT),  # RT Plan Date (RT General Plan)
    0x300A0007: (2, _RT),  # RT Plan Time (RT General Plan)
    0x300A00B2: (2, _RT),  # Treatment Machine Name (RT Beams)
    0x30060009: (2, _RT),  # Structure Set Time (Structure Set)
}

# SOP Classes of the enhanced multi-frame family that do not say "Enhanced" in their name.
_ENHANCED_NAMES: Final = frozenset(
    {
        "Segmentation Storage",
        "Parametric Map Storage",
        "MR Spectroscopy Storage",
        "Breast Tomosynthesis Image Storage",
        "X-Ray 3D Angiographic Image Storage",
        "X-Ray 3D Craniofacial Image Storage",
    }
)


def iod_family(sop_class_uid: str) -> IodFamily:
    """The family of a SOP Class, from its registered name (private classes are images)."""
    name = UID(sop_class_uid).name
    if "SR Storage" in name or "Key Object Selection" in name:
        return IodFamily.STRUCTURED_REPORT
    if "Presentation State" in name:
        return IodFamily.PRESENTATION_STATE
    if name.startswith(("Enhanced", "Legacy Converted Enhanced")) or name in _ENHANCED_NAMES:
        return IodFamily.ENHANCED
    if name == "Positron Emission Tomography Image Storage":
        return IodFamily.PET
    if name.startswith("RT "):
        return IodFamily.RADIOTHERAPY
    if "Waveform" in name:
        return IodFamily.WAVEFORM
    return IodFamily.IMAGE


def required_type(tag: int, family: IodFamily) -> int:
    """1 or 2 where `REQUIRED_TYPE` says the IOD needs the attribute, else 3."""
    entry = REQUIRED_TYPE.get(tag)
    if entry is None or family not in entry[1]:
        return 3
    return entry[0]
