"""`[publishing.stations.NAME]`: where discs are made, and with what devices.

A station is a Primera robot with its drives (`kind = "robot"`), a PTBurn host fed through
its job folder (`"ptburn"`), or one drive worked by hand (`"manual"`). A device address
`sim://` selects the device's simulator (docs/publishing.md); every other address is the
real device's (a serial node, a drive's /dev/sr*, a mounted job folder).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from appliance.strict_model import Strict

SIMULATED = "sim://"


class StationKind(StrEnum):
    ROBOT = "robot"
    PTBURN = "ptburn"
    MANUAL = "manual"


class DiscType(StrEnum):
    CD = "cd"
    DVD = "dvd"
    DVD_DL = "dvd-dl"
    BD = "bd"


class DriveSettings(Strict):
    device: str = SIMULATED  # /dev/sr0, or sim:// for a simulated drive
    xorriso: list[str] = Field(default_factory=lambda: ["xorriso"], min_length=1)
    # A simulated drive: the disc type it is given, and bytes per second (0: no limit).
    sim_media: str = Field("DVD+R", pattern=r"^(CD-R|DVD\+R|DVD-R|DVD\+R/DL|BD-R)$")
    sim_speed: int = Field(0, ge=0, le=1_000_000_000)


class RobotSettings(Strict):
    port: str = SIMULATED  # /dev/ttyUSB0, /dev/usb/lp0, or sim://
    model: str = "disc-publisher-pro"  # a key of drivers/primera/flavors.py
    retries: int = Field(2, ge=0, le=10)
    log_traffic: bool = False
    # The bin blank discs of each type are picked from (bin names of the model).
    bins: dict[DiscType, str] = Field(default_factory=dict)
    # A simulated robot: seconds per motion and per print.
    sim_motion_seconds: float = Field(0.05, ge=0, le=30)
    sim_print_seconds: float = Field(0.2, ge=0, le=300)


class PtburnSettings(Strict):
    folder: Path | None = None  # the job folder as mounted here; sim:// if not given
    address: str = SIMULATED  # sim://: a simulated PTBurn host on `folder`
    host_root: str = "C:\\PTBurnJobs"  # the same folder as the PTBurn host names it
    client_id: str = Field("Kiln", pattern=r"^[A-Za-z0-9_-]{1,32}$")
    robot_name: str | None = None
    pickup_timeout: float = Field(30.0, gt=0, le=3600)
    poll_interval: float = Field(1.0, gt=0, le=60)
    bins: dict[DiscType, int] = Field(default_factory=dict)  # PTBurn BinID per disc type
    sim_speed: int = Field(0, ge=0, le=1_000_000_000)


class StationSettings(Strict):
    kind: StationKind = StationKind.ROBOT
    media: list[DiscType] = Field(default_factory=lambda: [DiscType.CD, DiscType.DVD], min_length=1)
    robot: RobotSettings = RobotSettings()
    drives: list[DriveSettings] = Field(default_factory=list, max_length=8)
    ptburn: PtburnSettings = PtburnSettings()
    # How long a manual station waits between looks for a blank disc.
    poll_seconds: float = Field(5.0, gt=0, le=600)

    @field_validator("media")
    @classmethod
    def _unique(cls, value: list[DiscType]) -> list[DiscType]:
        if len(set(value)) != len(value):
            raise ValueError("each disc type once")
        return value

    @model_validator(mode="after")
    def _devices(self) -> StationSettings:
        if self.kind is StationKind.MANUAL and len(self.drives) != 1:
            raise ValueError("a manual station has exactly one drive ([[...drives]])")
        if self.kind is StationKind.ROBOT and not self.drives:
            raise ValueError("a robot station needs its drives ([[...drives]], one per drive)")
        if self.kind is StationKind.PTBURN and self.drives:
            raise ValueError("a ptburn station's drives belong to the PTBurn host; list none")
        return self


def _default_stations() -> dict[str, StationSettings]:
    """The demo box: one simulated robot with two simulated drives."""
    return {"robot1": StationSettings(drives=[DriveSettings(), DriveSettings()])}
