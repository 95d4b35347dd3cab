"""After a power cut the newest index rows may be gone while their files, synced before the
answer, are safe: the dicom role re-indexes them when it starts (storage/reconcile.py)."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Box
from tests.dcmtk import storescu
from tests.dicomdata import write_series


def test_rows_lost_to_a_power_cut_are_restored(
    box_factory: Callable[..., Box], tmp_path: Path
) -> None:
    box = box_factory()
    files = write_series(tmp_path / "in", 6)
    sent = storescu(box.port, files)
    assert sent.returncode == 0
    with box.db() as conn:
        before = {
            tuple(r)
            for r in conn.execute(
                "SELECT sop_instance_uid, path, size, crc32, transfer_syntax, study_uid "
                "FROM instances"
            )
        }
    assert len(before) == 6
    assert box.stop(signal.SIGKILL) != 0  # the power cut: nothing gets to finish

    # What a lost WAL tail looks like: the newest rows are not in the index.
    with box.db() as conn:
        conn.execute("DELETE FROM instances WHERE id > 2")
    assert box.count("SELECT count(*) FROM instances") == 2

    box.start()
    with box.db() as conn:
        after = {
            tuple(r)
            for r in conn.execute(
                "SELECT sop_instance_uid, path, size, crc32, transfer_syntax, study_uid "
                "FROM instances"
            )
        }
    assert after == before
    assert "re-indexed 4 file(s)" in box.log()


def test_a_damaged_file_is_not_indexed(box_factory: Callable[..., Box], tmp_path: Path) -> None:
    box = box_factory()
    files = write_series(tmp_path / "in", 2)
    assert storescu(box.port, files).returncode == 0
    box.stop(signal.SIGKILL)
    with box.db() as conn:
        lost = conn.execute("SELECT path FROM instances ORDER BY id DESC LIMIT 1").fetchone()[0]
        conn.execute("DELETE FROM instances WHERE path = ?", (lost,))
    damaged = box.data_dir / lost
    damaged.write_bytes(damaged.read_bytes()[:-100])  # cut inside Pixel Data

    box.start()
    assert box.count("SELECT count(*) FROM instances") == 1
    assert damaged.exists()  # left in place for an engineer, never deleted
    assert "cannot re-index" in box.log()
