"""Worklist items from files: a JSON list of items, or CSV with one step per row.

Parsing only: the store checks every item inside one transaction, so a file with one bad
item stores nothing.

CSV headers are DICOM keywords; Scheduled Procedure Step keywords (Modality,
ScheduledStationAETitle, ScheduledProcedureStepStartDate, ...) go into the step, the rest
into the item. An optional `key` column names the item for later updates. Code sequences
come from `RequestedProcedureCode` / `ScheduledProtocolCode` columns written as
`value^scheme^meaning`.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from appliance.worklist.attributes import SPS, SPS_ITEM, TOP_LEVEL
from appliance.worklist.item import Item, ItemError

Entry = tuple[Item, str | None]
_CODES = {
    "RequestedProcedureCode": ("RequestedProcedureCodeSequence", False),
    "ScheduledProtocolCode": ("ScheduledProtocolCodeSequence", True),
}


def _code(text: str, where: str) -> dict[str, str]:
    parts = text.split("^")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise ItemError(f"{where}: codes are written value^scheme^meaning (got {text!r})")
    return {"CodeValue": parts[0], "CodingSchemeDesignator": parts[1], "CodeMeaning": parts[2]}


def _from_row(row: dict[str, str], where: str) -> Entry:
    item: Item = {}
    step: Item = {}
    key = None
    for column, raw in row.items():
        name = (column or "").strip()
        value = (raw or "").strip()
        if not name or not value:
            continue
        if name == "key":
            key = value
        elif name in _CODES:
            sequence, in_step = _CODES[name]
            (step if in_step else item)[sequence] = [_code(value, f"{where}, {name}")]
        elif name in SPS_ITEM:
            step[name] = value
        elif name in TOP_LEVEL and name != SPS:
            item[name] = value
        else:
            raise ItemError(f"{where}: column {name!r} is not a worklist attribute")
    item[SPS] = [step]
    return item, key


def parse_csv(text: str) -> list[Entry]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise ItemError("the CSV file has no header row")
    return [_from_row(row, f"row {n}") for n, row in enumerate(reader, start=2)]


def parse_json(text: str) -> list[Entry]:
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ItemError(f"not valid JSON: {exc}") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise ItemError("the JSON must be an item or a list of items")
    entries: list[Entry] = []
    for number, raw in enumerate(data, start=1):
        if not isinstance(raw, dict):
            raise ItemError(f"item {number}: must be an object of DICOM keywords")
        item = dict(raw)
        key = item.pop("key", None)
        entries.append((item, str(key) if key else None))
    return entries
