"""The configuration schema. Unknown keys are errors; every limit is stated here."""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

# AE titles: up to 16 characters of the default repertoire, no backslash or controls (PS3.5).
AE_TITLE_PATTERN = r"^[\x20-\x5b\x5d-\x7e]{1,16}$"
AETitle = Annotated[str, Field(pattern=AE_TITLE_PATTERN)]
UID_PATTERN = r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    network_timeout: float = Field(30.0, gt=0, le=3600)
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
        for key in value:
            if not re.fullmatch(AE_TITLE_PATTERN, key):
                raise ValueError(f"{key!r} is not a valid calling AE title")
        return value


class WebSection(Strict):
    bind: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    session_secret: SecretStr = SecretStr("change-me")


class LoggingSection(Strict):
    level: str = Field("INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    device_traffic: bool = False


class KilnConfig(Strict):
    box: BoxSection = BoxSection()
    dicom: DicomSection = DicomSection()
    storage: StorageSection = StorageSection()
    commitment: CommitmentSection = CommitmentSection()
    web: WebSection = WebSection()
    logging: LoggingSection = LoggingSection()

    @property
    def data_dir(self) -> Path:
        return self.box.data_dir
