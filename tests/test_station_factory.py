"""Stations built from `[publishing.stations]`: `sim://` addresses start simulators, real
addresses open devices, a station that cannot be opened is reported and left out; and the
example in docs/publishing.md is a valid configuration."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.media.copies import CopyType
from appliance.media.disc_image import ImageKind, build_image
from appliance.media.labels import LabelData
from appliance.media.profiles import Medium
from appliance.publishing.settings import PublishingSettings
from appliance.publishing.station import DiscOrder, FaultKind, StationFault
from appliance.publishing.stations.factory import Built, build_stations
from appliance.publishing.stations.settings import StationSettings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def image(tmp_path: Path) -> Path:
    source = tmp_path / "fileset"
    (source / "DICOM").mkdir(parents=True)
    (source / "DICOMDIR").write_bytes(b"D" * 3000)
    (source / "DICOM" / "IM000001").write_bytes(bytes(range(256)) * 2000)
    out = tmp_path / "disc.iso"
    build_image(source, out, volume_id="KILN", kind=ImageKind.ISO9660_JOLIET_RR)
    return out


def order(image: Path, disc_id: int = 1) -> DiscOrder:
    return DiscOrder(
        job_id=1,
        disc_id=disc_id,
        image=image,
        image_bytes=image.stat().st_size,
        medium=Medium.CD,
        label=LabelData((), "", 1, 1, CopyType.PATIENT, "KILN", "STD-GEN-CD"),
        label_artwork=None,
    )


@pytest.fixture
def built() -> Iterator[list[Built]]:
    made: list[Built] = []
    yield made
    for each in made:
        each.close()


def stations(settings: dict[str, object], data_dir: Path, built: list[Built]) -> Built:
    parsed = PublishingSettings.model_validate({"stations": settings}).stations
    result = build_stations(parsed, data_dir)
    built.append(result)
    return result


def test_the_default_is_a_simulated_robot_with_two_drives(tmp_path: Path) -> None:
    result = build_stations(PublishingSettings().stations, tmp_path)
    try:
        assert [s.name for s in result.stations] == ["robot1-d0", "robot1-d1"]
        assert result.problems == {}
        assert "robot1" in result.simulators
        assert (tmp_path / "simulators" / "robot1" / "drive1" / "state.json").is_file()
    finally:
        result.close()


def test_a_simulated_ptburn_host_burns_the_image(
    tmp_path: Path, image: Path, built: list[Built]
) -> None:
    result = stations(
        {"pt": {"kind": "ptburn", "ptburn": {"poll_interval": 0.05}}}, tmp_path, built
    )
    [station] = result.stations
    station.make_disc(order(image), lambda _s, _f: None)
    discs = list((tmp_path / "simulators" / "pt" / "discs").glob("*.iso"))
    assert len(discs) == 1
    assert discs[0].read_bytes()[: image.stat().st_size] == image.read_bytes()


def test_a_manual_station_burns_then_asks_for_the_next_disc(
    tmp_path: Path, image: Path, built: list[Built]
) -> None:
    result = stations(
        {"desk": {"kind": "manual", "drives": [{"sim_media": "CD-R"}], "poll_seconds": 0.1}},
        tmp_path,
        built,
    )
    [station] = result.stations
    station.make_disc(order(image), lambda _s, _f: None)
    with pytest.raises(StationFault) as fault:
        station.make_disc(order(image, 2), lambda _s, _f: None)
    assert fault.value.kind is FaultKind.OPERATOR
    assert "blank" in fault.value.sentence.lower()


def test_a_station_that_cannot_be_opened_is_reported_and_left_out(
    tmp_path: Path, built: list[Built]
) -> None:
    result = stations(
        {
            "broken": {"robot": {"port": str(tmp_path / "no-such-tty")}, "drives": [{}]},
            "desk": {"kind": "manual", "drives": [{}]},
        },
        tmp_path,
        built,
    )
    assert [s.name for s in result.stations] == ["desk"]
    assert "Station broken cannot be opened" in result.problems["broken"]
    assert "[publishing.stations.broken]" in result.problems["broken"]


def test_station_settings_refuse_what_does_not_fit() -> None:
    with pytest.raises(ValueError, match="exactly one drive"):
        StationSettings(kind="manual")
    with pytest.raises(ValueError, match="needs its drives"):
        StationSettings(kind="robot")
    with pytest.raises(ValueError, match="drives belong to the PTBurn host"):
        StationSettings.model_validate({"kind": "ptburn", "drives": [{}]})
    with pytest.raises(ValueError, match="station names"):
        PublishingSettings.model_validate({"stations": {"bad name": {"drives": [{}]}}})


def test_the_example_in_publishing_md_is_valid() -> None:
    text = (ROOT / "docs" / "publishing.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", text, re.S)
    assert len(blocks) >= 2
    for block in blocks:
        PublishingSettings.model_validate(tomllib.loads(block)["publishing"])
