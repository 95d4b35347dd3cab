"""Why a print request is refused or warned about: the DIMSE status and a short sentence."""

from __future__ import annotations

from enum import IntEnum


class PrintStatus(IntEnum):
    """Print Management specific statuses (PS3.4 H.4), as syngo MR tables 46-54 name them."""

    MEMORY_ALLOCATION_NOT_SUPPORTED = 0xB600
    COLLATION_NOT_SUPPORTED = 0xB601
    SESSION_EMPTY_PAGE = 0xB602  # a film of the session has no image
    FILM_BOX_EMPTY_PAGE = 0xB603  # the printed film box has no image
    IMAGE_DEMAGNIFIED = 0xB604
    DENSITY_OUT_OF_RANGE = 0xB605  # clamped to the printer's range
    IMAGE_CROPPED = 0xB609
    IMAGE_DECIMATED = 0xB60A
    SESSION_HAS_NO_FILM_BOX = 0xC600
    SESSION_QUEUE_FULL = 0xC601  # N-ACTION on the film session
    FILM_BOX_QUEUE_FULL = 0xC602  # N-ACTION on a film box
    IMAGE_TOO_LARGE = 0xC603
    INSUFFICIENT_MEMORY = 0xC605
    COMBINED_IMAGE_TOO_LARGE = 0xC613
    UNPRINTED_FILM_BOX = 0xC616


class Refused(Exception):
    """Raised while handling one request; the service answers it with `status`."""

    def __init__(self, status: int, comment: str) -> None:
        super().__init__(comment)
        self.status = status
        self.comment = comment


class Warnings:
    """Warnings gathered while a request is applied; the response carries the first."""

    def __init__(self) -> None:
        self.found: list[tuple[int, str]] = []

    def add(self, status: int, comment: str) -> None:
        self.found.append((status, comment))

    @property
    def status(self) -> int:
        # Print-specific warnings (B6xx) say more than the general attribute warnings.
        ranked = sorted(self.found, key=lambda item: item[0] & 0xF000 != 0xB000)
        return ranked[0][0] if ranked else 0

    @property
    def comment(self) -> str:
        ranked = sorted(self.found, key=lambda item: item[0] & 0xF000 != 0xB000)
        return ranked[0][1] if ranked else ""
