"""Write one received instance as a Part-10 file: temp file, fsync, rename into place."""

from __future__ import annotations

import contextlib
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


class PartTenWriter:
    """Streams fragments into `incoming/<name>.part`; nothing is visible until installed."""

    def __init__(self, incoming: Path, name: str, *, durable: bool) -> None:
        self.temp = incoming / f"{name}.part"
        self.durable = durable
        self.size = 0
        self.crc = 0
        self._fd: int | None = os.open(
            self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o640
        )

    def write(self, chunk: bytes | memoryview) -> None:
        assert self._fd is not None
        view = memoryview(chunk)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self.crc = zlib.crc32(chunk, self.crc)
        self.size += len(chunk)

    def finish(self) -> None:
        """Flush to stable storage and close; the file is complete in `incoming/`."""
        assert self._fd is not None
        try:
            if self.durable:
                os.fsync(self._fd)
        finally:
            os.close(self._fd)
            self._fd = None

    def install(self, final: Path, stop: Path, *, replace: bool) -> None:
        """Move the finished file into place; without `replace` an existing file wins."""
        make_dirs_durable(final.parent, stop)
        if replace:
            os.replace(self.temp, final)
        else:
            os.link(self.temp, final)  # raises FileExistsError rather than overwrite
            os.unlink(self.temp)
        if self.durable:
            fsync_dir(final.parent)

    def discard(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.temp)
