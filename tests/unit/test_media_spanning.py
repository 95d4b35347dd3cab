"""Choosing the medium by size and splitting a set over several: by study, then series."""

from __future__ import annotations

import pytest

from appliance.media.contents import InstanceEntry, SeriesEntry, StudyEntry
from appliance.media.errors import MediaError, MediaProblem
from appliance.media.profiles import DEFAULT_CAPACITY_MB, Medium, Profile
from appliance.media.spanning import MediumPlan, contents_size, instance_size, plan_media

MB = 1_000_000
CAPACITIES = {medium: mb * MB for medium, mb in DEFAULT_CAPACITY_MB.items()}
DISCS = (Medium.CD, Medium.DVD, Medium.DVD_DL, Medium.BD)
EXPLICIT_LE = "1.2.840.10008.1.2.1"
JPEG_LOSSLESS = "1.2.840.10008.1.2.4.70"


def study(
    uid: str, series_sizes: list[list[int]], syntax: str = EXPLICIT_LE, rows: int = 512
) -> StudyEntry:
    """A study whose series hold instances of the sizes given (bytes as stored)."""
    series = []
    for s, sizes in enumerate(series_sizes, start=1):
        instances = tuple(
            InstanceEntry(
                f"{uid}.{s}.{i}",
                "1.2.840.10008.5.1.4.1.1.2",
                syntax,
                f"{uid}/{s}/{i}",
                size,
                str(i),
                {"Rows": rows, "Columns": rows, "BitsAllocated": 16, "SamplesPerPixel": 1},
            )
            for i, size in enumerate(sizes, start=1)
        )
        series.append(SeriesEntry(f"{uid}.{s}", "CT", str(s), "", "", instances))
    return StudyEntry(
        uid, "P1", "Doe^Jane", "", "", "20261202", "", "", "", "", "", "", "", 0.0, tuple(series)
    )


def uids(plan: MediumPlan) -> list[str]:
    return [e.sop_instance_uid for s in plan.studies for e in s.instances]


def test_a_small_set_goes_on_one_cd() -> None:
    plans = plan_media([study("1", [[500_000] * 100])], media=DISCS, capacities=CAPACITIES)
    assert [(p.medium, p.profile, p.volume, p.volumes) for p in plans] == [
        (Medium.CD, Profile.STD_GEN_CD, 1, 1)
    ]


def test_compressed_instances_are_counted_decoded_for_a_cd() -> None:
    # 1,500 JPEG lossless CT of 200 kB: 300 MB as stored, ~790 MB decoded (512x512x2).
    compressed = study("1", [[200_000] * 1500], JPEG_LOSSLESS)
    assert contents_size([compressed], Profile.STD_GEN_DVD_JPEG) < 700 * MB
    assert contents_size([compressed], Profile.STD_GEN_CD) > 700 * MB
    plans = plan_media([compressed], media=DISCS, capacities=CAPACITIES)
    assert [(p.medium, p.profile) for p in plans] == [(Medium.DVD, Profile.STD_GEN_DVD_JPEG)]


def test_too_large_for_one_medium_splits_by_study_in_order() -> None:
    studies = [study(str(n), [[1_000_000] * 300]) for n in range(1, 4)]  # 3 x ~300 MB
    plans = plan_media(studies, media=[Medium.CD], capacities=CAPACITIES)
    assert [(p.volume, p.volumes) for p in plans] == [(1, 2), (2, 2)]
    assert [[s.study_uid for s in p.studies] for p in plans] == [["1", "2"], ["3"]]
    assert all(p.size <= CAPACITIES[Medium.CD] for p in plans)


def test_a_study_too_large_splits_by_series_then_by_instances() -> None:
    big = study("1", [[1_000_000] * 400, [1_000_000] * 200, [1_000_000] * 900])
    plans = plan_media([big], media=[Medium.CD], capacities=CAPACITIES)
    assert all(p.size <= CAPACITIES[Medium.CD] for p in plans)
    assert all(p.volumes == len(plans) for p in plans)
    every = [uid for p in plans for uid in uids(p)]
    assert every == [e.sop_instance_uid for e in big.instances]  # each once, in order
    assert len(plans) == 3
    # Series that fit a medium stay whole; the 900 MB one fills what the first volume has
    # left and runs on. Each volume repeats the study record (a complete file-set).
    assert [[s.series_uid for s in p.studies[0].series] for p in plans] == [
        ["1.1", "1.2", "1.3"],
        ["1.3"],
        ["1.3"],
    ]
    assert [len(s.instances) for s in plans[0].studies[0].series[:2]] == [400, 200]


def test_every_volume_gets_the_smallest_medium_that_holds_it() -> None:
    studies = [study("1", [[1_000_000] * 4600]), study("2", [[1_000_000] * 300])]
    plans = plan_media(studies, media=[Medium.CD, Medium.DVD], capacities=CAPACITIES)
    assert [(p.medium, p.volume, p.volumes) for p in plans] == [
        (Medium.DVD, 1, 2),
        (Medium.CD, 2, 2),
    ]


def test_extras_count_on_every_volume() -> None:
    one = [study("1", [[1_000_000] * 650])]
    assert plan_media(one, media=DISCS, capacities=CAPACITIES)[0].medium is Medium.CD
    viewer = 100 * MB
    plans = plan_media(one, media=DISCS, capacities=CAPACITIES, extras=viewer)
    assert plans[0].medium is Medium.DVD


def test_an_instance_larger_than_any_medium_is_refused() -> None:
    huge = study("1", [[800 * MB]])
    with pytest.raises(MediaError) as caught:
        plan_media([huge], media=[Medium.CD], capacities=CAPACITIES)
    assert caught.value.problem is MediaProblem.TOO_LARGE
    assert "1.1.1" in caught.value.message


def test_instance_sizes_are_rounded_to_sectors_and_decoded_sizes_come_from_the_index() -> None:
    entry = study("1", [[1000]], JPEG_LOSSLESS, rows=256).series[0].instances[0]
    assert instance_size(entry, Profile.STD_GEN_DVD_JPEG) % 2048 == 600  # record allowance
    decoded = instance_size(entry, Profile.STD_GEN_CD)
    assert decoded >= 256 * 256 * 2
    assert decoded < 256 * 256 * 2 + 8192
