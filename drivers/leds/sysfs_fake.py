"""A fake LED class directory, and what its files say an LED shows.

`create(class_dir, names)` lays out one directory per LED as the kernel does (brightness,
max_brightness, trigger listing the triggers with the selected one in brackets). The
driver writes into it as into /sys/class/leds; `shown(class_dir, name)` reads it back.
Unlike the kernel, the fake does not remove delay_on/delay_off when the trigger leaves
`timer`, so `shown` reads them only while the trigger is `timer`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from drivers.leds.pattern import Blink, Pattern, pattern_of

TRIGGERS = ("none", "timer", "heartbeat", "default-on")
MAX_BRIGHTNESS = 255


def create(class_dir: Path, names: Iterable[str]) -> None:
    """A class directory with these LEDs, all off; existing LEDs are left as they are."""
    for name in names:
        led = class_dir / name
        if led.is_dir():
            continue
        led.mkdir(parents=True)
        (led / "brightness").write_text("0\n")
        (led / "max_brightness").write_text(f"{MAX_BRIGHTNESS}\n")
        (led / "trigger").write_text(" ".join(f"[{t}]" if t == "none" else t for t in TRIGGERS))


def trigger(class_dir: Path, name: str) -> str:
    """The selected trigger: the bracketed one in the kernel's list, or a bare name written."""
    words = (class_dir / name / "trigger").read_text().split()
    selected = [w.strip("[]") for w in words if w.startswith("[")]
    return selected[0] if selected else words[0]


def shown(class_dir: Path, name: str) -> Pattern:
    led = class_dir / name
    if trigger(class_dir, name) == "timer":
        on = int((led / "delay_on").read_text())
        off = int((led / "delay_off").read_text())
        return pattern_of(lit=True, blink=Blink(on, off))
    return pattern_of(lit=int((led / "brightness").read_text()) > 0, blink=None)
