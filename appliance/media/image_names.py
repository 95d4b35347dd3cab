"""How a file name of the source tree is written in each file system of a disc image.

ISO 9660 (PS3.12 F.1.2.1, ECMA-119 interchange level 1): a DICOM File ID component (1-8
of A-Z, 0-9, _) becomes `COMP.;1` exactly, and so does any name that is already a level-1
name (`README.TXT;1`). Other names (a viewer's own files) get a unique level-1 name made from
them; readers that use Joliet, Rock Ridge or UDF see the real name, so only a bare ISO 9660
reader sees the short one, and no DICOM File ID is ever shortened.

Joliet, Rock Ridge and UDF carry the name as it is, or the build fails: a silently changed
name would break a viewer that looks for its own files.
"""

from __future__ import annotations

import os
import re

# d-characters (ECMA-119 7.4.1) are also the File ID character set of PS3.10 8.5.
_NOT_D_CHAR = re.compile(r"[^A-Z0-9_]")
FILE_ID_COMPONENT = re.compile(r"[A-Z0-9_]{1,8}")
_LEVEL1_FILE = re.compile(r"[A-Z0-9_]{1,8}\.[A-Z0-9_]{1,3}")

# Joliet forbids these (Joliet specification 3.3) and control characters.
_JOLIET_FORBIDDEN = set("*/:;?\\")
# pycdlib counts a Joliet name in UTF-8 bytes and allows 64 (Joliet itself allows 64
# UCS-2 characters, so this is never looser than the format).
JOLIET_MAX = 64
# UDF 2.3.4.2: at most 254 bytes with the compression byte; 8-bit names if Latin-1.
UDF_MAX_LATIN1 = 253
UDF_MAX_UCS2 = 126
RR_MAX_BYTES = 255


def exact_iso_name(name: str, *, is_dir: bool) -> str | None:
    """The level-1 identifier that keeps `name` exactly (without `;1`), or None."""
    if FILE_ID_COMPONENT.fullmatch(name):
        # F.1.2.1: the separator "." is recorded with an empty extension, "IM000001.;1".
        return name if is_dir else name + "."
    if not is_dir and _LEVEL1_FILE.fullmatch(name):
        return name
    return None


def _squash(text: str, limit: int) -> str:
    return _NOT_D_CHAR.sub("_", text.upper())[:limit]


class IsoNamer:
    """Unique level-1 identifiers for the entries of one directory.

    Exact names are reserved first, so a made-up name can never take one of them.
    """

    def __init__(self, names: list[tuple[str, bool]]) -> None:
        self._taken: set[str] = set()
        self.assigned: dict[str, str] = {}
        later: list[tuple[str, bool]] = []
        for name, is_dir in names:
            exact = exact_iso_name(name, is_dir=is_dir)
            if exact is not None and exact.rstrip(".") not in self._taken:
                self._reserve(name, exact)
            else:
                later.append((name, is_dir))
        for name, is_dir in later:
            self._reserve(name, self._made_up(name, is_dir=is_dir))

    def _reserve(self, name: str, identifier: str) -> None:
        # A directory "A" and a file "A." would look alike to a reader: one namespace.
        self._taken.add(identifier.rstrip("."))
        self.assigned[name] = identifier

    def _made_up(self, name: str, *, is_dir: bool) -> str:
        if is_dir:
            stem, ext = _squash(name, 8) or "_", ""
        else:
            root, dot_ext = os.path.splitext(name)
            stem, ext = _squash(root, 8) or "_", _squash(dot_ext[1:], 3)
        number = 0
        candidate = stem
        while (f"{candidate}.{ext}" if ext else candidate) in self._taken:
            number += 1
            suffix = str(number)
            candidate = stem[: 8 - len(suffix)] + suffix
        if is_dir:
            return candidate
        return f"{candidate}.{ext}" if ext else candidate + "."


def joliet_problem(name: str) -> str | None:
    """Why `name` cannot be a Joliet name as it is, or None."""
    problem = _unicode_problem(name)
    if problem:
        return problem
    bad = sorted({c for c in name if c in _JOLIET_FORBIDDEN or ord(c) < 0x20})
    if bad:
        return f"it contains {''.join(bad)!r}, which Joliet does not allow"
    if any(ord(c) > 0xFFFF for c in name):
        return "it has characters outside UCS-2, which Joliet cannot hold"
    if len(name.encode("utf-8")) > JOLIET_MAX:
        return f"it is longer than Joliet's {JOLIET_MAX} characters"
    return None


def udf_problem(name: str) -> str | None:
    """Why `name` cannot be a UDF name as it is, or None."""
    problem = _unicode_problem(name)
    if problem:
        return problem
    try:
        fits = len(name.encode("latin-1")) <= UDF_MAX_LATIN1
    except UnicodeEncodeError:
        fits = len(name.encode("utf-16-be")) // 2 <= UDF_MAX_UCS2
    return None if fits else "it is longer than UDF allows"


def rock_ridge_problem(name: str) -> str | None:
    problem = _unicode_problem(name)
    if problem:
        return problem
    if len(name.encode("utf-8")) > RR_MAX_BYTES:
        return f"it is longer than Rock Ridge's {RR_MAX_BYTES} bytes"
    return None


def _unicode_problem(name: str) -> str | None:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # os.fsdecode left undecodable bytes as lone surrogates
        return "it is not valid UTF-8"
    return None
