"""The simulated optical drive: its state on disk, the hands that change it, and faults.

A simulated drive is a state directory. `state.json` holds what a real drive would know
(tray open, the disc's type, blank/appendable/closed, capacity) and the injected faults;
`disc.iso` is the disc's content, written and read by the real xorriso as a `stdio:` file.
The driver reaches it through the same transport as a real drive, by running
`sim_xorriso` (see `command()`) instead of `xorriso`:

    options = DriveOptions(device="/dev/sr0", command=simulator.command(state_dir))

A robot or a test changes the world with `insert_blank`, `remove_disc`, `open_tray`,
`close_tray` and injects faults with `inject`; the same is on the command line:

    python -m drivers.optical.simulator --state DIR create --media "DVD+R" --speed 0
    python -m drivers.optical.simulator --state DIR insert-blank
    python -m drivers.optical.simulator --state DIR fault write-error --value 0.5
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path

from drivers.optical.media import BLOCK, MediaState, media_type

STATE_FILE = "state.json"
DISC_FILE = "disc.iso"
LOCK_FILE = "drive.lock"
DEFAULT_MEDIA = "DVD+R"
SMALL_DISC_BLOCKS = 512  # the too-small fault: a 1 MiB disc
OLD_DISC_BLOCKS = 1024  # the not-blank fault: a closed disc with 2 MiB on it


class SimFault(StrEnum):
    NOT_BLANK = "not-blank"  # the disc in the drive is closed with data on it
    TOO_SMALL = "too-small"  # capacity set to `value` blocks (default 512)
    WRITE_ERROR = "write-error"  # the burn fails after `value` (0..1, default 0.5) of it
    VERIFY_MISMATCH = "verify-mismatch"  # a byte changes on the disc after the burn
    NOT_READY = "not-ready"  # the next `value` (default 2) acquisitions find it not ready
    TRAY_OPEN = "tray-open"  # the tray is open and will not close by itself
    NO_MEDIUM = "no-medium"  # the drive is empty
    BUSY = "busy"  # another program holds the drive


@dataclass
class Disc:
    state: str = MediaState.BLANK.value  # blank / appendable / closed
    media: str = DEFAULT_MEDIA  # libburn's profile name
    capacity_blocks: int = 0
    written_blocks: int = 0
    volume_id: str = ""
    write_error_at: float | None = None  # fraction of the image after which writing fails
    corrupt_after_burn: bool = False


@dataclass
class DriveState:
    disc: Disc | None = field(default_factory=Disc)
    tray_open: bool = False
    tray_stuck: bool = False  # an open tray that loading cannot close
    not_ready_queries: int = 0
    busy: bool = False
    speed: int = 0  # bytes per second for burn and read back; 0 = as fast as possible
    vendor: str = "KILN"
    product: str = "SIMULATED BD-RE"
    revision: str = "SIM1"

    @classmethod
    def from_json(cls, text: str) -> DriveState:
        raw = json.loads(text)
        disc = raw.pop("disc", None)
        return cls(disc=Disc(**disc) if disc is not None else None, **raw)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def command(state_dir: Path, python: str = sys.executable) -> tuple[str, ...]:
    """The argv prefix that stands in for `xorriso` for this simulated drive."""
    return (python, "-m", "drivers.optical.sim_xorriso", "--state", str(state_dir), "--")


def disc_path(state_dir: Path) -> Path:
    """The simulated disc's content (a real image file once burned)."""
    return Path(state_dir) / DISC_FILE


def blank_disc(media: str = DEFAULT_MEDIA, capacity_blocks: int | None = None) -> Disc:
    kind = media_type(media)
    if not kind.profile or not kind.writable:
        raise ValueError(f"not a recordable media type: {media!r}")
    return Disc(media=kind.profile, capacity_blocks=capacity_blocks or kind.capacity_blocks)


@contextlib.contextmanager
def locked(state_dir: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold the drive (as one xorriso process holds a real one). Yields False if it is
    held by another process and `wait` is False."""
    Path(state_dir).mkdir(parents=True, exist_ok=True)
    fd = os.open(Path(state_dir) / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def load_state(state_dir: Path) -> DriveState:
    return DriveState.from_json((Path(state_dir) / STATE_FILE).read_text())


def save_state(state_dir: Path, state: DriveState) -> None:
    path = Path(state_dir) / STATE_FILE
    staged = path.with_suffix(".tmp")
    staged.write_text(state.to_json())
    staged.replace(path)


@contextlib.contextmanager
def _changing(state_dir: Path) -> Iterator[DriveState]:
    with locked(state_dir):
        state = load_state(state_dir)
        yield state
        save_state(state_dir, state)


def create(
    state_dir: Path,
    *,
    media: str = DEFAULT_MEDIA,
    capacity_blocks: int | None = None,
    speed: int = 0,
    loaded: bool = True,
) -> Path:
    """A new simulated drive in `state_dir`, with a blank disc in it (`loaded`) or empty."""
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    disc_path(state_dir).unlink(missing_ok=True)
    disc = blank_disc(media, capacity_blocks) if loaded else None
    save_state(state_dir, DriveState(disc=disc, speed=speed))
    return state_dir


def insert_blank(
    state_dir: Path, *, media: str = DEFAULT_MEDIA, capacity_blocks: int | None = None
) -> None:
    """A new blank disc goes in and the tray closes (a robot's or an operator's hand)."""
    with _changing(state_dir) as state:
        disc_path(state_dir).unlink(missing_ok=True)
        state.disc = blank_disc(media, capacity_blocks)
        state.tray_open = state.tray_stuck = False


def remove_disc(state_dir: Path) -> None:
    """The disc is taken out (the tray is left as it is)."""
    with _changing(state_dir) as state:
        disc_path(state_dir).unlink(missing_ok=True)
        state.disc = None


def open_tray(state_dir: Path, *, stuck: bool = False) -> None:
    with _changing(state_dir) as state:
        state.tray_open = True
        state.tray_stuck = stuck


def close_tray(state_dir: Path) -> None:
    with _changing(state_dir) as state:
        state.tray_open = state.tray_stuck = False


def set_speed(state_dir: Path, speed: int) -> None:
    with _changing(state_dir) as state:
        state.speed = max(speed, 0)


def inject(state_dir: Path, fault: SimFault, value: float | None = None) -> None:
    """Make the drive misbehave as `fault` says (see SimFault for `value`)."""
    with _changing(state_dir) as state:
        disc = state.disc
        if fault is SimFault.NOT_BLANK:
            disc = state.disc = state.disc or blank_disc()
            disc.state = MediaState.CLOSED.value
            disc.written_blocks = OLD_DISC_BLOCKS
            disc.volume_id = "OLD_DISC"
            disc_path(state_dir).write_bytes(bytes(OLD_DISC_BLOCKS * BLOCK))
        elif fault is SimFault.TOO_SMALL:
            disc = state.disc = state.disc or blank_disc()
            disc.capacity_blocks = int(value or SMALL_DISC_BLOCKS)
        elif fault is SimFault.WRITE_ERROR:
            disc = state.disc = state.disc or blank_disc()
            disc.write_error_at = 0.5 if value is None else min(max(value, 0.0), 1.0)
        elif fault is SimFault.VERIFY_MISMATCH:
            disc = state.disc = state.disc or blank_disc()
            disc.corrupt_after_burn = True
        elif fault is SimFault.NOT_READY:
            state.not_ready_queries = int(2 if value is None else value)
        elif fault is SimFault.TRAY_OPEN:
            state.tray_open = state.tray_stuck = True
        elif fault is SimFault.NO_MEDIUM:
            disc_path(state_dir).unlink(missing_ok=True)
            state.disc = None
        elif fault is SimFault.BUSY:
            state.busy = True


def clear_faults(state_dir: Path) -> None:
    """Drive faults gone (not ready, busy, stuck tray); the disc's own faults too."""
    with _changing(state_dir) as state:
        state.not_ready_queries = 0
        state.busy = False
        state.tray_stuck = False
        if state.disc is not None:
            state.disc.write_error_at = None
            state.disc.corrupt_after_burn = False


# --- command line ------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m drivers.optical.simulator", description="Control a simulated drive."
    )
    parser.add_argument("--state", type=Path, required=True, help="the drive's state directory")
    commands = parser.add_subparsers(dest="action", required=True)
    new = commands.add_parser("create", help="a new drive with a blank disc")
    new.add_argument("--media", default=DEFAULT_MEDIA)
    new.add_argument("--capacity-blocks", type=int)
    new.add_argument("--speed", type=int, default=0, help="bytes/s, 0 = as fast as possible")
    new.add_argument("--empty", action="store_true", help="no disc in it")
    insert = commands.add_parser("insert-blank")
    insert.add_argument("--media", default=DEFAULT_MEDIA)
    insert.add_argument("--capacity-blocks", type=int)
    commands.add_parser("remove-disc")
    tray = commands.add_parser("open-tray")
    tray.add_argument("--stuck", action="store_true")
    commands.add_parser("close-tray")
    speed = commands.add_parser("speed")
    speed.add_argument("bytes_per_second", type=int)
    fault = commands.add_parser("fault")
    fault.add_argument("name", choices=[f.value for f in SimFault])
    fault.add_argument("--value", type=float)
    commands.add_parser("clear-faults")
    commands.add_parser("show")
    args = parser.parse_args(argv)
    state_dir: Path = args.state
    if args.action == "create":
        create(
            state_dir,
            media=args.media,
            capacity_blocks=args.capacity_blocks,
            speed=args.speed,
            loaded=not args.empty,
        )
    elif args.action == "insert-blank":
        insert_blank(state_dir, media=args.media, capacity_blocks=args.capacity_blocks)
    elif args.action == "remove-disc":
        remove_disc(state_dir)
    elif args.action == "open-tray":
        open_tray(state_dir, stuck=args.stuck)
    elif args.action == "close-tray":
        close_tray(state_dir)
    elif args.action == "speed":
        set_speed(state_dir, args.bytes_per_second)
    elif args.action == "fault":
        inject(state_dir, SimFault(args.name), args.value)
    elif args.action == "clear-faults":
        clear_faults(state_dir)
    print(load_state(state_dir).to_json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
