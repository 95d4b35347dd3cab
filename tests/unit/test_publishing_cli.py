"""`appliance burn` and `appliance jobs`: through click's runner, and one through a process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from appliance.cli.context import Context
from appliance.cli.publishing_cmds import registered
from appliance.config.schema import KilnConfig
from appliance.db.database import connect, migrate
from appliance.publishing.job_states import JobEvent, JobState
from appliance.publishing.jobs_store import JobStore
from appliance.publishing.settings import PublishingSettings
from tests.unit.test_publishing_planner import receive_study

ROOT = Path(__file__).resolve().parents[2]


class WiredConfig(KilnConfig):
    """KilnConfig as it is once [publishing] is wired in (appliance/config/schema.py)."""

    publishing: PublishingSettings = PublishingSettings()


@click.group()
@click.option("--data-dir", type=click.Path(path_type=Path), required=True)
@click.pass_context
def cli(ctx: click.Context, data_dir: Path) -> None:
    obj = Context(None)
    obj._config = WiredConfig.model_validate(
        {
            "box": {"data_dir": str(data_dir)},
            "publishing": {
                "profiles": {"default": {}, "urgent": {"priority": 9, "copies": {"physician": 1}}}
            },
        }
    )
    ctx.obj = obj


for command in registered():
    cli.add_command(command)


@pytest.fixture
def box(tmp_path: Path) -> tuple[Path, str]:
    migrate(tmp_path)
    conn = connect(tmp_path)
    study = receive_study(conn, tmp_path)
    conn.close()
    return tmp_path, study


def run(data_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args])
    return result.exit_code, result.output


def test_burn_queues_a_job_with_the_profile_and_overrides(box: tuple[Path, str]) -> None:
    data_dir, study = box
    code, out = run(data_dir, "burn", study, "--profile", "urgent", "--copies", "3")
    assert code == 0 and out.startswith("Queued job 1;")
    job = JobStore(connect(data_dir), time.time).job(1)
    assert job.state is JobState.QUEUED and job.origin == "operator"
    assert job.priority == 9 and job.studies == (study,)
    assert (job.settings.copies.patient, job.settings.copies.physician) == (3, 1)
    code, out = run(data_dir, "burn", study, "--priority", "2")
    assert code == 0 and JobStore(connect(data_dir), time.time).job(2).priority == 2


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["1.2.3.999"], "The box holds no study 1.2.3.999; nothing was queued"),
        (["STUDY", "--profile", "gold"], "There is no profile 'gold'; nothing was queued"),
        (["STUDY", "--copies", "0"], "make no disc or too many"),
    ],
)
def test_burn_refuses_with_a_sentence(box: tuple[Path, str], args: list[str], words: str) -> None:
    data_dir, study = box
    code, out = run(data_dir, "burn", *[study if a == "STUDY" else a for a in args])
    assert code == 1 and words in out
    assert connect(data_dir).execute("SELECT count(*) FROM jobs").fetchone()[0] == 0


def test_ls_show_retry_cancel(box: tuple[Path, str]) -> None:
    data_dir, study = box
    run(data_dir, "burn", study)
    store = JobStore(connect(data_dir), time.time)
    store.fire_job(1, JobEvent.PREPARE)
    store.fire_job(1, JobEvent.PREPARE_FAILED, message="Job 1: The disk is full; do X.")
    code, out = run(data_dir, "jobs", "ls")
    assert code == 0 and "failed" in out and "Job 1: The disk is full" in out
    code, out = run(data_dir, "jobs", "ls", "--json")
    assert json.loads(out)[0]["state"] == "failed"
    code, out = run(data_dir, "jobs", "show", "1", "--json")
    shown = json.loads(out)
    assert [e["event"] for e in shown["events"]] == [
        "created",
        "prepare",
        "prepare-failed",
    ]
    assert shown["discs"] == [] and shown["message"] == "Job 1: The disk is full; do X."
    code, out = run(data_dir, "jobs", "show", "1")
    assert code == 0 and "Needs: Job 1: The disk is full" in out and "prepare-failed" in out
    code, out = run(data_dir, "jobs", "retry", "1")
    assert code == 0 and store.job(1).state is JobState.QUEUED
    code, out = run(data_dir, "jobs", "retry", "1")
    assert code == 1 and "Job 1 is queued, so it cannot be retried; nothing was changed" in out
    code, out = run(data_dir, "jobs", "cancel", "1")
    assert code == 0 and store.job(1).state is JobState.CANCELLED
    code, out = run(data_dir, "jobs", "cancel", "7")
    assert code == 1 and "There is no job 7" in out
    code, out = run(data_dir, "jobs", "show", "7")
    assert code == 1 and "There is no job 7" in out


def test_jobs_ls_in_its_own_process(box: tuple[Path, str]) -> None:
    data_dir, study = box
    run(data_dir, "burn", study)
    program = "from tests.unit.test_publishing_cli import cli; cli()"
    done = subprocess.run(
        [sys.executable, "-c", program, "--data-dir", str(data_dir), "jobs", "ls", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert [(j["id"], j["state"], j["studies"]) for j in json.loads(done.stdout)] == [
        (1, "queued", [study])
    ]
