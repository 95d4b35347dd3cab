"""`appliance device test-burn NAME` while the box runs: the CLI hands the test burn to the
devices role, which borrows the station from its job runner between patient discs, makes
the test disc on the simulated robot and drive, and gives the station back."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from appliance.publishing.service_disc import TEST_PATIENT, VOLUME_ID
from drivers.optical import simulator as drive_sim
from tests.conftest import APPLIANCE, ROOT, Box, wait_for
from tests.publishing_chain import (
    BURN_AE,
    chain_overrides,
    extract,
    jobs_for,
    kept_discs,
    make_study,
    send,
    show,
    wait_job,
)


def volume_id(disc: Path) -> str:
    """The ISO 9660 primary volume descriptor's volume identifier."""
    with disc.open("rb") as f:
        f.seek(16 * 2048 + 40)
        return f.read(32).decode("ascii").strip()


def devices_up(box: Box) -> None:
    """The devices role's heartbeat shows every station ready."""

    def up() -> bool:
        done = box.run_cli("device", "ls", "--json", check=False)
        entries = json.loads(done.stdout) if done.returncode == 0 else []
        stations = [e for e in entries if e.get("device") != "printer"]
        return bool(stations) and all(e["condition"] == "ready" for e in stations)

    assert wait_for(up, 60, interval=0.5), box.log()[-3000:]


def requests(box: Box) -> list[tuple[Any, ...]]:
    with box.db() as conn:
        rows = conn.execute(
            "SELECT kind, device, state, passed, station FROM device_tests ORDER BY id"
        )
        return [tuple(r) for r in rows]


def ask_test_burn(
    box: Box, name: str = "robot1", wait: float = 90
) -> subprocess.CompletedProcess[str]:
    return box.run_cli("device", "test-burn", name, "--json", "--wait", str(wait), check=False)


def outcome(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def disc_step(box: Box, job_id: int) -> str:
    with box.db() as conn:
        row = conn.execute(
            "SELECT step FROM job_discs WHERE job_id = ? AND state = 'in-progress'", (job_id,)
        ).fetchone()
    return "" if row is None else str(row[0])


def one_job(box: Box, study_uid: str) -> int:
    def found() -> list[int]:
        with box.db() as conn:
            return jobs_for(conn, study_uid)

    assert wait_for(lambda: len(found()) == 1, 60, interval=0.2), box.log()[-3000:]
    return found()[0]


def test_a_test_burn_while_the_box_runs(box_factory: Callable[..., Box], tmp_path: Path) -> None:
    box = box_factory(chain_overrides(), role="all")
    devices_up(box)

    done = ask_test_burn(box)
    assert done.returncode == 0, done.stdout + done.stderr
    result = outcome(done)
    assert result["passed"] and result["station"] in ("robot1-d0", "robot1-d1"), result
    detail = result["checks"][0]["detail"]
    assert (
        detail == f"{result['station']}: a test disc was burned, verified, labelled and unloaded."
    )
    assert "The devices role is running: it burns the test disc on robot1" in done.stderr
    steps = "picking|burning|verifying|printing|unloading"
    assert re.search(rf"^  {result['station']} ({steps}) \d+%$", done.stderr, re.M), done.stderr

    [disc] = kept_discs(box.data_dir)
    assert volume_id(disc) == VOLUME_ID
    extract(disc, tmp_path / "disc")
    from pydicom.fileset import FileSet

    [instance] = list(FileSet(tmp_path / "disc" / "DICOMDIR"))
    assert str(instance.load().PatientName) == TEST_PATIENT
    assert requests(box) == [("test-burn", "robot1", "done", 1, result["station"])]
    assert not any(box.data_dir.glob("kiln-test-disc-*"))  # nothing left behind
    # The station is back: the status shows it ready and lent to nobody.
    shown = json.loads(box.run_cli("device", "show", "robot1", "--json").stdout)
    assert all(s["lent_to"] == "" and s["condition"] == "ready" for s in shown["stations"])


def test_a_test_burn_waits_for_the_patient_disc_and_goes_before_the_next(
    box_factory: Callable[..., Box], tmp_path: Path
) -> None:
    """One drive, slow enough to ask for the test while a patient disc burns: that disc is
    finished first, the test disc goes next, then the next patient's disc."""
    box = box_factory(chain_overrides(drives=1, drive_speed=150_000), role="all")
    devices_up(box)
    first, second = make_study(tmp_path / "a"), make_study(tmp_path / "b")
    send(box, first, BURN_AE)
    job_a = one_job(box, first.study_uid)
    assert wait_for(lambda: disc_step(box, job_a) == "burning", 60, interval=0.05), show(box, job_a)
    tester = subprocess.Popen(
        [*APPLIANCE, "--config", str(box.config_path), "device", "test-burn", "robot1", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        send(box, second, BURN_AE)  # its disc is ready while the first one still burns
        job_b = one_job(box, second.study_uid)
        out, err = tester.communicate(timeout=120)
    finally:
        if tester.poll() is None:
            tester.kill()
            tester.wait(10)
    assert tester.returncode == 0, out + err
    assert outcome(subprocess.CompletedProcess([], 0, out, err))["station"] == "robot1-d0"
    assert "waiting for a station of robot1" in err  # it waited for the patient disc
    assert wait_job(box, job_a, {"done", "failed", "parked"}, 60) == "done", show(box, job_a)
    assert wait_job(box, job_b, {"done", "failed", "parked"}, 90) == "done", show(box, job_b)

    discs = kept_discs(box.data_dir)
    assert [volume_id(d) == VOLUME_ID for d in discs] == [False, True, False]
    with box.db() as conn:
        conn.row_factory = sqlite3.Row
        made = [
            (r["job_id"], r["state"])
            for r in conn.execute("SELECT job_id, state FROM job_discs ORDER BY id")
        ]
    assert made == [(job_a, "done"), (job_b, "done")]  # no patient disc was redone or mixed
    with box.db() as conn:
        ready = conn.execute(
            "SELECT min(at) FROM job_events WHERE job_id = ? AND event = 'image-built'", (job_b,)
        ).fetchone()[0]
        test_done = conn.execute("SELECT updated_at FROM device_tests").fetchone()[0]
    assert ready < test_done  # the second patient's disc was ready, and waited for the test
    assert requests(box) == [("test-burn", "robot1", "done", 1, "robot1-d0")]


def test_a_failed_test_burn_says_why_and_gives_the_station_back(
    box_factory: Callable[..., Box], tmp_path: Path
) -> None:
    box = box_factory(chain_overrides(drives=1), role="all")
    devices_up(box)
    drive = box.data_dir / "simulators" / "robot1" / "drive0"
    drive_sim.inject(drive, drive_sim.SimFault.BUSY)  # another program holds the drive

    done = ask_test_burn(box)
    assert done.returncode == 1, done.stdout + done.stderr
    result = outcome(done)
    detail = result["checks"][0]["detail"]
    assert not result["passed"] and result["station"] == "robot1-d0"
    assert detail.startswith("robot1-d0: the test disc failed: Another program is using drive")
    with box.db() as conn:
        row = conn.execute("SELECT state, passed, checks FROM device_tests").fetchone()
    assert (row[0], row[1]) == ("done", 0)
    assert json.loads(row[2])[0]["detail"] == detail
    assert [volume_id(d) for d in kept_discs(box.data_dir)] == []  # rejected, not kept

    drive_sim.clear_faults(drive)
    study = make_study(tmp_path / "study")
    send(box, study, BURN_AE)
    job = one_job(box, study.study_uid)
    assert wait_job(box, job, {"done", "failed", "parked"}, 90) == "done", show(box, job)
    [disc] = kept_discs(box.data_dir)
    assert volume_id(disc) != VOLUME_ID

    # A name that is no station, and the one drive station by its runtime name.
    done = box.run_cli("device", "test-burn", "robot9", check=False)
    assert done.returncode == 1 and "there is no station robot9 (stations: robot1)" in done.stderr
    done = ask_test_burn(box, "robot1-d0")
    assert done.returncode == 0 and outcome(done)["station"] == "robot1-d0", done.stderr
    assert [volume_id(d) == VOLUME_ID for d in kept_discs(box.data_dir)] == [False, True]
