"""Tier 6: disc publishing end to end, on the simulated robot and drives.

A study sent with DCMTK storescu to the AE title of a burn profile completes, gets a job,
and the robot picks, the drive burns and verifies, the robot prints the label and unloads
to the output bin; the burned disc is read back with xorriso, dciodvfy and pydicom. Then
every error class the robot and the drives have, driven through the simulators in this
process, and a devices role killed with SIGKILL while a disc burns.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from appliance.publishing.job_states import DiscState, JobState
from appliance.publishing.runner import CRASH_SENTENCE, Condition
from drivers.optical import simulator as drive_sim
from drivers.primera.error_codes import describe
from tests.conftest import (
    APPLIANCE,
    ROOT,
    Box,
    children,
    free_port,
    wait_for,
    write_config,
)
from tests.publishing_chain import (
    BURN_AE,
    PLAIN_AE,
    Devices,
    Sent,
    cancel_unfinished,
    chain_overrides,
    check_disc,
    completed,
    events,
    extract,
    jobs_for,
    kept_discs,
    make_study,
    open_devices,
    ordered,
    send,
    show,
    wait_job,
)

# -- 1. the whole chain, `appliance run` with every role ------------------------------------


def test_a_study_sent_to_the_burn_ae_comes_out_as_a_verified_labelled_disc(
    box_factory: Callable[..., Box], tmp_path: Path
) -> None:
    box = box_factory(chain_overrides(), role="all")
    burned = make_study(tmp_path / "burned")
    plain = make_study(tmp_path / "plain")
    send(box, burned, BURN_AE)
    send(box, plain, PLAIN_AE)
    assert wait_for(lambda: completed(box, burned.study_uid), 30), box.log()
    assert wait_for(lambda: box.count("SELECT count(*) FROM jobs") > 0, 30), box.log()
    with box.db() as conn:
        job_ids = jobs_for(conn, burned.study_uid)
    assert len(job_ids) == 1
    job_id = job_ids[0]
    assert wait_job(box, job_id, {"done", "failed", "parked"}, 60) == "done", show(box, job_id)

    shown = show(box, job_id)
    assert shown["state"] == "done"
    assert shown["profile"] == "cd"
    assert shown["origin"] == "rule"
    assert shown["studies"] == [burned.study_uid]
    assert shown["message"] == ""
    [disc] = shown["discs"]
    assert disc["state"] == "done"
    assert disc["medium"] == "cd"
    assert disc["station"].startswith("robot1-d")
    assert disc["attempt"] == 1
    assert disc["error"] == ""
    sequence = [e["event"] for e in events(shown)]
    steps = [e["detail"]["step"] for e in events(shown, "step")]
    assert ordered(
        sequence,
        ["created", "prepare", "image-built", "images-ready", "started", "step", "made",
         "all-discs-done"],
    ), sequence  # fmt: skip
    assert sequence[-1] == "all-discs-done"
    assert steps == ["picking", "burning", "verifying", "printing", "unloading"]
    for name in ("interrupt", "bad-disc", "operator-needed", "new-attempt"):
        assert events(shown, name) == [], name
    listed = json.loads(box.run_cli("jobs", "ls", "--json").stdout)
    assert [(j["id"], j["state"], j["studies"]) for j in listed] == [
        (job_id, "done", [burned.study_uid])
    ]

    # The disc the drive burned: the file-set, valid, and equal to what was sent.
    [kept] = kept_discs(box.data_dir)
    check_disc(kept, burned, tmp_path / "disc")

    # The study sent to the plain AE title completed too, and got no job.
    assert wait_for(lambda: completed(box, plain.study_uid), 30)
    with box.db() as conn:
        assert wait_for(
            lambda: (
                conn.execute(
                    "SELECT count(*) FROM publishing_evaluations WHERE study_uid = ?",
                    (plain.study_uid,),
                ).fetchone()[0]
                > 0
            ),
            10,
        )
        outcome = conn.execute(
            "SELECT outcome, job_id FROM publishing_evaluations WHERE study_uid = ?",
            (plain.study_uid,),
        ).fetchone()
        assert tuple(outcome) == ("no rule", None)
        assert jobs_for(conn, plain.study_uid) == []
        assert conn.execute("SELECT count(*) FROM jobs").fetchone()[0] == 1


# -- 2. every error class, the simulators driven from this process ---------------------------


@pytest.fixture(scope="module")
def fault_box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    """The dicom role of a box whose robot has one drive (so who makes a disc is known)."""
    root = tmp_path_factory.mktemp("publishing-faults")
    port, web_port = free_port(), free_port()
    overrides = chain_overrides(drives=1, idle_seconds=1.0)
    box = Box(root, port, web_port, write_config(root, port, web_port, overrides))
    box.start("dicom")
    try:
        yield box
    finally:
        if box.process is not None and box.process.poll() is None:
            box.stop(signal.SIGTERM, timeout=60)


@pytest.fixture(scope="module")
def study(fault_box: Box, tmp_path_factory: pytest.TempPathFactory) -> Sent:
    """One small study received over DICOM (to the plain AE: the tests burn it by hand)."""
    sent = make_study(tmp_path_factory.mktemp("fault-study"), count=2)
    send(fault_box, sent, PLAIN_AE)
    assert wait_for(lambda: completed(fault_box, sent.study_uid), 30), fault_box.log()
    return sent


@pytest.fixture
def devices(fault_box: Box, study: Sent) -> Iterator[Devices]:
    made = open_devices(fault_box)
    try:
        yield made
    finally:
        made.close()
        cancel_unfinished(fault_box)


@dataclass
class OnInsert:
    """The robot's hand, wrapped: right after the picker puts the first blank disc in a
    drive, the disc gets a fault (drive faults belong to the disc in the drive)."""

    original: Callable[..., None]
    fault: drive_sim.SimFault
    value: float | None = None
    drives: list[Path] = field(default_factory=list)

    def __call__(self, state_dir: Path, **options: Any) -> None:
        self.original(state_dir, **options)
        if not self.drives:
            self.drives.append(Path(state_dir))
            drive_sim.inject(Path(state_dir), self.fault, self.value)


def on_insert(
    monkeypatch: pytest.MonkeyPatch, fault: drive_sim.SimFault, value: float | None = None
) -> OnInsert:
    hand = OnInsert(drive_sim.insert_blank, fault, value)
    monkeypatch.setattr(drive_sim, "insert_blank", hand)
    return hand


def states(devices: Devices, job_id: int) -> list[str]:
    return [d.state.value for d in devices.discs(job_id)]


def event_names(devices: Devices, job_id: int) -> list[str]:
    return [row.event for row in devices.history(job_id)]


def made_once(devices: Devices, job_id: int, slots: int = 1) -> None:
    """Every slot made exactly once, and the job said done exactly once."""
    names = event_names(devices, job_id)
    assert names.count("made") == slots
    assert names.count("all-discs-done") == 1
    assert names[-1] == "all-discs-done"
    done = [d for d in devices.discs(job_id) if d.state is DiscState.DONE]
    assert sorted(d.slot for d in done) == list(range(1, slots + 1))


def operator_message(devices: Devices, job_id: int) -> str:
    """The sentence the job waited with (its history keeps it after it was cleared)."""
    needed = [r for r in devices.history(job_id) if r.event == "operator-needed"]
    assert needed, event_names(devices, job_id)
    return str(needed[-1].detail["message"])


def condition(devices: Devices) -> Condition:
    """The station's condition as the runner sees it (a call: mypy narrows attributes)."""
    [worker] = devices.runner.workers
    return worker.condition


def during(devices: Devices, step: str, act: Callable[[], None]) -> None:
    """One runner pass, with `act` done by the test's hand while the disc is at `step`."""
    [worker] = devices.runner.workers
    acted = threading.Event()

    def hand() -> None:
        if wait_for(lambda: worker.step == step, 30, interval=0.02):
            act()
            acted.set()

    thread = threading.Thread(target=hand)
    thread.start()
    devices.runner.run_once()
    thread.join()
    assert acted.is_set()


def test_an_empty_input_bin_waits_for_discs_then_goes_on(devices: Devices, study: Sent) -> None:
    robot = devices.robot
    for name in ("right", "left"):
        robot.empty_bin(name)
    job_id = devices.burn(study.study_uid)
    devices.runner.run_once()
    job = devices.job(job_id)
    assert job.state is JobState.WAITING_OPERATOR
    assert job.message == describe(3).sentence  # "the input bin is empty"
    assert "input bin is empty" in job.message
    assert states(devices, job_id) == ["interrupted", "image-ready"]
    assert condition(devices) is Condition.WAITING_OPERATOR
    # Nothing happens until the operator loads discs and the station looks again.
    devices.clock.advance(31)
    devices.runner.run_once()
    assert devices.state(job_id) is JobState.WAITING_OPERATOR
    robot.load_discs("right", 5)
    devices.clock.advance(31)
    assert devices.run_until(lambda: devices.state(job_id) is JobState.DONE)
    assert devices.job(job_id).message == ""
    assert states(devices, job_id)[-1] == "done"
    assert "operator-cleared" in event_names(devices, job_id)
    made_once(devices, job_id)
    assert robot.rejected == 0
    assert robot.discs_in("right") == 4
    assert robot.discs_in("left") == 1  # the output bin
    assert len(robot.labels) == 1


def test_a_pick_failure_the_driver_retries_costs_nothing(devices: Devices, study: Sent) -> None:
    devices.robot.fail_picks(1)  # the driver clears the error and picks again by itself
    job_id = devices.burn(study.study_uid)
    assert devices.run_until(lambda: devices.state(job_id) is JobState.DONE, passes=3)
    assert states(devices, job_id) == ["done"]
    made_once(devices, job_id)
    assert devices.robot.rejected == 0


def test_picks_failing_past_the_drivers_retries_pause_the_station_then_it_goes_on(
    devices: Devices, study: Sent
) -> None:
    devices.robot.fail_picks(3)  # the first try and the driver's two retries
    job_id = devices.burn(study.study_uid)
    devices.runner.run_once()
    # Transient: the disc is set aside, the job is not the operator's business.
    job = devices.job(job_id)
    assert job.state is JobState.PUBLISHING
    assert job.message == ""
    first = devices.discs(job_id)[0]
    assert first.state is DiscState.INTERRUPTED
    assert first.error == describe(8).sentence  # "the picker could not pick a disc"
    assert condition(devices) is Condition.RETRYING
    devices.runner.run_once()  # the retry time has not passed: nothing happens
    assert states(devices, job_id) == ["interrupted", "image-ready"]
    devices.clock.advance(11)
    assert devices.run_until(lambda: devices.state(job_id) is JobState.DONE, passes=3)
    assert states(devices, job_id) == ["interrupted", "done"]
    assert condition(devices) is Condition.READY
    made_once(devices, job_id)
    assert devices.robot.rejected == 0
    assert "operator-needed" not in event_names(devices, job_id)


def test_the_cover_opened_while_a_disc_burns_waits_for_the_operator(
    devices: Devices, study: Sent
) -> None:
    robot = devices.robot
    drive_sim.set_speed(devices.drive_dir(0), 300_000)  # about a second per burn
    job_id = devices.burn(study.study_uid)
    during(devices, "burning", robot.open_cover)
    assert condition(devices) is Condition.WAITING_OPERATOR
    job = devices.job(job_id)
    assert job.state is JobState.WAITING_OPERATOR
    assert job.message == describe(15).sentence  # "the cover is open"
    assert states(devices, job_id) == ["interrupted", "image-ready"]
    assert devices.discs(job_id)[0].step == "printing"  # burned and verified, not labelled
    assert robot.labels == []
    assert robot.status().drives[0].has_disc  # the robot stopped with it in the drive
    # Still open when the station looks again: still waiting.
    devices.clock.advance(31)
    devices.runner.run_once()
    assert devices.state(job_id) is JobState.WAITING_OPERATOR
    robot.close_cover()
    devices.clock.advance(31)
    assert devices.run_until(lambda: devices.state(job_id) is JobState.DONE, passes=3)
    assert devices.job(job_id).message == ""
    assert states(devices, job_id)[-1] == "done"
    made_once(devices, job_id)
    # The unlabelled disc went to the reject bin, the new one to the output bin.
    assert robot.rejected == 1
    assert robot.discs_in("left") == 1
    assert len(robot.labels) == 1


def test_ink_out_waits_for_new_cartridges(devices: Devices, study: Sent) -> None:
    robot = devices.robot
    robot.ink_out()
    job_id = devices.burn(study.study_uid)
    devices.runner.run_once()
    job = devices.job(job_id)
    assert job.state is JobState.WAITING_OPERATOR
    assert job.message == describe(51).sentence  # "the colour and black ink are empty"
    assert states(devices, job_id) == ["interrupted", "image-ready"]
    assert robot.labels == []
    robot.replace_cartridges()
    devices.clock.advance(31)
    assert devices.run_until(lambda: devices.state(job_id) is JobState.DONE, passes=3), devices.job(
        job_id
    ).message
    made_once(devices, job_id)
    assert len(robot.labels) == 1
    assert robot.discs_in("left") == 1
    assert robot.rejected == 1  # the unprinted disc left in the printer
    assert not robot.status().disc_in_printer


@pytest.mark.parametrize(
    ("fault", "code", "said"),
    [
        (drive_sim.SimFault.NOT_BLANK, "NotBlank", "already has data"),
        (drive_sim.SimFault.WRITE_ERROR, "WriteFailed", "writ"),
        (drive_sim.SimFault.VERIFY_MISMATCH, "VerifyMismatch", "read back"),
    ],
)
def test_a_bad_disc_is_rejected_and_made_again(
    devices: Devices,
    study: Sent,
    monkeypatch: pytest.MonkeyPatch,
    fault: drive_sim.SimFault,
    code: str,
    said: str,
) -> None:
    hand = on_insert(monkeypatch, fault)
    job_id = devices.burn(study.study_uid)
    assert devices.run_until(lambda: devices.state(job_id) is JobState.DONE, passes=4)
    assert hand.drives == [devices.drive_dir(0)]
    bad, good = devices.discs(job_id)
    assert bad.state is DiscState.REJECTED
    assert said in bad.error.lower()
    assert (good.state, good.attempt, good.redos) == (DiscState.DONE, 2, 1)
    rejected = [r for r in devices.history(job_id) if r.event == "bad-disc"]
    assert [r.detail["code"] for r in rejected] == [code]
    assert "operator-needed" not in event_names(devices, job_id)
    assert devices.job(job_id).message == ""
    made_once(devices, job_id)
    assert devices.robot.rejected == 1
    assert devices.robot.discs_in("left") == 1
    assert len(devices.robot.labels) == 1  # the bad disc got no label


def test_a_drive_not_ready_for_a_while_is_ridden_out(
    devices: Devices, study: Sent, monkeypatch: pytest.MonkeyPatch
) -> None:
    hand = on_insert(monkeypatch, drive_sim.SimFault.NOT_READY, 3)
    job_id = devices.burn(study.study_uid)
    assert devices.run_until(lambda: devices.state(job_id) is JobState.DONE, passes=2)
    assert hand.drives == [devices.drive_dir(0)]
    assert drive_sim.load_state(devices.drive_dir(0)).not_ready_queries == 0  # all used up
    assert states(devices, job_id) == ["done"]
    made_once(devices, job_id)
    assert devices.robot.rejected == 0


def test_a_robot_that_goes_offline_mid_burn_is_retried_until_it_answers(
    devices: Devices, study: Sent
) -> None:
    robot = devices.robot
    drive_sim.set_speed(devices.drive_dir(0), 300_000)
    job_id = devices.burn(study.study_uid)
    [worker] = devices.runner.workers
    during(devices, "burning", robot.go_offline)
    job = devices.job(job_id)
    assert job.state is JobState.PUBLISHING  # not the operator's job yet: the box retries
    assert job.message == ""
    assert condition(devices) is Condition.RETRYING
    assert "does not answer" in worker.sentence
    assert states(devices, job_id) == ["interrupted", "image-ready"]
    assert devices.discs(job_id)[0].error == worker.sentence
    robot.come_online()
    devices.clock.advance(16)
    assert devices.run_until(lambda: devices.state(job_id) is JobState.DONE, passes=3)
    assert states(devices, job_id) == ["interrupted", "done"]
    assert devices.discs(job_id)[-1].redos == 0  # a fault is not a bad disc
    assert condition(devices) is Condition.READY
    made_once(devices, job_id)
    assert robot.rejected == 1  # the disc left in the drive when it went silent
    assert len(robot.labels) == 1


# -- 3. the devices role killed while a disc burns -----------------------------------------


def start_devices(box: Box) -> subprocess.Popen[bytes]:
    with (box.root / "devices.log").open("ab") as log:
        return subprocess.Popen(
            [*APPLIANCE, "--config", str(box.config_path), "run", "--role", "devices"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            cwd=ROOT,
        )


def burning(box: Box, job_id: int) -> bool:
    return (
        box.count(
            "SELECT count(*) FROM job_discs WHERE job_id = ? AND state = 'in-progress' "
            "AND step = 'burning'",
            job_id,
        )
        > 0
    )


def test_a_devices_role_killed_mid_burn_redoes_the_disc_and_reports_each_once(
    box_factory: Callable[..., Box], tmp_path: Path
) -> None:
    # About two seconds per burn and per read-back: long enough to be caught burning.
    box = box_factory(chain_overrides(drive_speed=200_000, copies=2), role="dicom")
    devices = start_devices(box)
    try:
        sent = make_study(tmp_path / "study", count=2)
        send(box, sent, BURN_AE)
        assert wait_for(lambda: box.count("SELECT count(*) FROM jobs") == 1, 30), box.log()
        job_id = int(box.count("SELECT max(id) FROM jobs"))
        assert wait_for(lambda: burning(box, job_id), 30, interval=0.05)
        for pid in [*children(devices.pid), devices.pid]:  # the power cut: all at once
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        devices.wait(10)
        with box.db() as conn:
            cut_short = {
                int(r[0])
                for r in conn.execute(
                    "SELECT id FROM job_discs WHERE job_id = ? AND state = 'in-progress'",
                    (job_id,),
                )
            }
            done_before = {
                int(r[0])
                for r in conn.execute(
                    "SELECT id FROM job_discs WHERE job_id = ? AND state = 'done'", (job_id,)
                )
            }
        assert cut_short
        devices = start_devices(box)
        final = wait_job(box, job_id, {"done", "parked", "failed"}, 60)
        assert final == "done", (box.root / "devices.log").read_text()[-3000:]
    finally:
        if devices.poll() is None:
            devices.send_signal(signal.SIGTERM)
            devices.wait(60)

    shown = show(box, job_id)
    discs = {d["id"]: d for d in shown["discs"]}
    done = [d for d in discs.values() if d["state"] == "done"]
    assert sorted(d["slot"] for d in done) == [1, 2]  # exactly two discs, one per slot
    assert done_before <= {d["id"] for d in done}  # a disc done before the cut stays done
    for disc_id in cut_short:
        disc = discs[disc_id]
        assert disc["state"] == "interrupted"
        assert disc["error"] == CRASH_SENTENCE
        # Made again on a new disc of the same slot, not counted as a bad disc.
        again = [d for d in done if d["slot"] == disc["slot"]]
        assert len(again) == 1 and again[0]["id"] > disc_id
    assert {d["state"] for d in discs.values()} == {"done", "interrupted"}
    names = [e["event"] for e in events(shown)]
    assert names.count("made") == 2  # nothing reported done twice
    assert names.count("all-discs-done") == 1
    assert names[-1] == "all-discs-done"
    assert [e["disc"] for e in events(shown, "interrupt")] == sorted(cut_short)
    assert "bad-disc" not in names
    # The two discs that reached the output bin hold the file-set.
    for number, kept in enumerate(kept_discs(box.data_dir)[-2:]):
        extracted = tmp_path / f"disc{number}"
        extract(kept, extracted)
        assert (extracted / "DICOMDIR").is_file()
        assert len(list((extracted / "DICOM").rglob("*"))) >= len(sent.files)
