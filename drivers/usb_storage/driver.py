"""The USB storage driver: sticks from udev, mount, write, read back, unmount.

The caller (the application's exporter) runs the state machine; this module only does
the work and raises the typed errors of `errors.py`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from drivers.usb_storage.copy import (
    FileRecord,
    Plan,
    Progress,
    Written,
    plan_tree,
    remove_written,
    verify_tree,
    write_tree,
)
from drivers.usb_storage.errors import (
    MountFailed,
    StickFull,
    StickReadOnly,
    UnsupportedFileSystem,
    UsbStorageError,
    WriteFailed,
)
from drivers.usb_storage.mount import Mounter
from drivers.usb_storage.stick import Stick
from drivers.usb_storage.udev import StickEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Volume:
    """A mounted stick."""

    stick: Stick
    target: Path
    device: int  # st_dev of the mounted root: how we know a path is still on the stick
    read_only: bool


def space_needed(plan: Plan, block: int) -> int:
    """Bytes the tree takes on a file system with `block`-byte clusters (each file and
    directory rounded up to whole clusters; FAT's directory entries fit in that slack)."""
    block = max(block, 512)
    files = sum(-(-size // block) * block for _, size in plan.files)
    return files + (len(plan.directories) + 1) * block


class Watcher(Protocol):
    """What the driver needs from the transport (`udev.UdevWatcher`)."""

    def present(self) -> list[Stick]: ...
    def is_present(self, sys_path: str) -> bool: ...
    def next_event(self, timeout: float) -> StickEvent | None: ...
    def close(self) -> None: ...


class UsbStorageDriver:
    def __init__(self, watcher: Watcher, mounter: Mounter, mount_root: Path) -> None:
        self._watcher = watcher
        self._mounter = mounter
        self._mount_root = mount_root

    # --- sticks -------------------------------------------------------------------------

    def present(self) -> list[Stick]:
        return self._watcher.present()

    def is_present(self, stick: Stick) -> bool:
        return self._watcher.is_present(stick.sys_path)

    def next_event(self, timeout: float) -> StickEvent | None:
        return self._watcher.next_event(timeout)

    # --- mount --------------------------------------------------------------------------

    def mount(self, stick: Stick, *, read_only: bool = False) -> Volume:
        """Mount `stick` under the mount root; StickReadOnly if it will not take writes."""
        if not stick.supported:
            raise UnsupportedFileSystem(stick.fs_type)
        target = self._mount_root / Path(stick.device_node).name
        target.mkdir(mode=0o700, parents=True, exist_ok=True)
        if os.path.ismount(target):
            # Left by a crash or a pulled stick: its device is gone, so detach it.
            self._mounter.unmount(target, lazy=True)
        self._mounter.mount(stick, target, read_only=read_only)
        try:
            status = os.statvfs(target)
            device = os.stat(target).st_dev
        except OSError as error:
            self._mounter.unmount(target, lazy=True)
            raise MountFailed(f"{target}: {error.strerror}") from error
        mounted_read_only = bool(status.f_flag & os.ST_RDONLY)
        if mounted_read_only and not read_only:
            # mount(8) falls back to read-only for a write-protected stick and says so
            # only on stderr; the mount flags are the one reliable answer.
            self._mounter.unmount(target)
            raise StickReadOnly(f"{stick.device_node} mounted read-only (write-protected)")
        log.info("mounted %s (%s) at %s", stick.device_node, stick.fs_type, target)
        return Volume(stick, target, device, mounted_read_only)

    def unmount(self, volume: Volume) -> None:
        self._mounter.unmount(volume.target)
        log.info("unmounted %s", volume.target)

    def release(self, volume: Volume) -> None:
        """Detach a volume whose stick is gone or whose write failed (never raises)."""
        try:
            self._mounter.unmount(volume.target, lazy=not self.is_present(volume.stick))
        except UsbStorageError:
            try:
                self._mounter.unmount(volume.target, lazy=True)
            except UsbStorageError as error:
                log.warning("could not detach %s: %s", volume.target, error)

    # --- write and read back ------------------------------------------------------------

    def free_bytes(self, volume: Volume) -> int:
        status = os.statvfs(volume.target)
        return status.f_bavail * status.f_frsize

    def write(
        self, volume: Volume, source: Path, progress: Progress | None = None
    ) -> list[FileRecord]:
        """Copy the tree under `source` to the stick's root; the records of what was written.

        Too little free space is found before anything is written. After any failure
        the files this write created are removed again where the stick still allows it.
        """
        plan = plan_tree(source)
        status = os.statvfs(volume.target)
        free = status.f_bavail * status.f_frsize
        needed = space_needed(plan, status.f_bsize)
        if needed > free:
            raise StickFull(f"{needed} bytes needed, {free} free", needed=needed, free=free)
        written = Written()
        try:
            write_tree(
                source,
                volume.target,
                plan,
                device=volume.device,
                present=lambda: self.is_present(volume.stick),
                written=written,
                progress=progress,
            )
        except StickFull as error:
            remove_written(written)
            raise StickFull(str(error), needed=needed, free=free) from error
        except (StickReadOnly, WriteFailed):
            remove_written(written)
            raise
        log.info("wrote %d files to %s", len(written.records), volume.target)
        return written.records

    def verify(
        self, volume: Volume, records: list[FileRecord], progress: Progress | None = None
    ) -> Volume:
        """Unmount, mount again read-only and compare every file: the bytes then come from
        the stick, not from the page cache. Returns the read-only volume (still mounted)."""
        self.unmount(volume)
        again = self.mount(volume.stick, read_only=True)
        try:
            verify_tree(
                again.target,
                records,
                present=lambda: self.is_present(volume.stick),
                progress=progress,
            )
        except UsbStorageError:
            self.release(again)
            raise
        return again

    def close(self) -> None:
        self._watcher.close()
        self._mounter.close()
