"""LEDs of the Linux LED class: /sys/class/leds/<name>/{brightness,trigger,delay_on,delay_off}.

Steady light: trigger `none`, then brightness (0 or max_brightness). Blinking: the kernel's
`timer` trigger, which creates delay_on/delay_off (ms) when it is selected; the kernel
then blinks with no help from us, even while this process sleeps or is gone.

`class_dir` is the LED class directory (`/sys/class/leds` on a box); any folder laid out
the same way serves as a fake one (`sysfs_fake.py`). Each file is written with a single
write, as sysfs attributes expect.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from drivers.leds.errors import LedUnavailable, UnknownLed
from drivers.leds.pattern import Pattern

log = logging.getLogger(__name__)

CLASS_DIR = Path("/sys/class/leds")


class SysfsLeds:
    def __init__(self, class_dir: Path, names: Mapping[str, str]) -> None:
        """`names`: our LED name -> the kernel's LED name (e.g. "power" -> "kiln:green:power")."""
        self._dirs = {led: class_dir / kernel_name for led, kernel_name in names.items()}
        self._max: dict[str, int] = {}
        for led, path in self._dirs.items():
            try:
                self._max[led] = int((path / "max_brightness").read_text().strip() or "1")
            except (OSError, ValueError) as error:
                raise LedUnavailable(str(path), _reason(error)) from error

    @property
    def leds(self) -> tuple[str, ...]:
        return tuple(self._dirs)

    def set(self, led: str, pattern: Pattern) -> None:
        path = self._dirs.get(led)
        if path is None:
            raise UnknownLed(led)
        blink = pattern.blink
        if blink is None:
            _write(path / "trigger", "none")
            _write(path / "brightness", str(self._max[led] if pattern is Pattern.ON else 0))
        else:
            _write(path / "trigger", "timer")
            _write(path / "delay_on", str(blink.on_ms))
            _write(path / "delay_off", str(blink.off_ms))

    def refresh(self, now: float) -> None:
        """Nothing to do: the kernel blinks."""

    def close(self) -> None:
        """The LEDs keep their last pattern: they belong to the kernel, not to us."""


def _write(path: Path, value: str) -> None:
    try:
        with path.open("w") as file:
            file.write(value)
    except OSError as error:
        raise LedUnavailable(str(path), _reason(error)) from error


def _reason(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error)
