"""`[leds]`: which LEDs the box has and how they are reached (docs/leds.md).

`kind` picks the driver; `address` where its device is: the LED class directory
(`/sys/class/leds`), a gpio chip (`/dev/gpiochip0`) or the board's tty (`/dev/ttyACM0`).
`sim://` selects the kind's simulator instead (a fake class directory, a fake chip, a
board behind a pty). `channels` names each LED on the device: a kernel LED name, a line
offset or a board LED number; LEDs not given take `DEFAULT_CHANNELS`.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, field_validator, model_validator

from appliance.leds.policy import Led, Thresholds
from appliance.strict_model import Strict
from drivers.leds.board_protocol import MAX_LED

SIMULATED = "sim://"


class LedKind(StrEnum):
    SYSFS = "sysfs"
    GPIO = "gpio"
    SERIAL = "serial"


DEFAULT_CHANNELS: dict[LedKind, dict[Led, str]] = {
    LedKind.SYSFS: {
        Led.POWER: "kiln:green:power",
        Led.ACTIVITY: "kiln:blue:activity",
        Led.ATTENTION: "kiln:amber:attention",
        Led.ERROR: "kiln:red:error",
    },
    LedKind.GPIO: {Led.POWER: "17", Led.ACTIVITY: "27", Led.ATTENTION: "22", Led.ERROR: "23"},
    LedKind.SERIAL: {Led.POWER: "1", Led.ACTIVITY: "2", Led.ATTENTION: "3", Led.ERROR: "4"},
}


class LedSettings(Strict):
    enabled: bool = True
    kind: LedKind = LedKind.SYSFS
    address: str = SIMULATED
    channels: dict[Led, str] = Field(default_factory=dict)
    active_low: bool = False  # gpio: a line driven low lights its LED
    baudrate: int = Field(115200, ge=1200, le=4_000_000)  # serial board
    reply_timeout: float = Field(0.5, gt=0, le=10)  # serial board, seconds
    tick_seconds: float = Field(0.05, ge=0.01, le=0.5)  # gpio blinks need 1/16 s or less
    status_seconds: float = Field(1.0, ge=0.1, le=60)  # how often the status is read
    retry_seconds: float = Field(10.0, ge=0.5, le=600)  # after a driver error
    lamp_test_seconds: float = Field(5.0, gt=0, le=600)
    # After the LEDs start, a role without a heartbeat shows "starting" (green blinking),
    # not "error", for this long: the roles start side by side (docs/leds.md).
    startup_grace_seconds: float = Field(10.0, ge=0, le=600)
    roles: list[str] = Field(default_factory=lambda: ["dicom", "devices", "web"])
    disk_attention_percent: float = Field(10.0, ge=0, le=90)

    @field_validator("address")
    @classmethod
    def _known_scheme(cls, address: str) -> str:
        if "://" in address and address != SIMULATED:
            raise ValueError(f"a path, or {SIMULATED} for the simulator")
        return address

    @model_validator(mode="after")
    def _channels_fit_the_kind(self) -> LedSettings:
        for led, channel in self.channels.items():
            if self.kind is LedKind.GPIO and not (channel.isdigit() and int(channel) < 1024):
                raise ValueError(f"channels.{led.value}: a gpio line offset (0-1023)")
            if self.kind is LedKind.SERIAL and not (
                channel.isdigit() and 1 <= int(channel) <= MAX_LED
            ):
                raise ValueError(f"channels.{led.value}: a board LED number (1-{MAX_LED})")
        return self

    def channel_map(self) -> dict[Led, str]:
        return {**DEFAULT_CHANNELS[self.kind], **self.channels}

    def thresholds(self) -> Thresholds:
        return Thresholds(tuple(self.roles), self.disk_attention_percent)
