"""`[publishing]`: the profiles (what discs to make) and the rules (which studies get them).

A profile is copied into each job when the job is created, so editing the file later never
changes a job already queued. Every limit is stated here; errors name the key.

`Section` has the config of `appliance.config.schema.Strict` (unknown keys refused, frozen)
without importing that module: schema.py imports this one for `KilnConfig.publishing`, and
a cycle would break whichever module is imported first (a unit test keeps the two equal).
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from appliance.labels.geometry import DiscGeometry
from appliance.media.copies import CopyType
from appliance.media.profiles import Medium, Profile
from appliance.publishing.stations.settings import StationSettings, _default_stations

if TYPE_CHECKING:
    from appliance.config.schema import KilnConfig

AE_TITLE_PATTERN = r"^[\x20-\x5b\x5d-\x7e]{1,16}$"  # as appliance.config.schema

NONE_PROFILE = "none"  # a rule that picks it does nothing for the study
PROFILE_NAME = r"^[A-Za-z0-9_-]{1,32}$"
DISC_MEDIA = (Medium.CD, Medium.DVD, Medium.DVD_DL, Medium.BD)

AETitle = Annotated[str, Field(pattern=AE_TITLE_PATTERN)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MediaChoice(StrEnum):
    BY_SIZE = "by-size"  # the smallest of [publishing] by_size_media that holds the studies
    CD = "cd"
    DVD = "dvd"
    DVD_DL = "dvd-dl"
    BD = "bd"


class Copies(Section):
    patient: int = Field(1, ge=0, le=20)
    physician: int = Field(0, ge=0, le=20)
    anonymised: int = Field(0, ge=0, le=20)

    def count(self, copy_type: CopyType) -> int:
        return int(getattr(self, copy_type.value))

    @model_validator(mode="after")
    def _some(self) -> Copies:
        if self.patient + self.physician + self.anonymised == 0:
            raise ValueError(
                "a profile must make at least one copy (patient, physician, anonymised)"
            )
        return self


class PublishProfile(Section):
    copies: Copies = Copies()
    media: MediaChoice = MediaChoice.BY_SIZE
    # A PS3.11 disc profile (STD-GEN-CD, STD-GEN-DVD-J2K...) or "automatic": the one the
    # medium needs, keeping the compression most instances arrived in.
    media_profile: str = "automatic"
    label_template: str = Field("default", pattern=PROFILE_NAME)
    viewer: bool = True  # copy [media] viewer_dir onto the disc
    priority: int = Field(5, ge=1, le=9)  # 9 is burned first

    @field_validator("media_profile")
    @classmethod
    def _disc_profile(cls, value: str) -> str:
        if value == "automatic":
            return value
        try:
            profile = Profile(value.upper())
        except ValueError:
            profile = None
        if profile is None or profile.medium not in (*DISC_MEDIA, Medium.DVD_RAM):
            choices = ", ".join(p.value for p in Profile if p.medium in DISC_MEDIA)
            raise ValueError(f"{value!r} is not 'automatic' or a disc profile ({choices})")
        return profile.value

    @model_validator(mode="after")
    def _profile_fits_medium(self) -> PublishProfile:
        profile = self.fixed_profile
        if profile is None or self.media is MediaChoice.BY_SIZE:
            return self
        wanted = Medium(self.media.value)
        medium = profile.medium
        if medium is not wanted and {medium, wanted} != {Medium.DVD, Medium.DVD_DL}:
            raise ValueError(
                f"media_profile {profile.value} is for {medium.value}, but media is "
                f"{self.media.value!r}"
            )
        return self

    @property
    def fixed_profile(self) -> Profile | None:
        return None if self.media_profile == "automatic" else Profile(self.media_profile)


class PublishRule(Section):
    """Matches a completed study on every key given (none given: every study)."""

    called_ae: AETitle | None = None  # the box's AE title the study was sent to
    calling_ae: AETitle | None = None  # the sender
    modality: str | None = Field(None, pattern=r"^[A-Za-z0-9_ ]{1,16}$")
    institution: str | None = Field(None, min_length=1, max_length=64)
    profile: str = Field(pattern=PROFILE_NAME)


def _default_profiles() -> dict[str, PublishProfile]:
    return {"default": PublishProfile()}


class PublishingSettings(Section):
    profiles: dict[str, PublishProfile] = Field(default_factory=_default_profiles)
    # First match wins; a study no rule matches gets no disc.
    rules: list[PublishRule] = Field(default_factory=list, max_length=256)
    # The profile `appliance burn` uses without --profile ("default" or the first one).
    manual_profile: str | None = None
    # Disc types the stations are loaded with: what "by-size" chooses from.
    by_size_media: list[MediaChoice] = Field(
        default_factory=lambda: [MediaChoice.CD, MediaChoice.DVD], min_length=1
    )
    # A disc that fails burn or verify is made again on a new disc this many times.
    redo_limit: int = Field(3, ge=0, le=20)
    deid_level: str = Field("full", pattern=r"^(full|reduced|service)$")
    # New complete studies and queued jobs; a query each time, cheap at 1 s.
    poll_seconds: float = Field(1.0, gt=0, le=60)
    # A station's fault without its own retry time is re-checked after this long.
    station_recheck_seconds: float = Field(60.0, ge=1, le=86400)
    # Where discs are made: [publishing.stations.NAME] (appliance/publishing/stations).
    stations: dict[str, StationSettings] = Field(default_factory=_default_stations)
    # The disc's printable ring for labels (the robot printer's settings).
    label: DiscGeometry = DiscGeometry()
    # Site label templates: a profile's label_template NAME is NAME.toml here, unless it
    # is a built-in one (patient, anonymised, minimal; "default": patient, or anonymised
    # for anonymised copies).
    label_dir: Path | None = None

    @field_validator("profiles")
    @classmethod
    def _names(cls, value: dict[str, PublishProfile]) -> dict[str, PublishProfile]:
        if not value:
            raise ValueError("at least one profile is needed")
        for name in value:
            if not re.fullmatch(PROFILE_NAME, name):
                raise ValueError(f"{name!r}: profile names are 1-32 letters, digits, '-' or '_'")
            if name == NONE_PROFILE:
                raise ValueError(f"{NONE_PROFILE!r} is reserved for rules that make no disc")
        return value

    @field_validator("stations")
    @classmethod
    def _station_names(cls, value: dict[str, StationSettings]) -> dict[str, StationSettings]:
        for name in value:
            if not re.fullmatch(PROFILE_NAME, name):
                raise ValueError(f"{name!r}: station names are 1-32 letters, digits, '-' or '_'")
        return value

    @field_validator("rules")
    @classmethod
    def _rules_name_profiles(
        cls, value: list[PublishRule], info: ValidationInfo
    ) -> list[PublishRule]:
        known = info.data.get("profiles")
        if known is None:  # profiles failed their own check, reported there
            return value
        for number, rule in enumerate(value, start=1):
            if rule.profile != NONE_PROFILE and rule.profile not in known:
                raise ValueError(
                    f"rule {number} names profile {rule.profile!r}, which is not in "
                    f"[publishing.profiles] ({', '.join(sorted(known))}, or {NONE_PROFILE!r})"
                )
        return value

    @field_validator("by_size_media")
    @classmethod
    def _no_by_size(cls, value: list[MediaChoice]) -> list[MediaChoice]:
        if MediaChoice.BY_SIZE in value:
            raise ValueError("list disc types only (cd, dvd, dvd-dl, bd)")
        return value

    @model_validator(mode="after")
    def _manual(self) -> PublishingSettings:
        if self.manual_profile is not None and self.manual_profile not in self.profiles:
            raise ValueError(
                f"manual_profile {self.manual_profile!r} is not in [publishing.profiles] "
                f"({', '.join(sorted(self.profiles))})"
            )
        return self

    @property
    def hand_profile(self) -> str:
        if self.manual_profile is not None:
            return self.manual_profile
        return "default" if "default" in self.profiles else next(iter(self.profiles))


def publishing_settings(config: KilnConfig) -> PublishingSettings:
    """The `[publishing]` section, or its defaults while KilnConfig has none."""
    section = getattr(config, "publishing", None)
    return section if isinstance(section, PublishingSettings) else PublishingSettings()
