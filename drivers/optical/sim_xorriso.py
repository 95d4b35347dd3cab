"""A stand-in for `xorriso` that drives a simulated drive (see `simulator.py`).

    python -m drivers.optical.sim_xorriso --state DIR -- <xorriso arguments>

It understands the argument lists the driver uses. Media queries (`-toc`,
`-tell_media_space`), the tray (`-eject`, loading on acquisition) and the media state
are answered from `state.json` in xorriso's own output format; burning (`-as cdrecord`)
and reading back (`-check_media`) are done by the real xorriso against the `stdio:` file
`disc.iso`, fed at the simulated speed, so the burned disc is a real image. Any other
argument list is passed to the real xorriso with the drive's address replaced by that
file. Messages for faults use libburn's wording (its SCSI sense texts, libburn/spc.c).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from drivers.optical.media import BLOCK, MediaState, blocks_for
from drivers.optical.simulator import (
    Disc,
    DriveState,
    disc_path,
    load_state,
    locked,
    save_state,
)

REAL_XORRISO = os.environ.get("KILN_SIM_REAL_XORRISO", "xorriso")
BANNER = "xorriso 1.5.4 : RockRidge filesystem manipulator, libburnia project.\n"
ABORT = "xorriso : aborting : -abort_on 'FAILURE' encountered 'FAILURE'"
EXIT_ABORT = 5  # xorriso: program abort during argument processing
PAD_DEFAULT = 300 * 1024
FEED = 256 * 1024
# Lines the real xorriso prints about the stdio: file; the simulator says its own instead.
_HIDDEN = (
    "xorriso 1.",
    "Drive current:",
    "Drive access :",
    "Drive type   :",
    "Media current:",
    "Media status :",
    "Media blocks :",
    "Media summary:",
    "xorriso : NOTE : Re-assessing",
    "xorriso : NOTE : Disc status unsuitable",
)


def info(text: str) -> None:
    sys.stderr.write(text if text.endswith("\n") else text + "\n")
    sys.stderr.flush()


def result(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


def scaled(value: float) -> str:
    """Sizes as xorriso prints them in summaries ("4483m", "77.4g", "658k")."""
    for unit in ("", "k", "m", "g", "t"):
        if value < 10_000 or unit == "t":
            if unit == "":
                return f"{int(value):>5d}"
            text = f"{value:.1f}{unit}" if value < 100 else f"{int(value)}{unit}"
            return f"{text:>5}"
        value /= 1024
    return str(value)


class SimDrive:
    def __init__(self, state_dir: Path, address: str, state: DriveState) -> None:
        self.dir = state_dir
        self.address = address
        self.state = state

    # --- what xorriso prints about the medium -------------------------------------------

    @property
    def disc(self) -> Disc | None:
        return self.state.disc

    def status_line(self) -> str:
        disc = self.disc
        if disc is None:
            return "is not present"
        return {
            MediaState.BLANK.value: "is blank",
            MediaState.APPENDABLE.value: "is written , is appendable",
            MediaState.CLOSED.value: "is written , is closed",
        }[disc.state]

    def free_blocks(self) -> int:
        disc = self.disc
        if disc is None or disc.state == MediaState.CLOSED.value:
            return 0
        return max(disc.capacity_blocks - disc.written_blocks, 0)

    def summary(self) -> str:
        disc = self.disc
        free = scaled(self.free_blocks() * BLOCK)
        if disc is None or disc.state == MediaState.BLANK.value:
            return f"Media summary: 0 sessions, 0 data blocks, 0 data, {free} free"
        data = scaled(disc.written_blocks * BLOCK)
        return (
            f"Media summary: 1 session, {disc.written_blocks} data blocks, {data} data, {free} free"
        )

    def acquired(self, flag: str = "-outdev") -> None:
        """The info lines xorriso prints when it takes the drive (Xorriso_toc, short)."""
        info(BANNER)
        disc = self.disc
        if disc is None or disc.state == MediaState.CLOSED.value:
            info("xorriso : NOTE : Disc status unsuitable for writing")
        info(f"Drive current: {flag} '{self.address}'")
        info(f"Media current: {disc.media if disc else 'is not recognizable'}")
        info(f"Media status : {self.status_line()}")
        if disc is not None:
            info(self.summary())

    def toc(self, flag: str = "-outdev") -> None:
        disc = self.disc
        result(f"Drive current: {flag} '{self.address}'")
        result("Drive access : exclusive:unrestricted")
        s = self.state
        result(f"Drive type   : vendor '{s.vendor}' product '{s.product}' revision '{s.revision}'")
        result(f"Media current: {disc.media if disc else 'is not recognizable'}")
        result(f"Media status : {self.status_line()}")
        if disc is None:
            return
        free = self.free_blocks()
        readable = 0 if disc.state == MediaState.BLANK.value else disc.written_blocks
        result(f"Media blocks : {readable} readable , {free} writable , {readable + free} overall")
        if disc.state != MediaState.BLANK.value:
            result("TOC layout   : Idx ,  sbsector ,       Size , Volume Id")
            blocks = disc.written_blocks
            result(f"ISO session  :   1 ,         0 , {blocks:>9d}s , {disc.volume_id}")
        result(self.summary())

    def media_space(self) -> None:
        free = self.free_blocks()
        result(f"Media space  : {free}s")
        result(f"After commit : {free}s")

    def fail(self, *lines: str) -> int:
        for line in lines:
            info(line)
        info(ABORT)
        return EXIT_ABORT

    def cannot_acquire(self, cause: str) -> int:
        info(BANNER)
        return self.fail(cause, f"xorriso : FAILURE : Cannot acquire drive '{self.address}'")

    def save(self) -> None:
        save_state(self.dir, self.state)


# --- the commands ------------------------------------------------------------------------


def run(state_dir: Path, args: list[str]) -> int:
    address = _address(args)
    with locked(state_dir, wait=False) as got:
        state = load_state(state_dir)
        drive = SimDrive(state_dir, address, state)
        if not got or state.busy:
            return drive.cannot_acquire(f"libburn : SORRY : Cannot open busy device '{address}'")
        if state.not_ready_queries > 0:
            state.not_ready_queries -= 1
            drive.save()
            return drive.cannot_acquire(
                "libburn : FAILURE : SCSI error condition on command 00h TEST UNIT READY: "
                "[2 04 01] Drive not ready. Logical unit is in the process of becoming ready."
            )
        if state.tray_open and state.tray_stuck:
            return drive.cannot_acquire(
                "libburn : FAILURE : SCSI error condition on command 1Bh START/STOP UNIT: "
                "[2 3A 02] Drive not ready. Medium not present, tray open."
            )
        if state.tray_open:  # libburn loads the tray when it acquires the drive
            state.tray_open = False
            drive.save()
        if "cdrecord" in args:
            return burn(drive, args)
        flag = next((a for a in args if a in ("-outdev", "-dev", "-indev")), "-outdev")
        if "-check_media" in args:
            return check_media(drive, args, flag)
        known = {"-outdev", "-dev", "-toc", "-tell_media_space", "-eject", address, "all", "out"}
        if all(a in known for a in args):
            drive.acquired(flag)
            if "-toc" in args:
                drive.toc(flag)
            if "-tell_media_space" in args:
                drive.media_space()
            if "-eject" in args:
                state.tray_open = True
                drive.save()
            return 0
        drive.acquired(flag)
        return passthrough(drive, args)


def _address(args: Sequence[str]) -> str:
    for index, arg in enumerate(args):
        if arg in ("-outdev", "-dev", "-indev") and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith("dev="):
            return arg[4:]
    return "/dev/sr0"


def _real(args: Sequence[str], drive: SimDrive) -> list[str]:
    target = f"stdio:{disc_path(drive.dir)}"
    swapped = [target if a == drive.address else a for a in args]
    return [REAL_XORRISO, *(f"dev={target}" if a == f"dev={drive.address}" else a for a in swapped)]


def _relay(stream: IO[bytes], drive: SimDrive, lines: list[str] | None = None) -> None:
    """Real xorriso's messages, minus what it says about the stdio: file."""
    target = f"stdio:{disc_path(drive.dir)}"
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace").replace(target, drive.address)
        if line.strip() and not line.startswith(_HIDDEN):
            info(line.rstrip("\n"))
            if lines is not None:
                lines.append(line)


def burn(drive: SimDrive, args: list[str]) -> int:
    drive.acquired()
    disc = drive.disc
    if disc is None:
        return drive.fail(
            "libburn : FAILURE : SCSI error condition on command 51h READ DISC INFORMATION: "
            "[2 3A 01] Drive not ready. Medium not present, tray closed.",
            "xorriso : FAILURE : -as cdrecord: Job could not be performed properly.",
        )
    if disc.state == MediaState.CLOSED.value:
        return drive.fail(
            "libburn : SORRY : Drive and media state unsuitable for writing",
            "xorriso : FAILURE : -as cdrecord: Job could not be performed properly.",
        )
    image = Path(args[-1])
    try:
        size = image.stat().st_size
    except OSError as error:
        return drive.fail(
            f"xorriso : FAILURE : Could not open data source '{image}' : {error.strerror}",
            "xorriso : FAILURE : -as cdrecord: Job could not be performed properly.",
        )
    pad = _padding(args)
    needed = blocks_for(size + pad)
    if needed > drive.free_blocks():
        return drive.fail(
            f"xorriso : FAILURE : Image size {needed}s exceeds free space on media "
            f"{drive.free_blocks()}s",
            "xorriso : FAILURE : -as cdrecord: Job could not be performed properly.",
        )
    if disc.state == MediaState.BLANK.value:
        disc_path(drive.dir).unlink(missing_ok=True)
    stop_at = None if disc.write_error_at is None else int(size * disc.write_error_at)
    real = _real(args[:-1], drive)
    throttled = drive.state.speed > 0 or stop_at is not None
    if throttled:
        real += [f"tsize={size}", "-"]
    else:
        real.append(str(image))
    process = subprocess.Popen(
        real,
        stdin=subprocess.PIPE if throttled else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None
    relay = threading.Thread(target=_relay, args=(process.stdout, drive), daemon=True)
    relay.start()
    fed = 0
    if throttled:
        assert process.stdin is not None
        fed = _feed(image, process.stdin, drive.state.speed, stop_at)
    if stop_at is not None:
        # let xorriso write what it was given (its fifo holds 4 MiB), then the drive "fails"
        _wait_for_size(disc_path(drive.dir), stop_at - FEED, process)
        process.send_signal(signal.SIGKILL)
    code = process.wait()
    relay.join()
    if stop_at is not None:
        disc.state = MediaState.APPENDABLE.value  # a spoiled, partly written session
        disc.written_blocks = blocks_for(fed)
        drive.save()
        return drive.fail(
            "libburn : FAILURE : SCSI error condition on command 2Ah WRITE(10): "
            "[3 0C 00] Medium error. Write error.",
            "xorriso : FAILURE : libburn indicates failure with writing.",
            "xorriso : FAILURE : -as cdrecord: Job could not be performed properly.",
        )
    if code != 0:
        return code
    disc.state = MediaState.APPENDABLE.value if "-multi" in args else MediaState.CLOSED.value
    disc.written_blocks = needed
    disc.volume_id = _volume_id(image)
    if disc.corrupt_after_burn:
        _flip_byte(disc_path(drive.dir), size // 2)
    drive.save()
    return 0


def _wait_for_size(path: Path, size: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline and process.poll() is None:
        if path.exists() and path.stat().st_size >= size:
            return
        time.sleep(0.01)


def _padding(args: Sequence[str]) -> int:
    for arg in args:
        if arg.startswith("padsize="):
            value = arg[8:].lower()
            factor = {"k": 1024, "m": 1024 * 1024, "s": BLOCK}.get(value[-1:], 1)
            return int(value.rstrip("kms")) * factor
        if arg == "-nopad":
            return 0
    return PAD_DEFAULT


def _feed(image: Path, sink: IO[bytes], speed: int, stop_at: int | None) -> int:
    """Copy the image into xorriso at `speed` bytes/s (0: at once); stop after `stop_at`."""
    started = time.monotonic()
    fed = 0
    with image.open("rb") as source:
        while chunk := source.read(FEED):
            if stop_at is not None and fed + len(chunk) > stop_at:
                chunk = chunk[: stop_at - fed]
            try:
                sink.write(chunk)
                sink.flush()
            except BrokenPipeError:
                break
            fed += len(chunk)
            if speed > 0:
                ahead = started + fed / speed - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            if stop_at is not None and fed >= stop_at:
                return fed
    sink.close()
    return fed


def _volume_id(image: Path) -> str:
    with image.open("rb") as source:
        source.seek(16 * BLOCK)
        descriptor = source.read(BLOCK)
    if descriptor[1:6] != b"CD001":
        return ""
    return descriptor[40:72].decode("ascii", "replace").strip()


def _flip_byte(path: Path, offset: int) -> None:
    with path.open("r+b") as disc:
        disc.seek(offset)
        byte = disc.read(1)
        disc.seek(offset)
        disc.write(bytes([byte[0] ^ 0xFF]) if byte else b"\xff")


def check_media(drive: SimDrive, args: list[str], flag: str) -> int:
    drive.acquired(flag)
    disc = drive.disc
    if disc is None or disc.state == MediaState.BLANK.value:
        return drive.fail(
            "libburn : FAILURE : SCSI error condition on command 28h READ(10): "
            "[2 3A 01] Drive not ready. Medium not present, tray closed."
            if disc is None
            else "xorriso : FAILURE : No readable data on blank medium",
        )
    process = subprocess.Popen(_real(args, drive), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    relay = threading.Thread(target=_relay, args=(process.stderr, drive), daemon=True)
    relay.start()
    speed = drive.state.speed
    started = time.monotonic()
    sent = 0
    out = sys.stdout.buffer
    while chunk := process.stdout.read(FEED):
        out.write(chunk)
        sent += len(chunk)
        if speed > 0:
            ahead = started + sent / speed - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
    out.flush()
    code = process.wait()
    relay.join()
    return code


def passthrough(drive: SimDrive, args: list[str]) -> int:
    """Anything else (e.g. -indev DEV -pvd_info, -osirrox extraction) on the disc file."""
    if drive.disc is None or not disc_path(drive.dir).exists():
        return drive.fail("xorriso : FAILURE : No medium with data in the simulated drive")
    process = subprocess.Popen(_real(args, drive), stdout=None, stderr=subprocess.PIPE)
    assert process.stderr is not None
    _relay(process.stderr, drive)
    return process.wait()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 2 or argv[0] != "--state":
        info("usage: python -m drivers.optical.sim_xorriso --state DIR -- <xorriso args>")
        return 2
    state_dir = Path(argv[1])
    rest = argv[2:]
    if rest[:1] == ["--"]:
        rest = rest[1:]
    if not (state_dir / "state.json").exists():
        info(BANNER)
        info(f"libburn : FAILURE : File object '{_address(rest)}' not found")
        info(f"xorriso : FAILURE : Cannot acquire drive '{_address(rest)}'")
        info(ABORT)
        return EXIT_ABORT
    return run(state_dir, rest)


if __name__ == "__main__":
    sys.exit(main())
