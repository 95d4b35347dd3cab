"""Writing a directory tree to a mounted stick and reading it back.

Every file is hashed (SHA-256) as it is read from the source, written, and fsynced; then
every directory is fsynced and the whole file system synced. Reading back compares each
file's size and hash with what was written. OS errors become the driver's typed errors.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from drivers.usb_storage.errors import (
    StickFull,
    StickReadOnly,
    StickRemoved,
    UsbStorageError,
    VerifyMismatch,
    WriteFailed,
)

CHUNK = 1 << 20
# After an I/O error, how long the device may take to disappear from udev before we call
# it a failing stick rather than a pulled one (the kernel reports both within moments).
REMOVAL_GRACE = 2.0
# What a pulled stick looks like from a system call: EIO from the block layer, ENODEV/ENXIO
# from a vanished device, ESHUTDOWN from a shut-down file system, ENOTCONN from a FUSE
# file system whose daemon lost its device.
_GONE = frozenset({errno.EIO, errno.ENODEV, errno.ENXIO, errno.ESHUTDOWN, errno.ENOTCONN})

Progress = Callable[[int, int], None]  # (bytes done, bytes in all)
Present = Callable[[], bool]


@dataclass(frozen=True)
class FileRecord:
    relative: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Plan:
    """What the source holds, read before anything is written (for space and progress)."""

    directories: tuple[str, ...]  # parents before children
    files: tuple[tuple[str, int], ...]  # (relative path, size)

    @property
    def total_bytes(self) -> int:
        return sum(size for _, size in self.files)


@dataclass
class Written:
    """What one write put on the stick, so a failed write can be taken off again."""

    records: list[FileRecord] = field(default_factory=list)
    created_files: list[Path] = field(default_factory=list)
    created_dirs: list[Path] = field(default_factory=list)


def plan_tree(source: Path) -> Plan:
    directories: list[str] = []
    files: list[tuple[str, int]] = []
    for root, dirs, names in os.walk(source):
        dirs.sort()
        base = Path(root).relative_to(source)
        for name in dirs:
            directories.append((base / name).as_posix())
        for name in sorted(names):
            path = Path(root) / name
            if path.is_file():
                files.append(((base / name).as_posix(), path.stat().st_size))
    return Plan(tuple(directories), tuple(files))


def classify(error: OSError, present: Present, what: str) -> UsbStorageError:
    """An OSError during a stick operation as one of the driver's errors."""
    code = error.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        return StickFull(f"{what}: {error.strerror}", needed=0, free=0)
    if code == errno.EROFS:
        return StickReadOnly(f"{what}: {error.strerror}")
    if code in _GONE:
        deadline = time.monotonic() + REMOVAL_GRACE
        while time.monotonic() < deadline:
            if not present():
                return StickRemoved(f"{what}: {error.strerror}")
            time.sleep(0.05)
    if code == errno.EFBIG:
        return WriteFailed(f"{what}: a file is larger than the stick's file system allows")
    return WriteFailed(f"{what}: {error.strerror or error}")


def _syncfs(fd: int) -> None:
    """syncfs(2): write back this file system only (os.sync would stall the whole box)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syncfs(fd) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_tree(
    source: Path,
    dest: Path,
    plan: Plan,
    *,
    device: int,
    present: Present,
    written: Written,
    progress: Progress | None = None,
) -> None:
    """Copy `plan` from `source` into `dest` (the mount root, on st_dev `device`).

    `written` is filled as files land, so the caller can remove them after a failure.
    """
    total, done = plan.total_bytes, 0
    current = str(dest)
    try:
        for relative in plan.directories:
            path = dest / relative
            current = str(path)
            if not path.is_dir():
                path.mkdir()
                written.created_dirs.append(path)
        for relative, _ in plan.files:
            if not present():
                raise StickRemoved(f"the stick went away before {relative}")
            target = dest / relative
            current = str(target)
            existed = target.exists()
            digest = hashlib.sha256()
            size = 0
            fd = os.open(
                target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644
            )
            try:
                if not existed:
                    written.created_files.append(target)
                # A stale mount whose stick is gone can leave our path on the box's own
                # disk; the device number says whether we are still on the stick.
                if os.fstat(fd).st_dev != device:
                    raise StickRemoved(f"{dest} is no longer the stick's file system")
                with (source / relative).open("rb") as src:
                    while chunk := src.read(CHUNK):
                        _write_all(fd, chunk)
                        digest.update(chunk)
                        size += len(chunk)
                        done += len(chunk)
                        if progress is not None:
                            progress(done, total)
                os.fsync(fd)
            finally:
                os.close(fd)
            written.records.append(FileRecord(relative, size, digest.hexdigest()))
        current = str(dest)
        for path in sorted({dest, *(dest / d for d in plan.directories)}, reverse=True):
            _fsync_dir(path)
        root = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            _syncfs(root)
        finally:
            os.close(root)
    except OSError as error:
        raise classify(error, present, current) from error


def verify_tree(
    dest: Path,
    records: list[FileRecord],
    *,
    present: Present,
    progress: Progress | None = None,
) -> None:
    """Read every written file back from `dest` and compare size and SHA-256."""
    total, done = sum(r.size for r in records), 0
    for record in records:
        path = dest / record.relative
        digest = hashlib.sha256()
        size = 0
        try:
            with path.open("rb") as stream:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
        except FileNotFoundError as error:
            raise VerifyMismatch(record.relative, "missing when read back") from error
        except OSError as error:
            raise classify(error, present, str(path)) from error
        if size != record.size:
            raise VerifyMismatch(record.relative, f"{size} bytes read back, {record.size} written")
        if digest.hexdigest() != record.sha256:
            raise VerifyMismatch(record.relative, "SHA-256 differs from what was written")


def remove_written(written: Written) -> None:
    """Take a failed write's new files and directories off the stick again (best effort)."""
    for path in reversed(written.created_files):
        with contextlib.suppress(OSError):
            path.unlink()
    for path in reversed(written.created_dirs):
        with contextlib.suppress(OSError):
            path.rmdir()
