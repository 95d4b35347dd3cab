"""Replacement values for de-identification: UIDs, dummies, shifted dates, cleaned text.

Everything that must be the same across one export (the UID map, the date shift, the
generated patient and study codes) derives from one per-export secret with HMAC-SHA256, so
the same original always maps to the same replacement inside an export, and two exports
with different secrets cannot be linked through their replacements.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Iterable

from pydicom.uid import UID

# Dummy values (action D) by VR: valid for the VR and its length limits, and obviously fake.
_DUMMY_TEXT = "ANONYMIZED"
_DUMMY_BY_VR: dict[str, str | int | float | bytes] = {
    "AE": _DUMMY_TEXT,
    "AS": "000Y",
    "CS": _DUMMY_TEXT,
    "DA": "19000101",
    "DS": "0",
    "DT": "19000101000000",
    "IS": "0",
    "LO": _DUMMY_TEXT,
    "LT": _DUMMY_TEXT,
    "PN": _DUMMY_TEXT,
    "SH": _DUMMY_TEXT,
    "ST": _DUMMY_TEXT,
    "TM": "000000",
    "UC": _DUMMY_TEXT,
    "UR": "",
    "UT": _DUMMY_TEXT,
    "FL": 0.0,
    "FD": 0.0,
    "SL": 0,
    "SS": 0,
    "SV": 0,
    "UL": 0,
    "US": 0,
    "UV": 0,
}
_SHIFT_RANGE_DAYS = 3650
_MIN_TOKEN = 3


def dummy_value(vr: str) -> str | int | float | bytes:
    """A non-empty dummy of the VR; binary VRs (OB, UN, ...) get an empty value."""
    return _DUMMY_BY_VR.get(vr, b"")


def _digest(secret: bytes, purpose: str, value: str) -> bytes:
    return hmac.new(secret, f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()


class UidMap:
    """Original UID -> 2.25 UID, the same for every instance of one export.

    2.25 UIDs (PS3.5 B.2) need no registered root; 128 bits of an HMAC of the original keep
    them unique in practice. Registered UIDs (SOP classes, coding schemes) are never changed.
    """

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._mapped: dict[str, str] = {}

    def __call__(self, uid: str) -> str:
        original = uid.strip().rstrip("\x00")
        if not original or UID(original).name != original:  # registered
            return original
        new = self._mapped.get(original)
        if new is None:
            number = int.from_bytes(_digest(self._secret, "uid", original)[:16], "big")
            new = f"2.25.{number}"
            self._mapped[original] = new
        return new

    def __len__(self) -> int:
        return len(self._mapped)

    def __contains__(self, uid: object) -> bool:
        return uid in self._mapped

    def replacements(self) -> dict[str, str]:
        """A copy of what was mapped so far (for an export's audit record)."""
        return dict(self._mapped)


def short_code(secret: bytes, purpose: str, value: str, length: int = 10) -> str:
    """An upper-case hex code for one original value, stable within an export."""
    return _digest(secret, purpose, value).hex()[:length].upper()


def shift_days(secret: bytes) -> int:
    """How far back the Modified Dates option moves every date: 1 to 10 years, per export."""
    number = int.from_bytes(_digest(secret, "date-shift", "")[:4], "big")
    return 365 + number % _SHIFT_RANGE_DAYS


def shift_date(value: str, days: int) -> str:
    """Move a DA or the date part of a DT back by `days`; times of day are kept.

    A value that is not a plain date (partial, a range) cannot be shifted safely and becomes
    the dummy date.
    """
    text = value.strip()
    head, tail = text[:8], text[8:]
    try:
        day = dt.datetime.strptime(head, "%Y%m%d").date()
    except ValueError:
        return str(_DUMMY_BY_VR["DA"]) + ("000000" if tail else "")
    return (day - dt.timedelta(days=days)).strftime("%Y%m%d") + tail


def identifying_tokens(values: Iterable[str]) -> tuple[str, ...]:
    """Words worth scrubbing from free text: names, IDs and dates of the original instance.

    Words shorter than three characters are skipped: they would blank half of any text.
    """
    tokens: set[str] = set()
    for value in values:
        text = value.strip()
        if len(text) >= _MIN_TOKEN:
            tokens.add(text.upper())
        for word in re.split(r"[\W_]+", text):
            if len(word) >= _MIN_TOKEN:
                tokens.add(word.upper())
    return tuple(sorted(tokens, key=lambda token: (-len(token), token)))


def birth_date_forms(value: str) -> list[str]:
    """The ways a DA birth date is commonly written in free text."""
    try:
        day = dt.datetime.strptime(value.strip(), "%Y%m%d").date()
    except ValueError:
        return [value] if value.strip() else []
    return [
        day.strftime(form)
        for form in ("%Y%m%d", "%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d")
    ]


class Scrubber:
    """Clean (action C) for text: every identifying token becomes asterisks.

    This is what "clean" can honestly mean without understanding the text: what is known
    about the patient and the staff from the instance itself is taken out; the rest of the
    description (the body part, the technique) stays. The result is never longer than the
    original, so VR length limits hold.
    """

    def __init__(self, tokens: Iterable[str]) -> None:
        words = [re.escape(token) for token in tokens if token]
        self._pattern = re.compile("|".join(words), re.IGNORECASE) if words else None

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda match: "*" * min(3, len(match.group(0))), text)
