"""The optical drive: media info, burn one closed session, read back and compare, eject, load.

Everything goes through xorriso (`transport.py`); its output is read by `protocol.py`.
The caller (the station) runs the state machine; this module does the work and raises
the typed errors of `errors.py`.

Why the image is burned as it is (`-as cdrecord`): the box's images are mastered by
pycdlib (ISO 9660 + Joliet + Rock Ridge, or a UDF bridge). Letting xorriso re-master them
to add its MD5 session tags (`-indev image -outdev drive -md5 on`) would drop the UDF
bridge and change the layout, so the disc would no longer be the image. Instead the disc
is checked against the image's own MD5: `verify` reads back exactly the image's blocks
through xorriso (`-check_media ... data_to=-`) and compares every byte's digest, which
catches what MD5 tags would catch and also a changed byte in UDF or system areas.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from drivers.optical.errors import (
    DriveError,
    NoMedium,
    NotBlank,
    TooSmall,
    VerifyMismatch,
    WriteFailed,
)
from drivers.optical.media import BLOCK, MediaInfo, MediaState, blocks_for
from drivers.optical.protocol import (
    bad_regions,
    failure,
    parse_check_media,
    parse_media_info,
    parse_read_progress,
    parse_write_progress,
)
from drivers.optical.transport import DataSink, LineSink, XorrisoRun, XorrisoTransport

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (bytes done, bytes in all)
PAD_BLOCKS = 150  # 300 KiB after the image: the traditional guard for CD read-ahead
HASH_CHUNK = 4 << 20


class Transport(Protocol):
    """What the driver needs from `XorrisoTransport` (tests may pass a recorder)."""

    def run(
        self, args: Sequence[str], *, timeout: float, on_line: LineSink | None = None
    ) -> XorrisoRun: ...

    def read(
        self,
        args: Sequence[str],
        sink: DataSink,
        *,
        timeout: float,
        on_line: LineSink | None = None,
    ) -> XorrisoRun: ...


@dataclass(frozen=True)
class DriveOptions:
    """How to reach one drive. The simulator is chosen by `command`, nothing else."""

    device: str = "/dev/sr0"
    command: tuple[str, ...] = ("xorriso",)
    query_timeout: float = 120.0  # a drive may take a minute to read a fresh disc
    burn_timeout: float = 4 * 3600.0  # a full BD-R DL at 2x is about 3 hours
    verify_timeout: float = 4 * 3600.0


@dataclass(frozen=True)
class BurnResult:
    image_bytes: int
    md5: str | None  # the image's MD5, computed while it was burned (md5=True)
    seconds: float


@dataclass(frozen=True)
class VerifyResult:
    bytes_read: int
    md5: str
    seconds: float


class OpticalDrive:
    def __init__(self, transport: Transport, options: DriveOptions) -> None:
        self._transport = transport
        self._options = options

    @classmethod
    def open(cls, options: DriveOptions) -> OpticalDrive:
        return cls(XorrisoTransport(options.command), options)

    @property
    def device(self) -> str:
        return self._options.device

    # --- queries ------------------------------------------------------------------------

    def media_info(self) -> MediaInfo:
        """What is in the drive. An empty drive gives state NONE (not an error).

        Acquiring the drive loads its tray (libburn does so), like `load()`. Raises
        TrayOpen (the tray would not close), NotReady, DriveBusy, XorrisoMissing, DriveError.
        """
        run = self._run(["-outdev", self.device, "-toc", "-tell_media_space"])
        self._raise_for(run)
        return parse_media_info(run.output)

    # --- burn ---------------------------------------------------------------------------

    def burn(
        self,
        image: Path,
        *,
        close: bool = True,
        md5: bool = True,
        progress: Progress | None = None,
    ) -> BurnResult:
        """Write `image` as one session to the blank disc, closed unless `close=False`.

        Checks first (nothing is written): NoMedium, NotBlank (appendable or closed),
        TooSmall. A failure once writing began raises WriteFailed: the disc is spoiled.
        """
        started = time.monotonic()
        size = Path(image).stat().st_size
        info = self.media_info()
        self._check_writable(info, size)
        digest = _Digest(Path(image)) if md5 else None
        args = ["-as", "cdrecord", "-v", f"dev={self.device}", f"padsize={PAD_BLOCKS * 2}k"]
        if not close:
            args.append("-multi")
        args.append(str(image))

        def on_line(line: str) -> None:
            parsed = parse_write_progress(line)
            if parsed is not None and progress is not None:
                progress(min(parsed[0], size), size)

        try:
            run = self._run(args, timeout=self._options.burn_timeout, on_line=on_line)
        finally:
            image_md5 = digest.result() if digest is not None else None
        error = failure(run.output, run.exit_code, default=_write_failed)
        if error is not None:
            log.warning("burn of %s on %s failed: %s", image, self.device, error.detail)
            raise error
        if progress is not None:
            progress(size, size)
        seconds = time.monotonic() - started
        log.info("burned %s (%d bytes) on %s in %.1f s", image, size, self.device, seconds)
        return BurnResult(size, image_md5, seconds)

    def _check_writable(self, info: MediaInfo, size: int) -> None:
        if info.state is MediaState.NONE:
            raise NoMedium(f"no disc in {self.device}")
        if info.state in (MediaState.APPENDABLE, MediaState.CLOSED) or not info.media.writable:
            raise NotBlank(
                f"the disc in {self.device} is {info.state.value} "
                f"({info.media.profile or 'unknown type'}), not blank",
                state=info.state.value,
            )
        if info.state is not MediaState.BLANK:
            raise DriveError(f"the disc in {self.device} is not recognisable")
        needed = (blocks_for(size) + PAD_BLOCKS) * BLOCK
        if needed > info.free_bytes:
            raise TooSmall(
                f"the image needs {needed} bytes, the {info.media.profile} has "
                f"{info.free_bytes} free",
                needed=needed,
                free=info.free_bytes,
            )

    # --- verify -------------------------------------------------------------------------

    def verify(
        self,
        image: Path,
        *,
        expected_md5: str | None = None,
        progress: Progress | None = None,
    ) -> VerifyResult:
        """Read the image's blocks back from the disc and compare their MD5 with the
        image's (`expected_md5` from `burn` saves reading the image again).

        Raises VerifyMismatch (different bytes, unreadable blocks, or a short read),
        NoMedium, NotReady, DriveBusy or DriveError.
        """
        started = time.monotonic()
        size = Path(image).stat().st_size
        blocks = blocks_for(size)
        total = blocks * BLOCK
        if expected_md5 is None:
            expected_md5 = image_md5(Path(image))
        disc = hashlib.md5(usedforsecurity=False)
        received = 0

        def sink(chunk: bytes) -> None:
            nonlocal received
            keep = chunk[: max(total - received, 0)]
            disc.update(keep)
            received += len(chunk)
            if progress is not None:
                progress(min(received, total), total)

        def on_line(line: str) -> None:
            done = parse_read_progress(line)
            if done is not None and progress is not None and received == 0:
                progress(min(done, total), total)

        args = [
            "-outdev",
            self.device,
            "-check_media",
            "use=outdev",
            "what=disc",
            "min_lba=0",
            f"max_lba={blocks - 1}",
            "data_to=-",
            "--",
        ]
        run = self._transport.read(
            args, sink, timeout=self._options.verify_timeout, on_line=on_line
        )
        self._raise_for(run)
        bad = bad_regions(parse_check_media(run.output), 0, blocks)
        if bad:
            where = ", ".join(f"{r.blocks} blocks at {r.lba} ({r.quality})" for r in bad)
            raise VerifyMismatch(f"unreadable on the disc: {where}", detail=run.output)
        actual = disc.hexdigest()
        if received < total:
            raise VerifyMismatch(
                f"read back {received} of {total} bytes",
                expected=expected_md5,
                actual=actual,
                detail=run.output,
            )
        if actual != expected_md5:
            raise VerifyMismatch(
                f"the disc's MD5 {actual} differs from the image's {expected_md5}",
                expected=expected_md5,
                actual=actual,
            )
        seconds = time.monotonic() - started
        log.info("verified %s on %s (%d bytes, MD5 %s)", image, self.device, total, actual)
        return VerifyResult(total, actual, seconds)

    # --- tray ---------------------------------------------------------------------------

    def eject(self) -> None:
        """Open the tray (an empty drive too)."""
        run = self._run(["-outdev", self.device, "-eject", "all"])
        self._raise_for(run, media_matters=False)

    def load(self) -> None:
        """Close the tray: acquiring the drive loads it. Raises TrayOpen if it stays open."""
        run = self._run(["-outdev", self.device])
        self._raise_for(run, media_matters=False)

    # --- helpers ------------------------------------------------------------------------

    def _run(
        self,
        args: Sequence[str],
        *,
        timeout: float | None = None,
        on_line: LineSink | None = None,
    ) -> XorrisoRun:
        return self._transport.run(
            args, timeout=timeout or self._options.query_timeout, on_line=on_line
        )

    @staticmethod
    def _raise_for(run: XorrisoRun, *, media_matters: bool = True) -> None:
        error = failure(run.output, run.exit_code)
        if error is None:
            return
        if not media_matters and isinstance(error, NoMedium):
            return  # ejecting or loading an empty drive is fine
        raise error


def _write_failed(message: str, detail: str, exit_code: int) -> DriveError:
    return WriteFailed(message, detail=detail, exit_code=exit_code)


def image_md5(image: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with image.open("rb") as source:
        while chunk := source.read(HASH_CHUNK):
            digest.update(chunk)
        # a disc holds whole blocks: the read-back of a ragged image ends in zeros
        digest.update(bytes(-source.tell() % BLOCK))
    return digest.hexdigest()


class _Digest:
    """The image's MD5, computed in a thread while xorriso burns it (hashlib runs
    without the interpreter lock, so this costs no wall time on a second core)."""

    def __init__(self, image: Path) -> None:
        self._value: str | None = None
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._work, args=(image,), daemon=True)
        self._thread.start()

    def _work(self, image: Path) -> None:
        try:
            self._value = image_md5(image)
        except OSError as error:
            self._error = error

    def result(self) -> str | None:
        self._thread.join()
        if self._error is not None:
            raise DriveError(f"cannot read the image: {self._error}") from self._error
        return self._value
