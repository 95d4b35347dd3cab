"""A fake gpio chip: the simulator behind `gpio.Lines`, recording every level with its time.

`shown(offset, now)` reads the last second of that record back as a pattern: steady on or
off, or a blink by how often the line changed (1 Hz: 2 changes a second, 4 Hz: 8).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from drivers.leds.pattern import Pattern

WINDOW = 1.0  # seconds looked at by `shown`
_CHANGES_PER_WINDOW = {2: Pattern.SLOW, 8: Pattern.FAST}


@dataclass(frozen=True)
class Level:
    time: float
    offset: int
    active: bool


class FakeChip:
    def __init__(self, clock: Callable[[], float], lines: int = 32) -> None:
        self._clock = clock
        self.lines = lines
        self.history: list[Level] = []
        self.closed = False

    def set_value(self, offset: int, active: bool) -> None:
        if not 0 <= offset < self.lines:
            raise ValueError(f"the fake chip has no line {offset}")
        self.history.append(Level(self._clock(), offset, active))

    def close(self) -> None:
        self.closed = True

    def level(self, offset: int, at: float) -> bool:
        """The line's level at time `at` (dark before its first write)."""
        levels = [x.active for x in self.history if x.offset == offset and x.time <= at]
        return levels[-1] if levels else False

    def shown(self, offset: int, now: float) -> Pattern:
        """What the line showed over the last second before `now`."""
        changes = [x for x in self.history if x.offset == offset and now - WINDOW < x.time <= now]
        flips = sum(1 for x in changes if x.active != self.level(offset, x.time - 1e-9))
        if flips == 0:
            return Pattern.ON if self.level(offset, now) else Pattern.OFF
        pattern = _CHANGES_PER_WINDOW.get(flips)
        if pattern is None:
            raise ValueError(f"line {offset} changed {flips} times in {WINDOW:g} s")
        return pattern
