"""USB export against the simulated stick: umockdev devices and uevents, loop-mounted images.

Each case runs one export in a child process under `umockdev-run` (the fake /sys and
uevent socket need umockdev's preload library from process start) and checks the state
sequence, the operator's sentence and what is really on the stick afterwards.

These tests loop-mount file-system images, which needs root; CI runs as root. They fail
(not skip) without it, saying so.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from drivers.usb_storage.copy import Written, plan_tree, remove_written, write_tree
from drivers.usb_storage.errors import StickFull, StickReadOnly

ROOT = Path(__file__).resolve().parent.parent
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}
HAPPY_PATH = ["DETECTED", "READY", "WRITING", "VERIFYING", "VERIFIED", "SAFE_TO_REMOVE"]


@pytest.fixture(autouse=True)
def _needs_root() -> None:
    if os.geteuid() != 0:
        pytest.fail(
            "USB export tests loop-mount ext4 images (the simulated sticks), which needs "
            "root: run them as root, as CI does"
        )


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A file-set-like tree: DICOMDIR at the root, 6 MiB of instances below DICOM/."""
    root = tmp_path / "fileset"
    (root / "DICOM" / "ST000000" / "SE000000").mkdir(parents=True)
    (root / "DICOMDIR").write_bytes(os.urandom(4096))
    for n in range(6):
        path = root / "DICOM" / "ST000000" / "SE000000" / f"IM{n:06d}"
        path.write_bytes(os.urandom(1 << 20))
    (root / "README.TXT").write_text("Kiln test export\n")
    return root


def hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def run_export(tmp_path: Path, source: Path, **simulator: Any) -> dict[str, Any]:
    config = tmp_path / "kiln.toml"
    config.write_text(
        tomli_w.dumps(
            {
                "box": {"data_dir": str(tmp_path / "var")},
                "usb": {
                    "backend": "simulated",
                    "wait_seconds": 10,
                    "simulator": {"image_mb": 32, **simulator},
                },
            }
        )
    )
    done = subprocess.run(
        [
            "umockdev-run",
            "--",
            sys.executable,
            "-m",
            "tests.usb_scenario",
            str(config),
            str(source),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["mounts_left"] == [], "the export left a mount behind"
    return report


def test_a_stick_plugged_in_is_written_verified_and_safe_to_remove(
    tmp_path: Path, source: Path
) -> None:
    # Plugged in half a second after the export starts waiting: seen through a uevent.
    report = run_export(tmp_path, source, insert_after_seconds=0.5)
    assert report["initial"] == "ABSENT"
    assert report["transitions"] == HAPPY_PATH
    assert report["phases"] == ["verify", "write"]
    result = report["result"]
    assert result["ok"] is True
    assert result["state"] == "SAFE_TO_REMOVE"
    assert result["files"] == 8
    assert result["bytes"] == sum(p.stat().st_size for p in source.rglob("*") if p.is_file())
    assert "safe to remove" in result["message"]
    assert report["stick_content"] == hashes(source)


def test_a_full_stick_is_refused_and_left_as_it_was(tmp_path: Path, source: Path) -> None:
    report = run_export(tmp_path, source, fault="full")
    assert report["initial"] == "DETECTED"  # present from the start: found by enumeration
    assert report["transitions"] == ["READY", "WRITING", "FULL"]
    result = report["result"]
    assert result["ok"] is False
    assert result["state"] == "FULL"
    assert (result["files"], result["bytes"]) == (0, 0)
    assert "too full" in result["message"]
    assert "Nothing was left on the stick" in result["message"]
    assert report["stick_content"] == {}


def test_a_write_protected_stick_is_read_only(tmp_path: Path, source: Path) -> None:
    report = run_export(tmp_path, source, fault="read-only")
    assert report["transitions"] == ["READ_ONLY"]
    result = report["result"]
    assert (result["ok"], result["state"], result["files"]) == (False, "READ_ONLY", 0)
    assert "write-protected" in result["message"]
    assert "lock switch" in result["message"]
    assert report["stick_content"] == {}


def test_a_stick_pulled_mid_copy_is_removed_mid_write(tmp_path: Path, source: Path) -> None:
    report = run_export(tmp_path, source, fault="removed-mid-write", pull_after_bytes=1 << 20)
    assert report["transitions"] == ["READY", "WRITING", "REMOVED_MID_WRITE"]
    result = report["result"]
    assert (result["ok"], result["state"], result["files"]) == (False, "REMOVED_MID_WRITE", 0)
    assert "removed while it was being written" in result["message"]
    assert "do not use it" in result["message"]
    # The copy really is incomplete on the medium.
    assert report["stick_content"] != hashes(source)


def test_an_unsupported_file_system_is_not_mounted(tmp_path: Path, source: Path) -> None:
    report = run_export(tmp_path, source, fault="unsupported-fs")
    assert report["transitions"] == ["UNSUPPORTED_FS"]
    result = report["result"]
    assert (result["ok"], result["state"]) == (False, "UNSUPPORTED_FS")
    assert "hfsplus" in result["message"]
    assert "FAT32" in result["message"]
    assert report["stick_content"] == {}


def test_a_byte_changed_on_the_medium_fails_verification(tmp_path: Path, source: Path) -> None:
    report = run_export(tmp_path, source, fault="verify-mismatch")
    assert report["transitions"] == ["READY", "WRITING", "VERIFYING", "VERIFY_FAILED"]
    result = report["result"]
    assert (result["ok"], result["state"], result["files"]) == (False, "VERIFY_FAILED", 0)
    assert "did not match when read back" in result["message"]
    assert "IM0000" in result["message"]  # names the file that differs


# --- the driver's copy against small real file systems ------------------------------------


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Path]:
    target = tmp_path / "tiny"
    target.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(target)], env=ENV, check=True
    )
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], env=ENV, check=True)


def test_no_space_in_the_middle_of_a_write_is_full_and_taken_off_again(
    tiny_tmpfs: Path, source: Path
) -> None:
    """The free-space check is skipped here: ENOSPC from the kernel itself."""
    written = Written()
    with pytest.raises(StickFull):
        write_tree(
            source,
            tiny_tmpfs,
            plan_tree(source),
            device=os.stat(tiny_tmpfs).st_dev,
            present=lambda: True,
            written=written,
        )
    assert written.created_files, "something was written before the stick filled"
    remove_written(written)
    assert list(tiny_tmpfs.rglob("*")) == []


def test_a_file_system_gone_read_only_mid_write_is_read_only(
    tiny_tmpfs: Path, tmp_path: Path
) -> None:
    small = tmp_path / "small"
    small.mkdir()
    (small / "A").write_bytes(b"a" * 1000)
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_tmpfs)], env=ENV, check=True)
    with pytest.raises(StickReadOnly) as raised:
        write_tree(
            small,
            tiny_tmpfs,
            plan_tree(small),
            device=os.stat(tiny_tmpfs).st_dev,
            present=lambda: True,
            written=Written(),
        )
    assert isinstance(raised.value.__cause__, OSError)
    assert raised.value.__cause__.errno == errno.EROFS
