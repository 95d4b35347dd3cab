"""Kiln's simulated paper printer, as a CUPS backend (the `kilnsim` device URI scheme).

cupsd runs a backend once per job: `kilnsim job-id user title copies options [file]`,
with the job's document on stdin when there is no file argument and the device URI in
`DEVICE_URI` (`kilnsim:/path/of/the/output/folder`). This backend "prints" by storing
the document in that folder, `job-<id>.<ext>`, then `job-<id>.json` with what the job
asked for (title, user, copies, the options of argv[5] such as media and InputSlot, the
document format and a checksum); the JSON is written last and atomically, so its
presence means the page is out.

It behaves like a printer through the faults file `faults.json` in the same folder (a
JSON object; a missing or unreadable file means no fault), read when the job starts and
again while it prints:

- `paper_out`: reports `media-empty-error` and exits CUPS_BACKEND_STOP: cupsd stops the
  queue and keeps the job pending until the queue is enabled again (cupsenable,
  IPP Resume-Printer), as it does for a printer that ran out of paper.
- `toner_empty`: the same with `toner-empty-error`.
- `jam`, `cover_open`: reports `media-jam-error` / `cover-open-error` and waits, holding
  the job as a printer does, until the fault is cleared; then prints.
- `offline`: reports `offline-report` and waits for the printer, as CUPS's usb and ipp
  backends do, up to `offline_wait` seconds (default 5); still offline then, it exits
  CUPS_BACKEND_RETRY: cupsd holds the job (resources-are-not-ready), tries it again
  after its JobRetryInterval, and prints it once the printer is back.
- `toner_low`: reports `toner-low-warning` and prints.
- `fail_job`: exits CUPS_BACKEND_CANCEL: cupsd cancels the job (a document the printer
  refused).
- `slow`: seconds each job takes to print (a fault met meanwhile acts mid-job).
- `toner_level`: the toner level in percent reported as a marker (default 80).

Each run also takes back (`STATE: -...`) the reasons of faults that are gone, so clearing
a fault and resuming the queue is all a "repair" needs.

This file is copied into the private cupsd's ServerBin/backend by `private_cupsd.py`: it
uses the standard library only and never imports the rest of Kiln.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, unquote, urlsplit

SCHEME = "kilnsim"
FAULTS_FILE = "faults.json"

# Backend exit codes (CUPS backend interface).
CUPS_BACKEND_OK = 0
CUPS_BACKEND_FAILED = 1
CUPS_BACKEND_HOLD = 3
CUPS_BACKEND_STOP = 4
CUPS_BACKEND_CANCEL = 5
CUPS_BACKEND_RETRY = 6

POLL_SECONDS = 0.2  # how often a waiting or slow job looks at the faults file again
_EXTENSIONS = {
    "application/pdf": ".pdf",
    "application/postscript": ".ps",
    "image/png": ".png",
    "text/plain": ".txt",
}
# Every reason this printer may report, so each run can take back the ones now gone.
_REASONS = (
    "media-empty-error",
    "toner-empty-error",
    "media-jam-error",
    "cover-open-error",
    "offline-report",
    "toner-low-warning",
)


@dataclass(frozen=True)
class Faults:
    paper_out: bool = False
    toner_empty: bool = False
    jam: bool = False
    cover_open: bool = False
    offline: bool = False
    toner_low: bool = False
    fail_job: bool = False
    slow: float = 0.0
    offline_wait: float = 5.0
    toner_level: int = 80

    def reasons(self) -> set[str]:
        present = {
            "media-empty-error": self.paper_out,
            "toner-empty-error": self.toner_empty,
            "media-jam-error": self.jam,
            "cover-open-error": self.cover_open,
            "offline-report": self.offline,
            "toner-low-warning": self.toner_low,
        }
        return {reason for reason, on in present.items() if on}


def read_faults(folder: Path) -> Faults:
    """The faults in `folder/faults.json`; unknown keys and unreadable files are ignored."""
    try:
        data = json.loads((folder / FAULTS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Faults()
    if not isinstance(data, dict):
        return Faults()
    defaults = Faults()
    values: dict[str, Any] = {}
    for field in fields(Faults):
        value = data.get(field.name)
        default = getattr(defaults, field.name)
        if isinstance(default, bool):
            if isinstance(value, bool):
                values[field.name] = value
        elif isinstance(value, int | float) and not isinstance(value, bool):
            values[field.name] = type(default)(value)  # float seconds or int percent
    return Faults(**values)


def write_faults(folder: Path, faults: Faults) -> None:
    """Write the faults file atomically (the backend may be reading it)."""
    data = {f.name: getattr(faults, f.name) for f in fields(Faults)}
    _write_atomic(folder / FAULTS_FILE, json.dumps(data, indent=1).encode())


def parse_options(text: str) -> dict[str, str]:
    """argv[5]: `name=value` words (values may be quoted); a bare `name` is "true" and a
    bare `noname` is "false"."""
    options: dict[str, str] = {}
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    for word in words:
        name, equals, value = word.partition("=")
        if equals:
            options[name] = value
        elif name.startswith("no") and len(name) > 2:
            options[name[2:]] = "false"
        else:
            options[name] = "true"
    return options


def output_folder(device_uri: str) -> Path:
    """The folder named by `kilnsim:/path` (or `kilnsim:///path`)."""
    parts = urlsplit(device_uri)
    if parts.scheme != SCHEME or not parts.path:
        raise ValueError(f"not a {SCHEME} device URI: {device_uri!r}")
    return Path(unquote(parts.path))


def device_uri(folder: Path) -> str:
    return f"{SCHEME}://{quote(str(folder.resolve()))}"


def _write_atomic(target: Path, data: bytes) -> None:
    temporary = target.with_name(f".{target.name}.tmp")
    with open(temporary, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.chmod(temporary, 0o644)
    os.replace(temporary, target)


class _Printer:
    def __init__(self, folder: Path, stderr: IO[str]) -> None:
        self.folder = folder
        self.stderr = stderr
        self.shown: set[str] = set()

    def say(self, line: str) -> None:
        self.stderr.write(line + "\n")
        self.stderr.flush()

    def show(self, faults: Faults) -> None:
        """Report the reasons of `faults` and take back the others."""
        now = faults.reasons()
        gone = [r for r in _REASONS if r not in now]
        if gone:
            self.say("STATE: -" + ",".join(gone))
        if now:
            self.say("STATE: +" + ",".join(sorted(now)))
        self.say(
            f"ATTR: marker-names=Toner marker-types=toner marker-colors=#000000 "
            f"marker-levels={max(0, min(100, faults.toner_level))}"
        )
        self.shown = now

    def blocking_exit(self, faults: Faults) -> int | None:
        """The exit code for a fault that ends this run, or None."""
        if faults.paper_out:
            self.say("INFO: Out of paper")
            return CUPS_BACKEND_STOP
        if faults.toner_empty:
            self.say("INFO: Out of toner")
            return CUPS_BACKEND_STOP
        if faults.offline:
            self.say("INFO: The printer is not answering")
            return CUPS_BACKEND_RETRY
        if faults.fail_job:
            self.say("ERROR: The printer refused the document")
            return CUPS_BACKEND_CANCEL
        return None

    def wait_while_offline(self, faults: Faults) -> Faults:
        """Wait up to `offline_wait` seconds for an offline printer to come back."""
        deadline = time.monotonic() + faults.offline_wait
        while faults.offline and time.monotonic() < deadline:
            self.say("INFO: Waiting for the printer to come back")
            time.sleep(POLL_SECONDS)
            faults = read_faults(self.folder)
        if faults.reasons() != self.shown:
            self.show(faults)
        return faults

    def wait_while_held(self) -> Faults:
        """Hold the job while a jam or an open cover lasts; return the faults after."""
        faults = read_faults(self.folder)
        while faults.jam or faults.cover_open:
            if faults.reasons() != self.shown:
                self.show(faults)
                self.say("INFO: " + ("Paper jam" if faults.jam else "Cover open"))
            time.sleep(POLL_SECONDS)
            faults = read_faults(self.folder)
        return faults


def run(argv: Sequence[str], stdin: IO[bytes], stderr: IO[str], env: dict[str, str]) -> int:
    if len(argv) == 1:
        # Device discovery (cups-deviced, lpinfo -v): this backend finds no devices itself.
        print(f'direct {SCHEME} "Kiln" "Kiln simulated paper printer"')
        return CUPS_BACKEND_OK
    if len(argv) not in (6, 7):
        stderr.write(f"Usage: {argv[0]} job-id user title copies options [file]\n")
        return CUPS_BACKEND_FAILED
    try:
        folder = output_folder(env.get("DEVICE_URI", argv[0]))
    except ValueError as error:
        stderr.write(f"ERROR: {error}\n")
        return CUPS_BACKEND_FAILED
    job_id, user, title, copies, options_text = argv[1:6]
    printer = _Printer(folder, stderr)

    faults = read_faults(folder)
    printer.show(faults)
    faults = printer.wait_while_offline(faults)
    code = printer.blocking_exit(faults)
    if code is not None:
        return code
    faults = printer.wait_while_held()
    printer.show(faults)
    printer.say("INFO: Printing")

    deadline = time.monotonic() + faults.slow
    while time.monotonic() < deadline:
        time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
        faults = read_faults(folder)
        if faults.reasons() != printer.shown:
            printer.show(faults)
        faults = printer.wait_while_offline(faults)
        code = printer.blocking_exit(faults)
        if code is not None:
            return code
        faults = printer.wait_while_held()

    content_type = env.get("CONTENT_TYPE", "application/octet-stream")
    document = folder / f"job-{job_id}{_EXTENSIONS.get(content_type, '.bin')}"
    temporary = document.with_name(f".{document.name}.tmp")
    with open(temporary, "wb") as out:
        if len(argv) == 7:
            with open(argv[6], "rb") as source:
                shutil.copyfileobj(source, out, 1 << 20)
        else:
            shutil.copyfileobj(stdin, out, 1 << 20)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(temporary, 0o644)
    os.replace(temporary, document)
    data = document.read_bytes()
    record = {
        "job_id": int(job_id),
        "user": user,
        "title": title,
        "copies": int(copies) if copies.isdigit() else copies,
        "options": parse_options(options_text),
        "document_format": content_type,
        "printer": env.get("PRINTER", ""),
        "file": document.name,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    _write_atomic(folder / f"job-{job_id}.json", json.dumps(record, indent=1).encode())
    printer.say("INFO: Ready")
    return CUPS_BACKEND_OK


def main() -> int:
    return run(sys.argv, sys.stdin.buffer, sys.stderr, dict(os.environ))


if __name__ == "__main__":
    sys.exit(main())
