"""`appliance diagnostics`: one .tar.gz for support, with nothing secret inside.

The bundle holds the effective configuration (secrets masked), versions, the status
report, the device inventory, recent jobs, job events and alarms, and the recent log files
under DATA/logs. No DICOM files and no database. Every member is also scrubbed of the
configuration's secret values, so a token that reached a log line does not leave the box.
A part that cannot be collected (a sick box is when a bundle is wanted) becomes a note in
its member instead of stopping the bundle.
"""

from __future__ import annotations

import io
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel, SecretStr

from appliance.cli.context import Context, pass_ctx
from appliance.config import KilnConfig, render_config
from appliance.config.load import MASK
from appliance.db.database import DB_NAME, connect

ROOT = "kiln-diagnostics"
LOG_DAYS = 14  # log files changed in the last two weeks
LOG_FILE_BYTES = 10 * 1024 * 1024  # the newest 10 MiB of each
LOG_TOTAL_BYTES = 50 * 1024 * 1024
JOBS = 200
EVENTS = 2000
ALARMS = 500

Member = tuple[str, Callable[[], bytes]]


def secrets_of(value: Any) -> Iterator[str]:
    """Every non-empty secret value in the configuration."""
    if isinstance(value, SecretStr):
        if value.get_secret_value():
            yield value.get_secret_value()
    elif isinstance(value, BaseModel):
        for item in value.__dict__.values():
            yield from secrets_of(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from secrets_of(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from secrets_of(item)


def scrub(data: bytes, secrets: list[str]) -> bytes:
    for secret in sorted(secrets, key=len, reverse=True):  # longest first: no partial leftovers
        data = data.replace(secret.encode(), MASK.encode())
    return data


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=2, default=str).encode()


def _first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"not available ({error})"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else f"no version output (exit {done.returncode})"


def versions() -> dict[str, str]:
    found = {}
    for package in ("kiln", "pydicom", "pynetdicom", "pydantic", "click"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return {
        **found,
        "python": sys.version.replace("\n", " "),
        "xorriso": _first_line(["xorriso", "-version"]),
        "dcmtk": _first_line(["dcmdump", "--version"]),
        "kernel": platform.release(),
        "platform": platform.platform(),
    }


def _rows(conn: sqlite3.Connection, sql: str, limit: int) -> list[dict[str, Any]]:
    return [dict(row) for row in conn.execute(sql, (limit,))]


def database_members(conn: sqlite3.Connection, config: KilnConfig) -> list[Member]:
    from appliance.alarms.store import has_alarms
    from appliance.cli.device_inventory import inventory
    from appliance.status import collect

    def alarms() -> bytes:
        if not has_alarms(conn):
            return _json({"note": "this database predates alarms (migration 0006)"})
        return _json(
            _rows(conn, "SELECT * FROM alarms ORDER BY raised_at DESC, id DESC LIMIT ?", ALARMS)
        )

    return [
        ("status.json", lambda: _json(collect(conn, config))),
        ("devices.json", lambda: _json(inventory(config, collect(conn, config)))),
        (
            "jobs.json",
            # Not the disc labels (job_discs): they name patients.
            lambda: _json(
                _rows(
                    conn,
                    "SELECT id, profile, priority, origin, state, message, created_at, "
                    "updated_at FROM jobs ORDER BY id DESC LIMIT ?",
                    JOBS,
                )
            ),
        ),
        (
            "job_events.json",
            lambda: _json(_rows(conn, "SELECT * FROM job_events ORDER BY id DESC LIMIT ?", EVENTS)),
        ),
        ("alarms.json", alarms),
    ]


def log_members(logs: Path, now: float) -> list[Member]:
    """The recent log files, the newest part of each, newest files first, within a cap."""
    if not logs.is_dir():
        return []
    files = [
        p for p in logs.rglob("*") if p.is_file() and now - p.stat().st_mtime < LOG_DAYS * 86400
    ]
    files.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    members: list[Member] = []
    budget = LOG_TOTAL_BYTES
    for path in files:
        if budget <= 0:
            break
        take = min(LOG_FILE_BYTES, budget, path.stat().st_size)
        budget -= take

        def tail(path: Path = path, take: int = take) -> bytes:
            with path.open("rb") as handle:
                handle.seek(max(0, path.stat().st_size - take))
                return handle.read(take)

        members.append((f"logs/{path.relative_to(logs)}", tail))
    return members


def members(config: KilnConfig, now: float, conn: sqlite3.Connection | None) -> list[Member]:
    data_dir = config.box.data_dir
    found: list[Member] = [
        ("config.toml", lambda: render_config(config).encode()),
        ("versions.json", lambda: _json(versions())),
    ]
    if conn is not None:
        found += database_members(conn, config)
    else:
        found.append(("status.json", lambda: _json({"note": f"no database in {data_dir}"})))
    return found + log_members(data_dir / "logs", now)


def _add(archive: tarfile.TarFile, name: str, data: bytes, now: float) -> None:
    info = tarfile.TarInfo(f"{ROOT}/{name}")
    info.size, info.mtime, info.mode = len(data), int(now), 0o644
    archive.addfile(info, io.BytesIO(data))


def write_bundle(config: KilnConfig, out: Path) -> list[str]:
    """Write the bundle to `out` (never over an existing file); the member names."""
    now = time.time()
    secrets = list(secrets_of(config))
    data_dir = config.box.data_dir
    conn = connect(data_dir) if (data_dir / DB_NAME).exists() else None
    parts = members(config, now, conn)
    names = []
    partial = out.with_name(f".{out.name}.{os.getpid()}.part")
    try:
        with tarfile.open(partial, "w:gz") as archive:
            with click.progressbar(parts, label="Writing the support bundle", show_pos=True) as bar:
                for name, produce in bar:
                    try:
                        data = produce()
                    except Exception as error:  # a sick box: note it, keep going
                        data = f"could not be collected: {type(error).__name__}: {error}\n".encode()
                    _add(archive, name, scrub(data, secrets), now)
                    names.append(name)
            listing = "\n".join(names) + "\n"
            _add(archive, "MANIFEST.txt", listing.encode(), now)
        # A link refuses to replace a file that appeared meanwhile, where a rename would not.
        os.link(partial, out)
    finally:
        partial.unlink(missing_ok=True)
        if conn is not None:
            conn.close()
    return [*names, "MANIFEST.txt"]


def default_name(config: KilnConfig) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    box = "".join(c if c.isalnum() or c in "-_" else "-" for c in config.box.name)
    return Path(f"kiln-diagnostics-{box}-{stamp}.tar.gz")


@click.command("diagnostics")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Where to write the .tar.gz (default: kiln-diagnostics-BOX-TIME.tar.gz here).",
)
@pass_ctx
def diagnostics(obj: Context, out: Path | None) -> None:
    """Write a support bundle: config (secrets masked), versions, status, devices, jobs,
    alarms and recent logs."""
    out = out or default_name(obj.config)
    if out.exists():
        raise click.ClickException(
            f"{out} exists already; nothing was written. Choose another --out or move it away"
        )
    if not out.parent.is_dir():
        raise click.ClickException(
            f"the folder {out.parent} does not exist; nothing was written. Choose another --out"
        )
    try:
        names = write_bundle(obj.config, out)
    except FileExistsError:
        raise click.ClickException(
            f"{out} appeared while the bundle was written; it was left as it is. "
            "Choose another --out"
        ) from None
    except OSError as error:
        raise click.ClickException(
            f"the support bundle could not be written to {out} ({error.strerror}); nothing was "
            "left behind. Choose a folder with free space you may write to"
        ) from None
    click.echo(f"Support bundle written to {out} ({len(names)} files, {out.stat().st_size} bytes).")
