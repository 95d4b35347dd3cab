"""First proof: DCMTK storescu sends to the running box; files and index agree."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Box
from tests.dcmtk import storescu
from tests.dicomdata import write_series


def test_storescu_instances_are_stored_and_indexed(box: Box, tmp_path: Path) -> None:
    files = write_series(tmp_path / "in", count=5)
    result = storescu(box.port, files)
    assert result.returncode == 0, result.output
    assert len(box.files()) == 5
    assert box.count("SELECT count(*) FROM instances") == 5
    assert box.partials() == []
