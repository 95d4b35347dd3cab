"""First proof: DCMTK storescu sends to the running box; files and index agree."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import Box
from tests.dicomdata import write_series


def test_storescu_instances_are_stored_and_indexed(box: Box, tmp_path: Path) -> None:
    files = write_series(tmp_path / "in", count=5)
    result = subprocess.run(
        ["storescu", "-aec", box.ae_title, "127.0.0.1", str(box.port), *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
        env={"TCP_NODELAY": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert len(box.files()) == 5
    assert box.count("SELECT count(*) FROM instances") == 5
    assert box.partials() == []
