"""The systemd units, sysusers/tmpfiles, modules-load and udev files: installed into a
temporary root by scripts/install-units, checked by systemd-analyze verify and security
(the exposure stays under the limit docs/systemd.md states), applied by systemd-sysusers
and systemd-tmpfiles."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

SYSTEMD_ANALYZE = "/usr/bin/systemd-analyze"
EXEC = "/opt/kiln/venv/bin/appliance"  # the documented ExecStart path (docs/systemd.md)
ROLES = ("dicom", "devices", "web")
SERVICES = tuple(f"kiln-{role}.service" for role in ROLES)
UNITS = ("kiln.target", *SERVICES)
INSTALLED = {
    "usr/lib/systemd/system/kiln.target": "systemd/kiln.target",
    **{f"usr/lib/systemd/system/{s}": f"systemd/{s}" for s in SERVICES},
    "usr/lib/sysusers.d/kiln.conf": "systemd/sysusers.d/kiln.conf",
    "usr/lib/tmpfiles.d/kiln.conf": "systemd/tmpfiles.d/kiln.conf",
    "usr/lib/modules-load.d/kiln.conf": "systemd/modules-load.d/kiln.conf",
    "usr/lib/udev/rules.d/60-kiln.rules": "systemd/udev/60-kiln.rules",
    "opt/kiln/docs/systemd.md": "docs/systemd.md",
}


def install(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts/install-units"), "--root", str(root), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def tree(root: Path) -> dict[str, str]:
    """Every file and symlink under root: its content or its target."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            found[str(path.relative_to(root))] = "-> " + os.readlink(path)
        elif path.is_file():
            found[str(path.relative_to(root))] = path.read_text()
    return found


@pytest.fixture(scope="module")
def box_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A root holding the host's systemd units (what the units depend on), ours, and a
    stand-in for the venv's `appliance`, so verify can check ExecStart."""
    root = tmp_path_factory.mktemp("root")
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    result = install(root, "--enable")
    assert result.returncode == 0, result.stderr
    app = root / EXEC.lstrip("/")
    app.parent.mkdir(parents=True)
    app.write_text("#!/bin/sh\n")
    app.chmod(0o755)
    yield root


def analyze(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SYSTEMD_ANALYZE, *args, f"--root={root}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def unit_settings(name: str) -> dict[str, list[str]]:
    """KEY -> every value it is given (systemd keys may repeat)."""
    settings: dict[str, list[str]] = {}
    for line in (ROOT / "systemd" / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


def stated_limits() -> dict[str, float]:
    """The exposure limit per unit from the table in docs/systemd.md."""
    text = (ROOT / "docs/systemd.md").read_text()
    rows = re.findall(r"^\| `(kiln-\w+\.service)` \| ([\d.]+) \| ([\d.]+) \|", text, re.M)
    return {unit: float(limit) for unit, _measured, limit in rows}


def test_install_units_lays_out_every_file_and_is_idempotent(tmp_path: Path) -> None:
    first = install(tmp_path, "--enable")
    assert first.returncode == 0, first.stderr
    laid_out = tree(tmp_path)
    for target, source in INSTALLED.items():
        assert laid_out[target] == (ROOT / source).read_text(), target
        assert stat.S_IMODE((tmp_path / target).stat().st_mode) == 0o644
    wants = "etc/systemd/system/kiln.target.wants"
    for service in SERVICES:
        assert laid_out[f"{wants}/{service}"] == f"-> /usr/lib/systemd/system/{service}"
    assert laid_out["etc/systemd/system/multi-user.target.wants/kiln.target"] == (
        "-> /usr/lib/systemd/system/kiln.target"
    )
    again = install(tmp_path, "--enable")
    assert again.returncode == 0, again.stderr
    assert tree(tmp_path) == laid_out


def test_install_units_refuses_what_it_does_not_know(tmp_path: Path) -> None:
    assert install(tmp_path, "--bogus").returncode == 2
    assert install(tmp_path / "missing").returncode == 2
    assert not any(tmp_path.iterdir())


def test_units_verify_without_a_warning(box_root: Path) -> None:
    paths = [f"/usr/lib/systemd/system/{unit}" for unit in UNITS]
    result = analyze(box_root, "verify", "--man=no", "--generators=no", *paths)
    assert result.returncode == 0 and result.stderr == "" and result.stdout == "", result


def test_verify_catches_a_missing_executable(box_root: Path, tmp_path: Path) -> None:
    """Proof the verify above looks at ExecStart: a root without the venv fails."""
    bare = tmp_path / "bare"
    shutil.copytree(box_root / "usr", bare / "usr", symlinks=True)
    paths = [f"/usr/lib/systemd/system/{service}" for service in SERVICES]
    result = analyze(bare, "verify", "--man=no", "--generators=no", *paths)
    assert result.returncode != 0
    assert f"Command {EXEC} is not executable" in result.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_security_exposure_stays_under_the_stated_limit(box_root: Path, service: str) -> None:
    limit = stated_limits()[service]
    unit = f"/usr/lib/systemd/system/{service}"
    result = analyze(box_root, "security", "--offline=true", f"--threshold={limit * 10:.0f}", unit)
    found = re.search(rf"Overall exposure level for {re.escape(service)}: ([\d.]+)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= limit
    assert result.returncode == 0, result.stdout  # the threshold agrees (tenths)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_unit_is_notify_watched_restarted_and_unprivileged(role: str) -> None:
    unit = unit_settings(f"kiln-{role}.service")
    assert unit["ExecStart"] == [f"{EXEC} --config /etc/kiln/kiln.toml run --role {role}"]
    assert unit["Type"] == ["notify"] and unit["NotifyAccess"] == ["main"]
    assert unit["WatchdogSec"] == ["30s"] and unit["Restart"] == ["on-failure"]
    assert unit["User"] == ["kiln"] and unit["StateDirectory"] == ["kiln"]
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "ProtectKernelTunables"):
        assert unit[key] == ["yes"], key
    assert unit["ProtectSystem"] == ["strict"]
    assert unit["SystemCallFilter"][0] == "@system-service"
    # Only the dicom role binds an address that may not exist yet at boot.
    assert ("network-online.target" in " ".join(unit.get("After", []))) == (role == "dicom")
    caps = unit["CapabilityBoundingSet"]
    assert caps == (["CAP_NET_BIND_SERVICE"] if role == "dicom" else [""])


def test_devices_unit_reaches_only_the_allowed_devices() -> None:
    unit = unit_settings("kiln-devices.service")
    assert unit["DevicePolicy"] == ["closed"]
    assert "PrivateDevices" not in unit
    assert sorted(unit["DeviceAllow"]) == sorted(
        [
            "block-sr rw",
            "char-sg rw",
            "char-ttyUSB rw",
            "char-ttyACM rw",
            "char-usb rw",
            "char-gpiochip rw",
        ]
    )
    assert unit["SupplementaryGroups"] == ["cdrom dialout lp"]
    # Each class's driver is loaded at boot, so its major is known when the unit starts.
    modules = (ROOT / "systemd/modules-load.d/kiln.conf").read_text().split()
    for module in ("sr_mod", "sg", "usbserial", "cdc_acm"):
        assert module in modules
    for role in ("dicom", "web"):
        other = unit_settings(f"kiln-{role}.service")
        assert other["PrivateDevices"] == ["yes"] and "DeviceAllow" not in other


def test_sysusers_and_tmpfiles_make_the_user_and_directories(box_root: Path) -> None:
    if os.geteuid() != 0:
        pytest.fail("systemd-tmpfiles chowns in the test root, which needs root (CI is)")
    users = subprocess.run(
        ["systemd-sysusers", f"--root={box_root}"], capture_output=True, text=True, timeout=60
    )
    assert users.returncode == 0, users.stderr
    passwd = (box_root / "etc/passwd").read_text()
    entry = next(line for line in passwd.splitlines() if line.startswith("kiln:"))
    _, _, uid, gid, _, home, shell = entry.split(":")
    assert home == "/var/lib/kiln" and shell == "/usr/sbin/nologin"
    dirs = subprocess.run(
        ["systemd-tmpfiles", f"--root={box_root}", "--create", "kiln.conf"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert dirs.returncode == 0, dirs.stderr
    expected = {
        "etc/kiln": (0, int(gid)),
        "var/lib/kiln": (int(uid), int(gid)),
        "var/log/kiln": (int(uid), int(gid)),
    }
    for path, owner in expected.items():
        info = (box_root / path).stat()
        assert (info.st_uid, info.st_gid) == owner, path
        assert stat.S_IMODE(info.st_mode) == 0o750, path


RULE_KEY = re.compile(r'\s*(\w+(?:\{[\w.]+\})?)\s*(==|!=|\+=|:=|=)\s*"([^"]*)"\s*(?:,|$)')
KNOWN_KEYS = {"ACTION", "SUBSYSTEM", "KERNEL", "GROUP", "MODE", "SYMLINK", "RUN", "GOTO", "LABEL"}


def parse_rule(line: str) -> list[tuple[str, str, str]]:
    """A udev rule as (key, operator, value) triples; raises on anything else."""
    parts, pos = [], 0
    while pos < len(line):
        match = RULE_KEY.match(line, pos)
        assert match, f"cannot parse udev rule at {line[pos:]!r}"
        parts.append((match.group(1), match.group(2), match.group(3)))
        pos = match.end()
    return parts


def test_udev_rules_parse_and_name_the_robot_drives_and_leds() -> None:
    text = (ROOT / "systemd/udev/60-kiln.rules").read_text()
    rules = [
        parse_rule(line) for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]
    for rule in rules:
        for key, _, _ in rule:
            assert key.split("{")[0] in KNOWN_KEYS | {"ATTRS", "ENV"}, key
    symlinks = {value for rule in rules for key, op, value in rule if key == "SYMLINK"}
    assert symlinks == {"kiln-robot%n", "kiln-robot-tty%n", "kiln-leds"}
    robot = [r for r in rules if ("ATTRS{idVendor}", "==", "0f25") in r]
    assert {value for r in robot for key, _, value in r if key == "GROUP"} == {"lp", "dialout"}
    unlock = [r for r in rules if ("ENV{KILN_ROBOT_DRIVE}", "==", "1") in r]
    assert unlock and ("RUN", "+=", "cdrom_id --unlock-media $devnode") in unlock[0]
    # Every label a GOTO names exists, or udev skips the rest of the file.
    gotos = {v for rule in rules for key, _, v in rule if key == "GOTO"}
    labels = {v for rule in rules for key, _, v in rule if key == "LABEL"}
    assert gotos <= labels
