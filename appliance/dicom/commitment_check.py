"""Storage commitment: is each referenced instance stored, of its class, and intact?"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

from appliance.dicom.command import Status
from appliance.storage.index import Index
from appliance.storage.layout import DataLayout


@dataclass(frozen=True)
class Reference:
    sop_class_uid: str
    sop_instance_uid: str


def file_crc(path: str, layout: DataLayout) -> tuple[int, int] | None:
    """(size, CRC-32) of a stored file, or None when it cannot be read."""
    crc, size = 0, 0
    try:
        with layout.absolute(path).open("rb") as handle:
            while chunk := handle.read(1 << 20):
                crc = zlib.crc32(chunk, crc)
                size += len(chunk)
    except OSError:
        return None
    return size, crc


def check(
    references: list[Reference], index: Index, layout: DataLayout
) -> list[tuple[Reference, int]]:
    """Each reference with 0 (committed) or its PS3.4 Failure Reason."""
    results = []
    for ref in references:
        stored = index.find(ref.sop_instance_uid)
        if not stored:
            results.append((ref, int(Status.NO_SUCH_OBJECT_INSTANCE)))
            continue
        if all(s.sop_class_uid != ref.sop_class_uid for s in stored):
            results.append((ref, int(Status.CLASS_INSTANCE_CONFLICT)))
            continue
        intact = any(
            s.sop_class_uid == ref.sop_class_uid and file_crc(s.path, layout) == (s.size, s.crc32)
            for s in stored
        )
        results.append((ref, 0 if intact else int(Status.PROCESSING_FAILURE)))
    return results


def settle(payload: dict[str, Any], index: Index, layout: DataLayout) -> None:
    """Fill in the payload's results (once) from its references."""
    if payload.get("results") is not None:
        return
    references = [Reference(c, i) for c, i in payload["references"]]
    payload["results"] = [
        [ref.sop_class_uid, ref.sop_instance_uid, reason]
        for ref, reason in check(references, index, layout)
    ]
