"""Typed errors of the optical drive driver. Sentences for the operator are made by the caller.

Every error carries xorriso's own message lines (`detail`) and exit code, for the device log.
"""

from __future__ import annotations


class DriveError(Exception):
    """Base of everything this driver raises; also the generic case (xorriso's message)."""

    def __init__(self, message: str, *, detail: str = "", exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or message
        self.exit_code = exit_code


class XorrisoMissing(DriveError):
    """The configured xorriso command cannot be started."""


class NoMedium(DriveError):
    """The drive is closed and empty."""


class TrayOpen(DriveError):
    """The tray is open (MMC: medium not present, tray open)."""


class NotReady(DriveError):
    """The drive is still becoming ready (spinning up, reading the new disc)."""


class DriveBusy(DriveError):
    """Another program holds the drive (a desktop auto-mounter, another burn)."""


class NotBlank(DriveError):
    """The disc holds data already (appendable or closed): we burn blank discs only."""

    def __init__(self, message: str, *, state: str, detail: str = "") -> None:
        super().__init__(message, detail=detail)
        self.state = state


class TooSmall(DriveError):
    """The image does not fit in the free space of the disc."""

    def __init__(self, message: str, *, needed: int, free: int) -> None:
        super().__init__(message)
        self.needed = needed
        self.free = free


class WriteFailed(DriveError):
    """The burn started and failed: the disc is spoiled."""


class VerifyMismatch(DriveError):
    """The disc read back differs from the image (or could not be read back whole)."""

    def __init__(
        self, message: str, *, expected: str = "", actual: str = "", detail: str = ""
    ) -> None:
        super().__init__(message, detail=detail)
        self.expected = expected
        self.actual = actual
