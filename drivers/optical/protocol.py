"""xorriso's text output to typed values, and its failures to typed errors. Pure: no I/O.

The formats are those of xorriso 1.5 (`Xorriso_toc` in xorriso/drive_mgt.c and the
pacifier lines of its burn and check runs); tests/traces/optical/ holds recorded output.
Message lines look like `libburn : SORRY : text` or `xorriso : FAILURE : text`; their
severities, lowest first, are DEBUG ... NOTE, UPDATE, HINT, WARNING, SORRY, MISHAP,
FAILURE, FATAL, ABORT. xorriso exits 0 on success, 32 when an event of severity SORRY or
above occurred without aborting (`-return_with SORRY 32`, the default), 5 when a FAILURE
aborted the argument list (`-abort_on FAILURE`), 1 on a signal.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from drivers.optical.errors import (
    DriveBusy,
    DriveError,
    NoMedium,
    NotReady,
    TrayOpen,
)
from drivers.optical.media import BLOCK, MediaInfo, MediaState, media_type

MIB = 1024 * 1024  # xorriso's "MB" in progress lines

SEVERITIES = (
    "ALL",
    "DEBUG",
    "UPDATE",
    "NOTE",
    "HINT",
    "WARNING",
    "SORRY",
    "MISHAP",
    "FAILURE",
    "FATAL",
    "ABORT",
)
_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}

_MESSAGE = re.compile(
    r"^\s*(?P<source>xorriso|libburn|libisofs|libisoburn|libjte)\s*:\s*"
    r"(?P<severity>[A-Z]+)\s*:\s*(?P<text>.*?)\s*$"
)
_STATUS = {
    "is blank": MediaState.BLANK,
    "is written , is appendable": MediaState.APPENDABLE,
    "is written , is closed": MediaState.CLOSED,
    "is not present": MediaState.NONE,
    "is not recognizable": MediaState.UNKNOWN,
}
_BLOCKS = re.compile(r"(\d+) readable , (\d+) (?:writable|unused) , (\d+) overall")
_SUMMARY = re.compile(r"(\d+) sessions?, (\d+) data blocks")
_SESSION = re.compile(r"^ISO session\s*:\s*\d+\s*,\s*\d+\s*,\s*\d+s\s*,\s?(?P<volid>.*)$")
_SPACE = re.compile(r"^Media space\s*:\s*(\d+)s")
_DRIVE_TYPE = re.compile(r"vendor '(.*?)' product '(.*?)' revision '(.*?)'")
_WRITE_PROGRESS = re.compile(r"UPDATE :\s*(\d+) of\s*(\d+) MB written")
_READ_PROGRESS = re.compile(r"UPDATE :\s*(\d+) (?:of\s*(\d+) )?blocks read")
_REGION = re.compile(r"^Media region :\s*(\d+)\s*,\s*(\d+)\s*,\s*(.+?)\s*$")
_PVD = re.compile(r"^(?P<key>[A-Za-z][A-Za-z. ]*?)\s*:\s?(?P<value>.*)$")


@dataclass(frozen=True)
class Message:
    source: str  # xorriso, libburn, libisofs ...
    severity: str
    text: str

    def at_least(self, severity: str) -> bool:
        return _RANK.get(self.severity, 0) >= _RANK[severity]


def messages(output: str) -> list[Message]:
    """The event messages in xorriso's output, in order."""
    found = []
    for line in output.splitlines():
        match = _MESSAGE.match(line)
        if match:
            found.append(Message(match["source"], match["severity"], match["text"]))
    return found


def _value(line: str, key: str) -> str | None:
    if line.startswith(key):
        return line[len(key) :].strip()
    return None


def parse_media_info(output: str) -> MediaInfo:
    """The drive's media as `-outdev DEV -toc -tell_media_space` reports it.

    The info lines printed when the drive is acquired come first and the -toc result after
    them; where both say the same thing the later (fuller) line wins.
    """
    state = MediaState.UNKNOWN
    profile = ""
    readable = free = overall = sessions = 0
    space: int | None = None
    volume_id = drive = ""
    saw_status = False
    for raw in output.splitlines():
        line = raw.rstrip()
        if (current := _value(line, "Media current:")) is not None:
            # "stdio file, overwriteable": the role after the comma is not part of the name
            profile = "" if current == "is not recognizable" else current.split(",")[0]
        elif (status := _value(line, "Media status :")) is not None:
            saw_status = True
            state = _media_state(status)
        elif (blocks := _value(line, "Media blocks :")) is not None:
            if match := _BLOCKS.search(blocks):
                readable, free, overall = (int(n) for n in match.groups())
        elif (summary := _value(line, "Media summary:")) is not None:
            if match := _SUMMARY.search(summary):
                sessions = int(match[1])
                readable = readable or int(match[2])
        elif match := _SESSION.match(line):
            volume_id = match["volid"].strip()
        elif match := _SPACE.match(line):
            space = int(match[1])
        elif line.startswith("Drive type   :") and (match := _DRIVE_TYPE.search(line)):
            drive = " ".join(part.strip() for part in match.groups() if part.strip())
    if not saw_status:
        raise DriveError("xorriso reported no media status", detail=output.strip())
    if state in (MediaState.NONE, MediaState.UNKNOWN):
        profile = ""
    if state is MediaState.CLOSED:
        free = 0
    elif space is not None:
        free = space  # what the next session may really take (-tell_media_space)
    return MediaInfo(
        state=state,
        media=media_type(profile),
        readable_blocks=readable if state is not MediaState.BLANK else 0,
        free_blocks=free,
        capacity_blocks=overall,
        sessions=sessions,
        volume_id=volume_id,
        drive=drive,
    )


def _media_state(status: str) -> MediaState:
    for prefix, state in _STATUS.items():
        # e.g. "is blank , but next track is damaged" is still blank to the drive
        if status.startswith(prefix):
            return state
    return MediaState.UNKNOWN


def parse_write_progress(line: str) -> tuple[int, int] | None:
    """(bytes written, bytes in all) from a burn's pacifier line, else None.

    xorriso counts in whole MiB, so this is coarse; the caller knows the exact total.
    """
    match = _WRITE_PROGRESS.search(line)
    if not match:
        return None
    return int(match[1]) * MIB, int(match[2]) * MIB


def parse_read_progress(line: str) -> int | None:
    """Bytes read so far from a -check_media pacifier line, else None."""
    match = _READ_PROGRESS.search(line)
    return int(match[1]) * BLOCK if match else None


@dataclass(frozen=True)
class Region:
    """One `Media region` line of -check_media: a run of blocks of one quality."""

    lba: int
    blocks: int
    quality: str  # "+ good", "- unreadable", "0 untested", "0 tao_end" ...

    @property
    def good(self) -> bool:
        return self.quality.startswith("+")

    @property
    def bad(self) -> bool:
        return self.quality.startswith("-")


def parse_check_media(output: str) -> list[Region]:
    regions = []
    for line in output.splitlines():
        match = _REGION.match(line.strip())
        if match:
            regions.append(Region(int(match[1]), int(match[2]), match[3]))
    return regions


def bad_regions(regions: list[Region], first: int, count: int) -> list[Region]:
    """The regions inside blocks [first, first+count) that could not be read as good data."""
    end = first + count
    return [r for r in regions if r.bad and r.lba < end and r.lba + r.blocks > first]


def parse_pvd_info(output: str) -> dict[str, str]:
    """The `-pvd_info` report as {"Volume Id": ..., "App Id": ..., ...} (last run wins)."""
    fields: dict[str, str] = {}
    in_report = False
    for line in output.splitlines():
        if line.startswith("PVD address  :"):
            in_report = True
        if not in_report:
            continue
        match = _PVD.match(line)
        if match:
            fields[match["key"].strip()] = match["value"].strip()
    return fields


# --- failures ---------------------------------------------------------------------------

ErrorFactory = Callable[[str, str, int], DriveError]  # (message, detail, exit code)

# Checked in order against the lowercased text of every message of severity SORRY and above
# (and against "Media status" lines): the first rule that matches names the error.
_RULES: tuple[tuple[tuple[str, ...], type[DriveError]], ...] = (
    (("tray open",), TrayOpen),
    (("medium not present", "no medium", "media status : is not present"), NoMedium),
    (("becoming ready", "logical unit is not ready", "drive not ready"), NotReady),
    (("busy device", "device or resource busy"), DriveBusy),
)


def failure(
    output: str, exit_code: int, *, default: ErrorFactory | None = None
) -> DriveError | None:
    """The typed error a finished xorriso run stands for, or None if it succeeded.

    A run failed if it exited non-zero or reported FAILURE or worse. The error's class comes
    from the first rule that matches a message; otherwise `default` (e.g. WriteFailed
    during a burn) or a plain DriveError, with the most severe message as its text.
    """
    found = messages(output)
    serious = [m for m in found if m.at_least("SORRY")]
    if exit_code == 0 and not any(m.at_least("FAILURE") for m in found):
        return None
    detail = "\n".join(f"{m.source} : {m.severity} : {m.text}" for m in serious) or output.strip()
    headline = _headline(serious, exit_code)
    texts = [m.text.lower() for m in serious]
    texts += [line.strip().lower() for line in output.splitlines() if "Media status" in line]
    for needles, kind in _RULES:
        if any(needle in text for text in texts for needle in needles):
            return kind(headline, detail=detail, exit_code=exit_code)
    if default is not None:
        return default(headline, detail, exit_code)
    return DriveError(headline, detail=detail, exit_code=exit_code)


def _headline(serious: list[Message], exit_code: int) -> str:
    """The first message of the highest severity seen: usually the cause, not its echo."""
    if not serious:
        return f"xorriso exited with status {exit_code}"
    top = max(_RANK.get(m.severity, 0) for m in serious)
    # libburn's SORRY often names the cause that xorriso's FAILURE then only summarises
    causes = [m for m in serious if m.source == "libburn"]
    chosen = causes[0] if causes else next(m for m in serious if _RANK.get(m.severity) == top)
    return chosen.text
