"""Media Storage Application Profiles (PS3.11) and what each does with a transfer syntax.

A profile fixes the transfer syntaxes a file-set may hold. An instance received in one of
them is copied as received; an uncompressed one in another byte order or VR encoding is
re-encoded to Explicit VR Little Endian; a compressed one the profile does not allow is
decoded to Explicit VR Little Endian. Nothing is ever compressed (a lossy recompression
would lose information a second time), so a profile only ever takes away compression.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum

EXPLICIT_LE = "1.2.840.10008.1.2.1"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
DEFLATED_LE = "1.2.840.10008.1.2.1.99"

JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
JPEG_EXTENDED = "1.2.840.10008.1.2.4.51"
JPEG_LOSSLESS_SV1 = "1.2.840.10008.1.2.4.70"
J2K_LOSSLESS = "1.2.840.10008.1.2.4.90"
J2K = "1.2.840.10008.1.2.4.91"
MPEG2_MPML = "1.2.840.10008.1.2.4.100"
MPEG2_MPHL = "1.2.840.10008.1.2.4.101"
MPEG4_HPLV41 = "1.2.840.10008.1.2.4.102"
MPEG4_HPLV41BD = "1.2.840.10008.1.2.4.103"
MPEG4_HPLV42_2D = "1.2.840.10008.1.2.4.104"
MPEG4_HPLV42_3D = "1.2.840.10008.1.2.4.105"
MPEG4_SHPLV42 = "1.2.840.10008.1.2.4.106"

# Uncompressed encodings that differ from Explicit VR LE only in VR, byte order or deflate:
# converting them never touches a pixel value.
REENCODABLE = frozenset({IMPLICIT_LE, EXPLICIT_BE, DEFLATED_LE})

_JPEG = frozenset({EXPLICIT_LE, JPEG_LOSSLESS_SV1, JPEG_BASELINE, JPEG_EXTENDED})
_J2K = frozenset({EXPLICIT_LE, J2K_LOSSLESS, J2K})


class Medium(Enum):
    """Physical media families; each profile is defined for one of them."""

    CD = "cd"
    DVD = "dvd"
    DVD_DL = "dvd-dl"
    DVD_RAM = "dvd-ram"
    BD = "bd"
    USB = "usb"
    FLASH = "flash"  # SD, CompactFlash, MultiMediaCard


class Disposition(Enum):
    """What a file-set builder does with one instance under a profile."""

    COPY = "copy"  # the file as received
    REENCODE = "reencode"  # rewritten in Explicit VR LE; pixel values untouched
    DECODE = "decode"  # pixel data decompressed, written in Explicit VR LE
    # The profile needs it decoded but no decoder exists (video, referenced pixel data).
    REFUSE = "refuse"


class Profile(StrEnum):
    """The general-purpose profiles Kiln creates as File-set Creator (PS3.11 annexes D, H,
    J, M and the USB/flash annex). The value is the identifier PS3.11 gives it."""

    STD_GEN_CD = "STD-GEN-CD"
    STD_GEN_DVD_RAM = "STD-GEN-DVD-RAM"
    STD_GEN_DVD_JPEG = "STD-GEN-DVD-JPEG"
    STD_GEN_DVD_J2K = "STD-GEN-DVD-J2K"
    STD_GEN_BD_JPEG = "STD-GEN-BD-JPEG"
    STD_GEN_BD_J2K = "STD-GEN-BD-J2K"
    STD_GEN_BD_MPEG2_MPML = "STD-GEN-BD-MPEG2-MPML"
    STD_GEN_BD_MPEG2_MPHL = "STD-GEN-BD-MPEG2-MPHL"
    STD_GEN_BD_MPEG4_HPLV41 = "STD-GEN-BD-MPEG4-HPLV41"
    STD_GEN_BD_MPEG4_HPLV41BD = "STD-GEN-BD-MPEG4-HPLV41BD"
    STD_GEN_BD_MPEG4_HPLV42_2D = "STD-GEN-BD-MPEG4-HPLV42-2D"
    STD_GEN_BD_MPEG4_HPLV42_3D = "STD-GEN-BD-MPEG4-HPLV42-3D"
    STD_GEN_BD_MPEG4_SHPLV42 = "STD-GEN-BD-MPEG4-SHPLV42"
    STD_GEN_USB_JPEG = "STD-GEN-USB-JPEG"
    STD_GEN_USB_J2K = "STD-GEN-USB-J2K"
    STD_GEN_SD_JPEG = "STD-GEN-SD-JPEG"
    STD_GEN_SD_J2K = "STD-GEN-SD-J2K"
    STD_GEN_CF_JPEG = "STD-GEN-CF-JPEG"
    STD_GEN_CF_J2K = "STD-GEN-CF-J2K"
    STD_GEN_MMC_JPEG = "STD-GEN-MMC-JPEG"
    STD_GEN_MMC_J2K = "STD-GEN-MMC-J2K"

    @property
    def rule(self) -> ProfileRule:
        return RULES[self]

    @property
    def medium(self) -> Medium:
        return RULES[self].medium

    @property
    def syntaxes(self) -> frozenset[str]:
        """Transfer syntaxes instances may have in a file-set under this profile."""
        return RULES[self].syntaxes

    def disposition(self, transfer_syntax: str, decodable: bool) -> Disposition:
        """What to do with an instance in `transfer_syntax`; `decodable` says whether a
        pixel decoder for it is installed."""
        if transfer_syntax in self.syntaxes:
            return Disposition.COPY
        if transfer_syntax in REENCODABLE:
            return Disposition.REENCODE
        return Disposition.DECODE if decodable else Disposition.REFUSE


@dataclass(frozen=True)
class ProfileRule:
    medium: Medium
    syntaxes: frozenset[str]
    dcmmkdir_option: str  # how DCMTK's dcmmkdir names the profile (checks, benchmark)


def _mpeg(syntax: str, option: str) -> ProfileRule:
    return ProfileRule(Medium.BD, frozenset({EXPLICIT_LE, syntax}), option)


RULES: dict[Profile, ProfileRule] = {
    Profile.STD_GEN_CD: ProfileRule(Medium.CD, frozenset({EXPLICIT_LE}), "-Pgp"),
    Profile.STD_GEN_DVD_RAM: ProfileRule(Medium.DVD_RAM, frozenset({EXPLICIT_LE}), "-Pgp"),
    Profile.STD_GEN_DVD_JPEG: ProfileRule(Medium.DVD, _JPEG, "-Pdv"),
    Profile.STD_GEN_DVD_J2K: ProfileRule(Medium.DVD, _J2K, "-Pd2"),
    Profile.STD_GEN_BD_JPEG: ProfileRule(Medium.BD, _JPEG, "-Pbd"),
    Profile.STD_GEN_BD_J2K: ProfileRule(Medium.BD, _J2K, "-Pb2"),
    Profile.STD_GEN_BD_MPEG2_MPML: _mpeg(MPEG2_MPML, "-Pbm"),
    Profile.STD_GEN_BD_MPEG2_MPHL: _mpeg(MPEG2_MPHL, "-Pbh"),
    Profile.STD_GEN_BD_MPEG4_HPLV41: _mpeg(MPEG4_HPLV41, "-Pba"),
    Profile.STD_GEN_BD_MPEG4_HPLV41BD: _mpeg(MPEG4_HPLV41BD, "-Pbb"),
    Profile.STD_GEN_BD_MPEG4_HPLV42_2D: _mpeg(MPEG4_HPLV42_2D, "--general-bd-mpeg4-hp2d"),
    Profile.STD_GEN_BD_MPEG4_HPLV42_3D: _mpeg(MPEG4_HPLV42_3D, "--general-bd-mpeg4-hp3d"),
    Profile.STD_GEN_BD_MPEG4_SHPLV42: _mpeg(MPEG4_SHPLV42, "--general-bd-mpeg4-hpst"),
    Profile.STD_GEN_USB_JPEG: ProfileRule(Medium.USB, _JPEG, "-Pfl"),
    Profile.STD_GEN_USB_J2K: ProfileRule(Medium.USB, _J2K, "-Pf2"),
    Profile.STD_GEN_SD_JPEG: ProfileRule(Medium.FLASH, _JPEG, "-Pfl"),
    Profile.STD_GEN_SD_J2K: ProfileRule(Medium.FLASH, _J2K, "-Pf2"),
    Profile.STD_GEN_CF_JPEG: ProfileRule(Medium.FLASH, _JPEG, "-Pfl"),
    Profile.STD_GEN_CF_J2K: ProfileRule(Medium.FLASH, _J2K, "-Pf2"),
    Profile.STD_GEN_MMC_JPEG: ProfileRule(Medium.FLASH, _JPEG, "-Pfl"),
    Profile.STD_GEN_MMC_J2K: ProfileRule(Medium.FLASH, _J2K, "-Pf2"),
}


class Compression(Enum):
    """The compression family a disc profile keeps (JPEG or JPEG 2000)."""

    JPEG = "jpeg"
    J2K = "j2k"


def disc_profile(medium: Medium, compression: Compression) -> Profile:
    """The profile for a disc of `medium`: a CD holds only uncompressed instances; DVD and
    BD keep the compression family given."""
    if medium is Medium.CD:
        return Profile.STD_GEN_CD
    if medium is Medium.DVD_RAM:
        return Profile.STD_GEN_DVD_RAM
    if medium in (Medium.DVD, Medium.DVD_DL):
        return (
            Profile.STD_GEN_DVD_J2K if compression is Compression.J2K else Profile.STD_GEN_DVD_JPEG
        )
    if medium is Medium.BD:
        return Profile.STD_GEN_BD_J2K if compression is Compression.J2K else Profile.STD_GEN_BD_JPEG
    return Profile.STD_GEN_USB_J2K if compression is Compression.J2K else Profile.STD_GEN_USB_JPEG


def compression_for(syntaxes: list[str]) -> Compression:
    """JPEG 2000 when more instances arrived in it than in JPEG: fewer get decoded."""
    j2k = sum(1 for ts in syntaxes if ts in (J2K, J2K_LOSSLESS))
    jpeg = sum(1 for ts in syntaxes if ts in (JPEG_BASELINE, JPEG_EXTENDED, JPEG_LOSSLESS_SV1))
    return Compression.J2K if j2k > jpeg else Compression.JPEG


# Decimal megabytes as the media are sold; configurable in [media].
DEFAULT_CAPACITY_MB: dict[Medium, int] = {
    Medium.CD: 700,
    Medium.DVD: 4700,
    Medium.DVD_DL: 8500,
    Medium.DVD_RAM: 4700,
    Medium.BD: 25000,
}
