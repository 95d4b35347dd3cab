"""`appliance device test-burn`: one test disc through the simulated robot and drive,
read back by third-party tools (xorriso, dicom3tools dciodvfy) and pydicom."""

from __future__ import annotations

import subprocess
from pathlib import Path

import tomli_w
from click.testing import CliRunner
from pydicom.fileset import FileSet

from appliance.cli.main import cli


def config(tmp_path: Path) -> Path:
    path = tmp_path / "kiln.toml"
    path.write_text(
        tomli_w.dumps(
            {
                "box": {"data_dir": str(tmp_path / "data")},
                "publishing": {"stations": {"robot1": {"drives": [{"sim_media": "CD-R"}]}}},
            }
        )
    )
    return path


def test_a_test_disc_is_burned_and_holds_a_valid_file_set(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--config", str(config(tmp_path)), "device", "test-burn", "robot1"]
    )
    assert result.exit_code == 0, result.output
    assert "robot1-d0: a test disc was burned, verified, labelled and unloaded." in result.output
    [disc] = (tmp_path / "data" / "simulators" / "robot1" / "discs").glob("*.iso")
    out = tmp_path / "disc"
    subprocess.run(
        ["xorriso", "-abort_on", "FAILURE", "-indev", str(disc), "-osirrox", "on",
         "-extract", "/", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    checked = subprocess.run(
        ["dciodvfy", str(out / "DICOMDIR")], capture_output=True, text=True, check=False
    )
    errors = [
        line for line in (checked.stdout + checked.stderr).splitlines() if line.startswith("Error")
    ]
    assert errors == []
    [instance] = list(FileSet(out / "DICOMDIR"))
    assert str(instance.load().PatientName) == "KILN^TEST DISC"
    assert not any((tmp_path / "data").glob("kiln-test-disc-*"))  # nothing left behind


def test_an_unknown_station_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--config", str(config(tmp_path)), "device", "test-burn", "robot9"]
    )
    assert result.exit_code == 1
    assert "there is no station robot9 (stations: robot1)" in result.output
