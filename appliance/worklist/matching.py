"""PS3.4 C.2.2.2 attribute matching, compiled once per query into plain predicates.

Kinds: universal (empty key), single value, wildcard (`*`, `?`), list of values (several
values separated by a backslash: any may match), range (DA, TM, DT with `-`, open at either
end), combined date and time ranges (C.2.2.2.5), and sequence matching (any item of the
stored sequence matches every key of the query's item).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

Predicate = Callable[[str], bool]

_NO_WILDCARDS = frozenset({"DA", "TM", "DT", "UI", "US", "DS", "IS", "AS"})


def _normal_time(value: str, high: bool = False) -> str:
    """HHMMSS.ffffff for comparison; a missing part is its lowest (or highest) value."""
    digits = value.replace(":", "").strip()
    whole, _, fraction = digits.partition(".")
    pad = "235959" if high else "000000"
    whole = (whole + pad[len(whole) :])[:6]
    fraction = (fraction + ("999999" if high and not fraction else "000000"))[:6]
    return f"{whole}.{fraction}"


class QueryError(ValueError):
    """A key value that cannot be a matching key of its VR (answered with A900/C000)."""


def _wildcard(value: str, fold: bool) -> Predicate:
    pattern = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in value)
    compiled = re.compile(pattern, re.DOTALL | (re.IGNORECASE if fold else 0))
    return lambda stored: compiled.fullmatch(stored) is not None


def _single(value: str, vr: str, fold: bool) -> Predicate:
    if vr == "PN":
        value = value.rstrip("^=")
        if fold:
            folded = value.casefold()
            return lambda stored: stored.rstrip("^=").casefold() == folded
        return lambda stored: stored.rstrip("^=") == value
    if vr == "TM":
        normal = _normal_time(value)
        return lambda stored: bool(stored) and _normal_time(stored) == normal
    if fold:
        folded = value.casefold()
        return lambda stored: stored.casefold() == folded
    return lambda stored: stored == value


def _range(value: str, vr: str) -> Predicate:
    low, _, high = value.partition("-")
    low, high = low.strip(), high.strip()
    if vr == "DA":
        for part in (low, high):
            if part and not re.fullmatch(r"\d{8}", part):
                raise QueryError(f"{value!r} is not a date range (YYYYMMDD-YYYYMMDD)")
        lo, hi = low or "00000000", high or "99999999"
        return lambda stored: bool(stored) and lo <= stored <= hi
    if vr == "TM":
        for part in (low, high):
            if part and not re.fullmatch(r"\d{2}(:?\d{2}(:?\d{2}(\.\d{1,6})?)?)?", part):
                raise QueryError(f"{value!r} is not a time range (HHMMSS-HHMMSS)")
        lo = _normal_time(low) if low else "000000.000000"
        hi = _normal_time(high, high=True) if high else "235959.999999"
        return lambda stored: bool(stored) and lo <= _normal_time(stored) <= hi
    # DT: compare as text, padded.
    lo, hi = low or "0", high or "9" * 26
    return lambda stored: bool(stored) and lo <= stored <= hi + "\uffff"


def _one(alternative: str, vr: str, fold: bool) -> Predicate:
    if vr in ("DA", "TM", "DT") and "-" in alternative:
        return _range(alternative, vr)
    if vr not in _NO_WILDCARDS and ("*" in alternative or "?" in alternative):
        if vr == "PN":
            inner = _wildcard(alternative.rstrip("^=") or "*", fold)
            return lambda stored: inner(stored.rstrip("^="))
        return _wildcard(alternative, fold)
    if vr == "DA" and not re.fullmatch(r"\d{8}", alternative):
        raise QueryError(f"{alternative!r} is not a date (YYYYMMDD)")
    return _single(alternative, vr, fold)


def compile_key(value: str, vr: str, *, fold_names: bool) -> Predicate | None:
    """A predicate over the stored value, or None for universal matching."""
    value = value.strip()
    if not value or value == "*":
        return None
    fold = fold_names and vr == "PN"
    alternatives = value.split("\\") if vr not in ("LT", "ST", "UT") else [value]
    predicates = [_one(a.strip(), vr, fold) for a in alternatives]
    if len(predicates) == 1:
        only = predicates[0]
    else:

        def only(stored: str) -> bool:
            return any(p(stored) for p in predicates)

    def matches(stored: str) -> bool:
        # A stored value with several values matches when any of them does.
        if "\\" in stored:
            return any(only(part) for part in stored.split("\\"))
        return only(stored)

    return matches


@dataclass(frozen=True)
class DateTimeRange:
    """Scheduled start date and time given together as one range (PS3.4 C.2.2.2.5)."""

    low: str  # YYYYMMDDHHMMSS.ffffff, or "" when open
    high: str

    @staticmethod
    def of(date: str, time: str) -> DateTimeRange | None:
        """Combined only when both keys are ranges; otherwise each matches on its own."""
        date, time = date.strip(), time.strip()
        if "-" not in date or "-" not in time or "\\" in date or "\\" in time:
            return None
        d_lo, _, d_hi = (p.strip() for p in date.partition("-"))
        t_lo, _, t_hi = (p.strip() for p in time.partition("-"))
        for part in (d_lo, d_hi):
            if part and not re.fullmatch(r"\d{8}", part):
                raise QueryError(f"{date!r} is not a date range (YYYYMMDD-YYYYMMDD)")
        low = d_lo + _normal_time(t_lo or "00") if d_lo else ""
        high = d_hi + _normal_time(t_hi or "235959", high=True) if d_hi else ""
        return DateTimeRange(low, high)

    def matches(self, date: str, time: str) -> bool:
        if not date:
            return False
        stamp = date + _normal_time(time or "00")
        return (not self.low or stamp >= self.low) and (not self.high or stamp <= self.high)
