"""Write one received instance as a Part-10 file: temp file, fsync, rename into place."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import struct
import zlib
from pathlib import Path

from appliance import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME

PREAMBLE = b"\x00" * 128 + b"DICM"


def _element(tag: int, vr: bytes, value: bytes) -> bytes:
    if vr in (b"OB", b"UN"):
        return struct.pack("<HH2s2xL", tag >> 16, tag & 0xFFFF, vr, len(value)) + value
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr, len(value)) + value


def _uid(value: str) -> bytes:
    raw = value.encode("ascii")
    return raw + b"\x00" if len(raw) % 2 else raw


def _text(value: str) -> bytes:
    raw = value.encode("ascii", "replace")
    return raw + b" " if len(raw) % 2 else raw


def file_meta_bytes(
    sop_class: str, sop_instance: str, transfer_syntax: str, source_ae: str
) -> bytes:
    """Preamble, prefix and group 0002 (PS3.10 7.1), with our implementation identity.

    Encoded directly: it is written once per received instance, and the UIDs have
    already been checked to be digits and dots.
    """
    body = b"".join(
        (
            _element(0x00020001, b"OB", b"\x00\x01"),
            _element(0x00020002, b"UI", _uid(sop_class)),
            _element(0x00020003, b"UI", _uid(sop_instance)),
            _element(0x00020010, b"UI", _uid(transfer_syntax)),
            _element(0x00020012, b"UI", _uid(IMPLEMENTATION_CLASS_UID)),
            _element(0x00020013, b"SH", _text(IMPLEMENTATION_VERSION_NAME)),
            _element(0x00020016, b"AE", _text(source_ae)) if source_ae else b"",
        )
    )
    return PREAMBLE + _element(0x00020000, b"UL", struct.pack("<L", len(body))) + body


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs_durable(path: Path, stop: Path) -> None:
    """mkdir -p `path`; new directories are fsynced into their parents up to `stop`."""
    missing: list[Path] = []
    current = path
    while not current.exists() and current != stop:
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir()
        except FileExistsError:
            continue
        fsync_dir(directory.parent)


_AT_FDCWD = -100
_AT_SYMLINK_FOLLOW = 0x400
_libc = ctypes.CDLL(None, use_errno=True)
_libc.sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
_SYNC_FILE_RANGE_WRITE = 2
# Start writing back every this many bytes while an instance arrives, so that the final
# fsync waits only for the tail: disk writes overlap with receiving the rest.
WRITEBACK_STEP = 256 * 1024


_AT_EMPTY_PATH = 0x1000


class Linker:
    """linkat() an anonymous (O_TMPFILE) file into the tree; fails if the name exists.

    By descriptor (AT_EMPTY_PATH) where the kernel allows it (it asks for
    CAP_DAC_READ_SEARCH), else through /proc/self/fd, which any process may use but which
    costs a path walk through procfs.
    """

    def __init__(self) -> None:
        self.by_descriptor = True

    def link(self, fd: int, final: Path) -> None:
        target = os.fsencode(final)
        if self.by_descriptor:
            if _libc.linkat(fd, b"", _AT_FDCWD, target, _AT_EMPTY_PATH) == 0:
                return
            err = ctypes.get_errno()
            if err not in (errno.ENOENT, errno.EPERM, errno.EACCES, errno.EINVAL):
                raise OSError(err, os.strerror(err), str(final))
            self.by_descriptor = False
        source = f"/proc/self/fd/{fd}".encode()
        if _libc.linkat(_AT_FDCWD, source, _AT_FDCWD, target, _AT_SYMLINK_FOLLOW) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), str(final))


class PartTenWriter:
    """Streams fragments into an unnamed file; nothing is visible until installed.

    The file is created with O_TMPFILE in `incoming/`: it has no name until it is linked
    into place, so an abort, a crash or a kill leaves nothing behind, and creating it costs
    less than a named file that is linked and unlinked. File systems without O_TMPFILE get
    a named `incoming/<name>.part` instead (removed by the dicom role after a crash).
    """

    def __init__(
        self, incoming: Path, name: str, *, durable: bool, linker: Linker | None = None
    ) -> None:
        self.durable = durable
        self.linker = linker or Linker()
        self.size = 0
        self.crc = 0
        self._flushed = 0
        self.temp: Path | None = None
        try:
            self._fd: int | None = os.open(incoming, os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o640)
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                raise
            self.temp = incoming / f"{name}.part"
            self._fd = os.open(self.temp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o640)

    def write(self, chunk: bytes | memoryview) -> None:
        assert self._fd is not None
        view = memoryview(chunk)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self.crc = zlib.crc32(chunk, self.crc)
        self.size += len(chunk)
        if self.durable and self.size - self._flushed >= WRITEBACK_STEP:
            _libc.sync_file_range(
                self._fd, self._flushed, self.size - self._flushed, _SYNC_FILE_RANGE_WRITE
            )
            self._flushed = self.size

    def read_at(self, offset: int, count: int) -> bytes:
        assert self._fd is not None
        return os.pread(self._fd, count, offset)

    def finish(self) -> None:
        """Flush the file to stable storage (it stays open until installed)."""
        assert self._fd is not None
        if self.durable:
            os.fsync(self._fd)

    def install(
        self, final: Path, stop: Path, *, replace: bool, known_dirs: set[Path] | None = None
    ) -> None:
        """Give the finished file its name; without `replace` an existing file wins.

        `known_dirs` remembers directories already made durable, to skip looking again.
        """
        assert self._fd is not None
        if known_dirs is None or final.parent not in known_dirs:
            make_dirs_durable(final.parent, stop)
            if known_dirs is not None:
                known_dirs.add(final.parent)
        if replace:
            staging = final.with_name(final.name + ".new")
            with contextlib.suppress(FileNotFoundError):
                os.unlink(staging)
            self._link(staging)
            os.replace(staging, final)
        else:
            self._link(final)  # raises FileExistsError rather than overwrite
        if self.temp is not None:
            os.unlink(self.temp)
            self.temp = None
        os.close(self._fd)
        self._fd = None
        if self.durable:
            fsync_dir(final.parent)

    def _link(self, final: Path) -> None:
        assert self._fd is not None
        if self.temp is not None:
            os.link(self.temp, final)
        else:
            self.linker.link(self._fd, final)

    def discard(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self.temp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.temp)
            self.temp = None
