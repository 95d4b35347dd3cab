"""What an LED can show, and the interface every LED driver offers."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol


@dataclass(frozen=True)
class Blink:
    on_ms: int
    off_ms: int

    @property
    def period(self) -> float:
        return (self.on_ms + self.off_ms) / 1000.0


class Pattern(Enum):
    OFF = "off"
    ON = "on"
    SLOW = "slow"  # 1 Hz
    FAST = "fast"  # 4 Hz

    @property
    def blink(self) -> Blink | None:
        return _BLINKS.get(self)


_BLINKS = {Pattern.SLOW: Blink(500, 500), Pattern.FAST: Blink(125, 125)}


def pattern_of(*, lit: bool, blink: Blink | None) -> Pattern:
    """The pattern a device shows (for simulators and tests): steady or one of the blinks.

    A blink the patterns do not name raises ValueError: a driver never sends one.
    """
    if blink is None:
        return Pattern.ON if lit else Pattern.OFF
    for pattern, known in _BLINKS.items():
        if known == blink:
            return pattern
    raise ValueError(f"no pattern blinks {blink.on_ms}/{blink.off_ms} ms")


class LedDriver(Protocol):
    """LEDs by name (the names come from configuration, e.g. "power", "error")."""

    @property
    def leds(self) -> tuple[str, ...]: ...

    def set(self, led: str, pattern: Pattern) -> None:
        """Show `pattern` on `led` from now on; raises LedError subclasses."""
        ...

    def refresh(self, now: float) -> None:
        """Called often (every 50-100 ms): drivers that blink in software do it here."""
        ...

    def close(self) -> None: ...
