"""The LED driver from `[leds]`, with its simulator when the address is `sim://`.

`DRIVERS` is a table of (kind, address scheme) -> builder, so the simulated and the real
LEDs go through the same drivers with no branch on "simulated". A simulator is also
handed out (`Built.simulator`) so tests and `appliance device show leds` can see what the
LEDs show.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from appliance.leds.policy import Led
from appliance.leds.settings import SIMULATED, LedKind, LedSettings
from drivers.leds import sysfs_fake
from drivers.leds.board_simulator import BoardSimulator
from drivers.leds.errors import LedError
from drivers.leds.gpio import GpiodLines, GpioLeds
from drivers.leds.gpio_fake import FakeChip
from drivers.leds.pattern import LedDriver, Pattern
from drivers.leds.serial_board import open_board
from drivers.leds.sysfs import SysfsLeds

log = logging.getLogger(__name__)

Clock = Callable[[], float]


class Closeable(Protocol):
    def close(self) -> None: ...


class SimulatedLeds(Protocol):
    def shown(self, led: Led, now: float) -> Pattern:
        """What the simulated LED shows (a gpio line: over the second before `now`)."""
        ...


@dataclass
class Built:
    driver: LedDriver
    simulator: SimulatedLeds | None = None
    resources: list[Closeable] = field(default_factory=list)  # closed after the driver

    def close(self) -> None:
        for resource in [self.driver, *reversed(self.resources)]:
            try:
                resource.close()
            except (LedError, OSError) as error:  # shutdown: report and go on
                log.warning("closing %r: %s", resource, error)


Builder = Callable[[LedSettings, Path, Clock], Built]


def _names(settings: LedSettings) -> dict[str, str]:
    return {led.value: channel for led, channel in settings.channel_map().items()}


def _numbers(settings: LedSettings) -> dict[str, int]:
    return {led: int(channel) for led, channel in _names(settings).items()}


@dataclass(frozen=True)
class _FakeSysfsView:
    class_dir: Path
    names: dict[Led, str]

    def shown(self, led: Led, now: float) -> Pattern:
        return sysfs_fake.shown(self.class_dir, self.names[led])


@dataclass(frozen=True)
class _FakeChipView:
    chip: FakeChip
    offsets: dict[Led, int]

    def shown(self, led: Led, now: float) -> Pattern:
        return self.chip.shown(self.offsets[led], now)


@dataclass(frozen=True)
class _BoardView:
    board: BoardSimulator
    numbers: dict[Led, int]

    def shown(self, led: Led, now: float) -> Pattern:
        return self.board.shown(self.numbers[led])


def _sysfs(settings: LedSettings, sim_dir: Path, clock: Clock) -> Built:
    return Built(SysfsLeds(Path(settings.address), _names(settings)))


def _fake_sysfs(settings: LedSettings, sim_dir: Path, clock: Clock) -> Built:
    class_dir = sim_dir / "sys-class-leds"
    sysfs_fake.create(class_dir, _names(settings).values())
    view = _FakeSysfsView(class_dir, settings.channel_map())
    return Built(SysfsLeds(class_dir, _names(settings)), view)


def _gpio(settings: LedSettings, sim_dir: Path, clock: Clock) -> Built:
    offsets = _numbers(settings)
    lines = GpiodLines(settings.address, sorted(offsets.values()), active_low=settings.active_low)
    return Built(GpioLeds(lines, offsets, clock))


def _fake_gpio(settings: LedSettings, sim_dir: Path, clock: Clock) -> Built:
    chip = FakeChip(clock)
    offsets = {led: int(channel) for led, channel in settings.channel_map().items()}
    return Built(GpioLeds(chip, _numbers(settings), clock), _FakeChipView(chip, offsets))


def _board(settings: LedSettings, sim_dir: Path, clock: Clock) -> Built:
    numbers = _numbers(settings)
    port = settings.address
    return Built(
        open_board(port, numbers, baudrate=settings.baudrate, timeout=settings.reply_timeout)
    )


def _simulated_board(settings: LedSettings, sim_dir: Path, clock: Clock) -> Built:
    board = BoardSimulator().start()
    try:
        driver = open_board(board.path, _numbers(settings), timeout=settings.reply_timeout)
    except LedError:
        board.close()
        raise
    view = _BoardView(board, {led: int(c) for led, c in settings.channel_map().items()})
    return Built(driver, view, [board])


DRIVERS: dict[tuple[LedKind, str], Builder] = {
    (LedKind.SYSFS, ""): _sysfs,
    (LedKind.SYSFS, SIMULATED): _fake_sysfs,
    (LedKind.GPIO, ""): _gpio,
    (LedKind.GPIO, SIMULATED): _fake_gpio,
    (LedKind.SERIAL, ""): _board,
    (LedKind.SERIAL, SIMULATED): _simulated_board,
}


def _scheme(address: str) -> str:
    return address.split("://", 1)[0] + "://" if "://" in address else ""


def build_leds(settings: LedSettings, data_dir: Path, clock: Clock) -> Built:
    """The LEDs' driver, opened; raises LedError subclasses if the device cannot be."""
    builder = DRIVERS[(settings.kind, _scheme(settings.address))]
    return builder(settings, data_dir / "simulators" / "leds", clock)
