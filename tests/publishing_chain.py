"""Helpers for the whole-chain publishing tests (tests/test_publishing_chain.py).

A box configured with a burn profile behind its own AE title, a small study sent with DCMTK
storescu, the job followed in the database, and the disc a simulated drive burned read
back with tools that share no code with the box: xorriso extracts it, dciodvfy checks it,
pydicom's FileSet reads it.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydicom import dcmread
from pydicom.fileset import FileSet
from pydicom.uid import generate_uid

from appliance.config.load import load_config
from appliance.db.database import connect
from appliance.publishing.burn_request import request_burn
from appliance.publishing.job_states import ACTIVE_JOB_STATES, JobState, TransitionRefused
from appliance.publishing.jobs_store import Disc, HistoryRow, Job, JobStore
from appliance.publishing.label_artwork import label_renderer
from appliance.publishing.planner import MediaDefaults
from appliance.publishing.runner import JobRunner
from appliance.publishing.settings import PublishingSettings
from appliance.publishing.stations.factory import Built, build_stations
from drivers.primera.robot_simulator import RobotSimulator
from tests.conftest import Box, wait_for
from tests.dcmtk import run_tool, save, storescu
from tests.media_data import Patient, ct

BURN_AE = "KILN_CD"  # the box's AE title whose studies get a CD
PLAIN_AE = "KILN"  # no rule: no disc
PATIENT = Patient("Müller^Jürgen", "PID-CHAIN", "ISO_IR 100", sex="M")


def chain_overrides(
    *,
    drive_speed: int = 0,
    copies: int = 1,
    idle_seconds: float = 3.0,
    motion_seconds: float = 0.01,
    drives: int = 2,
) -> dict[str, dict[str, Any]]:
    """Config sections: a CD profile behind KILN_CD, one simulated robot with `drives`."""
    drive = {"sim_media": "CD-R", "sim_speed": drive_speed}
    return {
        "dicom": {"ae_titles": [PLAIN_AE, BURN_AE]},
        "storage": {"study_idle_seconds": idle_seconds},
        "publishing": {
            "poll_seconds": 0.5,
            "station_recheck_seconds": 5,
            "profiles": {"cd": {"media": "cd", "copies": {"patient": copies}}},
            "rules": [{"called_ae": BURN_AE, "profile": "cd"}],
            "stations": {
                "robot1": {
                    "media": ["cd"],
                    "robot": {"sim_motion_seconds": motion_seconds, "sim_print_seconds": 0.02},
                    "drives": [dict(drive) for _ in range(drives)],
                }
            },
        },
    }


@dataclass
class Sent:
    """A study as sent: its UID and, per SOP Instance UID, the file storescu read."""

    study_uid: str
    files: dict[str, Path] = field(default_factory=dict)


def make_study(folder: Path, count: int = 3, size: int = 64) -> Sent:
    """`count` CT images of one series, ISO_IR 100 patient name with umlauts."""
    sent = Sent(str(generate_uid()))
    series = str(generate_uid())
    for number in range(1, count + 1):
        ds = ct(PATIENT, sent.study_uid, series, number=number, size=size)
        sent.files[str(ds.SOPInstanceUID)] = save(ds, folder / f"ct{number}.dcm")
    return sent


def send(box: Box, sent: Sent, called_ae: str) -> None:
    run = storescu(box.port, list(sent.files.values()), aet="MODALITY", aec=called_ae)
    assert run.returncode == 0, run.output
    assert run.statuses == [0] * len(sent.files), run.output


def completed(box: Box, study_uid: str) -> bool:
    return (
        box.count(
            "SELECT count(*) FROM study_events WHERE study_uid = ? AND event = 'complete'",
            study_uid,
        )
        > 0
    )


def jobs_for(conn: sqlite3.Connection, study_uid: str) -> list[int]:
    return [
        int(r[0])
        for r in conn.execute(
            "SELECT job_id FROM job_studies WHERE study_uid = ? ORDER BY job_id", (study_uid,)
        )
    ]


def job_state(box: Box, job_id: int) -> str:
    with box.db() as conn:
        row = conn.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return "" if row is None else str(row[0])


def wait_job(box: Box, job_id: int, states: set[str], timeout: float) -> str:
    """Wait until the job is in one of `states`; its state either way."""
    wait_for(lambda: job_state(box, job_id) in states, timeout, interval=0.2)
    return job_state(box, job_id)


def show(box: Box, job_id: int) -> dict[str, Any]:
    """`appliance jobs show --json`."""
    shown: dict[str, Any] = json.loads(box.run_cli("jobs", "show", str(job_id), "--json").stdout)
    return shown


def kept_discs(data_dir: Path, robot: str = "robot1") -> list[Path]:
    """The simulated discs that left a drive, oldest first."""
    return sorted((data_dir / "simulators" / robot / "discs").glob("*.iso"))


# -- reading a disc back -------------------------------------------------------------------


def extract(disc: Path, dest: Path) -> None:
    """The disc's tree with xorriso (the burn pads the end; xorriso reads the session)."""
    done = run_tool(
        "xorriso", "-abort_on", "FAILURE", "-indev", str(disc),
        "-osirrox", "on", "-extract", "/", str(dest),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    for folder in [dest, *[p for p in dest.rglob("*") if p.is_dir()]]:
        folder.chmod(0o755)  # the disc's modes are read-only; let pytest clean up


def dciodvfy_errors(path: Path) -> list[str]:
    result = subprocess.run(
        ["/usr/bin/dciodvfy", str(path)], capture_output=True, text=True, check=False
    )
    return [
        line for line in (result.stdout + result.stderr).splitlines() if line.startswith("Error")
    ]


def check_disc(disc: Path, sent: Sent, scratch: Path) -> None:
    """DICOMDIR at the root, no dciodvfy error, every instance read back equal."""
    root = scratch / "extracted"
    extract(disc, root)
    assert (root / "DICOMDIR").is_file(), sorted(p.name for p in root.iterdir())
    files = [root / "DICOMDIR", *sorted(p for p in (root / "DICOM").rglob("*") if p.is_file())]
    assert len(files) == 1 + len(sent.files)
    assert {str(p): e for p in files if (e := dciodvfy_errors(p))} == {}
    seen: set[str] = set()
    for instance in FileSet(root / "DICOMDIR"):
        ds = instance.load()
        uid = str(ds.SOPInstanceUID)
        seen.add(uid)
        source = dcmread(sent.files[uid])
        assert instance.SOPInstanceUID == uid
        assert ds.PatientName == source.PatientName == "Müller^Jürgen"
        assert instance.PatientName == source.PatientName
        assert ds.StudyInstanceUID == sent.study_uid
        assert np.array_equal(ds.pixel_array, source.pixel_array), uid
    assert seen == set(sent.files)


def events(shown: dict[str, Any], name: str | None = None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = shown["events"]
    return [e for e in found if name is None or e["event"] == name]


def ordered(sequence: list[str], wanted: list[str]) -> bool:
    """`wanted` appears in `sequence` in this order (other items in between allowed)."""
    it = iter(sequence)
    return all(any(item == w for item in it) for w in wanted)


# -- the devices side in this process, for fault injection -----------------------------------


class Clock:
    """The job runner's clock: real time plus what the test skipped (a station's retry
    time passes at once); timestamps stay increasing."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def __call__(self) -> float:
        return time.time() + self.skipped

    def advance(self, seconds: float) -> None:
        self.skipped += seconds


@dataclass
class Devices:
    """What the devices role runs, built here from the box's config on its database."""

    box: Box
    built: Built
    runner: JobRunner
    clock: Clock
    robot: RobotSimulator
    settings: PublishingSettings

    def drive_dir(self, index: int) -> Path:
        return self.box.data_dir / "simulators" / "robot1" / f"drive{index}"

    def store(self) -> JobStore:
        return JobStore(connect(self.box.data_dir), self.clock)

    def burn(self, study_uid: str, copies: int = 1) -> int:
        store = self.store()
        try:
            return request_burn(store, self.settings, [study_uid], profile="cd", copies=copies)
        finally:
            store.conn.close()

    def job(self, job_id: int) -> Job:
        store = self.store()
        try:
            return store.job(job_id)
        finally:
            store.conn.close()

    def discs(self, job_id: int) -> list[Disc]:
        store = self.store()
        try:
            return store.discs(job_id)
        finally:
            store.conn.close()

    def history(self, job_id: int) -> list[HistoryRow]:
        store = self.store()
        try:
            return store.history(job_id)
        finally:
            store.conn.close()

    def run_until(self, done: Callable[[], bool], passes: int = 20) -> bool:
        """run_once until `done()` (each pass makes at most one disc per due station)."""
        for _ in range(passes):
            if done():
                return True
            self.runner.run_once()
        return done()

    def state(self, job_id: int) -> JobState:
        return self.job(job_id).state

    def close(self) -> None:
        self.runner.close()
        self.built.close()


def open_devices(box: Box) -> Devices:
    """Stations and a job runner as the devices role builds them, with fresh simulators."""
    config = load_config(box.config_path)
    settings = config.publishing
    shutil.rmtree(box.data_dir / "simulators", ignore_errors=True)
    built = build_stations(settings.stations, box.data_dir)
    assert built.problems == {}
    clock = Clock()
    runner = JobRunner(
        lambda: connect(box.data_dir),
        built.stations,
        settings,
        MediaDefaults.from_config(config, settings),
        clock=clock,
        render_label=label_renderer(settings),
    )
    robot = built.simulators["robot1"]
    assert isinstance(robot, RobotSimulator)
    return Devices(box, built, runner, clock, robot, settings)


def cancel_unfinished(box: Box) -> None:
    """A test that failed half way must not hand its discs to the next one."""
    store = JobStore(connect(box.data_dir), time.time)
    try:
        for job in store.jobs(ACTIVE_JOB_STATES | {JobState.PARKED, JobState.FAILED}):
            with contextlib.suppress(TransitionRefused):
                store.cancel(job.id)
    finally:
        store.conn.close()
