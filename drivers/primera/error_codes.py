"""The PTRobot system-error codes of Primera disc publishers, as one table.

Both robot backends report these numbers: PTBurn writes them as `SysErrorNumber` in
SystemStatus.txt and the per-robot status file, and the byte-stream backend reads them
from the robot's status. Numbers and names follow Primera's PTRobot API header (section
"System Errors", used by `PTRobotStatus.dwSystemError`); 11 and 21-27 are not defined
there. Older PTBurn SDK text (2005-2011) cites 22 for "alignment needed" and 31 for
"alignment failed": that is an earlier numbering; see docs/primera-ptburn.md.

Each code carries a class, which decides what the box does (the appliance turns it into
a StationFault kind), and the parts of one operator sentence: what happened, what the box
did (by class), what to do. The descriptions are Kiln's wording; the classes and the
advice are Kiln's decisions, marked as such in the docs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

NO_ERROR = 0  # SYSERR_NONE: the robot reports no error


class ErrorClass(Enum):
    OPERATOR_FIXABLE = "operator-fixable"  # someone must act: load discs, close cover, ink
    RETRYABLE = "retryable"  # transient: the box tries again by itself
    FATAL = "fatal"  # hardware, mechanics or firmware: out of service until repaired


# What the box does, per class: the middle part of every sentence.
BOX_ACTION: dict[ErrorClass, str] = {
    ErrorClass.OPERATOR_FIXABLE: (
        "Disc publishing is paused; the box checks again every few seconds and carries "
        "on by itself once the problem is fixed."
    ),
    ErrorClass.RETRYABLE: "The box set the disc aside and will try again by itself in a moment.",
    ErrorClass.FATAL: "Disc publishing on this robot has stopped; waiting jobs stay queued.",
}


@dataclass(frozen=True)
class RobotErrorInfo:
    code: int
    name: str  # the PTRobot constant
    description: str  # what happened, in a few words (for lists and logs)
    error_class: ErrorClass
    todo: str  # what the operator should do

    @property
    def sentence(self) -> str:
        """The operator's sentence: what happened, what the box did, what to do."""
        return (
            f"Disc robot: {self.description} (Primera error {self.code}). "
            f"{BOX_ACTION[self.error_class]} {self.todo}"
        )


_O, _R, _F = ErrorClass.OPERATOR_FIXABLE, ErrorClass.RETRYABLE, ErrorClass.FATAL
_SERVICE = "Switch the robot off and on; if the error comes back, call service."
_INK = "Replace the ink cartridge (or choose to ignore ink low on the PTBurn host)."
_DROPPED = "Nothing to do unless it happens again; then open the cover and remove any loose disc."

# (code, PTRobot name, description, class, what to do)
_TABLE: tuple[tuple[int, str, str, ErrorClass, str], ...] = (
    (1, "SYSERR_PTR_TRAY", "the printer tray is stuck", _O,
     "Open the cover, remove anything blocking the printer tray, close the cover."),
    (2, "SYSERR_CART_CODE", "the ink cartridge is not recognised", _O,
     "Re-seat the cartridge or install a cartridge made for this robot."),
    (3, "SYSERR_INPUT_EMPTY", "the input bin is empty", _O,
     "Load blank discs into the input bin."),
    (4, "SYSERR_PTR_COMM", "the printer does not answer", _R,
     "If it keeps happening, check the robot's USB cable and power."),
    (5, "SYSERR_CLR_EMPTY", "the colour ink is low", _O, _INK),
    (6, "SYSERR_BLK_EMPTY", "the black ink is low", _O, _INK),
    (7, "SYSERR_BOTH_EMPTY", "the colour and black ink are low", _O, _INK),
    (8, "SYSERR_PICK", "the picker could not pick a disc", _R,
     "If it keeps happening, fan the blank discs so they do not stick together."),
    (9, "SYSERR_ARM_MOVE", "the robot arm could not move", _F,
     "Open the cover, check nothing blocks the arm, then switch the robot off and on; "
     "if it comes back, call service."),
    (10, "SYSERR_CART_MOVE", "the ink cartridge carrier could not move", _F,
     "Open the cover, check nothing blocks the carrier, then switch the robot off and "
     "on; if it comes back, call service."),
    (12, "SYSERR_INTERNAL_SW", "the robot software had an internal error", _F,
     "Restart the PTBurn host (or the box); if it comes back, call service."),
    (13, "SYSERR_NO_ROBODRIVES", "no recorder of the robot was found", _F,
     "Check the drives' USB cables and power, then switch the robot off and on."),
    (14, "SYSERR_OFFLINE", "the robot is offline", _O,
     "Switch the robot on and check its USB cable."),
    (15, "SYSERR_COVER_OPEN", "the cover is open", _O, "Close the cover."),
    (16, "SYSERR_PRINTER_PICK", "the picker could not take the disc from the printer", _R,
     "If it keeps happening, open the cover and remove the disc from the printer tray."),
    (17, "SYSERR_MULTIPLE_PICK", "the picker took more than one disc", _R,
     "Fan the blank discs in the input bin so they do not stick together."),
    (18, "SYSERR_MULTIPLEDISCS_IN_PRINTER", "there is more than one disc in the printer",
     _O, "Open the cover and take the extra discs out of the printer tray."),
    (19, "SYSERR_MULTIPLEDISCS_IN_RECORDER", "there is more than one disc in a recorder",
     _O, "Open the recorder tray and take the extra discs out."),
    (20, "SYSERR_DROPPED_DISC_RECORDER", "a disc fell while loading a recorder", _R,
     _DROPPED),
    (28, "SYSERR_DROPPED_DISC_BIN1", "a disc fell at bin 1", _R, _DROPPED),
    (29, "SYSERR_DROPPED_DISC_BIN2", "a disc fell at bin 2", _R, _DROPPED),
    (30, "SYSERR_DROPPED_DISC_BIN3", "a disc fell at bin 3", _R, _DROPPED),
    (31, "SYSERR_DROPPED_DISC_BIN4", "a disc fell at bin 4", _R, _DROPPED),
    (32, "SYSERR_DROPPED_DISC_BIN5", "a disc fell at bin 5", _R, _DROPPED),
    (33, "SYSERR_DROPPED_DISC_PRINTER", "a disc fell at the printer", _R, _DROPPED),
    (34, "SYSERR_DROPPED_DISC_REJECT", "a disc fell at the reject bin", _R, _DROPPED),
    (35, "SYSERR_DROPPED_DISC_UNKNOWN", "a disc fell", _R, _DROPPED),
    (36, "SYSERR_ALIGNNEEDED", "the printer needs aligning", _O,
     "Run the printer alignment from the Primera software on the host."),
    (37, "SYSERR_COLOR_INVALID", "the colour cartridge is not valid", _O,
     "Install a colour cartridge made for this robot."),
    (38, "SYSERR_BLACK_INVALID", "the black cartridge is not valid", _O,
     "Install a black cartridge made for this robot."),
    (39, "SYSERR_BOTH_INVALID", "both ink cartridges are not valid", _O,
     "Install cartridges made for this robot."),
    (40, "SYSERR_NOCARTS", "no ink cartridge is installed", _O,
     "Install the ink cartridges."),
    (41, "SYSERR_K_IN_CMY", "a black cartridge is in the colour slot", _O,
     "Swap the cartridges into their right slots."),
    (42, "SYSERR_CMY_IN_K", "a colour cartridge is in the black slot", _O,
     "Swap the cartridges into their right slots."),
    (43, "SYSERR_SWAPPED", "the ink cartridges are swapped", _O,
     "Swap the cartridges into their right slots."),
    (44, "SYSERR_PIGONPRO", "a pigment cartridge is in a robot that cannot use it", _O,
     "Install the cartridge type this robot takes."),
    (45, "SYSERR_ALIGNFAILED", "the printer alignment failed", _O,
     "Clean the cartridges and run the alignment again; if it fails again, call service."),
    (46, "SYSERR_DROPPED_DISC_PRINTER_FATAL", "a disc fell at the printer and is stuck",
     _F, "Open the cover, remove the disc, then switch the robot off and on."),
    (47, "SYSERR_MULTIPLEDISCS_IN_RIGHTBIN", "there are too many discs in the right bin",
     _O, "Take discs out of the right bin."),
    (48, "SYSERR_MULTIPLEDISCS_IN_LEFTBIN", "there are too many discs in the left bin",
     _O, "Take discs out of the left bin."),
    (49, "SYSERR_CLR_EMPTY_FINAL", "the colour ink is empty", _O,
     "Replace the colour cartridge."),
    (50, "SYSERR_BLK_EMPTY_FINAL", "the black ink is empty", _O,
     "Replace the black cartridge."),
    (51, "SYSERR_BOTH_EMPTY_FINAL", "the colour and black ink are empty", _O,
     "Replace both cartridges."),
    (52, "SYSERR_WAITING_FOR_PRINTER", "the robot is waiting for the printer", _R,
     "Nothing to do unless it lasts; then switch the robot off and on."),
    (53, "SYSERR_NO_DISC_IN_PRINTER", "no disc arrived in the printer", _R,
     "If it keeps happening, open the cover and check the printer tray."),
    (54, "SYSERR_BUSY", "the robot is busy", _R, "Nothing to do."),
    (55, "SYSERR_PURGE", "the robot is cleaning its cartridges", _R, "Nothing to do."),
    (56, "SYSERR_DOCK_SENSOR", "the cartridge dock sensor failed", _F, _SERVICE),
    (57, "SYSERR_ALREADY_PRINTED", "the disc in the printer is already printed", _O,
     "Load unprinted blank discs into the input bin."),
    (58, "SYSERR_UNKNOWN_HARDWARE", "the robot reports unknown hardware", _F,
     "Check that the robot model is supported and its firmware is current; call service."),
)  # fmt: skip

ERRORS: dict[int, RobotErrorInfo] = {
    code: RobotErrorInfo(code, name, description, error_class, todo)
    for code, name, description, error_class, todo in _TABLE
}


def describe(code: int) -> RobotErrorInfo:
    """The table entry for `code`; an unknown code is FATAL and names its number.

    0 (SYSERR_NONE) is not an error: asking for it is a caller's bug.
    """
    if code == NO_ERROR:
        raise ValueError("0 (SYSERR_NONE) is not an error")
    found = ERRORS.get(code)
    if found is not None:
        return found
    return RobotErrorInfo(
        code,
        f"UNKNOWN_{code}",
        f"an unknown error {code} was reported",
        ErrorClass.FATAL,
        f"Note the number {code}, switch the robot off and on; if it comes back, call service.",
    )
