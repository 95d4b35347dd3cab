"""Mounting a stick into a box-owned directory, behind a small interface.

`Mounter` is what the driver needs: put the stick's file system at a directory, take it
away again. `SystemMounter` runs mount(8)/umount(8) on the stick's device node; the
simulator provides its own (a loop-mounted image) through the same interface.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Protocol

from drivers.usb_storage.errors import MountFailed, StickRemoved, UnsupportedFileSystem
from drivers.usb_storage.stick import Stick

# Helpers run with a plain environment: C messages (we read their stderr), and no
# LD_PRELOAD inherited from a umockdev-wrapped parent (mount must see the real /dev).
HELPER_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}
HELPER_TIMEOUT = 60.0

_SAFE = "nosuid,nodev,noexec,noatime"
# Kernel file system type and options per udev ID_FS_TYPE. `flush` makes vfat write back
# early, so less is in flight if the stick is pulled; NTFS goes to the in-kernel ntfs3.
MOUNT_TYPES: dict[str, tuple[str, str]] = {
    "vfat": ("vfat", f"{_SAFE},flush,shortname=mixed,utf8"),
    "exfat": ("exfat", _SAFE),
    "ext4": ("ext4", _SAFE),
    "ntfs": ("ntfs3", _SAFE),
}


class Mounter(Protocol):
    def mount(self, stick: Stick, target: Path, *, read_only: bool) -> None:
        """Mount `stick` at `target` (an existing empty directory); raise a typed error."""

    def unmount(self, target: Path, *, lazy: bool = False) -> None:
        """Unmount `target`; `lazy` detaches a file system whose device is gone."""

    def close(self) -> None:
        """Release whatever the mounter holds (the simulator's world)."""


def run_helper(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, env=HELPER_ENV, capture_output=True, text=True, timeout=HELPER_TIMEOUT, check=False
    )


def mount_error(stick: Stick, stderr: str) -> Exception:
    """mount(8)'s complaint as a typed error (util-linux wording, LC_ALL=C)."""
    text = stderr.lower()
    if "unknown filesystem type" in text or "wrong fs type" in text:
        return UnsupportedFileSystem(stick.fs_type)
    if "does not exist" in text or "no such file" in text or "no medium" in text:
        return StickRemoved(f"{stick.device_node} is gone: {stderr.strip()}")
    return MountFailed(f"mount {stick.device_node}: {stderr.strip() or 'failed'}")


def unmount_path(target: Path, *, lazy: bool, attempts: int = 5) -> None:
    """umount(8), retried briefly while the file system is busy (a closing file)."""
    argv = ["umount", *(["-l"] if lazy else []), str(target)]
    for attempt in range(attempts):
        result = run_helper(argv)
        if result.returncode == 0 or not os.path.ismount(target):
            return
        if attempt + 1 < attempts:
            time.sleep(0.2 * (attempt + 1))
    raise MountFailed(f"umount {target}: {result.stderr.strip() or 'failed'}")


class SystemMounter:
    """mount(8) on the real device node."""

    def mount(self, stick: Stick, target: Path, *, read_only: bool) -> None:
        if stick.fs_type not in MOUNT_TYPES:
            raise UnsupportedFileSystem(stick.fs_type)
        fs, options = MOUNT_TYPES[stick.fs_type]
        options = f"{'ro' if read_only else 'rw'},{options}"
        result = run_helper(["mount", "-t", fs, "-o", options, stick.device_node, str(target)])
        if result.returncode != 0:
            raise mount_error(stick, result.stderr)

    def unmount(self, target: Path, *, lazy: bool = False) -> None:
        unmount_path(target, lazy=lazy)

    def close(self) -> None:
        return None
