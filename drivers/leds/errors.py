"""Typed errors of the LED drivers; the operator's sentence is made by the caller."""

from __future__ import annotations


class LedError(Exception):
    """Base of everything an LED driver raises."""


class UnknownLed(LedError):
    """A name the driver was not configured with (a programming or configuration error)."""


class LedUnavailable(LedError):
    """The LED's device cannot be reached: a missing sysfs LED or gpio chip, no permission."""

    def __init__(self, device: str, reason: str) -> None:
        super().__init__(f"{device}: {reason}")
        self.device = device
        self.reason = reason


class BoardProtocolError(LedError):
    """A line the LED board protocol does not allow."""


class BoardRefused(LedError):
    """The board answered ERR to a request."""

    def __init__(self, request: str, reason: str) -> None:
        super().__init__(f"{request}: refused: {reason}")
        self.request = request
        self.reason = reason


class BoardTimeout(LedError):
    """The board did not answer in time."""
