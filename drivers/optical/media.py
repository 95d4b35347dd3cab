"""What xorriso says about a disc, as typed data: media types (a flavor table), states, info.

The media types are libburn's MMC profile names exactly as xorriso prints them on its
`Media current:` line; what the box does with each is data here, not branches elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum

BLOCK = 2048  # bytes in one data block of CD, DVD and BD (and of xorriso's "s" unit)


class MediaState(Enum):
    NONE = "none"  # "Media status : is not present"
    BLANK = "blank"
    APPENDABLE = "appendable"  # written, another session may follow
    CLOSED = "closed"  # written and finalised
    UNKNOWN = "unknown"  # "is not recognizable" (unreadable or unsupported disc)


class MediaFamily(StrEnum):
    CD = "CD"
    DVD = "DVD"
    DVD_DL = "DVD_DL"
    BD = "BD"
    FILE = "FILE"  # a stdio: pseudo drive (tests, the simulator's backing file)
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class MediaType:
    profile: str  # as on xorriso's "Media current:" line, without ", overwriteable" etc.
    family: MediaFamily
    writable: bool  # a recorder can burn it at all (ROM discs cannot)
    rewritable: bool
    capacity_blocks: int  # a typical blank disc of this type (the simulator's default)


F = MediaFamily
# libburn's profile names (MMC-5 feature profile list).
MEDIA_TYPES: tuple[MediaType, ...] = (
    MediaType("CD-ROM", F.CD, False, False, 0),
    MediaType("CD-R", F.CD, True, False, 359_847),
    MediaType("CD-RW", F.CD, True, True, 359_847),
    MediaType("DVD-ROM", F.DVD, False, False, 0),
    MediaType("DVD-R sequential recording", F.DVD, True, False, 2_298_496),
    MediaType("DVD-RAM", F.DVD, True, True, 2_236_704),
    MediaType("DVD-RW restricted overwrite", F.DVD, True, True, 2_297_888),
    MediaType("DVD-RW sequential recording", F.DVD, True, True, 2_297_888),
    MediaType("DVD-R/DL sequential recording", F.DVD_DL, True, False, 4_171_712),
    MediaType("DVD-R/DL layer jump recording", F.DVD_DL, True, False, 4_171_712),
    MediaType("DVD+RW", F.DVD, True, True, 2_295_104),
    MediaType("DVD+R", F.DVD, True, False, 2_295_104),
    MediaType("DVD+R/DL", F.DVD_DL, True, False, 4_173_824),
    MediaType("BD-ROM", F.BD, False, False, 0),
    MediaType("BD-R sequential recording", F.BD, True, False, 12_219_392),
    MediaType("BD-R random recording", F.BD, True, False, 12_219_392),
    MediaType("BD-RE", F.BD, True, True, 11_826_176),
    MediaType("stdio file", F.FILE, True, True, 0),
)
del F

_BY_PROFILE = {media.profile: media for media in MEDIA_TYPES}
UNKNOWN_MEDIA = MediaType("", MediaFamily.UNKNOWN, False, False, 0)


def media_type(profile: str) -> MediaType:
    """The media type for a profile name; an unknown name gives UNKNOWN_MEDIA (never raises)."""
    return _BY_PROFILE.get(profile.strip(), UNKNOWN_MEDIA)


@dataclass(frozen=True)
class MediaInfo:
    """One look at the drive and its disc (from `-toc -tell_media_space`)."""

    state: MediaState
    media: MediaType
    readable_blocks: int = 0  # data already on the disc
    free_blocks: int = 0  # what the next session may fill
    capacity_blocks: int = 0  # readable + writable ("overall")
    sessions: int = 0
    volume_id: str = ""  # of the last ISO session, "" if none
    drive: str = ""  # vendor, product and revision of the drive

    @property
    def free_bytes(self) -> int:
        return self.free_blocks * BLOCK

    @property
    def capacity_bytes(self) -> int:
        return self.capacity_blocks * BLOCK

    @property
    def data_bytes(self) -> int:
        return self.readable_blocks * BLOCK


def blocks_for(size: int) -> int:
    """Whole blocks `size` bytes take on a disc."""
    return -(-size // BLOCK)
