"""HL7 v2 orders to worklist items: field mapping, actions, escapes, character sets, bad input,
and the ACK/NAK bytes."""

from __future__ import annotations

import hl7  # type: ignore[import-untyped]
import pytest

from appliance.worklist.hl7_orders import (
    AckCode,
    Action,
    ErrorCode,
    Header,
    Order,
    OrderError,
    acknowledge,
    parse_orders,
    read_header,
)

PID = (
    "PID|1||PAT001^^^HOSP&1.2.3.4&ISO~ALT9^^^OTHER||Müller^Hans^Peter^Jr^Dr||19700215|M|||"
    "Main St 1^^Springfield^IL^62701^USA"
)
PV1 = "PV1|1|O|RAD^101^A|||||REF1^Referring^Rita^^^Dr|||||||||||VISIT7"
ORC_NW = "ORC|NW|PLC100|FIL200||SC||^^^20240305093000^^R|||||ORD1^Ordering^Otto"
OBR = (
    "OBR|1|PLC100|FIL200|CTHEAD^CT Head^L^P1^Head protocol^L|||||||||Contrast allergy|||"
    "REQ1^Requesting^Ron||ACC001|RP001|SPS001||||CT|||^^^20240305093000^^S|||"
    "WHEELCHAIR|^Headache|||TECH1&Tech&Tom"
)
ZDS = "ZDS|1.2.826.0.1.3680043.2.1125.1.1^RIS^Application^DICOM"


def message(
    *segments: str,
    kind: str = "ORM^O01",
    version: str = "2.3.1",
    charset: str = "",
    control_id: str = "MSG0001",
) -> str:
    msh = f"MSH|^~\\&|RIS|HOSP|KILN|RAD|20240301120000||{kind}|{control_id}|P|{version}"
    if charset:
        msh += f"||||||{charset}"
    return "\r".join((msh, *segments)) + "\r"


def parse(text: str | bytes, default_encoding: str = "latin-1") -> list[Order]:
    raw = text.encode("latin-1") if isinstance(text, str) else text
    return parse_orders(raw, read_header(raw), default_encoding)


def refused(text: str | bytes, default_encoding: str = "latin-1") -> OrderError:
    with pytest.raises(OrderError) as caught:
        parse(text, default_encoding)
    return caught.value


def omi(*orders: str) -> str:
    return message(PID, PV1, *orders, kind="OMI^O23^OMI_O23", version="2.5.1")


# -- mapping ---------------------------------------------------------------------------------
def test_orm_new_order_maps_patient_visit_order_and_step() -> None:
    (order,) = parse(message(PID, PV1, ORC_NW, OBR, ZDS))
    assert order.action is Action.NEW
    assert order.keys == ("hl7:PLC100:1", "hl7:FIL200:1")
    assert order.label == "order PLC100 OBR 1"
    item = order.item
    assert item is not None
    step = item.pop("ScheduledProcedureStepSequence")
    assert item == {
        "PatientID": "PAT001",
        "IssuerOfPatientID": "HOSP",
        "OtherPatientIDs": "ALT9",
        "PatientName": "Müller^Hans^Peter^Dr^Jr",
        "PatientBirthDate": "19700215",
        "PatientSex": "M",
        "PatientAddress": "Main St 1 Springfield IL 62701 USA",
        "CurrentPatientLocation": "RAD 101 A",
        "AdmissionID": "VISIT7",
        "ReferringPhysicianName": "Referring^Rita^^Dr",
        "RequestingPhysician": "Requesting^Ron",
        "PlacerOrderNumberImagingServiceRequest": "PLC100",
        "FillerOrderNumberImagingServiceRequest": "FIL200",
        "AccessionNumber": "ACC001",
        "RequestedProcedureID": "RP001",
        "StudyInstanceUID": "1.2.826.0.1.3680043.2.1125.1.1",
        "RequestedProcedureDescription": "CT Head",
        "RequestedProcedureCodeSequence": [
            {"CodeValue": "CTHEAD", "CodingSchemeDesignator": "L", "CodeMeaning": "CT Head"}
        ],
        "RequestedProcedurePriority": "ROUTINE",
        "MedicalAlerts": "Contrast allergy",
        "PatientTransportArrangements": "WHEELCHAIR",
        "ReasonForTheRequestedProcedure": "Headache",
    }
    assert step == [
        {
            "Modality": "CT",
            "ScheduledProcedureStepStartDate": "20240305",
            "ScheduledProcedureStepStartTime": "093000",
            "ScheduledProcedureStepID": "SPS001",
            "ScheduledProcedureStepDescription": "Head protocol",
            "ScheduledProtocolCodeSequence": [
                {"CodeValue": "P1", "CodingSchemeDesignator": "L", "CodeMeaning": "Head protocol"}
            ],
            "ScheduledPerformingPhysicianName": "Tech^Tom",
            "ScheduledProcedureStepStatus": "SCHEDULED",
        }
    ]


def test_fallbacks_ordering_provider_obr44_obr36_and_no_study_uid() -> None:
    pv1 = "PV1|1|O"
    orc = "ORC|NW|PLC7||||||||||ORD1^Ordering^Otto^^^Dr"
    obr = "OBR|1|PLC7||X^Ordered^L||||||||||||||ACC7||||||MR" + "|" * 12 + "202403051415"
    obr += "|" * 8 + "MRKNEE^MR Knee left^LN"
    (order,) = parse(message(PID, pv1, orc, obr))
    item = order.item
    assert item is not None
    assert item["ReferringPhysicianName"] == "Ordering^Otto^^Dr"
    assert item["RequestingPhysician"] == "Ordering^Otto^^Dr"
    assert item["RequestedProcedureCodeSequence"] == [
        {"CodeValue": "MRKNEE", "CodingSchemeDesignator": "LN", "CodeMeaning": "MR Knee left"}
    ]
    step = item["ScheduledProcedureStepSequence"][0]
    assert (step["ScheduledProcedureStepStartDate"], step["ScheduledProcedureStepStartTime"]) == (
        "20240305",
        "1415",
    )
    assert step["ScheduledProcedureStepDescription"] == "MR Knee left"
    assert "StudyInstanceUID" not in item  # the store generates one
    assert order.keys == ("hl7:PLC7:1",)


def test_omi_ipc_gives_one_item_per_step_with_ids_station_and_protocols() -> None:
    orc = "ORC|NW|PLC9|FIL9"
    tq1 = "TQ1|1||||||20240306080000|20240306090000|S"
    obr = "OBR|1|PLC9|FIL9|USABD^US Abdomen^L||||||||||||REQ^Req^Rob||ACCX||||||XX"
    ipc1 = "IPC|ACC9|RP9|1.2.3.9|SPS9A|US|PA1^Liver^L~PA2^Kidney^L|ROOM_US1|US-2|US_ONE~US_TWO"
    ipc2 = "IPC|ACC9|RP9|1.2.3.9|SPS9B|CT|PC1^Abdomen CT^L"
    first, second = parse(omi(orc, tq1, obr, ipc1, ipc2))
    assert (first.keys, second.keys) == (
        ("hl7:PLC9:1", "hl7:FIL9:1"),
        ("hl7:PLC9:1:2", "hl7:FIL9:1:2"),
    )
    assert first.label == "order PLC9 OBR 1 step 1"
    assert first.item is not None and second.item is not None
    for item in (first.item, second.item):
        assert item["AccessionNumber"] == "ACC9"  # IPC-1 wins over OBR-18
        assert item["RequestedProcedureID"] == "RP9"
        assert item["StudyInstanceUID"] == "1.2.3.9"
        assert item["RequestedProcedurePriority"] == "STAT"
    one = first.item["ScheduledProcedureStepSequence"][0]
    two = second.item["ScheduledProcedureStepSequence"][0]
    assert one["Modality"] == "US" and two["Modality"] == "CT"  # IPC-5 wins over OBR-24
    assert one["ScheduledProcedureStepID"] == "SPS9A"
    assert one["ScheduledStationAETitle"] == "US_ONE\\US_TWO"
    assert one["ScheduledStationName"] == "ROOM_US1"
    assert one["ScheduledProcedureStepLocation"] == "US-2"
    assert one["ScheduledProcedureStepDescription"] == "Liver / Kidney"
    assert [c["CodeValue"] for c in one["ScheduledProtocolCodeSequence"]] == ["PA1", "PA2"]
    assert (one["ScheduledProcedureStepStartDate"], one["ScheduledProcedureStepStartTime"]) == (
        "20240306",
        "080000",
    )
    assert two["ScheduledProcedureStepDescription"] == "Abdomen CT"


def test_two_order_groups_give_two_items_with_their_own_keys() -> None:
    obr2 = OBR.replace("OBR|1|", "OBR|2|").replace("ACC001|RP001|SPS001", "ACC002|RP002|SPS002")
    orders = parse(message(PID, PV1, ORC_NW, OBR, ORC_NW, obr2))
    assert [o.keys[0] for o in orders] == ["hl7:PLC100:1", "hl7:PLC100:2"]
    assert [o.item["AccessionNumber"] for o in orders if o.item] == ["ACC001", "ACC002"]


@pytest.mark.parametrize(
    ("sex", "expected"), [("M", "M"), ("f", "F"), ("O", "O"), ("U", None), ("X", None)]
)
def test_sex_is_m_f_o_or_left_out(sex: str, expected: str | None) -> None:
    pid = PID.replace("|19700215|M|", f"|19700215|{sex}|")
    (order,) = parse(message(pid, ORC_NW, OBR))
    assert order.item is not None and order.item.get("PatientSex") == expected


@pytest.mark.parametrize(
    ("birth", "expected"),
    [("19700215", "19700215"), ("197002151230+0100", "19700215"), ("1970", None), ('""', None)],
)
def test_birth_date_takes_the_day_or_nothing(birth: str, expected: str | None) -> None:
    pid = PID.replace("|19700215|", f"|{birth}|")
    (order,) = parse(message(pid, ORC_NW, OBR))
    assert order.item is not None and order.item.get("PatientBirthDate") == expected


def test_long_description_is_cut_and_lf_line_ends_are_read() -> None:
    obr = OBR.replace("^CT Head^L^", "^" + "Very long description " * 5 + "^L^")
    text = message(PID, ORC_NW, obr).replace("\r", "\n")
    (order,) = parse(text)
    assert order.item is not None
    assert len(order.item["RequestedProcedureDescription"]) <= 64
    assert order.item["RequestedProcedureDescription"].startswith("Very long description")


# -- actions ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("control", "status", "action"),
    [
        ("NW", "", Action.NEW),
        ("SN", "", Action.NEW),
        ("XO", "SC", Action.UPDATE),
        ("XX", "", Action.UPDATE),
        ("SC", "SC", Action.UPDATE),
        ("CA", "CA", Action.CANCEL),
        ("OC", "CA", Action.CANCEL),
        ("DC", "", Action.CANCEL),
        ("SC", "CA", Action.CANCEL),
        ("SC", "IP", Action.START),
        ("SC", "CM", Action.COMPLETE),
    ],
)
def test_order_control_and_status_give_the_action(
    control: str, status: str, action: Action
) -> None:
    orc = f"ORC|{control}|PLC100|FIL200||{status}||^^^20240305093000^^R"
    (order,) = parse(message(PID, PV1, orc, OBR))
    assert order.action is action
    assert (order.item is not None) == (action in (Action.NEW, Action.UPDATE))
    assert order.keys[0] == "hl7:PLC100:1"


def test_cancel_needs_only_the_order_numbers() -> None:
    (order,) = parse(message("ORC|CA|PLC100", "OBR|1|PLC100"))
    assert (order.action, order.keys, order.item) == (Action.CANCEL, ("hl7:PLC100:1",), None)


def test_filler_number_alone_keys_the_order() -> None:
    (order,) = parse(message("ORC|CA||FIL200", "OBR|2"))
    assert order.keys == ("hl7:FIL200:2",)


# -- escapes and character sets ----------------------------------------------------------------
def test_escapes_are_undone_and_dicom_separators_kept_out() -> None:
    pid = PID.replace("Müller^", "O\\T\\Brien\\S\\X^")
    obr = OBR.replace("^CT Head^", "^Head \\F\\ Neck \\R\\ \\E\\ spine \\T\\ more^")
    obr = obr.replace("Contrast allergy", "Iodine\\E\\Latex")
    (order,) = parse(message(pid, ORC_NW, obr))
    item = order.item
    assert item is not None
    assert item["PatientName"] == "O&Brien X^Hans^Peter^Dr^Jr"  # ^ from \S\ cannot split a PN
    assert item["RequestedProcedureDescription"] == "Head | Neck ~ / spine & more"
    assert item["MedicalAlerts"] == "Iodine/Latex"  # a backslash would make two values


def test_backslash_in_an_identifier_is_refused() -> None:
    error = refused(message(PID.replace("PAT001", "PAT\\E\\001"), ORC_NW, OBR))
    assert error.ack is AckCode.ERROR and error.code is ErrorCode.DATA_TYPE
    assert "PatientID 'PAT\\\\001' holds a backslash" in str(error)


@pytest.mark.parametrize(
    ("charset", "codec", "name"),
    [
        ("8859/1", "latin-1", "Müller"),
        ("UNICODE UTF-8", "utf-8", "Müller"),
        ("8859/7", "iso8859-7", "Παπαδόπουλος"),
        ("8859/5", "iso8859-5", "Иванов"),
        ("ASCII", "ascii", "Muller"),
    ],
)
def test_msh18_names_the_character_set(charset: str, codec: str, name: str) -> None:
    text = message(PID.replace("Müller", name), ORC_NW, OBR, charset=charset)
    (order,) = parse(text.encode(codec), default_encoding="ascii")
    assert order.item is not None and order.item["PatientName"].startswith(f"{name}^Hans")


@pytest.mark.parametrize("default", ["latin-1", "utf-8"])
def test_without_msh18_the_default_encoding_applies(default: str) -> None:
    raw = message(PID, ORC_NW, OBR).encode(default)
    (order,) = parse(raw, default_encoding=default)
    assert order.item is not None and order.item["PatientName"].startswith("Müller^")


def test_bytes_that_do_not_fit_the_character_set_are_rejected() -> None:
    raw = message(PID, ORC_NW, OBR, charset="UNICODE UTF-8").encode("latin-1")
    error = refused(raw)
    assert error.ack is AckCode.REJECT
    assert "byte 0xFC" in str(error) and "UNICODE UTF-8" in str(error)
    ascii_error = refused(message(PID, ORC_NW, OBR, charset="ASCII"))
    assert ascii_error.ack is AckCode.REJECT and "ASCII" in str(ascii_error)


def test_unknown_character_set_is_rejected() -> None:
    error = refused(message(PID, ORC_NW, OBR, charset="EBCDIC"))
    assert (error.ack, error.code, error.where) == (
        AckCode.REJECT,
        ErrorCode.TABLE_VALUE,
        "MSH^1^18",
    )


# -- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "ack", "code", "words"),
    [
        ("hello world", AckCode.REJECT, ErrorCode.SEGMENT_SEQUENCE, "does not begin with an MSH"),
        (
            message(PID, kind="ADT^A01"),
            AckCode.REJECT,
            ErrorCode.UNSUPPORTED_MESSAGE_TYPE,
            "ADT^A01 is not accepted",
        ),
        (
            message(PID, ORC_NW, OBR, kind="ORM^O02"),
            AckCode.REJECT,
            ErrorCode.UNSUPPORTED_EVENT,
            "event O02",
        ),
        (
            message(PID, ORC_NW, OBR, control_id=""),
            AckCode.REJECT,
            ErrorCode.REQUIRED_FIELD_MISSING,
            "MSH-10",
        ),
        (
            message(PID, ORC_NW, OBR, version="2.2"),
            AckCode.REJECT,
            ErrorCode.UNSUPPORTED_VERSION,
            "version 2.2",
        ),
        (message(ORC_NW, OBR), AckCode.ERROR, ErrorCode.SEGMENT_SEQUENCE, "no PID segment"),
        (message(PID), AckCode.ERROR, ErrorCode.SEGMENT_SEQUENCE, "holds no order"),
        (message(PID, OBR, ORC_NW), AckCode.ERROR, ErrorCode.SEGMENT_SEQUENCE, "before any ORC"),
        (message(PID, ORC_NW), AckCode.ERROR, ErrorCode.SEGMENT_SEQUENCE, "ORC 1 has no OBR"),
        (
            message(PID, ORC_NW.replace("NW", "ZZ", 1), OBR),
            AckCode.ERROR,
            ErrorCode.TABLE_VALUE,
            "order control 'ZZ'",
        ),
        (
            message(PID, "ORC||PLC1", OBR),
            AckCode.ERROR,
            ErrorCode.REQUIRED_FIELD_MISSING,
            "ORC-1",
        ),
        (
            message(PID.replace("PAT001^^^HOSP&1.2.3.4&ISO~ALT9^^^OTHER", ""), ORC_NW, OBR),
            AckCode.ERROR,
            ErrorCode.REQUIRED_FIELD_MISSING,
            "PID-3 (patient ID) is missing",
        ),
        (
            message(PID.replace("Müller^Hans^Peter^Jr^Dr", ""), ORC_NW, OBR),
            AckCode.ERROR,
            ErrorCode.REQUIRED_FIELD_MISSING,
            "PID-5 (patient name) is missing",
        ),
        (
            message(PID.replace("19700215", "19701302"), ORC_NW, OBR),
            AckCode.ERROR,
            ErrorCode.DATA_TYPE,
            "PID-7 (birth date) '19701302'",
        ),
        (
            message(PID, "ORC|NW|PLC1", "OBR|1|PLC1||X^Y||||||||||||||||||CT"),
            AckCode.ERROR,
            ErrorCode.REQUIRED_FIELD_MISSING,
            "no scheduled start date",
        ),
        (
            message(
                PID, ORC_NW.replace("20240305093000", "2024-03-05"), OBR.replace("^^^2024", "^^^")
            ),
            AckCode.ERROR,
            ErrorCode.DATA_TYPE,
            "ORC-7 (scheduled start) '2024-03-05'",
        ),
        (
            message(PID, ORC_NW, OBR.replace("|CT|", "||")),
            AckCode.ERROR,
            ErrorCode.REQUIRED_FIELD_MISSING,
            "OBR-24 (modality)",
        ),
        (
            message(PID, "ORC|NW", "OBR|1||||||||||||||||||||||CT|||^^^20240305"),
            AckCode.ERROR,
            ErrorCode.REQUIRED_FIELD_MISSING,
            "no placer or filler order number",
        ),
        (
            message(PID, ORC_NW, OBR, ORC_NW, OBR),
            AckCode.ERROR,
            ErrorCode.DUPLICATE_KEY,
            "appears twice",
        ),
        (
            message(PID, ORC_NW, OBR.replace("ACC001", "ACCESSION-TOO-LONG-17")),
            AckCode.ERROR,
            ErrorCode.DATA_TYPE,
            "AccessionNumber: SH values are at most 16 characters",
        ),
        (
            message(PID, ORC_NW, OBR.replace("|CT|", "|C-T|")),
            AckCode.ERROR,
            ErrorCode.DATA_TYPE,
            "Modality",
        ),
        (
            message(PID, ORC_NW, OBR, "ZDS|1.2.abc"),
            AckCode.ERROR,
            ErrorCode.DATA_TYPE,
            "StudyInstanceUID",
        ),
    ],
)
def test_bad_messages_raise_a_typed_error_with_a_sentence(
    text: str, ack: AckCode, code: ErrorCode, words: str
) -> None:
    error = refused(text)
    assert (error.ack, error.code) == (ack, code)
    assert words in str(error)


def test_ipc_without_modality_and_ipc_before_obr_are_errors() -> None:
    no_modality = refused(omi("ORC|NW|P1", "TQ1|1||||||20240306", "OBR|1|P1", "IPC|A|R|1.2.3|S|"))
    assert no_modality.code is ErrorCode.REQUIRED_FIELD_MISSING and "IPC-5" in str(no_modality)
    early = refused(omi("ORC|NW|P1", "IPC|A|R|1.2.3|S|CT", "OBR|1|P1"))
    assert early.code is ErrorCode.SEGMENT_SEQUENCE and "IPC 1 comes before" in str(early)


# -- acknowledgements ----------------------------------------------------------------------------
def test_ack_accept_echoes_control_id_type_version_and_charset() -> None:
    raw = message(PID, ORC_NW, OBR, charset="8859/1").encode("latin-1")
    ack = hl7.parse(acknowledge(read_header(raw), AckCode.ACCEPT).decode("latin-1"))
    msh, msa = ack.segment("MSH"), ack.segment("MSA")
    assert str(msh(9)) == "ACK^O01^ACK"
    assert (str(msh(3)), str(msh(5)), str(msh(12)), str(msh(18))) == (
        "KILN",
        "RIS",
        "2.3.1",
        "8859/1",
    )
    assert str(msh(10)) and str(msh(10)) != "MSG0001"
    assert (str(msa(1)), str(msa(2))) == ("AA", "MSG0001")
    assert len(ack) == 2  # no ERR on success


def test_nak_v25_carries_reason_in_msa3_and_err_fields() -> None:
    header = read_header(omi("ORC|NW|P1").encode())
    error = OrderError(
        "order P1 OBR 1 is not in the worklist | gone", ErrorCode.UNKNOWN_KEY, where="ORC^1"
    )
    ack = hl7.parse(acknowledge(header, AckCode.ERROR, error).decode("latin-1"))
    assert str(ack.segment("MSH")(9)) == "ACK^O23^ACK"
    msa, err = ack.segment("MSA"), ack.segment("ERR")
    assert ack.unescape(str(msa(3))) == "order P1 OBR 1 is not in the worklist | gone"
    assert str(err(2)) == "ORC^1"
    assert str(err(3)) == "204^Unknown key identifier^HL70357"
    assert str(err(4)) == "E"
    assert ack.unescape(str(err(8))).endswith("| gone")


def test_nak_v23_puts_location_and_code_in_err1() -> None:
    header = read_header(message(PID).encode())
    error = OrderError(
        "OBR-24 (modality) is missing", ErrorCode.REQUIRED_FIELD_MISSING, where="OBR^1^24"
    )
    ack = acknowledge(header, AckCode.ERROR, error).decode()
    assert "\rMSA|AE|MSG0001|OBR-24 (modality) is missing\r" in ack
    assert ack.endswith("\rERR|OBR^1^24^101&Required field missing&HL70357\r")


def test_nak_without_any_header_still_answers() -> None:
    error = OrderError("the message does not begin with an MSH segment", ErrorCode.SEGMENT_SEQUENCE)
    ack = acknowledge(None, AckCode.REJECT, error).decode()
    assert ack.startswith("MSH|^~\\&|KILN|")
    assert "|ACK|" in ack and "\rMSA|AR||the message does not begin" in ack


def test_header_reads_even_from_an_unusable_body() -> None:
    header = read_header(
        b"MSH|^~\\&|LAB|FAC|KILN||2024||ORM^O01^ORM_O01|42|T|2.4||||||UNICODE UTF-8\r\xff\xfe"
    )
    assert header == Header(
        control_id="42",
        message_code="ORM",
        trigger="O01",
        version="2.4",
        charset="UNICODE UTF-8",
        processing_id="T",
        sending_application="LAB",
        sending_facility="FAC",
        receiving_application="KILN",
        receiving_facility="",
    )
