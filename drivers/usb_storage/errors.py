"""Typed errors of the USB storage driver. Sentences for the operator are made by the caller."""

from __future__ import annotations


class UsbStorageError(Exception):
    """Base of everything this driver raises."""


class StickRemoved(UsbStorageError):
    """The stick went away (or its I/O failed the way a pulled stick's does)."""


class StickReadOnly(UsbStorageError):
    """The stick is write-protected, or the kernel made its file system read-only."""


class StickFull(UsbStorageError):
    """No space left on the stick (ENOSPC, or too little free for the tree)."""

    def __init__(self, message: str, *, needed: int, free: int) -> None:
        super().__init__(message)
        self.needed = needed
        self.free = free


class UnsupportedFileSystem(UsbStorageError):
    """The stick's file system is not one we write (or it has none)."""

    def __init__(self, fs_type: str) -> None:
        super().__init__(f"unsupported file system {fs_type or '(none)'!r}")
        self.fs_type = fs_type


class MountFailed(UsbStorageError):
    """mount or umount failed for a reason not covered above."""


class WriteFailed(UsbStorageError):
    """An I/O error while the stick is still present (a failing stick)."""


class VerifyMismatch(UsbStorageError):
    """A file read back from the stick differs from what was written."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class SimulatorUnavailable(UsbStorageError):
    """The simulated backend cannot run here (umockdev preload or root missing)."""
