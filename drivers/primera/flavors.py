"""Primera robot models as data: bins, drives, printer, cartridges, command set, timings.

A model difference is a field here, never an `if model ==` in the driver, the protocol or
the simulator. Documented facts (PTRobot.h of the PTRobot SDK): the robot type numbers,
the location numbers (0 auto, 1..N bins, 100 printer, 200 reject), the system states, the
printer-tray and picker codes, the cartridge type codes, the system-action bits, and that
the Disc Publisher 4100 family has four separate ink tanks. Assumptions (nominal, from
product literature as we know it; check against the robot on site): bin capacities, which
bin is input or output, and the drive counts where a model came in one- and two-drive
versions. `docs/primera-robot.md` says which is which.

The byte-stream command set is Kiln's reference command set (`REFERENCE_COMMANDS`), not
Primera's: Primera's low-level USB protocol is not public. It is what the simulator speaks;
a vendor's real set becomes another `CommandSet` value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from types import MappingProxyType


class BinRole(Enum):
    INPUT = "input"
    OUTPUT = "output"
    INPUT_OR_OUTPUT = "input or output"  # set per site (e.g. Pro: left or right as input)


class CartridgeKind(Enum):
    """PTRobot CARTRIDGE_* codes."""

    COLOR = 1
    BLACK = 2
    YELLOW = 3
    CYAN = 4
    MAGENTA = 5


class Operation(Enum):
    """The PTRobot-level operations the byte-stream backend carries."""

    STATUS = "status"  # PTRobot_GetRobotStatus / GetRobotStatus2
    IDENTIFY = "identify"  # PTRobot_GetRobotInfo
    LOAD_DRIVE = "load drive"  # PTRobot_LoadDrive
    UNLOAD_DRIVE = "unload drive"  # PTRobot_UnLoadDrive
    LOAD_PRINTER = "load printer"  # PTRobot_LoadPrinter (from a bin)
    LOAD_PRINTER_FROM_DRIVE = "load printer from drive"  # PTRobot_LoadPrinterFromDrive
    PRINT = "print"  # PTRobot_PrintFile
    UNLOAD_PRINTER = "unload printer"  # PTRobot_UnLoadPrinter
    MOVE_DISC = "move disc"  # PTRobot_MoveDiscBetweenLocations
    KILL_ERROR = "kill system error"  # PTRobot_KillSystemError
    SYSTEM_ACTION = "system action"  # PTRobot_SystemAction


class SystemAction(Enum):
    """PTRobot PTACT_* action bits (PTRobot_SystemAction)."""

    ALIGN_PRINTER = 0x00000001
    IGNORE_INK_LOW = 0x00000002
    DISABLE_POWER_BUTTON = 0x00000004
    IDENTIFY = 0x00000010
    CANCEL_COMMAND = 0x00000020
    ENABLE_POWER_BUTTON = 0x00000040
    RESET_SYSTEM = 0x00000080
    CHECK_DISCS = 0x00000100
    CLEAN_CARTRIDGES = 0x00000200
    CHANGE_CARTRIDGE = 0x00000800
    END_CARTRIDGE_CHANGE = 0x00001000


@dataclass(frozen=True)
class StatusKeys:
    """Keys of the status reply's `key=value` fields."""

    state: str = "sys"
    error: str = "err"
    bins: str = "bins"
    picker: str = "pick"
    printer_tray: str = "ptray"
    cover: str = "cover"
    cartridges: str = "cart"
    ink: str = "ink"
    drives: str = "drv"


@dataclass(frozen=True)
class CommandSet:
    """How operations become bytes and replies become values, for one firmware family."""

    name: str
    requests: Mapping[Operation, str]  # str.format templates, fields named as in the driver
    line_end: bytes = b"\r"
    reply_end: bytes = b"\r\n"
    encoding: str = "ascii"
    ok: str = "OK"
    refused: str = "NAK"  # followed by a PTROBOT_* return code
    status_reply: str = "ST"
    identify_reply: str = "ID"
    status_keys: StatusKeys = field(default_factory=StatusKeys)
    unknown_discs: int = 255  # PTRobotStatus2 UNKNOWN_NUM_DISCS
    unknown_ink: int = -1
    ink_scale: int = 10_000  # ink in ten-thousandths of a percent (PTRobotStatus2)
    picker_has_disc: str = "O"  # DISC_PICKER_HAS_DISC ('X' is no disc)
    picker_empty: str = "X"
    drive_tray_open: str = "O"
    drive_tray_closed: str = "C"
    auto_location: int = 0
    printer_location: int = 100
    reject_location: int = 200
    max_label_bytes: int = 16 << 20


REFERENCE_COMMANDS = CommandSet(
    name="kiln-reference-1",
    requests=MappingProxyType(
        {
            Operation.STATUS: "ST",
            Operation.IDENTIFY: "ID",
            Operation.LOAD_DRIVE: "LD {source} {drive} {clear}",
            Operation.UNLOAD_DRIVE: "UD {drive} {target}",
            Operation.LOAD_PRINTER: "LP {source}",
            Operation.LOAD_PRINTER_FROM_DRIVE: "LF {drive}",
            Operation.PRINT: "PR {length} {crc32:08X}",
            Operation.UNLOAD_PRINTER: "UP {target}",
            Operation.MOVE_DISC: "MV {source} {target}",
            Operation.KILL_ERROR: "KE {reset}",
            Operation.SYSTEM_ACTION: "SA {action:08X}",
        }
    ),
)


@dataclass(frozen=True)
class Timings:
    """Seconds. Real robots take tens of seconds per move; tests shrink all of these."""

    reply_timeout: float = 2.0  # one request's answer
    poll_interval: float = 0.5  # status polls while the robot is busy
    move_timeout: float = 120.0  # a pick, load or unload, start to idle
    print_timeout: float = 240.0
    reconnect_delay: float = 1.0
    offline_after: int = 3  # unanswered status polls in a row before the robot is offline


@dataclass(frozen=True)
class BinSpec:
    number: int  # PTRobot location number
    name: str
    capacity: int
    role: BinRole
    # The system error a robot reports for a disc it cannot put into a full bin: PTRobot
    # has no "output bin full"; its "too many discs in the right/left bin" (47/48) is
    # the nearest, and Kiln assumes bin 1 is the right one.
    full_error: int


@dataclass(frozen=True)
class Flavor:
    key: str
    name: str
    robot_type: int | None  # PTRobot ROBOT_* type; None where PTRobot.h has none
    drives: int
    bins: tuple[BinSpec, ...]
    printer: bool
    kiosk_mode: bool  # PTOPT_KIOSKMODE: finished discs can leave through the front
    cartridges: tuple[CartridgeKind, ...]  # left to right
    actions: frozenset[SystemAction]
    commands: CommandSet = REFERENCE_COMMANDS
    timings: Timings = field(default_factory=Timings)

    def bin_named(self, name: str) -> BinSpec:
        for spec in self.bins:
            if spec.name == name:
                return spec
        known = ", ".join(b.name for b in self.bins)
        raise KeyError(f"{self.name} has no bin {name!r} (it has {known})")

    def with_timings(self, timings: Timings) -> Flavor:
        return replace(self, timings=timings)


_TWO_CARTRIDGES = (CartridgeKind.COLOR, CartridgeKind.BLACK)
_FOUR_TANKS = (
    CartridgeKind.BLACK,
    CartridgeKind.CYAN,
    CartridgeKind.MAGENTA,
    CartridgeKind.YELLOW,
)
_COMMON_ACTIONS = frozenset(
    {
        SystemAction.IDENTIFY,
        SystemAction.CANCEL_COMMAND,
        SystemAction.RESET_SYSTEM,
        SystemAction.CHECK_DISCS,
        SystemAction.CLEAN_CARTRIDGES,
        SystemAction.DISABLE_POWER_BUTTON,
        SystemAction.ENABLE_POWER_BUTTON,
    }
)
# PTBurn SDK 4.4/4.5: align printer and ignore ink low exist on the Pro, XRP and SE only.
_PRO_ACTIONS = _COMMON_ACTIONS | {SystemAction.ALIGN_PRINTER, SystemAction.IGNORE_INK_LOW}
_CARTRIDGE_CHANGE = frozenset({SystemAction.CHANGE_CARTRIDGE, SystemAction.END_CARTRIDGE_CHANGE})


_RIGHT_BIN_FULL = 47  # SYSERR_MULTIPLEDISCS_IN_RIGHTBIN
_LEFT_BIN_FULL = 48  # SYSERR_MULTIPLEDISCS_IN_LEFTBIN


def _two_bins(capacity: int) -> tuple[BinSpec, ...]:
    # PTRobot numbers bins from 1; which physical side is 1 is stated two ways in
    # PTRobot.h (right-most in the function notes, left-most in the struct notes).
    return (
        BinSpec(1, "right", capacity, BinRole.INPUT_OR_OUTPUT, _RIGHT_BIN_FULL),
        BinSpec(2, "left", capacity, BinRole.INPUT_OR_OUTPUT, _LEFT_BIN_FULL),
    )


def _input_and_output(capacity: int) -> tuple[BinSpec, ...]:
    return (
        BinSpec(1, "input", capacity, BinRole.INPUT, _RIGHT_BIN_FULL),
        BinSpec(2, "output", capacity, BinRole.OUTPUT, _LEFT_BIN_FULL),
    )


FLAVORS: Mapping[str, Flavor] = MappingProxyType(
    {
        f.key: f
        for f in (
            Flavor(
                "disc-publisher-ii",
                "Disc Publisher II (Bravo II)",
                1,
                drives=1,
                bins=_input_and_output(20),
                printer=True,
                kiosk_mode=True,
                cartridges=_TWO_CARTRIDGES,
                actions=_COMMON_ACTIONS | _CARTRIDGE_CHANGE,
            ),
            Flavor(
                "disc-publisher-pro",
                "Disc Publisher Pro (Bravo Pro)",
                2,
                drives=2,
                bins=_two_bins(50),
                printer=True,
                kiosk_mode=True,
                cartridges=_TWO_CARTRIDGES,
                actions=_PRO_ACTIONS | _CARTRIDGE_CHANGE,
            ),
            Flavor(
                "disc-publisher-xrp",
                "Disc Publisher XRP (Bravo XRP)",
                5,
                drives=2,
                bins=_two_bins(50),
                printer=True,
                kiosk_mode=True,
                cartridges=_TWO_CARTRIDGES,
                actions=_PRO_ACTIONS,
            ),
            Flavor(
                "disc-publisher-se",
                "Disc Publisher SE (Bravo SE)",
                6,
                drives=1,
                bins=_input_and_output(20),
                printer=True,
                kiosk_mode=True,
                cartridges=_TWO_CARTRIDGES,
                actions=_PRO_ACTIONS | _CARTRIDGE_CHANGE,
            ),
            Flavor(
                "disc-publisher-xi",
                "Disc Publisher Pro Xi (Bravo Xi)",
                7,
                drives=2,
                bins=_two_bins(50),
                printer=True,
                kiosk_mode=True,
                cartridges=_TWO_CARTRIDGES,
                actions=_COMMON_ACTIONS,
            ),
            Flavor(
                "disc-publisher-4100",
                "Disc Publisher 4100 (Bravo 4100)",
                8,
                drives=1,
                bins=_two_bins(50),
                printer=True,
                kiosk_mode=True,
                cartridges=_FOUR_TANKS,
                actions=_COMMON_ACTIONS,
            ),
            Flavor(
                "disc-publisher-4100-xrp",
                "Disc Publisher 4100 XRP (Bravo 4100 XRP)",
                9,
                drives=2,
                bins=_two_bins(50),
                printer=True,
                kiosk_mode=True,
                cartridges=_FOUR_TANKS,
                actions=_COMMON_ACTIONS,
            ),
            Flavor(
                "bravo-4200",
                "Bravo 4200 series",
                None,
                drives=1,
                bins=_input_and_output(20),
                printer=True,
                kiosk_mode=True,
                cartridges=_FOUR_TANKS,
                actions=_COMMON_ACTIONS,
            ),
        )
    }
)


def flavor(key: str) -> Flavor:
    try:
        return FLAVORS[key]
    except KeyError:
        known = ", ".join(sorted(FLAVORS))
        raise KeyError(f"unknown Primera model {key!r} (known: {known})") from None
