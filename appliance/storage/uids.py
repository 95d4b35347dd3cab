"""UIDs from the network are checked before they name anything on disk."""

from __future__ import annotations

import re

_UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
# Many real modalities emit components with leading zeros; accept them, they are still
# digits and dots and so are safe as file names.
_LENIENT = re.compile(r"[0-9]+(\.[0-9]+)*")
MAX_UID_LENGTH = 64


class InvalidUID(ValueError):
    """A value that is not a usable DICOM UID."""


def check_uid(value: object, what: str) -> str:
    """Return `value` as a UID string or raise InvalidUID naming `what`."""
    if value is None or value == "":
        raise InvalidUID(f"{what} is missing")
    text = str(value).rstrip("\x00 ")
    if len(text) > MAX_UID_LENGTH:
        raise InvalidUID(f"{what} is longer than {MAX_UID_LENGTH} characters")
    if not _LENIENT.fullmatch(text):
        raise InvalidUID(f"{what} {text[:80]!r} is not a UID (digits and dots only)")
    return text


def is_strict_uid(value: str) -> bool:
    return _UID.fullmatch(value) is not None
