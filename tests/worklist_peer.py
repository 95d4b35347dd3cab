"""DCMTK findscu as the Modality Worklist SCU: run a query, read back every response."""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset

from tests.dcmtk import ENV


@dataclass
class FindResult:
    responses: list[Dataset]
    statuses: list[int]  # every response status in order, final last
    log: str

    @property
    def final(self) -> int:
        return self.statuses[-1]


def findscu(
    port: int,
    keys: list[str],
    *,
    aec: str = "KILN",
    aet: str = "MODALITY",
    query_file: Path | None = None,
    extra: tuple[str, ...] = (),
) -> FindResult:
    """`findscu -W` with `-k` keys (and an optional query file), responses extracted."""
    with tempfile.TemporaryDirectory() as out:
        args = ["/usr/bin/findscu", "-W", "-d", "-X", "-od", out, "-aec", aec, "-aet", aet]
        for key in keys:
            args += ["-k", key]
        args += [*extra, "127.0.0.1", str(port)]
        if query_file is not None:
            args.append(str(query_file))
        # Bytes: the log echoes values in whatever character set the answer used.
        result = subprocess.run(args, capture_output=True, env=ENV, timeout=60, check=False)
        log = (result.stdout + result.stderr).decode("utf-8", "replace")
        responses: list[Dataset] = [dcmread(p) for p in sorted(Path(out).glob("rsp*.dcm"))]
    statuses = [int(s, 16) for s in re.findall(r"DIMSE Status\s*:\s*0x([0-9a-fA-F]{4})", log)]
    if not statuses:
        raise AssertionError(f"findscu gave no status:\n{log}")
    return FindResult(responses, statuses, log)
