"""PTBurn's job-folder protocol, pure: job requests out, status files in. No I/O.

Sources (PTBurn SDK, Primera, rev. 2.61 2006 and 3.24 2011): a client writes a text job
request `NAME.JRQ` into the shared job folder; PTBurn renames it `NAME.QRJ` when it has
queued it, `NAME.INP` while it works on it and `NAME.DON` or `NAME.ERR` at the end
(finished with errors or aborted). `NAME.PTM` with `Message=ABORT` and the job's
ClientID aborts it. Status is written INI-style into `Status/SystemStatus.txt`
([RobotList], one section per robot, [System]) and `Status/<robot name>.txt` ([JobList],
[CompletedJobs], one section per job named after the request file, [System]). Where a
value is Kiln's choice rather than the SDK's, the docs say so (docs/primera-ptburn.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from pathlib import PurePosixPath, PureWindowsPath

from drivers.primera.error_codes import NO_ERROR, RobotErrorInfo, describe

STATUS_DIR = "Status"
SYSTEM_STATUS_FILE = "SystemStatus.txt"
ADMINISTRATOR = "Administrator"  # the ClientID that may abort any job
MAX_ID_CHARS = 32  # JobID and ClientID: "any ASCII string up to 32 characters"
_JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class ProtocolError(ValueError):
    """A job request Kiln would not send, or a file PTBurn would not write."""


class JobFileState(Enum):
    """What the extension of a job request file says (the SDK's default extensions)."""

    SUBMITTED = "JRQ"  # written by the client, not yet seen by PTBurn
    QUEUED = "QRJ"  # PTBurn has put it in its list of jobs
    IN_PROGRESS = "INP"
    DONE = "DON"
    FAILED = "ERR"  # finished with errors, or aborted


ABORT_EXTENSION = "PTM"


def check_job_name(name: str) -> str:
    """A job file stem Kiln writes: letters, digits, '-' and '_' only (it becomes a file
    name on a Windows share and a section name in an INI file)."""
    if not _JOB_NAME.fullmatch(name):
        raise ProtocolError(f"job name {name!r}: use 1-64 letters, digits, '-' or '_'")
    return name


def job_file_state(filename: str) -> tuple[str, JobFileState] | None:
    """(job name, state) for a job request file name in any state, else None. PTBurn's
    own documentation writes the extensions in both cases, so case is ignored."""
    stem, dot, extension = filename.rpartition(".")
    if not dot or not stem:
        return None
    for state in JobFileState:
        if extension.upper() == state.value:
            return stem, state
    return None


# --- the job request ------------------------------------------------------------------


@dataclass(frozen=True)
class JobRequest:
    """The keys of a .JRQ file that Kiln uses; paths are as the PTBurn host sees them."""

    job_id: str
    client_id: str
    image_file: str | None = None  # ImageFile: an .ISO (or .GI) burned as is
    data: tuple[str, ...] = ()  # Data: folders/files to master (instead of an image)
    volume_name: str | None = None  # only with Data
    copies: int = 1
    close_disc: bool = True
    verify_disc: bool = True
    reject_if_not_blank: bool = True
    delete_files: bool = True  # PTBurn deletes the job's subfolder when the job ends
    importance: int = 4  # 0 most important; the SDK default is 4
    print_label: str | None = None  # .STD, .JPG, .BMP or .PRN; None: no print
    print_quality: int | None = None  # 0 low .. 4 best
    bin_id: int | None = None  # BinID: which input bin (media) to pick from
    robot_name: str | None = None  # RobotName: which robot, if the host has several
    burn_speed: int | None = None

    def __post_init__(self) -> None:
        for key, value in (("JobID", self.job_id), ("ClientID", self.client_id)):
            if not value or len(value) > MAX_ID_CHARS or not value.isascii():
                raise ProtocolError(f"{key} must be 1-{MAX_ID_CHARS} ASCII characters")
            if "\n" in value or "\r" in value:
                raise ProtocolError(f"{key} must be one line")
        if (self.image_file is None) == (not self.data):
            raise ProtocolError("give either an ImageFile or Data, not both or neither")
        if self.volume_name is not None and self.image_file is not None:
            raise ProtocolError("VolumeName applies to Data jobs only (an image has its own)")
        if not 1 <= self.copies <= 9999:
            raise ProtocolError(f"Copies {self.copies}: must be 1-9999")
        if not 0 <= self.importance <= 9:
            raise ProtocolError(f"Importance {self.importance}: must be 0-9")
        if self.print_quality is not None and not 0 <= self.print_quality <= 4:
            raise ProtocolError(f"PrintQuality {self.print_quality}: must be 0-4")
        if self.print_label is not None:
            suffix = PureWindowsPath(self.print_label).suffix.lower()
            if suffix not in LABEL_SUFFIXES:
                raise ProtocolError(
                    f"PrintLabel {self.print_label!r}: PTBurn prints "
                    f"{', '.join(sorted(LABEL_SUFFIXES))} files"
                )


# The label files the SDK names for PrintLabel: SureThing, JPEG, Windows bitmap, and a
# print-to-file .PRN. A PNG is converted to BMP before it is staged (ptburn_driver.py).
LABEL_SUFFIXES = frozenset({".std", ".jpg", ".jpeg", ".bmp", ".prn"})


def _yes(value: bool) -> str:
    return "YES" if value else "NO"


def render_job_request(request: JobRequest) -> str:
    """The .JRQ text: one `Key=Value` per line, CRLF line ends (a Windows host reads it)."""
    lines = [f"JobID={request.job_id}", f"ClientID={request.client_id}"]
    if request.image_file is not None:
        lines.append(f"ImageFile={request.image_file}")
    lines += [f"Data={item}" for item in request.data]
    if request.volume_name is not None:
        lines.append(f"VolumeName={request.volume_name}")
    lines += [
        f"Copies={request.copies}",
        f"CloseDisc={_yes(request.close_disc)}",
        f"VerifyDisc={_yes(request.verify_disc)}",
        f"RejectIfNotBlank={_yes(request.reject_if_not_blank)}",
        f"DeleteFiles={_yes(request.delete_files)}",
        f"Importance={request.importance}",
    ]
    optional: list[tuple[str, object]] = [
        ("PrintLabel", request.print_label),
        ("PrintQuality", request.print_quality),
        ("BinID", request.bin_id),
        ("RobotName", request.robot_name),
        ("BurnSpeed", request.burn_speed),
    ]
    lines += [f"{key}={value}" for key, value in optional if value is not None]
    return "\r\n".join(lines) + "\r\n"


def parse_job_request(text: str) -> JobRequest:
    """A .JRQ back into a JobRequest (the simulator reads what Kiln wrote with this)."""
    values: dict[str, list[str]] = {}
    for raw in text.splitlines():
        key, sep, value = raw.partition("=")
        if not sep or not key.strip():
            continue
        values.setdefault(key.strip().lower(), []).append(value.strip())

    def one(key: str) -> str | None:
        found = values.get(key.lower())
        return found[-1] if found else None

    def flag(key: str, default: bool) -> bool:
        value = one(key)
        return default if value is None else value.upper() == "YES"

    def number(key: str) -> int | None:
        value = one(key)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError as error:
            raise ProtocolError(f"{key}={value!r} is not a number") from error

    return JobRequest(
        job_id=one("JobID") or "",
        client_id=one("ClientID") or "Unknown",
        image_file=(one("ImageFile") or "").split(",")[0].strip() or None,
        data=tuple(values.get("data", ())),
        volume_name=one("VolumeName"),
        copies=number("Copies") or 1,
        close_disc=flag("CloseDisc", True),
        verify_disc=flag("VerifyDisc", False),
        reject_if_not_blank=flag("RejectIfNotBlank", False),
        delete_files=flag("DeleteFiles", False),
        importance=_default(number("Importance"), 4),
        print_label=one("PrintLabel"),
        print_quality=number("PrintQuality"),
        bin_id=number("BinID"),
        robot_name=one("RobotName"),
        burn_speed=number("BurnSpeed"),
    )


def _default(value: int | None, default: int) -> int:
    return default if value is None else value


def render_abort(client_id: str) -> str:
    """The .PTM that aborts the job of the same name (the ClientID must match)."""
    return f"Message=ABORT\r\nClientID={client_id}\r\n"


def parse_message(text: str) -> tuple[str, str]:
    """(Message, ClientID) of a .PTM file."""
    ini = parse_ini("[m]\n" + text).get("m", {})
    return ini.get("message", "").upper(), ini.get("clientid", "")


# --- host paths -----------------------------------------------------------------------


def to_host_path(host_root: str, relative: PurePosixPath) -> str:
    """A path inside the job folder as the PTBurn host sees it (`C:\\PTBurnJobs\\x\\y.iso`
    or `\\\\host\\share\\x\\y.iso`): the JRQ must name files by the host's path."""
    if relative.is_absolute() or ".." in relative.parts:
        raise ProtocolError(f"{relative}: must be relative, inside the job folder")
    return str(PureWindowsPath(host_root, *relative.parts))


def from_host_path(host_root: str, host_path: str) -> PurePosixPath:
    """The inverse of `to_host_path` (the simulator maps PTBurn paths back with it)."""
    root = PureWindowsPath(host_root)
    path = PureWindowsPath(host_path)
    try:
        relative = path.relative_to(root)
    except ValueError as error:
        raise ProtocolError(f"{host_path!r} is not inside {host_root!r}") from error
    return PurePosixPath(*relative.parts)


# --- status files ---------------------------------------------------------------------

Ini = dict[str, dict[str, str]]


def parse_ini(text: str) -> Ini:
    """Sections and keys, both lower-cased (PTBurn's INI reader is case-blind); values
    kept as written. Lines without '=' and ';' comments are skipped: PTBurn rewrites
    these files in place, so a reader can see a torn last line."""
    sections: Ini = {}
    current: dict[str, str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1].strip().lower(), {})
            continue
        key, sep, value = line.partition("=")
        if sep and current is not None:
            current[key.strip().lower()] = value.strip()
    return sections


def _int(section: dict[str, str], key: str, default: int | None = None) -> int | None:
    value = section.get(key.lower())
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        return default


def _list(section: dict[str, str] | None, prefix: str) -> list[str]:
    """Job0, Job1, ... until the first missing key (how the SDK says to read lists)."""
    found: list[str] = []
    while section is not None and f"{prefix}{len(found)}".lower() in section:
        found.append(section[f"{prefix}{len(found)}".lower()])
    return found


class JobState(Enum):
    """JobState in a job's status section."""

    NOT_STARTED = 0
    RUNNING = 1
    COMPLETED = 2
    FAILED = 3


class StatusStep(Enum):
    """CurrentStatusState: what PTBurn is doing on the job (SDK 3.x)."""

    RECORDING = 0
    READING = 1
    VERIFYING = 2
    PRINTING = 3
    LOADING = 4
    UNLOADING = 5
    WAITING_FOR_PRINTER = 6
    WAITING_FOR_RECORDER = 7
    FINISHING = 8
    REJECTING = 9
    COMPLETE = 10
    PAUSED = 11
    RESUMED = 12
    ABORTED = 13
    INITIALIZING = 14
    FAILED = 15
    PRE_MASTERING = 16
    SYSTEM_OK = 17


class ErrorScope(Enum):
    JOB = "job"  # the job did not complete
    DISC = "disc"  # one disc failed and was rejected; PTBurn takes a new one


# PTBurn's Job/Disc errors (JobErrorNumber, DiscErrorNumberX): number -> (text, scope).
# Kiln's short wording of the SDK's table; 22 and above are newer and not listed here.
JOB_ERRORS: dict[int, tuple[str, ErrorScope]] = {
    1: ("internal recording engine error", ErrorScope.JOB),
    2: ("internal job processor error", ErrorScope.JOB),
    3: ("internal robotics error", ErrorScope.JOB),
    4: ("the files to burn are invalid", ErrorScope.JOB),
    5: ("too many files to burn", ErrorScope.JOB),
    6: ("no burn file defined for the job", ErrorScope.JOB),
    7: ("the print file is invalid", ErrorScope.JOB),
    8: ("the job request file is invalid", ErrorScope.JOB),
    9: ("the status file is corrupt", ErrorScope.JOB),
    10: ("the disc is not usable", ErrorScope.DISC),
    11: ("the disc is too small", ErrorScope.DISC),
    12: ("the disc is not blank", ErrorScope.DISC),
    13: ("the drive failed to open or close", ErrorScope.JOB),
    14: ("the drive did not become ready", ErrorScope.DISC),
    15: ("the drive is not a robot drive", ErrorScope.JOB),
    16: ("the job was aborted", ErrorScope.JOB),
    17: ("the DVD structure is invalid", ErrorScope.JOB),
    18: ("writing the disc failed", ErrorScope.DISC),
    19: ("verifying the disc failed", ErrorScope.DISC),
    20: ("too many discs were rejected", ErrorScope.JOB),
    21: ("the multisession disc is invalid", ErrorScope.JOB),
}
JOB_ABORTED = 16
TOO_MANY_REJECTS = 20


@dataclass(frozen=True)
class JobError:
    number: int
    text: str  # PTBurn's own string if it gave one, else ours
    scope: ErrorScope

    @classmethod
    def of(cls, number: int, text: str = "") -> JobError:
        known = JOB_ERRORS.get(number)
        scope = known[1] if known else ErrorScope.JOB
        return cls(number, text or (known[0] if known else f"job error {number}"), scope)


@dataclass(frozen=True)
class DiscError:
    disc: int  # DiscErrorIndexX: 1 for the first disc of the job
    error: JobError


@dataclass(frozen=True)
class JobStatus:
    """A job's section in the robot status file."""

    name: str
    state: JobState
    step: StatusStep | None
    current_status: str
    good_discs: int
    bad_discs: int
    discs_remaining: int
    jobs_ahead: int
    job_error: JobError | None
    disc_errors: tuple[DiscError, ...]


@dataclass(frozen=True)
class RobotStatusFile:
    """Status/<robot name>.txt."""

    active: tuple[str, ...]  # [JobList]
    completed: tuple[str, ...]  # [CompletedJobs]
    jobs: dict[str, JobStatus]  # by job name (lower-cased, as INI sections are)
    system_status: str
    sys_error: int

    def job(self, name: str) -> JobStatus | None:
        return self.jobs.get(name.lower())


def _job_status(name: str, section: dict[str, str]) -> JobStatus:
    state_number = _int(section, "JobState", 0) or 0
    step_number = _int(section, "CurrentStatusState")
    job_error_number = _int(section, "JobErrorNumber", 0) or 0
    disc_errors = []
    for index in range(10):  # the SDK reports at most ten: X is 0..9
        number = _int(section, f"DiscErrorNumber{index}")
        if number is None:
            break
        disc = _int(section, f"DiscErrorIndex{index}", 0) or 0
        text = section.get(f"discerrorstring{index}", "")
        disc_errors.append(DiscError(disc, JobError.of(number, text)))
    return JobStatus(
        name=name,
        state=JobState(state_number) if state_number in (0, 1, 2, 3) else JobState.RUNNING,
        step=StatusStep(step_number) if step_number in range(18) else None,
        current_status=section.get("currentstatus", ""),
        good_discs=_int(section, "GoodDiscs", 0) or 0,
        bad_discs=_int(section, "BadDiscs", 0) or 0,
        discs_remaining=_int(section, "DiscsRemaining", 0) or 0,
        jobs_ahead=_int(section, "JobsAhead", 0) or 0,
        job_error=(
            JobError.of(job_error_number, section.get("joberrorstring", ""))
            if job_error_number
            else None
        ),
        disc_errors=tuple(disc_errors),
    )


def parse_robot_status(text: str) -> RobotStatusFile:
    ini = parse_ini(text)
    active = _list(ini.get("joblist"), "Job")
    completed = _list(ini.get("completedjobs"), "Job")
    jobs = {
        name.lower(): _job_status(name, ini[name.lower()])
        for name in [*active, *completed]
        if name.lower() in ini
    }
    system = ini.get("system", {})
    return RobotStatusFile(
        active=tuple(active),
        completed=tuple(completed),
        jobs=jobs,
        system_status=system.get("systemstatus", ""),
        sys_error=_int(system, "SysErrorNumber", 0) or 0,
    )


@dataclass(frozen=True)
class Cartridge:
    kind: str  # "black", "color", "yellow", "cyan", "magenta", "none"
    fill_percent: int | None


CARTRIDGE_KINDS = {0: "none", 1: "color", 2: "black", 3: "yellow", 4: "cyan", 5: "magenta"}
ROBOT_TYPES = {
    0: "Disc Publisher",
    1: "Disc Publisher II",
    2: "Disc Publisher PRO",
    4: "Disc Publisher XR",
    5: "Disc Publisher XRP",
    6: "Disc Publisher SE",
    7: "Disc Publisher Xi",
    8: "Disc Publisher 4100",
    9: "Disc Publisher 4100 XRP",
}


@dataclass(frozen=True)
class RobotInfo:
    """One robot's section in SystemStatus.txt."""

    name: str
    robot_type: str
    drives: int
    jobs: int
    status: str
    status_file: str
    discs_left_bin: int | None  # None: unknown (the SDK writes -1)
    discs_right_bin: int | None
    cartridges: tuple[Cartridge, ...]


@dataclass(frozen=True)
class PtburnSystemStatus:
    robots: tuple[RobotInfo, ...]
    sys_error: RobotErrorInfo | None
    sys_error_string: str
    server_tick_count: int | None  # seconds; it stops moving when PTBurn stops
    server_time: str
    ptburn_version: str

    def robot(self, name: str | None) -> RobotInfo | None:
        if name is None:
            return self.robots[0] if self.robots else None
        return next((r for r in self.robots if r.name.lower() == name.lower()), None)


def _bin(section: dict[str, str], key: str) -> int | None:
    value = _int(section, key)
    return None if value is None or value < 0 else value


def parse_system_status(text: str) -> PtburnSystemStatus:
    ini = parse_ini(text)
    robots = []
    for name in _list(ini.get("robotlist"), "Robot"):
        section = ini.get(name.lower(), {})
        cartridges = []
        for index in range(8):
            kind = _int(section, f"CartridgeType{index}")
            if kind is None:
                break
            cartridges.append(
                Cartridge(
                    CARTRIDGE_KINDS.get(kind, str(kind)), _int(section, f"CartridgeFill{index}")
                )
            )
        robot_type = _int(section, "RobotType")
        robots.append(
            RobotInfo(
                name=name,
                robot_type=ROBOT_TYPES.get(robot_type or 0, f"type {robot_type}")
                if robot_type is not None
                else "",
                drives=_int(section, "SystemDrives", 0) or 0,
                jobs=_int(section, "NumJobs", 0) or 0,
                status=section.get("status", ""),
                status_file=section.get("statusfile", f"{name}.txt"),
                discs_left_bin=_bin(section, "DiscsInLeftBin"),
                discs_right_bin=_bin(section, "DiscsInRightBin"),
                cartridges=tuple(cartridges),
            )
        )
    system = ini.get("system", {})
    error = _int(system, "SysErrorNumber", NO_ERROR) or NO_ERROR
    return PtburnSystemStatus(
        robots=tuple(robots),
        sys_error=describe(error) if error != NO_ERROR else None,
        sys_error_string=system.get("syserrorstring", ""),
        server_tick_count=_int(system, "ServerTickCount"),
        server_time=system.get("servertime", ""),
        ptburn_version=system.get("ptburnswver", ""),
    )


def render_ini(sections: list[tuple[str, list[tuple[str, object]]]]) -> str:
    """INI text as PTBurn writes it (the simulator's writer; CRLF line ends)."""
    lines: list[str] = []
    for name, items in sections:
        lines.append(f"[{name}]")
        lines += [f"{key}={value}" for key, value in items]
        lines.append("")
    return "\r\n".join(lines)
