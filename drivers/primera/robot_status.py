"""What a Primera robot reports about itself, as typed values (no I/O).

The fields follow PTRobot's status structures (PTRobotStatus, PTRobotStatus2): system state
and system error, discs per bin, printer tray, picker switch, cover-opened flag, cartridges
and ink remaining. Drive trays come from the robot in Kiln's reference command set (the
robot opens and closes them); PTRobot itself leaves drives to the host's burning engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from drivers.primera.flavors import BinRole, CartridgeKind


class SystemState(Enum):
    """PTRobotStatus.dwSystemState (SYSSTATE_IDLE/BUSY/ERROR)."""

    IDLE = 0
    BUSY = 1
    ERROR = 2


class PrinterTray(Enum):
    """PTRobotStatus2.dwPrinterTrayStatus: the tray's position and whether a disc is on it."""

    IN_WITH_DISC = "D"
    IN_EMPTY = "I"
    OUT = "O"


@dataclass(frozen=True)
class BinStatus:
    number: int  # the PTRobot location number of this bin
    name: str
    role: BinRole
    capacity: int
    discs: int | None  # None: the robot does not know (PTRobot reports 255 / -1)

    @property
    def empty(self) -> bool:
        return self.discs == 0

    @property
    def full(self) -> bool:
        return self.discs is not None and self.discs >= self.capacity


@dataclass(frozen=True)
class CartridgeStatus:
    kind: CartridgeKind
    present: bool
    ink_percent: float | None  # None: unknown (the robot does not measure it)


@dataclass(frozen=True)
class DriveStatus:
    index: int  # 0-based, as the robot numbers its drives
    tray_open: bool
    has_disc: bool


@dataclass(frozen=True)
class RobotStatus:
    state: SystemState
    error_code: int  # PTRobot system error (SYSERR_*), 0 for none
    bins: tuple[BinStatus, ...]
    picker_has_disc: bool
    printer_tray: PrinterTray | None  # None: the model has no printer
    cover_open: bool
    cartridges: tuple[CartridgeStatus, ...]
    drives: tuple[DriveStatus, ...]

    @property
    def idle(self) -> bool:
        return self.state is SystemState.IDLE

    @property
    def disc_in_printer(self) -> bool:
        return self.printer_tray is PrinterTray.IN_WITH_DISC

    def bin(self, name: str) -> BinStatus:
        for entry in self.bins:
            if entry.name == name:
                return entry
        raise KeyError(name)

    def drive(self, index: int) -> DriveStatus:
        return self.drives[index]

    def lowest_ink(self) -> float | None:
        """The emptiest present cartridge's ink in percent (None if none is measured)."""
        levels = [c.ink_percent for c in self.cartridges if c.present and c.ink_percent is not None]
        return min(levels) if levels else None
