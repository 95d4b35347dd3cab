"""The configuration schema. Unknown keys are errors; every limit is stated here."""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator

from appliance.leds.settings import LedSettings
from appliance.media.profiles import Profile
from appliance.printing.settings import PrintSettings
from appliance.publishing.settings import PublishingSettings
from appliance.strict_model import Strict
from drivers.usb_storage.simulator import SimFault

# AE titles: up to 16 characters of the default repertoire, no backslash or controls (PS3.5).
AE_TITLE_PATTERN = r"^[\x20-\x5b\x5d-\x7e]{1,16}$"
AETitle = Annotated[str, Field(pattern=AE_TITLE_PATTERN)]
UID_PATTERN = r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$"


class DuplicatePolicy(StrEnum):
    KEEP_FIRST = "keep-first"
    OVERWRITE = "overwrite"
    KEEP_BOTH = "keep-both"


class MismatchPolicy(StrEnum):
    WARN = "warn"
    REJECT = "reject"


class ReportMode(StrEnum):
    SAME_ASSOCIATION = "same-association"
    NEW_ASSOCIATION = "new-association"


class BoxSection(Strict):
    name: str = Field("Kiln", min_length=1, max_length=64)
    data_dir: Path = Path("var")


class DicomSection(Strict):
    ae_titles: list[AETitle] = Field(default_factory=lambda: ["KILN"], min_length=1, max_length=32)
    bind: str = "0.0.0.0"
    port: int = Field(11112, ge=1, le=65535)
    accept_any_called_ae: bool = False
    calling_ae_allow: list[AETitle] = Field(default_factory=list)
    host_allow: list[str] = Field(default_factory=list)
    # Sectra CDS defaults: 128 associations, 256 KiB PDU.
    max_associations: int = Field(128, ge=1, le=1024)
    max_pdu: int = Field(262144, ge=4096, le=16777216)
    # syngo MR table 61: 30 s for association, message and network waits.
    acse_timeout: float = Field(30.0, gt=0, le=600)
    dimse_timeout: float = Field(30.0, gt=0, le=3600)
    # 75 s: syngo MR keeps a print association open 60 s after its last film (seed 004
    # §4.2.8.3) and must not be aborted for it.
    network_timeout: float = Field(75.0, gt=0, le=3600)
    workers: int = Field(2, ge=1, le=16)
    shutdown_grace: float = Field(10.0, ge=0, le=300)

    @field_validator("host_allow")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as exc:
                raise ValueError(f"{item!r} is not an IP address or CIDR network") from exc
        return value

    @field_validator("ae_titles", "calling_ae_allow")
    @classmethod
    def _no_blank_titles(cls, value: list[str]) -> list[str]:
        for item in value:
            if not item.strip():
                raise ValueError("an AE title must not be blank")
        return value


class StorageSection(Strict):
    fsync: bool = True
    reserve_mb: int = Field(1024, ge=0, le=1048576)
    duplicates: DuplicatePolicy = DuplicatePolicy.KEEP_FIRST
    sop_class_mismatch: MismatchPolicy = MismatchPolicy.WARN
    extra_sop_classes: list[Annotated[str, Field(pattern=UID_PATTERN, max_length=64)]] = Field(
        default_factory=list
    )
    study_idle_seconds: float = Field(60.0, ge=1, le=86400)


class CommitmentPeer(Strict):
    ae_title: AETitle
    host: str
    port: int = Field(ge=1, le=65535)
    mode: ReportMode = ReportMode.SAME_ASSOCIATION


class CommitmentSection(Strict):
    peers: dict[str, CommitmentPeer] = Field(default_factory=dict)
    retry_initial_seconds: float = Field(5.0, gt=0, le=3600)
    retry_max_seconds: float = Field(600.0, gt=0, le=86400)
    retry_limit: int = Field(100, ge=1, le=10000)

    @field_validator("peers")
    @classmethod
    def _peer_keys_are_titles(cls, value: dict[str, CommitmentPeer]) -> dict[str, CommitmentPeer]:
        _check_title_keys(dict(value))
        return value


class AnswerCharset(StrEnum):
    """Specific Character Sets the worklist answers in (single-byte sets and Unicode)."""

    ISO_IR_6 = "ISO_IR 6"
    ISO_IR_100 = "ISO_IR 100"
    ISO_IR_101 = "ISO_IR 101"
    ISO_IR_109 = "ISO_IR 109"
    ISO_IR_110 = "ISO_IR 110"
    ISO_IR_126 = "ISO_IR 126"
    ISO_IR_127 = "ISO_IR 127"
    ISO_IR_138 = "ISO_IR 138"
    ISO_IR_144 = "ISO_IR 144"
    ISO_IR_148 = "ISO_IR 148"
    ISO_IR_166 = "ISO_IR 166"
    ISO_IR_192 = "ISO_IR 192"
    GB18030 = "GB18030"


def _check_title_keys(value: dict[str, object]) -> None:
    for key in value:
        if not re.fullmatch(AE_TITLE_PATTERN, key):
            raise ValueError(f"{key!r} is not a valid AE title")


class UpstreamWorklist(Strict):
    """An RIS MWL SCP the box queries on a schedule and caches."""

    ae_title: AETitle
    host: str
    port: int = Field(ge=1, le=65535)
    interval_seconds: float = Field(300.0, ge=5, le=86400)
    days_before: int = Field(1, ge=0, le=365)
    days_after: int = Field(7, ge=0, le=365)
    modality: str = Field("", max_length=16)
    station_ae: str = Field("", max_length=16)


class WorklistSection(Strict):
    hit_limit: int = Field(500, ge=1, le=100000)
    names_case_insensitive: bool = True
    answer_charset: AnswerCharset = AnswerCharset.ISO_IR_100
    answer_charset_by_calling_ae: dict[str, AnswerCharset] = Field(default_factory=dict)
    upstream: UpstreamWorklist | None = None

    @field_validator("answer_charset_by_calling_ae")
    @classmethod
    def _titles(cls, value: dict[str, AnswerCharset]) -> dict[str, AnswerCharset]:
        _check_title_keys(dict(value))
        return value


class Hl7Section(Strict):
    enabled: bool = True
    bind: str = "127.0.0.1"
    port: int = Field(2575, ge=1, le=65535)
    # The character set of messages without MSH-18 (HL7 v2 default is ASCII; most RIS
    # send Latin-1 or UTF-8 and say so in MSH-18).
    default_encoding: str = Field("latin-1", pattern=r"^(ascii|latin-1|utf-8|cp1252)$")
    max_message_bytes: int = Field(1048576, ge=1024, le=67108864)
    # A sender that stops in the middle of a message is cut off after this long.
    read_timeout: float = Field(30.0, gt=0, le=3600)
    idle_timeout: float = Field(600.0, gt=0, le=86400)
    max_connections: int = Field(16, ge=1, le=256)


class MppsCheck(StrEnum):
    """Which key of an N-CREATE must match a worklist item (Sectra CDS 5.3.2)."""

    OFF = "off"
    STUDY_INSTANCE_UID = "study-instance-uid"
    ACCESSION_NUMBER = "accession-number"
    STUDY_ID = "study-id"
    REQUESTED_PROCEDURE_ID = "requested-procedure-id"


class RelayDestination(Strict):
    ae_title: AETitle
    host: str
    port: int = Field(ge=1, le=65535)


class MppsSection(Strict):
    check: MppsCheck = MppsCheck.OFF
    check_by_calling_ae: dict[str, MppsCheck] = Field(default_factory=dict)
    relay: dict[str, RelayDestination] = Field(default_factory=dict)
    retry_initial_seconds: float = Field(5.0, gt=0, le=3600)
    retry_max_seconds: float = Field(600.0, gt=0, le=86400)
    # Long RIS outages are survived: the default gives up only after weeks of retries.
    retry_limit: int = Field(10000, ge=1, le=1000000)

    @field_validator("check_by_calling_ae")
    @classmethod
    def _titles(cls, value: dict[str, MppsCheck]) -> dict[str, MppsCheck]:
        _check_title_keys(dict(value))
        return value

    @field_validator("relay")
    @classmethod
    def _names(cls, value: dict[str, RelayDestination]) -> dict[str, RelayDestination]:
        for key in value:
            if not re.fullmatch(r"^[A-Za-z0-9_-]{1,32}$", key):
                raise ValueError(f"{key!r}: relay names are 1-32 letters, digits, '-' or '_'")
        return value


class WebSection(Strict):
    bind: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    session_secret: SecretStr = SecretStr("change-me")
    # Bearer token for API writes (worklist items) until the web login exists; empty
    # refuses every write.
    api_token: SecretStr = SecretStr("")
    # The read-only status pages without a login (a clinic LAN); controls always need one.
    public_status: bool = True


class LoggingSection(Strict):
    level: str = Field("INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    device_traffic: bool = False


class UsbBackend(StrEnum):
    UDEV = "udev"  # real sticks: pyudev and mount(8)
    SIMULATED = "simulated"  # umockdev devices, loop-mounted images (docs/usb-export.md)


class UsbSimulatorSection(Strict):
    image_mb: int = Field(64, ge=8, le=4096)
    fault: SimFault = SimFault.NONE
    pull_after_bytes: int = Field(1048576, ge=0, le=1 << 40)
    insert_after_seconds: float = Field(0.0, ge=0, le=3600)
    # Leave the stick's image (usb-simulator/stick-N.img) to look at what was written.
    keep_images: bool = False


class UsbSection(Strict):
    backend: UsbBackend = UsbBackend.SIMULATED
    # Relative to box.data_dir; each stick is mounted in a directory of its own below it.
    mount_dir: Path = Path("usb")
    wait_seconds: float = Field(60.0, gt=0, le=3600)
    # An error stays on show this long, then clears (the timed way out of every error).
    error_hold_seconds: float = Field(30.0, ge=1, le=86400)
    simulator: UsbSimulatorSection = UsbSimulatorSection()


class MediaSection(Strict):
    """File-sets on discs, sticks and folders (appliance/media, docs/media.md)."""

    # (0004,1130) File-set ID, also the disc's volume label: CS, up to 16 characters.
    file_set_id: str = Field("KILN", pattern=r"^[A-Z0-9_ ]{0,16}$")
    default_profile: Profile = Profile.STD_GEN_CD
    # A DICOM viewer copied to VIEWER/ on every medium; none by default.
    viewer_dir: Path | None = None
    readme: bool = True  # README.TXT listing patient and studies
    index_page: bool = True  # INDEX.HTM, the same as a web page
    autorun: bool = False  # AUTORUN.INF (Windows) opening the viewer or INDEX.HTM
    autorun_open: str = Field("", max_length=64, pattern=r"^[^\\:]*$")  # program in VIEWER/
    # Usable capacity per medium in MB (10^6 bytes), as media are sold.
    cd_mb: int = Field(700, ge=100, le=900)
    dvd_mb: int = Field(4700, ge=1000, le=4800)
    dvd_dl_mb: int = Field(8500, ge=4000, le=8600)
    bd_mb: int = Field(25000, ge=10000, le=128000)

    @field_validator("viewer_dir")
    @classmethod
    def _viewer_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"{value} is not a directory")
        return value


class KilnConfig(Strict):
    box: BoxSection = BoxSection()
    dicom: DicomSection = DicomSection()
    storage: StorageSection = StorageSection()
    commitment: CommitmentSection = CommitmentSection()
    worklist: WorklistSection = WorklistSection()
    hl7: Hl7Section = Hl7Section()
    mpps: MppsSection = MppsSection()
    web: WebSection = WebSection()
    logging: LoggingSection = LoggingSection()
    usb: UsbSection = UsbSection()
    media: MediaSection = MediaSection()
    publishing: PublishingSettings = PublishingSettings()
    leds: LedSettings = LedSettings()
    print: PrintSettings = PrintSettings()

    @property
    def data_dir(self) -> Path:
        return self.box.data_dir
