"""Modality Worklist C-FIND against DCMTK findscu (the third-party SCU).

The worklist is loaded with the box's own CLI (`appliance worklist import`); every query
goes over the network from findscu, and its extracted responses are read back.
"""

from __future__ import annotations

import json
import signal
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from tests.conftest import Box, free_port, write_config
from tests.dcmtk import IMPLICIT_LE, RawAssociation, _ui, _us, command_set
from tests.worklist_peer import findscu

DAY = "20261202"
SPS = "ScheduledProcedureStepSequence"


def _item(
    pid: str, name: str, modality: str, station: str, date: str, time: str, **extra: object
) -> dict[str, object]:
    step: dict[str, object] = {
        "Modality": modality,
        "ScheduledStationAETitle": station,
        "ScheduledProcedureStepStartDate": date,
        "ScheduledProcedureStepStartTime": time,
        "ScheduledProcedureStepDescription": f"{modality} exam",
        "ScheduledProcedureStepID": f"SPS-{pid}",
    }
    step.update({k: v for k, v in extra.items() if k.startswith("Scheduled")})
    item: dict[str, object] = {
        "PatientID": pid,
        "PatientName": name,
        "PatientBirthDate": "19800101",
        "PatientSex": "F",
        "AccessionNumber": f"ACC-{pid}",
        "RequestedProcedureID": f"RP-{pid}",
        "RequestedProcedureDescription": f"{modality} procedure",
        "RequestedProcedureCodeSequence": [
            {"CodeValue": f"{modality}01", "CodingSchemeDesignator": "LOCAL", "CodeMeaning": "x"}
        ],
        SPS: [step],
    }
    item.update({k: v for k, v in extra.items() if not k.startswith("Scheduled")})
    return item


ITEMS = [
    _item("P001", "SMITH^ANNA", "MR", "MR1", DAY, "080000"),
    _item("P002", "Smithers^Bob", "MR", "MR2", DAY, "103000"),
    _item("P003", "JONES^CARL", "CT", "CT1", DAY, "120000"),
    _item("P004", "MÜLLER^JÖRG", "MR", "MR1", "20261203", "070000"),
    _item("P005", "Иванов^Иван", "MR", "MR1", "20261201", "220000"),
    _item(
        "P006", "DONE^DORA", "MR", "MR1", DAY, "090000", ScheduledProcedureStepStatus="COMPLETED"
    ),
    _item("P007", "LATE^LARA", "US", "US1", "20261130", "235900"),
    _item("P008", "山田^太郎", "CT", "CT2", "20261205", "080000"),
    _item("P009", "王^小明", "CT", "CT2", "20261205", "090000"),
]


@pytest.fixture(scope="module")
def wl_box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    root = tmp_path_factory.mktemp("worklist")
    port, web_port = free_port(), free_port()
    overrides = {
        "worklist": {"hit_limit": 50, "answer_charset_by_calling_ae": {"UTF8SCU": "ISO_IR 192"}}
    }
    box = Box(root, port, web_port, write_config(root, port, web_port, overrides))
    box.start()
    items = root / "items.json"
    items.write_text(json.dumps(ITEMS, ensure_ascii=False))
    result = box.run_cli("worklist", "import", str(items))
    assert "Imported 9" in result.stdout
    yield box
    box.stop(signal.SIGTERM)


def _ids(result_responses: list[Dataset]) -> list[str]:
    return [str(d.PatientID) for d in result_responses]


BROAD = [  # syngo MR table 34: the broad query with its optional keys
    f"{SPS}[0].Modality=MR",
    f"{SPS}[0].ScheduledStationAETitle=",
    f"{SPS}[0].ScheduledProcedureStepStartDate={DAY}",
    f"{SPS}[0].ScheduledProcedureStepStartTime",
    f"{SPS}[0].ScheduledProcedureStepDescription",
    f"{SPS}[0].ScheduledStationName",
    f"{SPS}[0].ScheduledProcedureStepLocation",
    f"{SPS}[0].ScheduledProcedureStepStatus",
    f"{SPS}[0].ScheduledPerformingPhysicianName",
    f"{SPS}[0].ScheduledProtocolCodeSequence[0].CodeValue",
    "RequestedProcedureDescription",
    "RequestedProcedurePriority",
    "PatientTransportArrangements",
    "RequestedProcedureComments",
    "RequestedProcedureCodeSequence[0].CodeValue",
    "RequestingPhysician",
    "ReferringPhysicianName",
    "CurrentPatientLocation",
    "PregnancyStatus",
    "MedicalAlerts",
    "Allergies",
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "AccessionNumber",
    "StudyInstanceUID",
    "RequestedProcedureID",
]


def test_syngo_broad_query_returns_the_days_mr_steps_with_every_requested_key(wl_box: Box) -> None:
    result = findscu(wl_box.port, BROAD)
    assert result.statuses == [0xFF00, 0xFF00, 0x0000]
    assert _ids(result.responses) == ["P001", "P002"]  # start order; CT and COMPLETED left out
    first = result.responses[0]
    # Requested keys with no value come back, empty.
    for keyword in ("RequestingPhysician", "CurrentPatientLocation", "MedicalAlerts", "Allergies"):
        assert keyword in first and first[keyword].value in ("", None)
    assert first.SpecificCharacterSet == "ISO_IR 100"
    step = first[SPS][0]
    assert step.Modality == "MR" and step.ScheduledStationAETitle == "MR1"
    assert step.ScheduledProcedureStepStartTime == "080000"
    assert "ScheduledStationName" in step and not step.ScheduledStationName
    assert first.RequestedProcedureCodeSequence[0].CodeValue == "MR01"
    # Only what was asked: no key beyond the query's.
    assert (
        "IssuerOfPatientID" not in first
        and "CodingSchemeDesignator" not in (first.RequestedProcedureCodeSequence[0])
    )


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (["PatientID=P003"], ["P003"]),
        (["PatientName=smi*"], ["P001", "P002"]),  # case-insensitive by default
        (["PatientName=SMITH^ANNA"], ["P001"]),
        (["PatientName=?ONES*"], ["P003"]),
        (["SpecificCharacterSet=ISO_IR 192", "PatientName=müller*"], ["P004"]),
        ([f"{SPS}[0].ScheduledStationAETitle=MR2\\CT1"], ["P002", "P003"]),  # list of values
        ([f"{SPS}[0].ScheduledProcedureStepStartDate=-20261201"], ["P007", "P005"]),
        ([f"{SPS}[0].ScheduledProcedureStepStartDate=20261203-"], ["P004", "P008", "P009"]),
        (
            [
                f"{SPS}[0].ScheduledProcedureStepStartDate={DAY}",
                f"{SPS}[0].ScheduledProcedureStepStartTime=1000-1300",
            ],
            ["P002", "P003"],
        ),
        (  # date and time ranges together: from 1 Dec 21:00 to 3 Dec 08:00 (C.2.2.2.5)
            [
                f"{SPS}[0].ScheduledProcedureStepStartDate=20261201-20261203",
                f"{SPS}[0].ScheduledProcedureStepStartTime=2100-0800",
            ],
            ["P005", "P001", "P002", "P003", "P004"],
        ),
        (  # sequence matching
            ["RequestedProcedureCodeSequence[0].CodeValue=CT01", "PatientID=P00?"],
            ["P003", "P008", "P009"],
        ),
        (["AccessionNumber=ACC-P00?", f"{SPS}[0].Modality=US"], ["P007"]),
        (["PatientID=NOBODY"], []),
        ([f"{SPS}[0].ScheduledProcedureStepStatus=COMPLETED"], ["P006"]),  # finished on request
    ],
)
def test_matching(wl_box: Box, keys: list[str], expected: list[str]) -> None:
    asked = keys if any(k.startswith("PatientID") for k in keys) else [*keys, "PatientID"]
    result = findscu(wl_box.port, asked)
    assert result.final == 0x0000
    assert sorted(_ids(result.responses)) == sorted(expected)
    assert all(s == 0xFF00 for s in result.statuses[:-1])


def test_unsupported_matching_key_gives_pending_warning(wl_box: Box) -> None:
    result = findscu(wl_box.port, ["PatientID=P001", "(0010,2180)=PILOT"])  # Occupation
    assert result.statuses == [0xFF01, 0x0000]
    assert _ids(result.responses) == ["P001"]
    assert "Occupation" in result.responses[0]  # returned, empty
    assert not result.responses[0].Occupation


def test_universal_sequence_match_returns_whole_items(wl_box: Box) -> None:
    result = findscu(wl_box.port, ["PatientID=P001", f"{SPS}"])
    step = result.responses[0][SPS][0]
    assert step.ScheduledProcedureStepID == "SPS-P001"
    assert step.ScheduledProcedureStepDescription == "MR exam"
    assert step.ScheduledProcedureStepStatus == "SCHEDULED"


def test_cancel_stops_the_answers(box_factory: Callable[..., Box], tmp_path: Path) -> None:
    """findscu cancels after one response; 2,000 matches outlast the socket buffers."""
    box = box_factory({"worklist": {"hit_limit": 5000}})
    many = [_item(f"C{n:05d}", f"CANCEL^{n}", "MR", "MR1", DAY, "080000") for n in range(2000)]
    items = tmp_path / "many.json"
    items.write_text(json.dumps(many))
    box.run_cli("worklist", "import", str(items))
    result = findscu(box.port, ["PatientID", "PatientName", BROAD[2]], extra=("--cancel", "1"))
    assert result.final == 0xFE00
    assert all(s == 0xFF00 for s in result.statuses[:-1])
    assert 1 <= len(result.responses) < 2000
    assert "cancelled by the peer" in box.log()


def _query_file(path: Path, charset: str, name: bytes | str) -> Path:
    query = Dataset()
    query.SpecificCharacterSet = charset
    query.PatientName = name
    query.PatientID = ""
    query.file_meta = FileMetaDataset()
    query.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    query.save_as(path, enforce_file_format=False, implicit_vr=False, little_endian=True)
    return path


@pytest.mark.parametrize(
    ("charset", "name", "expected"),
    [
        ("ISO_IR 144", "Иванов*", "P005"),  # Cyrillic single-byte set
        ("ISO_IR 192", "Иванов^Иван", "P005"),
        ("ISO_IR 100", "MÜLLER*", "P004"),
        ("ISO 2022 IR 144", "Иванов*", "P005"),
        ("ISO 2022 IR 6\\ISO 2022 IR 87", "山田*", "P008"),  # Japanese Kanji, escapes
        ("GB18030", "王^小明", "P009"),
    ],
)
def test_queries_in_other_character_sets(
    wl_box: Box, tmp_path: Path, charset: str, name: str, expected: str
) -> None:
    query = _query_file(tmp_path / "q.dcm", charset, name)
    result = findscu(wl_box.port, [], query_file=query)
    assert _ids(result.responses) == [expected]


def test_answer_character_set_per_calling_ae(wl_box: Box) -> None:
    default = findscu(wl_box.port, ["PatientID=P005", "PatientName"])
    assert default.responses[0].SpecificCharacterSet == "ISO_IR 100"
    assert str(default.responses[0].PatientName) == "??????^????"  # not in Latin-1
    utf8 = findscu(wl_box.port, ["PatientID=P005", "PatientName"], aet="UTF8SCU")
    assert utf8.responses[0].SpecificCharacterSet == "ISO_IR 192"
    assert str(utf8.responses[0].PatientName) == "Иванов^Иван"


def test_malformed_key_value_is_refused(wl_box: Box) -> None:
    result = findscu(wl_box.port, [f"{SPS}[0].ScheduledProcedureStepStartDate=2026-12-02x"])
    assert result.statuses == [0xA900]
    assert not result.responses


def test_hit_limit_returns_the_earliest(box_factory: Callable[..., Box], tmp_path: Path) -> None:
    box = box_factory({"worklist": {"hit_limit": 3}})
    items = tmp_path / "items.json"
    items.write_text(json.dumps(ITEMS, ensure_ascii=False))
    box.run_cli("worklist", "import", str(items))
    result = findscu(box.port, ["PatientID", f"{SPS}[0].ScheduledProcedureStepStartDate"])
    assert result.statuses == [0xFF00] * 3 + [0x0000]
    assert _ids(result.responses) == ["P007", "P005", "P001"]  # earliest three by start
    assert "matched more than the hit limit of 3" in box.log()


# -- raw requests DCMTK cannot send ---------------------------------------------------------
# findscu never sends an undecodable identifier, and cancels only after a response; the
# raw client (tests/dcmtk.py) sends exactly the bytes each case needs.

MWL_FIND = "1.2.840.10008.5.1.4.31"


def _c_find_rq(message_id: int = 1) -> bytes:
    return command_set(
        {
            0x00000002: _ui(MWL_FIND),
            0x00000100: _us(0x0020),
            0x00000110: _us(message_id),
            0x00000700: _us(0x0000),
            0x00000800: _us(0x0000),
        }
    )


def _c_cancel_rq(message_id: int) -> bytes:
    return command_set(
        {0x00000100: _us(0x0FFF), 0x00000120: _us(message_id), 0x00000800: _us(0x0101)}
    )


def _patient_id_query() -> bytes:
    # (0010,0020) Patient ID, zero length, Implicit VR Little Endian
    return struct.pack("<HHL", 0x0010, 0x0020, 0)


def test_undecodable_identifier_is_refused_and_the_association_goes_on(wl_box: Box) -> None:
    raw = RawAssociation(wl_box.port, [(1, MWL_FIND, [IMPLICIT_LE])])
    raw.send_pdv(1, _c_find_rq(), command=True, last=True)
    raw.send_dataset(1, struct.pack("<HHL", 0x0010, 0x0020, 200) + b"P0")  # length lies
    response = raw.read_response()
    assert (response.command_field, response.status) == (0x8020, 0xC000)
    assert "cannot be decoded" in response.comment
    raw.send_pdv(1, _c_find_rq(2), command=True, last=True)
    raw.send_dataset(1, _patient_id_query())
    statuses: list[int] = []
    while not statuses or statuses[-1] != 0x0000:
        statuses.append(raw.read_response().status)
    assert len(statuses) == 9  # eight unfinished steps, then Success
    raw.release()


def test_cancel_before_the_first_answer(wl_box: Box) -> None:
    raw = RawAssociation(wl_box.port, [(1, MWL_FIND, [IMPLICIT_LE])])
    # Request, identifier and cancel leave in one go: the box sees the cancel before it
    # sends anything, so no pending response may come.
    raw.send_pdv(1, _c_find_rq(7), command=True, last=True)
    raw.send_dataset(1, _patient_id_query())
    raw.send_pdv(1, _c_cancel_rq(7), command=True, last=True)
    response = raw.read_response()
    assert (response.command_field, response.status) == (0x8020, 0xFE00)
    raw.send_pdv(1, _c_find_rq(8), command=True, last=True)  # the association goes on
    raw.send_dataset(1, _patient_id_query())
    statuses = [raw.read_response().status for _ in range(9)]
    assert statuses == [0xFF00] * 8 + [0x0000]
    raw.release()
