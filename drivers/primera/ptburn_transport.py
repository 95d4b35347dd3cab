"""The PTBurn job folder (local, or a mounted SMB share): files in and out, nothing else.

A request must never be seen half-written: PTBurn picks up any `*.JRQ` it finds, so the
text is written under a temporary name, fsynced and renamed into place (a rename within
one directory is atomic on a local file system and on SMB). Status files are PTBurn's and
are rewritten in place, so reads tolerate a missing or half-written file (None).
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from drivers.primera.ptburn_protocol import (
    ABORT_EXTENSION,
    STATUS_DIR,
    SYSTEM_STATUS_FILE,
    JobFileState,
    check_job_name,
    job_file_state,
)

log = logging.getLogger(__name__)
TEMP_SUFFIX = ".kiln-tmp"  # never a PTBurn extension, so PTBurn ignores half-written files


class JobFolder:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.status_dir = root / STATUS_DIR

    def exists(self) -> bool:
        return self.root.is_dir()

    # --- writing ------------------------------------------------------------------------

    def write_atomic(self, name: str, text: str) -> Path:
        """Write `text` as `root/name`: temporary name, fsync, rename, fsync directory."""
        target = self.root / name
        temporary = self.root / f".{name}{TEMP_SUFFIX}"
        try:
            with open(temporary, "w", encoding="ascii", newline="") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        self._sync_dir(self.root)
        return target

    def stage_file(self, job_name: str, source: Path, name: str) -> Path:
        """Copy `source` into the job's own subfolder (PTBurn's DeleteFiles removes only
        files in a subfolder of the job folder); fsynced before the request names it."""
        folder = self.job_dir(job_name)
        folder.mkdir(exist_ok=True)
        target = folder / name
        temporary = folder / f".{name}{TEMP_SUFFIX}"
        try:
            with open(source, "rb") as src, open(temporary, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
                dst.flush()
                os.fsync(dst.fileno())
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        self._sync_dir(folder)
        return target

    def job_dir(self, job_name: str) -> Path:
        return self.root / check_job_name(job_name)

    @staticmethod
    def _sync_dir(path: Path) -> None:
        # Some SMB mounts refuse to open a directory for fsync: then the rename is as
        # durable as the share makes it, which is all a client can do.
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return
        try:
            os.fsync(descriptor)
        except OSError:
            pass
        finally:
            os.close(descriptor)

    # --- reading ------------------------------------------------------------------------

    def job_file(self, job_name: str) -> tuple[JobFileState, Path] | None:
        """The job's request file in whatever state PTBurn has renamed it to, or None.
        If a crash left two (renamed between two listings), the furthest state wins."""
        found: tuple[JobFileState, Path] | None = None
        order = list(JobFileState)
        for entry in self._entries():
            parsed = job_file_state(entry.name)
            if parsed is None or parsed[0].lower() != job_name.lower():
                continue
            if found is None or order.index(parsed[1]) > order.index(found[0]):
                found = (parsed[1], entry)
        return found

    def jobs(self) -> dict[str, tuple[JobFileState, Path]]:
        """Every job request file in the folder, by job name."""
        found: dict[str, tuple[JobFileState, Path]] = {}
        for entry in self._entries():
            parsed = job_file_state(entry.name)
            if parsed is not None:
                found[parsed[0]] = (parsed[1], entry)
        return found

    def messages(self) -> list[Path]:
        """The .PTM command files waiting in the folder."""
        return [e for e in self._entries() if e.suffix.upper() == f".{ABORT_EXTENSION}"]

    def _entries(self) -> list[Path]:
        try:
            return [entry for entry in self.root.iterdir() if entry.is_file()]
        except OSError:
            return []

    def read_text(self, path: Path) -> str | None:
        """The file's text, or None if it is missing or unreadable right now."""
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def read_status(self, name: str = SYSTEM_STATUS_FILE) -> str | None:
        return self.read_text(self.status_dir / name)

    # --- cleaning up ----------------------------------------------------------------------

    def remove_job(self, job_name: str) -> None:
        """Delete the job's request file (any state), its .PTM and its subfolder."""
        for entry in self._entries():
            stem, _, extension = entry.name.rpartition(".")
            if stem.lower() != job_name.lower():
                continue
            if job_file_state(entry.name) or extension.upper() == ABORT_EXTENSION:
                entry.unlink(missing_ok=True)
        shutil.rmtree(self.job_dir(job_name), ignore_errors=True)
        log.debug("removed job %s from %s", job_name, self.root)
