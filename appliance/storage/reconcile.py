"""Re-index files that are in place but missing from the index.

The receive path makes each file durable (fsync of the file and of its directory) before
it answers; the index row is committed without a sync of its own (SQLite WAL,
synchronous=NORMAL), which survives any process crash but not a power cut. After a power
cut the newest rows may be gone while their files are safe: this walk, run when the dicom
role starts, finds such files in recently changed directories and indexes them again.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
import zlib
from pathlib import Path

from appliance.storage.header import HeaderError, parse_header
from appliance.storage.index import Index, NewInstance
from appliance.storage.layout import DataLayout

log = logging.getLogger(__name__)

MARGIN = 300.0  # seconds before the newest indexed instance that are re-checked


def _meta(data: bytes) -> tuple[int, dict[int, str]]:
    """Offset of the dataset and the group 0002 text values of a Part-10 file."""
    if data[128:132] != b"DICM":
        raise HeaderError("not a Part-10 file")
    offset, values = 132, {}
    while offset + 8 <= len(data):
        group, elem = (
            int.from_bytes(data[offset : offset + 2], "little"),
            int.from_bytes(data[offset + 2 : offset + 4], "little"),
        )
        if group != 2:
            break
        vr = data[offset + 4 : offset + 6]
        if vr in (b"OB", b"UN", b"OW", b"SQ", b"UT"):
            length = int.from_bytes(data[offset + 8 : offset + 12], "little")
            value_at = offset + 12
        else:
            length = int.from_bytes(data[offset + 6 : offset + 8], "little")
            value_at = offset + 8
        values[(group << 16) | elem] = (
            data[value_at : value_at + length].decode("latin-1").rstrip("\x00 ")
        )
        offset = value_at + length
    return offset, values


def index_file(path: Path, layout: DataLayout, index: Index) -> None:
    data = path.read_bytes()
    offset, meta = _meta(data)
    transfer_syntax = meta.get(0x00020010, "")
    header = parse_header(data[offset:], transfer_syntax, complete=True)
    index.add(
        NewInstance(
            header,
            transfer_syntax,
            layout.relative(path),
            len(data),
            zlib.crc32(data),
            meta.get(0x00020016, ""),
            "",
            None,
        )
    )


def reconcile(conn: sqlite3.Connection, layout: DataLayout) -> int:
    row = conn.execute("SELECT max(received_at) FROM instances").fetchone()
    since = (row[0] or 0.0) - MARGIN
    known = Index(conn)
    added = 0
    started = time.monotonic()
    for study in _newer_dirs(layout.dicom, since):
        for series in _newer_dirs(study, since):
            for entry in os.scandir(series):
                if not entry.name.endswith(".dcm") or entry.stat().st_mtime < since:
                    continue
                path = Path(entry.path)
                if known.has_path(layout.relative(path)):
                    continue
                try:
                    index_file(path, layout, known)
                    added += 1
                except (HeaderError, OSError, ValueError) as exc:
                    log.error("cannot re-index %s: %s; left in place", path, exc)
    if added:
        log.warning(
            "re-indexed %d file(s) whose index rows were lost (%.1f s)",
            added,
            time.monotonic() - started,
        )
    return added


def _newer_dirs(parent: Path, since: float) -> list[Path]:
    if not parent.is_dir():
        return []
    return [Path(e.path) for e in os.scandir(parent) if e.is_dir() and e.stat().st_mtime >= since]
