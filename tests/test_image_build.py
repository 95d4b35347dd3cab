"""The image build's static side, cheap enough for every CI run: its scripts parse (and pass
shellcheck), its inputs are pinned (every dependency in requirements.lock with an exact
version and a sha256 that pyproject.toml allows; every listed Debian package in
packages.lock), and the production config template is valid and starts no simulator.
Booting the image is the separate smoke test (image-build/smoke_test.py, docs/image-build.md).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from appliance.config.load import load_config
from tests.conftest import ROOT

BUILD = ROOT / "image-build"
SCRIPTS = [
    BUILD / "build",
    BUILD / "customize",
    BUILD / "lock-python",
    BUILD / "smoke-test",
    *sorted((BUILD / "rootfs/usr/local/sbin").iterdir()),
]
TEMPLATE = BUILD / "rootfs/etc/kiln/kiln.toml"
LOCK_LINE = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>[^ ]+) \\$")
HASH_LINE = re.compile(r"^    --hash=sha256:[0-9a-f]{64}$")


def locked_python() -> dict[str, str]:
    lines = [
        line for line in (BUILD / "requirements.lock").read_text().splitlines() if line[:1] != "#"
    ]
    pins: dict[str, str] = {}
    for pin, digest in zip(lines[::2], lines[1::2], strict=True):
        match = LOCK_LINE.match(pin)
        assert match, f"not 'name==version \\': {pin!r}"
        assert HASH_LINE.match(digest), f"{pin}: no sha256 on the next line ({digest!r})"
        pins[canonicalize_name(match["name"])] = match["version"]
    return pins


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_parse_and_pass_shellcheck(script: Path) -> None:
    assert script.stat().st_mode & 0o111, f"{script} is not executable"
    parsed = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert parsed.returncode == 0, parsed.stderr
    checked = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout


def test_smoke_test_is_typed_and_linted() -> None:
    venv = Path(sys.executable).parent
    for cmd in (
        [str(venv / "mypy"), "--strict", "image-build/smoke_test.py"],
        [str(venv / "ruff"), "check", "image-build/smoke_test.py"],
        [str(venv / "ruff"), "format", "--check", "image-build/smoke_test.py"],
    ):
        result = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        assert result.returncode == 0, result.stdout + result.stderr


def test_every_dependency_is_pinned_with_a_hash_pyproject_allows() -> None:
    pins = locked_python()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in image-build/requirements.lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, pyproject.toml asks {spec}"
        )


def test_every_listed_debian_package_is_locked_to_a_version() -> None:
    wanted = [
        line.split("#")[0].strip()
        for line in (BUILD / "packages.txt").read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    locked = dict(line.split("=", 1) for line in (BUILD / "packages.lock").read_text().splitlines())
    assert {"linux-image-amd64", "systemd", "python3", "systemd-boot-efi"} <= set(wanted)
    missing = [p for p in wanted if not locked.get(p)]
    assert not missing, f"in packages.txt but without a version in packages.lock: {missing}"


def test_config_template_is_valid_for_production() -> None:
    checked = subprocess.run(
        [str(Path(sys.executable).parent / "appliance"), "config", "check", str(TEMPLATE)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    config = load_config(TEMPLATE)
    assert config.dicom.port == 104
    assert config.box.data_dir == Path("/var/lib/kiln")
    assert config.web.bind == "0.0.0.0"
    # Real device backends only, and none until the engineer configures them.
    assert config.publishing.stations == {}
    assert not config.print.enabled
    assert config.print.outputs == {}
    assert not config.leds.enabled
    assert config.usb.backend.value == "udev"
    assert "sim://" not in TEMPLATE.read_text()


def test_first_boot_and_update_units_name_their_scripts() -> None:
    units = BUILD / "rootfs/usr/lib/systemd/system"
    for unit in ("kiln-firstboot.service", "kiln-password.service"):
        text = (units / unit).read_text()
        exec_start = re.search(r"^ExecStart=(\S+)", text, re.M)
        assert exec_start, unit
        assert (BUILD / "rootfs" / exec_start[1].lstrip("/")).is_file(), exec_start[1]
    firstboot = (units / "kiln-firstboot.service").read_text()
    for role in ("kiln-dicom", "kiln-devices", "kiln-web"):
        assert f"{role}.service" in firstboot, f"first boot must run before {role}"
    customize = (BUILD / "customize").read_text()
    assert "kiln-firstboot.service kiln-password.service" in customize


def test_firstboot_units_verify(tmp_path: Path) -> None:
    units = BUILD / "rootfs/usr/lib/systemd/system"
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *map(str, sorted(units.glob("*.service")))],
        capture_output=True,
        text=True,
    )
    problems = [
        line
        for line in result.stderr.splitlines()
        if "kiln-firstboot" in line or "kiln-password" in line
        if "is not executable" not in line and "No such file" not in line
    ]
    assert not problems, result.stderr
