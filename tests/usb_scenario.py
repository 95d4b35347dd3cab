"""One USB export against the simulated stick, run under umockdev by tests/test_usb_export.py.

    umockdev-run -- python -m tests.usb_scenario CONFIG SOURCE

Loads CONFIG (its `[usb]` section selects the simulator and its fault), exports SOURCE with
`UsbExporter`, then loop-mounts the simulator's image itself, read-only and without the
exporter's code, and lists what is really on the stick. Prints one JSON object.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from appliance.config.load import load_config
from appliance.media.usb_export import ExportPhase, UsbExporter, open_usb_driver
from statemachines.usb_export import Transition

ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}  # no umockdev preload


def stick_content(image: Path) -> dict[str, str] | None:
    """{relative path: sha256} of every file on the image, or None if it cannot be read."""
    with tempfile.TemporaryDirectory() as mnt:
        # noload: an image whose stick was pulled has an unreplayed journal; look as is.
        mounted = subprocess.run(
            ["mount", "-t", "ext4", "-o", "loop,ro,noload", str(image), mnt],
            env=ENV,
            capture_output=True,
            check=False,
        )
        if mounted.returncode != 0:
            return None
        try:
            return {
                p.relative_to(mnt).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(Path(mnt).rglob("*"))
                if p.is_file() and "lost+found" not in p.parts
            }
        except OSError:
            return None  # a pulled stick's file system can be damaged (EBADMSG): unreadable
        finally:
            subprocess.run(["umount", mnt], env=ENV, check=True)


def main() -> int:
    config = load_config(Path(sys.argv[1]))
    source = Path(sys.argv[2])
    transitions: list[str] = []
    phases: set[str] = set()

    def progress(phase: ExportPhase, done: int, total: int) -> None:
        phases.add(phase.value)

    def record(transition: Transition) -> None:
        transitions.append(transition.after.name)

    driver = open_usb_driver(config)
    exporter = UsbExporter(config, driver)
    exporter.subscribe(record)
    initial = exporter.state.name
    result = exporter.export(source, progress)
    images = sorted((config.data_dir / "usb-simulator").glob("*.img"))
    content = stick_content(images[-1]) if images else None
    mounts = [line for line in Path("/proc/mounts").read_text().splitlines() if "usb" in line]
    exporter.close()
    report: dict[str, Any] = {
        "initial": initial,
        "transitions": transitions,
        "phases": sorted(phases),
        "result": {
            "ok": result.ok,
            "state": result.state.name,
            "message": result.message,
            "stick": result.stick,
            "files": result.files,
            "bytes": result.bytes,
        },
        "stick_content": content,
        "mounts_left": [m for m in mounts if str(config.data_dir) in m],
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
