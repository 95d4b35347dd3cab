"""A C-FIND identifier turned into what to match, what to return, and what SQLite can narrow.

The identifier is decoded by pydicom in its own Specific Character Set (every set syngo MR
lists, ISO 2022 included), so matching works on Unicode text whatever the modality sends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from pydicom.dataset import Dataset
from pydicom.filereader import read_dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

from appliance.dicom.syntaxes import EXPLICIT_BE, IMPLICIT_LE
from appliance.storage.header import HeaderError, parse_header
from appliance.worklist.attributes import KEYWORDS, SEQUENCES, SPS, VRS
from appliance.worklist.item import FINISHED, Item
from appliance.worklist.matching import DateTimeRange, Predicate, QueryError, compile_key
from appliance.worklist.store import Prefilter

SPECIFIC_CHARACTER_SET = 0x00080005
_START_DATE = "ScheduledProcedureStepStartDate"
_START_TIME = "ScheduledProcedureStepStartTime"


class IdentifierError(ValueError):
    """The identifier cannot be decoded at all (answered with C000)."""


@dataclass
class Key:
    """One requested attribute: matched when it has a predicate, always returned."""

    tag: int
    keyword: str  # "" for attributes the box does not keep (returned empty)
    vr: str
    value: str = ""
    predicate: Predicate | None = None
    # Sequences: the keys of the query's item; None asks for every item whole.
    children: list[Key] | None = None
    matching: bool = False  # has any predicate, here or below
    # Sequences with matching keys: what an item must pass to be returned.
    item_checks: list[Callable[[Item], bool]] = field(default_factory=list)


@dataclass
class Query:
    keys: list[Key]
    unsupported_matching: bool = False
    wants_charset: bool = False
    when: DateTimeRange | None = None
    include_finished: bool = False
    prefilter: Prefilter = field(default_factory=lambda: Prefilter([], []))
    checks: list[Callable[[Item], bool]] = field(default_factory=list)

    def matches(self, item: Item) -> bool:
        return all(check(item) for check in self.checks)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, MultiValue)):
        return "\\".join(_text(v) for v in value)
    if isinstance(value, bytes):
        raise QueryError("binary value where text was expected")
    return str(value)


def decode_identifier(data: bytes, transfer_syntax: str) -> Dataset:
    try:
        # pydicom reads a short value without complaint; the receive path's walker does not.
        parse_header(data, transfer_syntax, complete=True)
    except HeaderError as exc:
        raise IdentifierError(f"the identifier cannot be decoded: {exc}") from None
    try:
        dataset = read_dataset(
            BytesIO(data),
            is_implicit_VR=transfer_syntax == IMPLICIT_LE,
            is_little_endian=transfer_syntax != EXPLICIT_BE,
        )
        # Text values come out decoded in the identifier's character set as they are read.
    except Exception as exc:
        raise IdentifierError(f"the identifier cannot be decoded: {exc}") from exc
    return dataset


def _keys(dataset: Dataset, allowed: frozenset[str] | None, query: Query, fold: bool) -> list[Key]:
    keys: list[Key] = []
    for element in dataset:
        tag = int(element.tag)
        group, number = tag >> 16, tag & 0xFFFF
        if number == 0 or group % 2 == 1:
            continue  # group lengths and private attributes are never returned
        if tag == SPECIFIC_CHARACTER_SET:
            query.wants_charset = allowed is None
            continue
        keyword = KEYWORDS.get(tag, "")
        known = bool(keyword) and (allowed is None or keyword in allowed)
        vr = VRS[keyword] if known else str(element.VR)
        key = Key(tag, keyword if known else "", vr)
        if vr == "SQ":
            items = element.value if isinstance(element.value, Sequence) else []
            if items and len(items[0]) and known:
                key.children = _keys(items[0], SEQUENCES[keyword], query, fold)
                key.matching = any(child.matching for child in key.children)
                key.item_checks = _checks(key.children)
            elif items and len(items[0]):
                query.unsupported_matching = query.unsupported_matching or any(
                    not _empty(e.value) for e in items[0]
                )
        else:
            key.value = _text(element.value).strip()
            if key.value:
                if known:
                    key.predicate = compile_key(key.value, vr, fold_names=fold)
                    key.matching = key.predicate is not None
                else:
                    query.unsupported_matching = True
        keys.append(key)
    keys.sort(key=lambda k: k.tag)
    return keys


def _empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, (list, MultiValue)) and not value)


def _value_check(keyword: str, predicate: Predicate) -> Callable[[Item], bool]:
    def check(item: Item) -> bool:
        value = item.get(keyword)
        return predicate("" if value is None else str(value))

    return check


def _sequence_check(keyword: str, children: list[Key]) -> Callable[[Item], bool]:
    inner = _checks(children)

    def check(item: Item) -> bool:
        return any(all(c(entry) for c in inner) for entry in item.get(keyword) or [])

    return check


def _checks(keys: list[Key]) -> list[Callable[[Item], bool]]:
    checks: list[Callable[[Item], bool]] = []
    for key in keys:
        if key.predicate is not None:
            checks.append(_value_check(key.keyword, key.predicate))
        elif key.children is not None and key.matching:
            checks.append(_sequence_check(key.keyword, key.children))
    return checks


def _glob(value: str) -> str:
    return value.replace("[", "[[]")


def _column(where: list[str], params: list[Any], column: str, value: str, *, upper: bool) -> None:
    """Narrow on one indexed column when the key is a plain value, a list or a wildcard."""
    if not value or value == "*":
        return
    values = [v.strip() for v in value.split("\\")]
    if upper:
        values = [v.upper() for v in values]
    clauses = []
    for v in values:
        if "*" in v or "?" in v:
            clauses.append(f"{column} GLOB ?")
            params.append(_glob(v))
        else:
            clauses.append(f"{column} = ?")
            params.append(v)
    where.append("(" + " OR ".join(clauses) + ")")


def _prefilter(query: Query, top: dict[str, Key], step: dict[str, Key]) -> Prefilter:
    where: list[str] = []
    params: list[Any] = []
    for keyword, column in (
        ("PatientID", "patient_id"),
        ("AccessionNumber", "accession_number"),
        ("RequestedProcedureID", "requested_procedure_id"),
        ("StudyInstanceUID", "study_uid"),
    ):
        if keyword in top:
            _column(where, params, column, top[keyword].value, upper=False)
    if "PatientName" in top:
        name = top["PatientName"].value
        # Stored upper case; trailing empty components never matter.
        _column(where, params, "patient_name", name.rstrip("^="), upper=True)
    if "Modality" in step:
        _column(where, params, "modality", step["Modality"].value, upper=False)
    if "ScheduledProcedureStepID" in step:
        _column(where, params, "sps_id", step["ScheduledProcedureStepID"].value, upper=False)
    date = step[_START_DATE].value if _START_DATE in step else ""
    if date and "\\" not in date:
        low, dash, high = date.partition("-")
        if not dash:
            where.append("sps_start_date = ?")
            params.append(date)
        else:
            if low.strip():
                where.append("sps_start_date >= ?")
                params.append(low.strip())
            if high.strip():
                where.append("sps_start_date <= ?")
                params.append(high.strip())
    if not query.include_finished:
        where.append(f"status NOT IN ({', '.join('?' * len(FINISHED))})")
        params.extend(sorted(FINISHED))
    return Prefilter(where, params)


def compile_query(dataset: Dataset, *, fold_names: bool) -> Query:
    """Raises QueryError for key values that cannot be matched as their VR requires."""
    query = Query(keys=[])
    try:
        query.keys = _keys(dataset, None, query, fold_names)
    except QueryError:
        raise
    except Exception as exc:
        # Values are converted as they are read: a bad character set or value shows here.
        raise IdentifierError(f"the identifier cannot be decoded: {exc}") from exc
    top = {k.keyword: k for k in query.keys if k.keyword}
    step_key = top.get(SPS)
    step = {k.keyword: k for k in (step_key.children or []) if k.keyword} if step_key else {}
    status = step.get("ScheduledProcedureStepStatus")
    # Finished steps drop out unless the query asks for a status itself.
    query.include_finished = bool(status and status.value)
    if _START_DATE in step and _START_TIME in step:
        query.when = DateTimeRange.of(step[_START_DATE].value, step[_START_TIME].value)
        if query.when is not None:
            # The pair matches as one range; neither matches on its own.
            step[_START_DATE].predicate = step[_START_TIME].predicate = None
            assert step_key is not None and step_key.children is not None
            step_key.matching = any(
                c.predicate is not None or (c.children is not None and c.matching)
                for c in step_key.children
            )
            step_key.item_checks = _checks(step_key.children)
    query.checks = _checks(query.keys)
    if query.when is not None:
        when = query.when

        def in_range(item: Item) -> bool:
            return any(
                when.matches(s.get(_START_DATE, ""), s.get(_START_TIME, ""))
                for s in item.get(SPS) or []
            )

        query.checks.append(in_range)
    query.prefilter = _prefilter(query, top, step)
    return query
