"""HL7 v2 orders (ORM^O01, OMI^O23) as worklist items, and the acknowledgements that answer them.

Pure functions from message bytes to typed orders and from outcomes back to ACK bytes; no
I/O. The field mapping follows the IHE Radiology Technical Framework (RAD-4, RAD-13 and
the HL7-to-DICOM appendix); docs/hl7.md tables it with the choices made here.
"""

from __future__ import annotations

import datetime
import re
import uuid
from dataclasses import dataclass, field
from enum import Enum, IntEnum, StrEnum
from typing import Any

import hl7  # type: ignore[import-untyped]

from appliance.worklist.attributes import SPS
from appliance.worklist.item import Item, ItemError, normalise


class Action(Enum):
    """What an order control code (ORC-1, with ORC-5 for SC) asks of the worklist."""

    NEW = "new"
    UPDATE = "update"
    CANCEL = "cancel"
    START = "start"
    COMPLETE = "complete"


# The step status each status-only action sets.
STATUS_OF = {Action.CANCEL: "CANCELED", Action.START: "STARTED", Action.COMPLETE: "COMPLETED"}

_CONTROL = {
    "NW": Action.NEW,  # new order
    "SN": Action.NEW,  # new order from the filler, number to be sent
    "XO": Action.UPDATE,  # change order request (IHE RAD-13 procedure update)
    "XX": Action.UPDATE,  # order changed
    "CA": Action.CANCEL,  # cancel request
    "OC": Action.CANCEL,  # order canceled
    "CR": Action.CANCEL,  # canceled as requested
    "DC": Action.CANCEL,  # discontinue request
    "OD": Action.CANCEL,  # order discontinued
    "DR": Action.CANCEL,  # discontinued as requested
}
# ORC-1 SC (status changed) takes its meaning from ORC-5 (order status, HL7 table 0038).
_STATUS_CHANGE = {
    "CA": Action.CANCEL,
    "DC": Action.CANCEL,
    "IP": Action.START,
    "CM": Action.COMPLETE,
}


class AckCode(StrEnum):
    """MSA-1 in original mode (HL7 table 0008)."""

    ACCEPT = "AA"
    ERROR = "AE"
    REJECT = "AR"


class ErrorCode(IntEnum):
    """ERR condition codes (HL7 table 0357)."""

    SEGMENT_SEQUENCE = 100
    REQUIRED_FIELD_MISSING = 101
    DATA_TYPE = 102
    TABLE_VALUE = 103
    UNSUPPORTED_MESSAGE_TYPE = 200
    UNSUPPORTED_EVENT = 201
    UNSUPPORTED_VERSION = 203
    UNKNOWN_KEY = 204
    DUPLICATE_KEY = 205
    INTERNAL = 207


_ERROR_TEXT = {
    ErrorCode.SEGMENT_SEQUENCE: "Segment sequence error",
    ErrorCode.REQUIRED_FIELD_MISSING: "Required field missing",
    ErrorCode.DATA_TYPE: "Data type error",
    ErrorCode.TABLE_VALUE: "Table value not found",
    ErrorCode.UNSUPPORTED_MESSAGE_TYPE: "Unsupported message type",
    ErrorCode.UNSUPPORTED_EVENT: "Unsupported event code",
    ErrorCode.UNSUPPORTED_VERSION: "Unsupported version id",
    ErrorCode.UNKNOWN_KEY: "Unknown key identifier",
    ErrorCode.DUPLICATE_KEY: "Duplicate key identifier",
    ErrorCode.INTERNAL: "Application internal error",
}


class OrderError(ValueError):
    """An order message the box will not apply; str() is one plain sentence for the NAK."""

    def __init__(
        self,
        sentence: str,
        code: ErrorCode,
        *,
        where: str = "",
        ack: AckCode = AckCode.ERROR,
    ) -> None:
        super().__init__(sentence)
        self.code = code
        self.where = where  # ERR location: segment^sequence^field, e.g. "OBR^1^24"
        self.ack = ack


# Message types and their ACK trigger: ORM^O01 (v2.3-2.5) and OMI^O23 (v2.4 on).
SUPPORTED = {"ORM": "O01", "OMI": "O23"}
_VERSION = re.compile(r"2\.([3-8])(\.\d+)?")

# MSH-18 (HL7 table 0211) -> Python codec. UTF-16/32 cannot travel in MLLP's byte framing.
_CHARSETS = {
    "ASCII": "ascii",
    **{f"8859/{n}": f"iso8859-{n}" for n in range(1, 10)},
    "8859/15": "iso8859-15",
    "UNICODE UTF-8": "utf-8",
    "UNICODE": "utf-8",  # deprecated name; senders that use it mean UTF-8
    "GB 18030-2000": "gb18030",
    "KS X 1001": "euc_kr",
    "BIG-5": "big5",
    # DICOM names some senders put here.
    "ISO_IR 100": "latin-1",
    "ISO_IR 192": "utf-8",
    "UTF-8": "utf-8",
}

_PRIORITY = {"S": "STAT", "A": "HIGH", "P": "HIGH", "C": "HIGH", "R": "ROUTINE", "T": "MEDIUM"}
_SEX = {"M": "M", "F": "F", "O": "O"}
_TIMESTAMP = re.compile(r"(\d{8})(\d{2}(?:\d{2}(?:\d{2}(?:\.\d{1,4})?)?)?)?(?:[+-]\d{4})?")
_PARTIAL_DATE = re.compile(r"\d{4}(\d{2})?")
_LO = 64  # characters of an LO value: descriptive text longer than this is cut, not refused


@dataclass(frozen=True)
class Header:
    """What MSH says, read before anything else so that every answer can echo it."""

    control_id: str = ""
    message_code: str = ""
    trigger: str = ""
    version: str = ""
    charset: str = ""
    processing_id: str = ""
    sending_application: str = ""
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""

    @property
    def message_type(self) -> str:
        return f"{self.message_code}^{self.trigger}" if self.trigger else self.message_code


@dataclass(frozen=True)
class Order:
    """One scheduled step an order message asks for: what to do, to which item."""

    action: Action
    keys: tuple[str, ...]  # the first is the key of a new item; all are tried for lookups
    label: str  # "order 123 OBR 1", for sentences
    where: str  # ERR location of the ORC
    item: Item | None = field(default=None)  # the whole item for NEW and UPDATE


# -- reading ---------------------------------------------------------------------------------
def _header_line(raw: bytes) -> str:
    text = raw.lstrip(b"\r\n\t ")
    if not text.startswith(b"MSH") or len(text) < 8:
        raise OrderError(
            "the message does not begin with an MSH segment",
            ErrorCode.SEGMENT_SEQUENCE,
            ack=AckCode.REJECT,
        )
    # MSH is ASCII in every character set HL7 allows, so Latin-1 reads it byte for byte.
    return re.split(r"[\r\n]", text.decode("latin-1"), maxsplit=1)[0]


def read_header(raw: bytes) -> Header:
    """MSH of a message, raw; raises OrderError (AR) only when there is no MSH at all."""
    line = _header_line(raw)
    separator = line[3]
    fields = line.split(separator)
    encoding = fields[1] if len(fields) > 1 else ""
    component = encoding[0] if encoding else "^"
    repetition = encoding[1] if len(encoding) > 1 else "~"

    def msh(number: int) -> list[str]:
        # fields[0] is "MSH" and fields[1] is MSH-2, so MSH-n is fields[n - 1].
        value = fields[number - 1] if len(fields) >= number else ""
        return value.split(repetition)[0].split(component)

    message_type = msh(9)
    return Header(
        control_id=msh(10)[0].strip(),
        message_code=message_type[0].strip().upper(),
        trigger=message_type[1].strip().upper() if len(message_type) > 1 else "",
        version=msh(12)[0].strip(),
        charset=" ".join(msh(18)[0].split()).upper(),
        processing_id=msh(11)[0].strip(),
        sending_application=msh(3)[0].strip(),
        sending_facility=msh(4)[0].strip(),
        receiving_application=msh(5)[0].strip(),
        receiving_facility=msh(6)[0].strip(),
    )


def codec_of(header: Header, default_encoding: str) -> str:
    """The codec MSH-18 names, or `default_encoding` when it names none."""
    if not header.charset:
        return default_encoding
    codec = _CHARSETS.get(header.charset)
    if codec is None:
        raise OrderError(
            f"MSH-18 character set {header.charset!r} is not one Kiln reads "
            "(ASCII, 8859/1 to 8859/9, 8859/15, UNICODE UTF-8, GB 18030-2000, KS X 1001, BIG-5)",
            ErrorCode.TABLE_VALUE,
            where="MSH^1^18",
            ack=AckCode.REJECT,
        )
    return codec


def _check_header(header: Header) -> None:
    if not header.control_id:
        raise OrderError(
            "MSH-10 (message control ID) is missing",
            ErrorCode.REQUIRED_FIELD_MISSING,
            where="MSH^1^10",
            ack=AckCode.REJECT,
        )
    if header.message_code not in SUPPORTED:
        raise OrderError(
            f"message type {header.message_type or '(none)'} is not accepted here; "
            "Kiln takes ORM^O01 and OMI^O23 orders",
            ErrorCode.UNSUPPORTED_MESSAGE_TYPE,
            where="MSH^1^9",
            ack=AckCode.REJECT,
        )
    if header.trigger != SUPPORTED[header.message_code]:
        raise OrderError(
            f"event {header.trigger or '(none)'} is not accepted for {header.message_code}; "
            f"Kiln takes {header.message_code}^{SUPPORTED[header.message_code]}",
            ErrorCode.UNSUPPORTED_EVENT,
            where="MSH^1^9",
            ack=AckCode.REJECT,
        )
    if not _VERSION.fullmatch(header.version):
        raise OrderError(
            f"HL7 version {header.version or '(none)'} is not supported; send 2.3 to 2.8",
            ErrorCode.UNSUPPORTED_VERSION,
            where="MSH^1^12",
            ack=AckCode.REJECT,
        )


def _decode(raw: bytes, codec: str, charset: str) -> Any:
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as exc:
        raise OrderError(
            f"byte 0x{raw[exc.start]:02X} at offset {exc.start} is not valid "
            f"{charset or codec} text (MSH-18 names the character set)",
            ErrorCode.DATA_TYPE,
            where="MSH^1^18",
            ack=AckCode.REJECT,
        ) from None
    # Segments end with CR; some senders end them with LF or CR LF.
    text = text.strip().replace("\r\n", "\r").replace("\n", "\r")
    try:
        return hl7.parse(text)
    except Exception as exc:  # python-hl7 raises several types for broken structure
        raise OrderError(
            f"the message cannot be parsed as HL7: {exc}",
            ErrorCode.SEGMENT_SEQUENCE,
            ack=AckCode.REJECT,
        ) from None


# -- fields ----------------------------------------------------------------------------------
def _get(segment: Any, number: int, component: int = 1, sub: int = 1, repetition: int = 1) -> str:
    """One value, unescaped (\\F\\ \\S\\ \\T\\ \\R\\ \\E\\); '' when absent or HL7 null ("")."""
    if segment is None:
        return ""
    try:
        value = str(segment.extract_field(1, number, repetition, component, sub))
    except (IndexError, TypeError):
        return ""
    value = value.strip()
    return "" if value == '""' else value


def _repetitions(segment: Any, number: int) -> int:
    if segment is None or number >= len(segment):
        return 0
    return len(segment(number))


def _text(value: str, limit: int = _LO) -> str:
    """Descriptive text as a DICOM value: one line, no value separator, cut to `limit`."""
    value = " ".join(value.replace("\\", "/").split())
    return value[:limit].rstrip()


def _pn(family: str, given: str, middle: str, prefix: str, suffix: str) -> str:
    """DICOM PN family^given^middle^prefix^suffix; '^', '=' and '\\' cannot be in a part."""
    parts = [" ".join(re.sub(r"[\^=\\]", " ", p).split()) for p in (family, given, middle)]
    parts += [" ".join(re.sub(r"[\^=\\]", " ", p).split()) for p in (prefix, suffix)]
    return "^".join(parts).rstrip("^")


def _xpn(segment: Any, number: int) -> str:
    """XPN: family&...^given^middle^suffix^prefix (first repetition)."""
    family, given, middle, suffix, prefix = (_get(segment, number, c) for c in range(1, 6))
    return _pn(family, given, middle, prefix, suffix)


def _xcn(segment: Any, number: int) -> str:
    """XCN: id^family&...^given^middle^suffix^prefix (first repetition)."""
    family, given, middle, suffix, prefix = (_get(segment, number, c) for c in range(2, 7))
    return _pn(family, given, middle, prefix, suffix)


def _cnn(segment: Any, number: int) -> str:
    """OBR-34 technician: id&family&given&middle&suffix&prefix in the first component."""
    family, given, middle, suffix, prefix = (_get(segment, number, 1, s) for s in range(2, 7))
    return _pn(family, given, middle, prefix, suffix)


def _code(segment: Any, number: int, first: int = 1, repetition: int = 1) -> Item | None:
    """A CE/CWE triplet (identifier^text^coding system from component `first`) as a code item."""
    value = _get(segment, number, first, repetition=repetition)
    if not value:
        return None
    meaning = _get(segment, number, first + 1, repetition=repetition) or value
    return {
        "CodeValue": value,
        # HL7 table 0396 "L": the sender's local codes, as it would say itself.
        "CodingSchemeDesignator": _get(segment, number, first + 2, repetition=repetition) or "L",
        "CodeMeaning": _text(meaning),
    }


def _codes(segment: Any, number: int) -> list[Item]:
    found = [
        _code(segment, number, repetition=r) for r in range(1, _repetitions(segment, number) + 1)
    ]
    return [c for c in found if c is not None]


def _where(name: str, sequence: int, number: int) -> str:
    return f"{name}^{sequence}^{number}"


def _timestamp(value: str, what: str, where: str) -> tuple[str, str]:
    """HL7 TS/DTM -> (DICOM date, DICOM time); the time zone offset is dropped."""
    match = _TIMESTAMP.fullmatch(value)
    if match:
        try:
            datetime.datetime.strptime(match.group(1), "%Y%m%d")
        except ValueError:
            match = None
    if not match:
        name, _sequence, number = where.split("^")
        raise OrderError(
            f"{name}-{number} ({what}) {value!r} is not an HL7 date/time (YYYYMMDD[HHMM[SS]])",
            ErrorCode.DATA_TYPE,
            where=where,
        )
    return match.group(1), match.group(2) or ""


def _birth_date(pid: Any) -> str:
    value = _get(pid, 7)
    if not value or _PARTIAL_DATE.fullmatch(value):
        return ""  # unknown, or known only to the year or month: DICOM DA cannot say that
    return _timestamp(value, "birth date", "PID^1^7")[0]


# -- mapping ---------------------------------------------------------------------------------
@dataclass
class _Request:
    """One OBR with the ORC and TQ1 of its order group and its IPCs (OMI) or ZDS (ORM)."""

    orc: Any
    orc_number: int
    tq1: Any
    tq1_number: int
    obr: Any
    obr_number: int
    ipcs: list[Any] = field(default_factory=list)
    zds: Any = None


def _groups(message: Any) -> tuple[dict[str, Any], list[_Request]]:
    """Walk the segments: patient segments once, then order groups in message order."""
    patient: dict[str, Any] = {"AL1": []}
    requests: list[_Request] = []
    orc: Any = None
    tq1: Any = None
    tq1_number = 0
    counts: dict[str, int] = {}
    orphan_orc: tuple[Any, int] | None = None
    for segment in message:
        name = str(segment[0]).strip().upper()
        counts[name] = counts.get(name, 0) + 1
        number = counts[name]
        if name in ("PID", "PV1") and name not in patient:
            patient[name] = segment
        elif name == "AL1":
            patient["AL1"].append(segment)
        elif name == "ORC":
            if orphan_orc is not None:
                raise OrderError(
                    f"ORC {orphan_orc[1]} has no OBR; every order needs its OBR",
                    ErrorCode.SEGMENT_SEQUENCE,
                    where=f"ORC^{orphan_orc[1]}",
                )
            orc, tq1 = segment, None
            orphan_orc = (segment, number)
        elif name == "TQ1" and orc is not None and tq1 is None:
            tq1, tq1_number = segment, number
        elif name == "OBR":
            if orc is None:
                raise OrderError(
                    f"OBR {number} comes before any ORC; each OBR follows its ORC",
                    ErrorCode.SEGMENT_SEQUENCE,
                    where=f"OBR^{number}",
                )
            requests.append(_Request(orc, counts["ORC"], tq1, tq1_number, segment, number))
            orphan_orc = None
        elif name == "IPC":
            if not requests:
                raise OrderError(
                    f"IPC {number} comes before any OBR; each IPC follows its OBR",
                    ErrorCode.SEGMENT_SEQUENCE,
                    where=f"IPC^{number}",
                )
            requests[-1].ipcs.append(segment)
        elif name == "ZDS" and requests:
            requests[-1].zds = segment
    if orphan_orc is not None:
        raise OrderError(
            f"ORC {orphan_orc[1]} has no OBR; every order needs its OBR",
            ErrorCode.SEGMENT_SEQUENCE,
            where=f"ORC^{orphan_orc[1]}",
        )
    if not requests:
        raise OrderError(
            "the message holds no order (no ORC followed by an OBR)",
            ErrorCode.SEGMENT_SEQUENCE,
        )
    return patient, requests


def _action(request: _Request) -> Action:
    control = _get(request.orc, 1).upper()
    where = _where("ORC", request.orc_number, 1)
    if control == "SC":
        return _STATUS_CHANGE.get(_get(request.orc, 5).upper(), Action.UPDATE)
    if not control:
        raise OrderError(
            f"ORC-1 (order control) of ORC {request.orc_number} is missing",
            ErrorCode.REQUIRED_FIELD_MISSING,
            where=where,
        )
    action = _CONTROL.get(control)
    if action is None:
        raise OrderError(
            f"ORC-1 order control {control!r} is not one Kiln acts on "
            "(NW, SN, XO, XX, SC, CA, OC, CR, DC, OD, DR)",
            ErrorCode.TABLE_VALUE,
            where=where,
        )
    return action


def _patient(patient: dict[str, Any]) -> Item:
    pid, pv1 = patient.get("PID"), patient.get("PV1")
    if pid is None:
        raise OrderError(
            "the message has no PID segment; a new or changed order needs its patient",
            ErrorCode.SEGMENT_SEQUENCE,
        )
    patient_id = _get(pid, 3)
    if not patient_id:
        raise OrderError(
            "PID-3 (patient ID) is missing",
            ErrorCode.REQUIRED_FIELD_MISSING,
            where="PID^1^3",
        )
    name = _xpn(pid, 5)
    if not name:
        raise OrderError(
            "PID-5 (patient name) is missing",
            ErrorCode.REQUIRED_FIELD_MISSING,
            where="PID^1^5",
        )
    others = [_get(pid, 3, repetition=r) for r in range(2, _repetitions(pid, 3) + 1)]
    address = [_get(pid, 11, c) for c in range(1, 7)]
    location = [_get(pv1, 3, c) for c in range(1, 4)]
    allergies = [_text(_get(al1, 3, 2) or _get(al1, 3)) for al1 in patient["AL1"]]
    return {
        "PatientID": patient_id,
        "IssuerOfPatientID": _get(pid, 3, 4, 1) or _get(pid, 3, 4, 2),
        "OtherPatientIDs": "\\".join(o for o in others if o),
        "PatientName": name,
        "PatientBirthDate": _birth_date(pid),
        "PatientSex": _SEX.get(_get(pid, 8).upper(), ""),
        "PatientAddress": _text(" ".join(a for a in address if a)),
        "CurrentPatientLocation": _text(" ".join(p for p in location if p)),
        "AdmissionID": _get(pv1, 19),
        "ReferringPhysicianName": _xcn(pv1, 8),
        "Allergies": "\\".join(a for a in allergies if a),
    }


def _start(request: _Request) -> tuple[str, str]:
    """SPS start: TQ1-7 (OMI), else ORC-7.4 or OBR-27.4 (quantity/timing), else OBR-36."""
    candidates = (
        (request.tq1, 7, 1, _where("TQ1", request.tq1_number, 7)),
        (request.orc, 7, 4, _where("ORC", request.orc_number, 7)),
        (request.obr, 27, 4, _where("OBR", request.obr_number, 27)),
        (request.obr, 36, 1, _where("OBR", request.obr_number, 36)),
    )
    for segment, number, component, where in candidates:
        value = _get(segment, number, component)
        if value:
            return _timestamp(value, "scheduled start", where)
    raise OrderError(
        f"OBR {request.obr_number} has no scheduled start date "
        "(TQ1-7, ORC-7.4, OBR-27.4 or OBR-36)",
        ErrorCode.REQUIRED_FIELD_MISSING,
        where=_where("OBR", request.obr_number, 27),
    )


def _priority(request: _Request) -> str:
    value = (_get(request.tq1, 9) or _get(request.orc, 7, 6) or _get(request.obr, 27, 6)).upper()
    return _PRIORITY.get(value[:1], "")


def _steps(request: _Request, start: tuple[str, str], description: str) -> list[Item]:
    """One Scheduled Procedure Step per IPC (OMI), or the one the OBR describes (ORM)."""
    obr = request.obr
    common = {
        "ScheduledProcedureStepStartDate": start[0],
        "ScheduledProcedureStepStartTime": start[1],
        "ScheduledPerformingPhysicianName": _cnn(obr, 34),
    }
    if not request.ipcs:
        protocol = _code(obr, 4, first=4)  # IHE: OBR-4 components 4-6 are the protocol code
        modality = _get(obr, 24).upper()
        if not modality:
            raise OrderError(
                f"OBR-24 (modality) of OBR {request.obr_number} is missing",
                ErrorCode.REQUIRED_FIELD_MISSING,
                where=_where("OBR", request.obr_number, 24),
            )
        return [
            {
                **common,
                "Modality": modality,
                "ScheduledProcedureStepID": _get(obr, 20),
                "ScheduledProcedureStepDescription": (
                    protocol["CodeMeaning"] if protocol else description
                ),
                "ScheduledProtocolCodeSequence": [protocol] if protocol else [],
            }
        ]
    steps = []
    for ipc in request.ipcs:
        modality = _get(ipc, 5).upper()
        if not modality:
            raise OrderError(
                f"IPC-5 (modality) of an IPC after OBR {request.obr_number} is missing",
                ErrorCode.REQUIRED_FIELD_MISSING,
                where=_where("OBR", request.obr_number, 24),
            )
        protocols = _codes(ipc, 6)
        titles = [_get(ipc, 9, repetition=r) for r in range(1, _repetitions(ipc, 9) + 1)]
        steps.append(
            {
                **common,
                "Modality": modality,
                "ScheduledProcedureStepID": _get(ipc, 4),
                "ScheduledStationName": _get(ipc, 7),
                "ScheduledProcedureStepLocation": _get(ipc, 8),
                "ScheduledStationAETitle": "\\".join(t for t in titles if t),
                "ScheduledProcedureStepDescription": (
                    _text(" / ".join(p["CodeMeaning"] for p in protocols))
                    if protocols
                    else description
                ),
                "ScheduledProtocolCodeSequence": protocols,
            }
        )
    return steps


def _request_items(request: _Request, patient: Item, placer: str, filler: str) -> list[Item]:
    orc, obr = request.orc, request.obr
    # IHE: OBR-44 is the requested procedure code; ORM senders without it use OBR-4.
    code = _code(obr, 44) or _code(obr, 4)
    description = _text(_get(obr, 44, 2) or _get(obr, 4, 2) or _get(obr, 4, 5))
    ipc = request.ipcs[0] if request.ipcs else None
    reason = _get(obr, 31, 2) or _get(obr, 31)
    base: Item = {
        **patient,
        "ReferringPhysicianName": patient["ReferringPhysicianName"] or _xcn(orc, 12),
        "RequestingPhysician": _xcn(obr, 16) or _xcn(orc, 12),
        "PlacerOrderNumberImagingServiceRequest": placer,
        "FillerOrderNumberImagingServiceRequest": filler,
        # IHE: IPC-1/2/3 in OMI; OBR-18/19 and ZDS-1 in ORM.
        "AccessionNumber": _get(ipc, 1) if ipc is not None else _get(obr, 18),
        "RequestedProcedureID": _get(ipc, 2) if ipc is not None else _get(obr, 19),
        "StudyInstanceUID": _get(ipc, 3) if ipc is not None else _get(request.zds, 1),
        "RequestedProcedureDescription": description,
        "RequestedProcedureCodeSequence": [code] if code else [],
        "RequestedProcedurePriority": _priority(request),
        "MedicalAlerts": _text(_get(obr, 13)),
        "PatientState": _text(_get(obr, 12, 2) or _get(obr, 12)),
        "PatientTransportArrangements": _text(_get(obr, 30)),
        "ReasonForTheRequestedProcedure": _text(reason),
    }
    items = []
    for step in _steps(request, _start(request), description):
        item = {k: v for k, v in base.items() if v not in ("", [])}
        item[SPS] = [{k: v for k, v in step.items() if v not in ("", [])}]
        items.append(item)
    return items


# Values that are one identifier: a backslash (from \\E\\) would make them several in DICOM.
_SINGLE = (
    "PatientID",
    "IssuerOfPatientID",
    "AccessionNumber",
    "RequestedProcedureID",
    "StudyInstanceUID",
    "AdmissionID",
    "PlacerOrderNumberImagingServiceRequest",
    "FillerOrderNumberImagingServiceRequest",
)
_SINGLE_STEP = ("Modality", "ScheduledProcedureStepID", "ScheduledStationName")


def _checked(item: Item, label: str, where: str) -> Item:
    """The item as the worklist will hold it; raises OrderError naming the attribute."""
    for source, names in ((item, _SINGLE), (item[SPS][0], _SINGLE_STEP)):
        for name in names:
            if "\\" in source.get(name, ""):
                raise OrderError(
                    f"{label}: {name} {source[name]!r} holds a backslash, "
                    "which DICOM does not allow there",
                    ErrorCode.DATA_TYPE,
                    where=where,
                )
    try:
        return normalise(item, generate=False)
    except ItemError as exc:
        raise OrderError(f"{label}: {exc}", ErrorCode.DATA_TYPE, where=where) from None


def _keys(placer: str, filler: str, set_id: str, step: int) -> tuple[str, ...]:
    """Stable keys: hl7:<placer or filler order number>:<OBR set ID>[:<IPC number>]."""
    suffix = set_id if step == 1 else f"{set_id}:{step}"
    return tuple(dict.fromkeys(f"hl7:{n}:{suffix}" for n in (placer, filler) if n))


def parse_orders(raw: bytes, header: Header, default_encoding: str) -> list[Order]:
    """The orders of one ORM^O01 or OMI^O23 message, checked; raises OrderError."""
    _check_header(header)
    message = _decode(raw, codec_of(header, default_encoding), header.charset)
    patient_segments, requests = _groups(message)
    patient: Item | None = None
    orders: list[Order] = []
    seen: dict[str, str] = {}
    for position, request in enumerate(requests, start=1):
        action = _action(request)
        placer = _get(request.orc, 2) or _get(request.obr, 2)
        filler = _get(request.orc, 3) or _get(request.obr, 3)
        if not placer and not filler:
            raise OrderError(
                f"OBR {request.obr_number} has no placer or filler order number "
                "(ORC-2, ORC-3, OBR-2 or OBR-3)",
                ErrorCode.REQUIRED_FIELD_MISSING,
                where=_where("ORC", request.orc_number, 2),
            )
        set_id = _get(request.obr, 1) or str(position)
        label = f"order {placer or filler} OBR {set_id}"
        where = f"ORC^{request.orc_number}"
        items: list[Item | None]
        if action in (Action.NEW, Action.UPDATE):
            if patient is None:
                patient = _patient(patient_segments)
            items = list(_request_items(request, patient, placer, filler))
        else:
            items = [None] * max(1, len(request.ipcs))
        for step, raw_item in enumerate(items, start=1):
            keys = _keys(placer, filler, set_id, step)
            step_label = label if len(items) == 1 else f"{label} step {step}"
            if keys[0] in seen:
                raise OrderError(
                    f"{step_label} appears twice in the message (also as {seen[keys[0]]})",
                    ErrorCode.DUPLICATE_KEY,
                    where=_where("OBR", request.obr_number, 1),
                )
            seen[keys[0]] = step_label
            item = None if raw_item is None else _checked(raw_item, step_label, where)
            orders.append(Order(action, keys, step_label, where, item))
    return orders


# -- answering -------------------------------------------------------------------------------
def _escape(value: str) -> str:
    """Our text in a field with the standard separators |^~\\&."""
    value = " ".join(value.split())
    value = value.replace("\\", "\\E\\")
    for char, code in (("|", "F"), ("^", "S"), ("~", "R"), ("&", "T")):
        value = value.replace(char, f"\\{code}\\")
    return value


def _modern(version: str) -> bool:
    """v2.5 and later report errors in ERR-2/3/4/8; earlier versions in ERR-1."""
    match = _VERSION.fullmatch(version)
    return match is None or int(match.group(1)) >= 5


def acknowledge(
    header: Header | None,
    code: AckCode,
    error: OrderError | None = None,
    *,
    default_encoding: str = "latin-1",
    now: datetime.datetime | None = None,
) -> bytes:
    """An original-mode ACK: MSA-1 `code`, MSA-2 the message's MSH-10, and why in MSA-3/ERR."""
    header = header or Header()
    stamp = (now or datetime.datetime.now()).strftime("%Y%m%d%H%M%S")
    version = header.version if _VERSION.fullmatch(header.version) else "2.5"
    trigger = header.trigger
    message_type = f"ACK^{_escape(trigger)}^ACK" if trigger else "ACK"
    try:
        codec = codec_of(header, default_encoding)
        charset = header.charset
    except OrderError:
        codec, charset = "ascii", ""  # a set we cannot write: answer in plain ASCII
    msh = [
        "MSH",
        "^~\\&",
        _escape(header.receiving_application or "KILN"),
        _escape(header.receiving_facility),
        _escape(header.sending_application),
        _escape(header.sending_facility),
        stamp,
        "",
        message_type,
        uuid.uuid4().hex[:20].upper(),
        _escape(header.processing_id or "P"),
        version,
        "",
        "",
        "",
        "",
        "",
        _escape(charset),
    ]
    segments = ["|".join(msh).rstrip("|"), f"MSA|{code}|{_escape(header.control_id)}"]
    if error is not None:
        reason = _escape(str(error))
        segments[1] += f"|{reason}"
        where = error.where.split("^") if error.where else []
        location = "^".join(_escape(w) for w in where)
        condition = f"{int(error.code)}^{_ERROR_TEXT[error.code]}^HL70357"
        if _modern(version):
            segments.append(f"ERR||{location}|{condition}|E||||{reason}")
        else:
            # ERR-1: segment^sequence^field^condition (the condition's parts split by &).
            padded = "^".join([_escape(w) for w in where] + [""] * (3 - len(where)))
            segments.append(f"ERR|{padded}^{condition.replace('^', '&')}")
    return ("\r".join(segments) + "\r").encode(codec, errors="replace")
