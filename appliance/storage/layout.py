"""The data directory: one place that knows every path in it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from appliance.storage.uids import check_uid


@dataclass(frozen=True)
class DataLayout:
    """`root`/kiln.db, `root`/dicom/<study>/<series>/<sop>.dcm, `root`/incoming/*.part."""

    root: Path

    @property
    def dicom(self) -> Path:
        return self.root / "dicom"

    @property
    def incoming(self) -> Path:
        return self.root / "incoming"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def ensure(self) -> None:
        for path in (self.root, self.dicom, self.incoming, self.logs):
            path.mkdir(parents=True, exist_ok=True)

    def instance_path(self, study_uid: str, series_uid: str, sop_uid: str, copy: int = 0) -> Path:
        """The final path of an instance; every part is re-checked as a UID here."""
        study = check_uid(study_uid, "Study Instance UID")
        series = check_uid(series_uid, "Series Instance UID")
        sop = check_uid(sop_uid, "SOP Instance UID")
        name = f"{sop}.dcm" if copy == 0 else f"{sop}.{copy}.dcm"
        return self.dicom / study / series / name

    def relative(self, path: Path) -> str:
        return os.path.relpath(path, self.root)

    def absolute(self, relative: str) -> Path:
        return self.root / relative
