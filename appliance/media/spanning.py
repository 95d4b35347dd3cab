"""Which medium a set of studies needs, and how a set too large for one is split.

Sizes come from the index: an instance kept as received takes its stored size; one a
profile decodes takes rows x columns x frames x samples x bytes per sample (captured at
receive time) plus a header allowance. Every file is rounded up to a 2 KiB disc sector.

A set that fits no medium allowed is split over several of the largest: by study, a study
too large for one medium by series, a series too large by instances — in order, so the
volumes read like the original. Each volume is then given the smallest medium that holds it,
and every volume is a complete file-set of its own (PS3.11 allows no file-set across media),
labelled "n of m".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from appliance.media.contents import InstanceEntry, StudyEntry
from appliance.media.errors import MediaError, MediaProblem
from appliance.media.profiles import (
    Compression,
    Disposition,
    Medium,
    Profile,
    compression_for,
    disc_profile,
)

SECTOR = 2048
HEADER_ALLOWANCE = 4096  # a decoded instance's header, above its pixels
RECORD_ALLOWANCE = 600  # its DICOMDIR records (image, and its share of series and study)
UNKNOWN_GROWTH = 4  # a compressed instance of unknown geometry, decoded
FILE_SET_OVERHEAD = 64 * 1024  # DICOMDIR header, file system structures


def _sectors(size: int) -> int:
    return -(-size // SECTOR) * SECTOR


def instance_size(entry: InstanceEntry, profile: Profile) -> int:
    """Bytes the instance takes on a medium under `profile` (with its DICOMDIR record)."""
    if profile.disposition(entry.transfer_syntax, True) is not Disposition.DECODE:
        return _sectors(entry.size) + RECORD_ALLOWANCE
    keys = entry.keys
    rows, columns = int(keys.get("Rows", 0)), int(keys.get("Columns", 0))
    if not rows or not columns:
        return _sectors(entry.size * UNKNOWN_GROWTH) + RECORD_ALLOWANCE
    try:
        frames = max(1, int(str(keys.get("NumberOfFrames", "1")).strip() or "1"))
    except ValueError:
        frames = 1
    samples = int(keys.get("SamplesPerPixel", 1))
    sample_bytes = -(-int(keys.get("BitsAllocated", 16)) // 8)
    pixels = rows * columns * frames * samples * sample_bytes
    return _sectors(HEADER_ALLOWANCE + pixels) + RECORD_ALLOWANCE


def contents_size(studies: Sequence[StudyEntry], profile: Profile) -> int:
    return FILE_SET_OVERHEAD + sum(
        instance_size(entry, profile) for study in studies for entry in study.instances
    )


@dataclass(frozen=True)
class MediumPlan:
    medium: Medium
    profile: Profile
    studies: tuple[StudyEntry, ...]  # studies on this volume; split ones hold a part
    size: int  # estimated bytes, extras included
    volume: int  # n of m
    volumes: int


def _by_capacity(media: Sequence[Medium], capacities: Mapping[Medium, int]) -> list[Medium]:
    usable = [m for m in media if capacities.get(m, 0) > 0]
    if not usable:
        raise MediaError(MediaProblem.TOO_LARGE, "no medium with a capacity is allowed")
    return sorted(usable, key=lambda m: capacities[m])


def _smallest_fit(
    studies: Sequence[StudyEntry],
    media: list[Medium],
    capacities: Mapping[Medium, int],
    compression: Compression,
    extras: int,
) -> tuple[Medium, Profile, int] | None:
    for medium in media:
        profile = disc_profile(medium, compression)
        size = contents_size(studies, profile) + extras
        if size <= capacities[medium]:
            return medium, profile, size
    return None


def plan_media(
    studies: Sequence[StudyEntry],
    *,
    media: Sequence[Medium],
    capacities: Mapping[Medium, int],
    compression: Compression | None = None,
    extras: int = 0,
) -> list[MediumPlan]:
    """The volumes `studies` need: one medium when they fit the largest allowed, else as
    many of the largest as it takes. `capacities` are usable bytes; `extras` the bytes of
    the viewer, README and index page every volume carries."""
    ordered = _by_capacity(media, capacities)
    if compression is None:
        compression = compression_for([e.transfer_syntax for s in studies for e in s.instances])
    fit = _smallest_fit(studies, ordered, capacities, compression, extras)
    if fit is not None:
        medium, profile, size = fit
        return [MediumPlan(medium, profile, tuple(studies), size, 1, 1)]
    largest = ordered[-1]
    profile = disc_profile(largest, compression)
    room = capacities[largest] - extras - FILE_SET_OVERHEAD
    volumes = _pack(studies, profile, room)
    plans = []
    for number, volume in enumerate(volumes, start=1):
        found = _smallest_fit(volume, ordered, capacities, compression, extras)
        assert found is not None  # packed to fit the largest
        medium, volume_profile, size = found
        plans.append(MediumPlan(medium, volume_profile, tuple(volume), size, number, len(volumes)))
    return plans


def _pack(studies: Sequence[StudyEntry], profile: Profile, room: int) -> list[list[StudyEntry]]:
    """Next-fit in order: whole studies, else whole series, else instance by instance."""
    volumes: list[list[StudyEntry]] = [[]]
    free = room

    def place(part: StudyEntry, size: int) -> None:
        """Add `part` (a study with some of its series) to the current volume, or to a new
        one when it does not fit; parts of one study or series already there are joined."""
        nonlocal free
        if size > free and volumes[-1]:
            volumes.append([])
            free = room
        current = volumes[-1]
        if current and current[-1].study_uid == part.study_uid:
            last = current[-1]
            series = list(last.series)
            for piece in part.series:
                if series and series[-1].series_uid == piece.series_uid:
                    series[-1] = replace(
                        series[-1], instances=series[-1].instances + piece.instances
                    )
                else:
                    series.append(piece)
            current[-1] = replace(last, series=tuple(series))
        else:
            current.append(part)
        free -= size

    for study in studies:
        size = sum(instance_size(e, profile) for e in study.instances)
        if size <= room:
            place(study, size)
            continue
        for series in study.series:
            series_size = sum(instance_size(e, profile) for e in series.instances)
            if series_size <= room:
                place(replace(study, series=(series,)), series_size)
                continue
            for entry in series.instances:  # fills what the volume has left, then the next
                entry_size = instance_size(entry, profile)
                if entry_size > room:
                    raise MediaError(
                        MediaProblem.TOO_LARGE,
                        f"instance {entry.sop_instance_uid} alone needs "
                        f"{entry_size // 1_000_000} MB, more than the largest medium allowed "
                        "holds",
                    )
                place(replace(study, series=(replace(series, instances=(entry,)),)), entry_size)
    return [volume for volume in volumes if volume]
