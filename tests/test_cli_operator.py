"""`appliance alarms`, `device`, `diagnostics` and the status alarms line: through click's
runner, and each group once as a process (as a field engineer runs it)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner

from appliance.alarms.store import AlarmSource, AlarmStore, Severity
from appliance.cli.main import cli
from appliance.db.database import connect, migrate
from appliance.roles.heartbeat import beat

ROOT = Path(__file__).resolve().parent.parent
TOKEN, SESSION = "tok-SECRET-7731", "sess-SECRET-9915"
BIN_EMPTY = "Input bin empty: load blank DVDs in the left bin; the job resumes by itself."


@pytest.fixture
def config(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    migrate(data)
    path = tmp_path / "kiln.toml"
    path.write_text(
        tomli_w.dumps(
            {
                "box": {"name": "Clinic North", "data_dir": str(data)},
                "storage": {"reserve_mb": 0},
                "web": {"api_token": TOKEN, "session_secret": SESSION},
            }
        )
    )
    return path


def data_dir(config: Path) -> Path:
    return config.parent / "data"


def run(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    return result.exit_code, result.output


def process(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance", "--config", str(config), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=60,
    )


def devices_heartbeat(config: Path, condition: str = "waiting-operator") -> None:
    """What a running devices role publishes: robot1's two drive stations."""
    stations = [
        {
            "station": "robot1-d0",
            "condition": condition,
            "sentence": BIN_EMPTY if condition != "ready" else "",
            "step": "",
            "disc": None,
            "device": {"kind": "robot", "robot_state": "idle", "drive_state": "empty"},
        },
        {
            "station": "robot1-d1",
            "condition": "ready",
            "sentence": "",
            "step": "burning",
            "disc": 7,
            "device": {"kind": "robot", "robot_state": "idle", "drive_state": "burning"},
        },
    ]
    conn = connect(data_dir(config))
    beat(conn, "devices", time.time(), {"devices": stations, "problems": {}})
    conn.close()


# --- alarms ---------------------------------------------------------------------------------


def test_alarms_ls_shows_the_station_fault_and_ack_marks_it_seen(config: Path) -> None:
    assert run(config, "alarms", "ls") == (0, "No active alarms.\n")
    devices_heartbeat(config)
    code, out = run(config, "alarms", "ls")
    assert code == 0 and "ATTENTION station robot1-d0" in out and BIN_EMPTY in out

    code, out = run(config, "alarms", "ls", "--json")
    (alarm,) = json.loads(out)
    assert code == 0 and alarm["source"] == "station" and alarm["sentence"] == BIN_EMPTY
    assert alarm["active"] and alarm["acknowledged_at"] is None

    code, out = run(config, "alarms", "ack", str(alarm["id"]), "--by", "ines")
    assert (code, out) == (0, f"Alarm {alarm['id']} acknowledged by ines.\n")
    code, out = run(config, "alarms", "ack", str(alarm["id"]), "--by", "otto")
    assert code == 0 and "already acknowledged by ines" in out
    assert "acknowledged by ines" in run(config, "alarms", "ls")[1]


def test_a_cleared_alarm_is_listed_only_with_all(config: Path) -> None:
    devices_heartbeat(config)
    run(config, "alarms", "ls")
    devices_heartbeat(config, "ready")
    assert run(config, "alarms", "ls") == (0, "No active alarms.\n")
    code, out = run(config, "alarms", "ls", "--all", "--json")
    (alarm,) = json.loads(out)
    assert code == 0 and not alarm["active"] and alarm["cleared_at"] is not None


def test_acknowledging_an_unknown_alarm_fails_with_a_sentence(config: Path) -> None:
    code, out = run(config, "alarms", "ack", "99")
    assert code == 1 and "there is no alarm 99; 'appliance alarms ls --all' lists them" in out


def test_a_bad_configuration_is_exit_code_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[box]\nnmae = 'x'\n")
    result = CliRunner().invoke(cli, ["--config", str(bad), "alarms", "ls"])
    assert result.exit_code == 2 and "cannot be used" in result.output


def test_status_lists_the_active_alarms_sentences(config: Path) -> None:
    conn = connect(data_dir(config))
    AlarmStore(conn).raise_alarm(AlarmSource.USB, "stick", Severity.ATTENTION, "Stick pulled.")
    conn.close()
    code, out = run(config, "status")
    assert code == 0 and "alarms  1 active" in out and "attention: Stick pulled." in out
    code, out = run(config, "status", "--json")
    assert [a["sentence"] for a in json.loads(out)["alarms"]] == ["Stick pulled."]


def test_alarms_as_a_process(config: Path) -> None:
    devices_heartbeat(config)
    done = process(config, "alarms", "ls", "--json")
    assert done.returncode == 0 and json.loads(done.stdout)[0]["key"] == "robot1-d0"
    done = process(config, "alarms", "ack", "1234")
    assert done.returncode == 1 and "there is no alarm 1234" in done.stderr


# --- device ---------------------------------------------------------------------------------


def test_device_ls_joins_the_configuration_and_the_heartbeat(config: Path) -> None:
    code, out = run(config, "device", "ls", "--json")
    robot, *printers = json.loads(out)
    assert code == 0 and robot["condition"] == "unknown (devices role not running)"
    assert [d["device"] for d in robot["devices"]] == ["robot", "drive 0", "drive 1"]
    assert [(p["name"], p["kind"], p["condition"]) for p in printers] == [
        ("paper", "paper", "unknown (devices role not running)"),
        ("film", "film", "unknown (devices role not running)"),
    ]

    devices_heartbeat(config)
    robot, *_ = json.loads(run(config, "device", "ls", "--json")[1])
    assert robot["condition"] == "waiting-operator"  # the worse of its two drive stations
    assert [s["station"] for s in robot["stations"]] == ["robot1-d0", "robot1-d1"]
    code, out = run(config, "device", "ls")
    assert code == 0 and "robot1-d1" in out and "robot idle, drive burning" in out


def test_device_show_names_a_station_or_one_of_its_drives(config: Path) -> None:
    devices_heartbeat(config)
    code, out = run(config, "device", "show", "robot1-d0")
    assert code == 0 and "Station    robot1 (robot)" in out and BIN_EMPTY in out
    code, out = run(config, "device", "show", "robot1", "--json")
    assert code == 0 and json.loads(out)["station_names"] == ["robot1-d0", "robot1-d1"]
    code, out = run(config, "device", "show", "printer9")
    assert code == 1 and "there is no device printer9" in out


def holds_of(config: Path) -> list[tuple[str, str]]:
    conn = connect(data_dir(config))
    try:
        return [tuple(r) for r in conn.execute("SELECT name, reason FROM station_holds")]
    finally:
        conn.close()


def test_device_pause_and_resume_a_drive_station_or_a_whole_station(config: Path) -> None:
    code, out = run(config, "device", "pause", "robot1-d0", "--reason", "new drive")
    assert code == 0 and "Paused robot1-d0" in out
    assert holds_of(config) == [("robot1-d0", "new drive")]
    code, out = run(config, "device", "pause", "robot1-d0")
    assert code == 1 and "robot1-d0 is already paused by" in out
    code, out = run(config, "device", "pause", "robot1")  # the whole robot: its other drive
    assert code == 0 and "Paused robot1-d1" in out and "robot1-d0," not in out
    code, out = run(config, "device", "resume", "robot1")
    assert code == 0 and "Resumed robot1-d0, robot1-d1" in out and holds_of(config) == []
    code, out = run(config, "device", "resume", "robot1-d0")
    assert code == 1 and "robot1-d0 is not paused; nothing was changed" in out
    for verb in ("pause", "resume"):
        code, out = run(config, "device", verb, "printer9")
        assert code == 1 and "there is no device printer9" in out
    assert holds_of(config) == []


def test_device_test_asks_the_simulated_robot_and_drives(config: Path) -> None:
    code, out = run(config, "device", "test", "robot1", "--json")
    result = json.loads(out)
    assert code == 0 and result["passed"]
    names = [c["check"] for c in result["checks"]]
    assert (
        names[0] == "open devices" and "drive 0 (sim://)" in names and "drive 1 (sim://)" in names
    )
    robot = next(c for c in result["checks"] if c["check"].startswith("robot"))
    assert "cover closed" in robot["detail"] and "error code 0" in robot["detail"]
    drive = next(c for c in result["checks"] if c["check"].startswith("drive 0"))
    assert drive["detail"].endswith("answers: no disc")  # asked, nothing burned or loaded


def test_device_test_asks_the_devices_role_and_gives_up_when_it_does_not_answer(
    config: Path,
) -> None:
    devices_heartbeat(config)  # a role that beats but never takes the request
    code, out = run(config, "device", "test", "robot1", "--wait", "0.5")
    assert code == 1 and "The devices role is running: it tests robot1" in out
    assert "did not take the test of robot1 within 0.5 s; nothing was tested" in out
    conn = connect(data_dir(config))
    try:
        assert [tuple(r) for r in conn.execute("SELECT device, state FROM device_tests")] == [
            ("robot1", "expired")  # never run later by a role that starts afterwards
        ]
    finally:
        conn.close()
    code, out = run(config, "device", "test", "robot1-d0")
    assert code == 1 and "one drive of a robot station" in out


PAPER_OUT = "The paper printer is out of paper: load paper; the job resumes by itself."


def printers_reported(config: Path) -> None:
    """The devices role's view of the printers: paper out of paper, one job waiting."""
    from appliance.printing.backend import OutputKind, PrinterReport, PrinterStatus
    from appliance.printing.queue import OutputState, PrintQueue

    conn = connect(data_dir(config))
    try:
        queue = PrintQueue(conn)
        report = PrinterReport(PrinterStatus.FAILURE, "PAPER OUT", "paper")
        now = time.time()
        queue.set_output(OutputState("paper", OutputKind.PAPER, report, "error", PAPER_OUT, now))
        report = PrinterReport(PrinterStatus.NORMAL, "NORMAL", "film")
        queue.set_output(OutputState("film", OutputKind.FILM, report, "idle", "", now))
        detail = {
            "devices": [],
            "problems": {},
            "printers": {"outputs": {"paper": {"job": 4}}, "problems": {}},
        }
        beat(conn, "devices", time.time(), detail)
    finally:
        conn.close()


def test_device_ls_and_show_list_the_printers(config: Path) -> None:
    printers_reported(config)
    _, paper, film = json.loads(run(config, "device", "ls", "--json")[1])
    assert paper["device"] == "printer" and paper["ae_title"] == "KILN_PAPER"
    assert (paper["condition"], paper["status"], paper["status_info"]) == (
        "failure", "FAILURE", "PAPER OUT"
    )  # fmt: skip
    assert paper["state"] == "error" and paper["message"] == PAPER_OUT
    assert paper["printing_job"] == 4 and paper["waiting"] == 0
    assert (film["condition"], film["kind"], film["state"]) == ("ready", "film", "idle")
    code, out = run(config, "device", "ls")
    assert code == 0 and "paper        paper   failure" in out
    assert "FAILURE PAPER OUT, device error, 0 job(s) waiting" in out and PAPER_OUT in out

    code, out = run(config, "device", "show", "paper")
    assert code == 0 and "Printer    paper (paper), AE title KILN_PAPER" in out
    assert "DICOM      Printer Status FAILURE, Info PAPER OUT" in out
    assert "Jobs       0 waiting, printing job 4" in out and PAPER_OUT in out
    code, out = run(config, "device", "show", "film", "--json")
    assert code == 0 and json.loads(out)["address"] == "sim://"
    code, out = run(config, "device", "show", "printer9")
    assert code == 1 and "printers: paper, film; and leds" in out


def test_device_test_on_a_printer_queues_a_test_print(config: Path) -> None:
    code, out = run(config, "device", "test", "paper", "--wait", "0", "--json")
    result = json.loads(out[out.index("{") :])
    assert code == 0 and result["passed"] and result["state"] == "queued"
    assert result["checks"][0]["detail"] == f"print job {result['print_job']} on paper (8INX10IN)"
    code, out = run(config, "print", "show", str(result["print_job"]), "--json")
    job = json.loads(out)
    assert (job["from"], job["to"], job["label"]) == ("KILN_TEST", "KILN_PAPER", "KILN TEST PRINT")
    # Nobody prints it (no devices role): waiting ends with the sentence, exit code 1.
    code, out = run(config, "device", "test", "film", "--wait", "0.5")
    assert code == 1 and "is still queued after 0.5 s; is the devices role running?" in out
    assert "Queued test print" in out and "queued (QUEUED)" in out  # the progress lines


def test_device_test_leds_without_leds_says_so(config: Path) -> None:
    text = config.read_text() + "\n[leds]\nenabled = false\n"
    config.write_text(text)
    code, out = run(config, "device", "test", "leds")
    assert code == 1 and "LEDs are not configured on this box" in out


def test_device_test_leds_lights_every_simulated_led(config: Path) -> None:
    config.write_text(config.read_text() + "\n[leds]\nlamp_test_seconds = 0.1\n")
    code, out = run(config, "device", "test", "leds")
    assert code == 0, out
    assert "every LED was lit for 0.1 s and turned off" in out
    # The fake LED class directory the simulator keeps ends with every LED off again.
    brightness = sorted(data_dir(config).glob("simulators/leds/**/brightness"))
    assert brightness and all(p.read_text().strip() == "0" for p in brightness)


def test_device_as_a_process(config: Path) -> None:
    done = process(config, "device", "ls", "--json")
    assert done.returncode == 0 and json.loads(done.stdout)[0]["name"] == "robot1"
    done = process(config, "device", "test", "robot1")
    assert done.returncode == 0 and done.stdout.endswith("robot1: every check passed.\n")


# --- diagnostics ----------------------------------------------------------------------------


def read_bundle(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as archive:
        return {
            m.name: archive.extractfile(m).read()  # type: ignore[union-attr]
            for m in archive.getmembers()
            if m.isfile()
        }


def test_the_support_bundle_holds_what_support_needs_and_no_secret(
    config: Path, tmp_path: Path
) -> None:
    logs = data_dir(config) / "logs"
    logs.mkdir()
    (logs / "web.log").write_text(f"INFO request with Bearer {TOKEN}\nINFO ok\n")
    devices_heartbeat(config)
    run(config, "alarms", "ls")  # one alarm in the database
    out = tmp_path / "bundle.tar.gz"
    code, text = run(config, "diagnostics", "--out", str(out))
    assert code == 0 and f"Support bundle written to {out}" in text

    members = read_bundle(out)
    names = {name.removeprefix("kiln-diagnostics/") for name in members}
    assert names == {
        "config.toml", "versions.json", "status.json", "devices.json", "jobs.json",
        "job_events.json", "alarms.json", "logs/web.log", "MANIFEST.txt",
    }  # fmt: skip
    everything = b"".join(members.values())
    assert TOKEN.encode() not in everything and SESSION.encode() not in everything
    assert b"SECRET" not in everything
    config_text = members["kiln-diagnostics/config.toml"].decode()
    assert 'api_token = "********"' in config_text and "Clinic North" in config_text
    versions = json.loads(members["kiln-diagnostics/versions.json"])
    assert versions["kiln"] and versions["pydicom"] == "3.0.2" and versions["kernel"]
    assert "python" in versions and "xorriso" in versions and "dcmtk" in versions
    alarms = json.loads(members["kiln-diagnostics/alarms.json"])
    assert alarms[0]["sentence"] == BIN_EMPTY
    devices = json.loads(members["kiln-diagnostics/devices.json"])
    assert devices[0]["condition"] == "waiting-operator"
    assert b"INFO ok" in members["kiln-diagnostics/logs/web.log"]


def test_diagnostics_never_overwrites(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "there.tar.gz"
    out.write_bytes(b"keep me")
    code, text = run(config, "diagnostics", "--out", str(out))
    assert code == 1 and "exists already; nothing was written" in text
    assert out.read_bytes() == b"keep me"
    assert list(tmp_path.glob(".there.tar.gz*")) == []


def test_diagnostics_as_a_process(config: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "appliance", "--config", str(config), "diagnostics"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,  # the default name lands in the working directory
        timeout=60,
    )
    (bundle,) = tmp_path.glob("kiln-diagnostics-Clinic-North-*.tar.gz")
    assert done.returncode == 0 and str(bundle.name) in done.stdout
    assert "kiln-diagnostics/status.json" in read_bundle(bundle)


def test_device_test_on_a_manual_and_a_ptburn_station(tmp_path: Path) -> None:
    path = tmp_path / "stations.toml"
    stations = {
        "desk": {"kind": "manual", "drives": [{"device": "sim://"}]},
        "pt": {"kind": "ptburn", "ptburn": {"poll_interval": 0.5}},
    }
    path.write_text(
        tomli_w.dumps(
            {"box": {"data_dir": str(tmp_path / "d")}, "publishing": {"stations": stations}}
        )
    )
    code, out = run(path, "device", "test", "desk")
    assert code == 0 and "answers: DVD+R blank" in out  # the simulated drive's blank disc
    code, out = run(path, "device", "test", "pt", "--json")
    checks = json.loads(out)["checks"]
    assert code == 0 and checks[-1]["detail"].startswith("PTBurn ")
    assert not any(c["check"].startswith("drive") for c in checks)  # the host's own drives


def test_device_test_while_the_devices_role_runs(config: Path) -> None:
    """The role holds the devices: it runs the self-test and the lamp test on them, and
    prints the test print; nothing is opened twice."""
    config.write_text(config.read_text() + "\n[leds]\nlamp_test_seconds = 0.2\n")
    log = (config.parent / "devices.log").open("wb")
    role = subprocess.Popen(
        [sys.executable, "-m", "appliance", "--config", str(config), "run", "--role", "devices"],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    try:

        def up() -> bool:
            code, out = run(config, "device", "ls", "--json")
            entries = json.loads(out) if code == 0 else []
            return bool(entries) and all(e["condition"] == "ready" for e in entries)

        deadline = time.monotonic() + 60
        while not up() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert up(), (config.parent / "devices.log").read_text()[-3000:]

        code, out = run(config, "device", "test", "robot1", "--json")
        result = json.loads(out[out.index("{") :])
        assert code == 0 and result["passed"], out
        checks = {c["check"]: c["detail"] for c in result["checks"]}
        assert checks["open devices"] == "2 station(s) held by the running devices role"
        assert "robot_state idle" in checks["status robot1-d0"]
        assert any(name.startswith("robot (") for name in checks)

        code, out = run(config, "device", "test", "leds")
        assert code == 0 and "every LED was lit for 0.2 s and went back to the box's state" in out

        code, out = run(config, "device", "test", "paper", "--json", "--wait", "60")
        result = json.loads(out[out.index("{") :])
        assert code == 0 and result["passed"] and result["state"] == "done", out
        assert "printed on paper" in result["checks"][-1]["detail"]
        assert "printing (PRINTING)" in out  # the progress lines (stderr)

        conn = connect(data_dir(config))
        try:
            found = conn.execute("SELECT device, state, passed FROM device_tests ORDER BY id")
            rows = [tuple(r) for r in found]
        finally:
            conn.close()
        assert rows == [("robot1", "done", 1), ("leds", "done", 1)]
    finally:
        role.send_signal(signal.SIGTERM)
        role.wait(60)
        log.close()
