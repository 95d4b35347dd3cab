"""PS3.4 C.2.2.2 matching kinds, item checks and file import, without a network."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.db.database import connect, migrate
from appliance.worklist.importer import parse_csv, parse_json
from appliance.worklist.item import ItemError, normalise
from appliance.worklist.matching import DateTimeRange, QueryError, compile_key
from appliance.worklist.store import WorklistStore


@pytest.mark.parametrize(
    ("key", "vr", "stored", "expected"),
    [
        ("", "LO", "anything", True),  # universal
        ("*", "PN", "DOE^JOHN", True),
        ("P1", "LO", "P1", True),
        ("P1", "LO", "p1", False),  # only names fold case
        ("P1", "LO", "P10", False),
        ("doe^john", "PN", "DOE^JOHN", True),
        ("DOE^JOHN^^", "PN", "DOE^JOHN", True),  # empty trailing components do not count
        ("DOE*", "PN", "DOE^JOHN", True),
        ("D?E*", "PN", "DOE^JOHN", True),
        ("D?E", "PN", "DOE^JOHN", False),
        ("MR1\\MR2", "AE", "MR2", True),  # list of values
        ("MR1\\MR2", "AE", "CT1", False),
        ("MR*\\CT1", "AE", "MR7", True),
        ("MR2", "AE", "MR1\\MR2", True),  # a multi-valued stored value: any value
        ("20261201-20261203", "DA", "20261203", True),
        ("20261201-20261203", "DA", "20261204", False),
        ("-20261201", "DA", "19991231", True),
        ("20261201-", "DA", "20261130", False),
        ("20261201", "DA", "", False),
        ("0800-1000", "TM", "093000", True),
        ("0800-1000", "TM", "100000", True),
        ("0800-1000", "TM", "100059", True),  # an upper bound covers its whole minute
        ("0800-1000", "TM", "100100", False),
        ("0800-1000", "TM", "1000", True),
        ("-0800", "TM", "075959.999", True),
        ("1.2.3\\1.2.4", "UI", "1.2.4", True),
        ("1.2.*", "UI", "1.2.3", False),  # no wildcards for UIDs
        ("a.b", "LO", "aXb", False),  # regex characters are literal
    ],
)
def test_matching_kinds(key: str, vr: str, stored: str, expected: bool) -> None:
    predicate = compile_key(key, vr, fold_names=True)
    assert (predicate is None or predicate(stored)) is expected


def test_names_match_exactly_when_folding_is_off() -> None:
    predicate = compile_key("doe*", "PN", fold_names=False)
    assert predicate is not None and not predicate("DOE^JOHN") and predicate("doe^john")


@pytest.mark.parametrize("key", ["2026-12-01", "202612", "20261301x-"])
def test_malformed_dates_are_refused(key: str) -> None:
    with pytest.raises(QueryError):
        compile_key(key, "DA", fold_names=True)


def test_combined_date_time_range_spans_midnight() -> None:
    when = DateTimeRange.of("20261201-20261202", "2200-0600")
    assert when is not None
    assert when.matches("20261201", "230000")
    assert when.matches("20261202", "0100")
    assert when.matches("20261202", "060000")
    assert not when.matches("20261201", "2159")
    assert not when.matches("20261202", "0601")
    assert DateTimeRange.of("20261201", "2200-0600") is None  # a single date: separate keys


GOOD = {
    "PatientID": "P1",
    "PatientName": "DOE^JANE",
    "ScheduledProcedureStepSequence": [
        {"Modality": "MR", "ScheduledProcedureStepStartDate": "20261202"}
    ],
}


def test_normalise_fills_what_the_standard_needs() -> None:
    item = normalise(GOOD)
    step = item["ScheduledProcedureStepSequence"][0]
    assert item["StudyInstanceUID"].startswith("2.25.")
    assert step["ScheduledProcedureStepStatus"] == "SCHEDULED"
    assert item["RequestedProcedureID"] == step["ScheduledProcedureStepID"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"PatientID": ""}, "PatientID: required"),
        ({"Occupation": "PILOT"}, "Occupation: not a worklist attribute"),
        ({"PatientBirthDate": "1.1.1970"}, "is not a date"),
        ({"PatientSex": "m"}, "upper case"),
        ({"StudyInstanceUID": "1.2.abc"}, "not a UID"),
        ({"PatientID": "x" * 65}, "at most 64 characters"),
        ({"PatientName": "DOE\x00JANE"}, "control characters"),
        ({"PregnancyStatus": "yes"}, "whole number"),
        ({"ScheduledProcedureStepSequence": []}, "one scheduled procedure step is required"),
        (
            {"ScheduledProcedureStepSequence": [{"Modality": "MR"}]},
            "ScheduledProcedureStepStartDate: required",
        ),
        (
            {
                "ScheduledProcedureStepSequence": [
                    {
                        "Modality": "MR",
                        "ScheduledProcedureStepStartDate": "20261202",
                        "ScheduledProcedureStepStatus": "DONE",
                    }
                ]
            },
            "is not one of",
        ),
    ],
)
def test_bad_items_are_refused_with_the_attribute_named(
    change: dict[str, object], message: str
) -> None:
    with pytest.raises(ItemError, match=message):
        normalise({**GOOD, **change})


def test_csv_import_puts_step_keys_in_the_step() -> None:
    text = (
        "key,PatientID,PatientName,Modality,ScheduledProcedureStepStartDate,"
        "RequestedProcedureCode\n"
        "K1,P1,DOE^JANE,CT,20261202,CT01^LOCAL^CT head\n"
    )
    [(item, key)] = parse_csv(text)
    assert key == "K1"
    assert item["ScheduledProcedureStepSequence"][0]["Modality"] == "CT"
    assert item["RequestedProcedureCodeSequence"][0]["CodeMeaning"] == "CT head"


def test_one_bad_row_refuses_the_whole_file(tmp_path: Path) -> None:
    text = (
        "PatientID,PatientName,Modality,ScheduledProcedureStepStartDate\n"
        "P1,DOE^JANE,CT,20261202\n"
        "P2,DOE^JOHN,CT,tomorrow\n"
    )
    migrate(tmp_path)
    store = WorklistStore(connect(tmp_path))
    with pytest.raises(ItemError, match=r"item 2: .*not a date"):
        store.put_many(parse_csv(text), source="import")
    assert store.list() == []  # the good first row was rolled back with the bad one


def test_json_import_errors_name_the_item() -> None:
    with pytest.raises(ItemError, match="not valid JSON"):
        parse_json("[{")
    with pytest.raises(ItemError, match="item 1: must be an object"):
        parse_json("[1]")
