"""A really full disk (a 4 MiB tmpfs as data directory): Out of Resources, nothing partial,
the service stays up, and what was acknowledged before is intact. Needs root to mount."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Box
from tests.dcmtk import echoscu, storescu
from tests.dicomdata import write_series


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.fail("this test mounts a small tmpfs and must run as root (CI does)")
    mount = tmp_path / "tiny"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_answers_out_of_resources(
    box_factory: Callable[..., Box], tiny_fs: Path, tmp_path: Path
) -> None:
    box = box_factory({"box": {"data_dir": str(tiny_fs / "data")}}, start=False)
    box.start()
    files = write_series(tmp_path / "in", 40, size=256)  # 40 x 128 KiB > 4 MiB
    sent = storescu(box.port, files, "--no-halt", log="-v")
    log = sent.output
    statuses = re.findall(r"Received Store Response \(([^)]*)\)", log)
    assert len(statuses) == 40, log[-2000:]
    ok = statuses.count("Success")
    assert 0 < ok < 40
    assert all(s == "Success" for s in statuses[:ok])  # the disk fills once, then stays full
    refused = statuses[ok:]
    assert all(s == "Refused: OutOfResources" for s in refused), refused
    # Every acknowledged instance is on disk and indexed; nothing partial.
    assert box.count("SELECT count(*) FROM instances") == ok
    assert len(box.files()) == ok
    assert box.partials() == [] and box.receiving() == []
    # The service stays up.
    echo = echoscu(box.port)
    assert echo.returncode == 0
