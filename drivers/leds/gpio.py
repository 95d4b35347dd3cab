"""LEDs on GPIO lines through libgpiod v2 (the `gpiod` package), blinking in software.

A GPIO line is only high or low, so the driver blinks: `set` records the pattern and when
it started, and `refresh(now)` (called every 50-100 ms) works out each line's level from
the time and writes the lines whose level changed. Lines are reached through `Lines`, a
small interface: `GpiodLines` is a real chip's lines, `gpio_fake.FakeChip` the simulator's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from drivers.leds.errors import LedUnavailable, UnknownLed
from drivers.leds.pattern import Pattern

CONSUMER = "kiln-leds"


class Lines(Protocol):
    """Output lines of one chip, by offset; active means lit."""

    def set_value(self, offset: int, active: bool) -> None: ...

    def close(self) -> None: ...


@dataclass
class _Shown:
    pattern: Pattern
    since: float
    level: bool | None = None  # last written; None: not written yet


class GpioLeds:
    def __init__(
        self, lines: Lines, offsets: Mapping[str, int], clock: Callable[[], float]
    ) -> None:
        self._lines = lines
        self._offsets = dict(offsets)
        self._clock = clock
        self._shown: dict[str, _Shown] = {}

    @property
    def leds(self) -> tuple[str, ...]:
        return tuple(self._offsets)

    def set(self, led: str, pattern: Pattern) -> None:
        if led not in self._offsets:
            raise UnknownLed(led)
        now = self._clock()
        self._shown[led] = _Shown(pattern, now)  # a new blink starts lit
        self._render(led, now)

    def refresh(self, now: float) -> None:
        for led in self._shown:
            self._render(led, now)

    def close(self) -> None:
        self._lines.close()

    def _render(self, led: str, now: float) -> None:
        shown = self._shown[led]
        level = level_at(shown.pattern, now - shown.since)
        if level != shown.level:
            self._lines.set_value(self._offsets[led], level)
            shown.level = level


def level_at(pattern: Pattern, elapsed: float) -> bool:
    """Whether an LED showing `pattern` for `elapsed` seconds is lit."""
    blink = pattern.blink
    if blink is None:
        return pattern is Pattern.ON
    return (elapsed % blink.period) < blink.on_ms / 1000.0


class GpiodLines:
    """The lines of a real chip (/dev/gpiochipN) requested as outputs, initially dark."""

    def __init__(self, chip: str, offsets: list[int], *, active_low: bool = False) -> None:
        # Imported here: only a box with GPIO LEDs needs libgpiod's bindings.
        import gpiod  # type: ignore[import-not-found, unused-ignore]
        from gpiod.line import Direction, Value  # type: ignore[import-not-found, unused-ignore]

        self._active, self._inactive = Value.ACTIVE, Value.INACTIVE
        settings = gpiod.LineSettings(
            direction=Direction.OUTPUT, output_value=Value.INACTIVE, active_low=active_low
        )
        try:
            self._request = gpiod.request_lines(
                chip, consumer=CONSUMER, config={tuple(offsets): settings}
            )
        except (OSError, ValueError) as error:
            raise LedUnavailable(chip, str(error)) from error
        self._chip = chip

    def set_value(self, offset: int, active: bool) -> None:
        try:
            self._request.set_value(offset, self._active if active else self._inactive)
        except (OSError, ValueError) as error:
            raise LedUnavailable(f"{self._chip} line {offset}", str(error)) from error

    def close(self) -> None:
        self._request.release()
