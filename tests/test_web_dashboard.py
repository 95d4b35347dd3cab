"""The status page, its JSON API, the live stream, /metrics and the controls (login,
CSRF, audit), through FastAPI's test client on a migrated database."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from appliance.config.schema import KilnConfig
from appliance.db.database import connect, migrate
from appliance.media.copies import CopyType
from appliance.media.profiles import Medium
from appliance.publishing.job_states import DiscEvent, JobEvent
from appliance.publishing.jobs_store import DiscPlan, JobStore
from appliance.publishing.settings import PublishProfile
from appliance.roles.heartbeat import beat
from appliance.web.alarm_source import AlarmNotFound
from appliance.web.app import create_app
from appliance.web.models import Alarm
from appliance.web.users import UserStore

STUDY = "1.2.826.0.1.3680043.8.498.1"
SENTENCE = "Input bin empty — load blank discs in the left bin; the job resumes by itself."
TOKEN = "t0ken-for-programs"


@pytest.fixture
def box(tmp_path: Path) -> Path:
    migrate(tmp_path)
    conn = connect(tmp_path)
    conn.execute(
        "INSERT INTO studies (study_uid, patient_id, patient_name, study_description, "
        "first_received, last_received, state) VALUES (?, 'P1', 'DOE^JANE', 'CT HEAD', 1, 2, "
        "'complete')",
        (STUDY,),
    )
    store = JobStore(conn, time.time)
    job = store.create_job([STUDY], "patient", PublishProfile(), priority=5, origin="rule")
    [disc] = store.add_discs(job, [DiscPlan(0, 1, 1, CopyType.PATIENT, 1, Medium.CD, "STD-GEN-CD")])
    store.fire_job(job, JobEvent.PREPARE)
    store.fire_job(job, JobEvent.IMAGES_READY)
    store.fire_disc(disc, DiscEvent.IMAGE_BUILT)
    store.fire_disc(disc, DiscEvent.STARTED, station="robot-1")
    beat(
        conn,
        "devices",
        time.time(),
        {
            "devices": [
                {
                    "station": "robot-1",
                    "condition": "waiting-operator",
                    "sentence": SENTENCE,
                    "retry_at": None,
                    "disc": disc,
                    "step": "burning",
                    "fraction": 0.42,
                    "device": {
                        "robot_state": "input-empty",
                        "drive_state": "idle",
                        "alarm": SENTENCE,
                    },
                }
            ],
            "problems": {"ptburn": "Station ptburn could not be opened: no job folder."},
        },
    )
    UserStore(conn, time.time).add("alice", "password-1")
    conn.close()
    return tmp_path


def client(data_dir: Path, **options: object) -> TestClient:
    config = KilnConfig.model_validate(
        {"box": {"data_dir": data_dir}, "web": {"api_token": TOKEN, "session_secret": "x" * 32}}
    )
    if "public" in options:
        # [web] public_status is read with a default until the schema has the key
        config.web.__dict__["public_status"] = options.pop("public")
    return TestClient(create_app(config, lambda: connect(data_dir), **options))  # type: ignore[arg-type]


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def login(c: TestClient, password: str = "password-1") -> int:
    token = csrf_of(c.get("/login").text)
    answer = c.post(
        "/login",
        data={"name": "alice", "password": password, "csrf": token, "next": "/"},
        follow_redirects=False,
    )
    return int(answer.status_code)


def audit_rows(data_dir: Path) -> list[tuple[str, str, str, str]]:
    conn = sqlite3.connect(data_dir / "kiln.db")
    try:
        return conn.execute(
            "SELECT who, action, target, result FROM web_audit ORDER BY id"
        ).fetchall()
    finally:
        conn.close()


def finish_the_disc(data_dir: Path) -> None:
    """The station made the disc; its heartbeat (every 2 s) still says it is burning."""
    conn = connect(data_dir)
    store = JobStore(conn, time.time)
    store.fire_disc(1, DiscEvent.MADE)
    store.fire_job(1, JobEvent.ALL_DISCS_DONE)
    conn.close()


def test_a_made_disc_shows_a_full_bar_and_its_station_drops_it_before_the_next_beat(
    box: Path,
) -> None:
    c = client(box)
    before = c.get("/api/dashboard", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert before["jobs"][0]["discs"][0]["progress"] == 0.42  # burning: the station's fraction
    assert before["stations"][0]["step"] == "burning"
    finish_the_disc(box)
    after = c.get("/api/dashboard", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    (disc,) = after["jobs"][0]["discs"]
    assert (disc["state"], disc["progress"], disc["step"]) == ("done", 1.0, "")
    station = after["stations"][0]
    assert (station["disc"], station["step"], station["fraction"]) == (None, "", 0.0)
    html = c.get("/").text
    assert 'data-testid="disc-progress">100' in html.replace('value="1.0" ', "")
    assert 'value="1.0" data-testid="disc-progress"' in html
    assert 'data-testid="station-step"' not in html and 'data-testid="disc-step"' not in html
    device = c.get("/api/devices/robot-1", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert device["station"]["disc"] is None


def test_dashboard_shows_stations_jobs_studies_and_queues(box: Path) -> None:
    html = client(box).get("/").text
    for testid in (
        'data-testid="station-robot-1" data-condition="waiting-operator"',
        'data-testid="station-robot-state">robot state: input-empty',
        'data-testid="job-1" data-state="publishing"',
        'data-testid="disc-1" data-state="in-progress"',
        'data-testid="disc-progress">42%',
        f'data-testid="study-{STUDY}" data-state="complete"',
        'data-testid="count-studies">1<',
        'data-testid="alarm-station:robot-1"',
        'data-testid="service-dicom"',
        'data-testid="outbox-failed">0 failed',
    ):
        assert testid in html
    assert SENTENCE in html  # with its em dash, escaped nowhere
    assert "Station ptburn could not be opened" in html
    assert 'data-testid="job-retry"' not in html  # controls only for users


def test_study_job_and_device_pages(box: Path) -> None:
    c = client(box)
    study = c.get(f"/studies/{STUDY}")
    assert study.status_code == 200 and 'data-testid="study-patient">DOE^JANE (P1)' in study.text
    job = c.get("/jobs/1").text
    assert 'data-event="created"' in job and 'data-testid="disc-station">robot-1' in job
    device = c.get("/devices/robot-1").text
    assert 'data-testid="device-drive-state">idle' in device
    assert 'data-testid="transition"' in device  # its disc's state changes
    assert c.get("/jobs/7").status_code == 404
    assert c.get("/studies/not-a-uid").status_code == 400
    assert c.get("/devices/nothing").status_code == 404


def test_json_api_has_models_and_answers_bad_input_with_a_sentence(box: Path) -> None:
    c = client(box)
    dashboard = c.get("/api/dashboard").json()
    assert dashboard["stations"][0]["condition"] == "waiting-operator"
    assert dashboard["jobs"][0]["discs"][0]["progress"] == 0.42
    assert dashboard["alarms"][0]["sentence"] == SENTENCE
    job = c.get("/api/jobs/1").json()
    assert job["can_cancel"] and not job["can_retry"] and job["events"][0]["event"] == "created"
    assert [j["id"] for j in c.get("/api/jobs", params={"state": "done"}).json()] == []
    assert c.get("/api/devices/robot-1").json()["transitions"][0]["after"] == "in-progress"
    for path, status in (
        ("/api/jobs/0", 422),
        ("/api/jobs/99999999999999999999999", 422),
        ("/api/jobs/abc", 422),
        ("/api/jobs?state=burning", 422),
        ("/api/jobs?limit=-1", 422),
        ("/api/jobs/5", 404),
        ("/api/devices/nothing", 404),
    ):
        answer = c.get(path)
        assert answer.status_code == status, path
        assert isinstance(answer.json()["detail"], str)
    schema = c.get("/openapi.json").json()
    for path in ("/api/dashboard", "/api/jobs", "/api/jobs/{job_id}", "/api/burns", "/api/events"):
        assert path in schema["paths"]
    ok = schema["paths"]["/api/jobs/{job_id}"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["$ref"].endswith("/JobDetail")


def test_events_stream_a_snapshot_with_rendered_sections(box: Path) -> None:
    with client(box).stream("GET", "/api/events", params={"count": 1}) as answer:
        body = answer.read().decode()
    assert answer.headers["content-type"].startswith("text/event-stream")
    data = next(line for line in body.splitlines() if line.startswith("data: "))
    event = json.loads(data.removeprefix("data: "))
    assert event["status"]["stations"][0]["sentence"] == SENTENCE
    assert 'data-testid="job-1"' in event["html"]["jobs"]
    assert set(event["html"]) == {
        "alarms",
        "services",
        "stations",
        "jobs",
        "queues",
        "printers",
        "print_jobs",
        "studies",
    }


def test_metrics_in_prometheus_text_format(box: Path) -> None:
    answer = client(box).get("/metrics")
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = answer.text
    assert 'kiln_station_condition{station="robot-1",condition="waiting-operator"} 1' in text
    assert 'kiln_station_condition{station="robot-1",condition="ready"} 0' in text
    assert 'kiln_jobs{state="publishing"} 1' in text
    assert 'kiln_studies{state="complete"} 1' in text
    assert "kiln_instances 0" in text
    assert 'kiln_station_unavailable{station="ptburn"} 1' in text


def test_login_guards_every_control_and_each_action_is_audited(box: Path) -> None:
    c = client(box)
    assert c.post("/api/jobs/1/cancel").status_code == 401  # nobody logged in
    assert login(c, "wrong-password") == 401
    assert login(c) == 303
    assert 'data-testid="login-user">alice' in c.get("/").text
    assert c.post("/api/jobs/1/cancel").status_code == 403  # no CSRF token
    assert c.post("/api/jobs/1/cancel", headers={"X-CSRF-Token": "forged"}).status_code == 403
    token = csrf_of(c.get("/").text)
    answer = c.post("/jobs/1/cancel", data={"csrf": token, "back": "/"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/?done=")
    page = c.get(answer.headers["location"]).text
    assert 'data-testid="notice" data-result="done">Job 1 is cancelled' in page
    again = c.post("/api/jobs/1/cancel", headers={"X-CSRF-Token": token})
    assert (
        again.status_code == 409
        and "cancelled, so it cannot be cancelled" in again.json()["detail"]
    )
    assert audit_rows(box) == [
        ("alice", "login", "", "refused"),
        ("alice", "login", "", "done"),
        ("alice", "job-cancel", "job 1", "done"),
        ("alice", "job-cancel", "job 1", "refused"),
    ]


def test_pause_and_resume_a_station_by_form_and_api(box: Path) -> None:
    c = client(box)
    assert c.post("/api/devices/robot-1/pause").status_code == 401  # nobody logged in
    refused = c.post("/devices/robot-1/pause", data={"csrf": "x"}, follow_redirects=False)
    assert refused.status_code in (401, 403)
    assert 'data-testid="station-pause"' not in c.get("/").text  # controls only for users
    login(c)
    token = csrf_of(c.get("/devices/robot-1").text)
    assert 'data-testid="station-pause"' in c.get("/").text
    assert c.post("/api/devices/robot-1/pause").status_code == 403  # no CSRF token
    answer = c.post(
        "/devices/robot-1/pause",
        data={"csrf": token, "back": "/devices/robot-1", "reason": "drive swap"},
        follow_redirects=False,
    )
    assert answer.headers["location"].startswith("/devices/robot-1?done=")
    page = c.get(answer.headers["location"]).text
    assert 'data-testid="notice" data-result="done">Station robot-1 is paused' in page
    conn = connect(box)
    held = conn.execute("SELECT name, paused_by, reason FROM station_holds").fetchall()
    assert [tuple(r) for r in held] == [("robot-1", "alice", "drive swap")]
    header = {"X-CSRF-Token": token}
    again = c.post("/api/devices/robot-1/pause", json={"reason": "x"}, headers=header)
    assert again.status_code == 409 and "already paused" in again.json()["detail"]
    assert c.post("/api/devices/nothing/pause", headers=header).status_code == 404
    # The devices role reports it paused: the page offers Resume, and a pause is no alarm.
    beat(
        conn,
        "devices",
        time.time(),
        {
            "devices": [
                {
                    "station": "robot-1",
                    "condition": "paused",
                    "sentence": "Paused by alice.",
                    "disc": None,
                }
            ],
            "problems": {},
        },
    )
    conn.close()
    html = c.get("/").text
    assert 'data-testid="station-resume"' in html and "alarm-station:robot-1" not in html
    resumed = c.post("/api/devices/robot-1/resume", headers=header)
    assert resumed.status_code == 200
    assert resumed.json() == {
        "message": "Station robot-1 takes discs again.",
        "station": "robot-1",
        "paused": False,
    }
    assert c.post("/api/devices/robot-1/resume", headers=header).status_code == 409
    assert audit_rows(box) == [
        ("alice", "login", "", "done"),
        ("alice", "station-pause", "station robot-1", "done"),
        ("alice", "station-pause", "station robot-1", "refused"),
        ("alice", "station-pause", "station nothing", "refused"),
        ("alice", "station-resume", "station robot-1", "done"),
        ("alice", "station-resume", "station robot-1", "refused"),
    ]


def test_burn_by_form_and_by_api_token(box: Path) -> None:
    c = client(box)
    login(c)
    token = csrf_of(c.get("/").text)
    answer = c.post(
        "/burn", data={"csrf": token, "studies": STUDY, "back": "/"}, follow_redirects=False
    )
    assert answer.headers["location"].startswith("/jobs/2?done=")
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    made = client(box).post("/api/burns", json={"studies": [STUDY], "copies": 2}, headers=bearer)
    assert made.status_code == 201 and made.json()["job_id"] == 3
    refused = client(box).post("/api/burns", json={"studies": ["1.2.3"]}, headers=bearer)
    assert refused.status_code == 422 and "holds no study 1.2.3" in refused.json()["detail"]
    bad = client(box).post("/api/burns", json={"studies": ["../x"]}, headers=bearer)
    assert bad.status_code == 422 and "nothing was changed" in bad.json()["detail"]
    assert [r[1:] for r in audit_rows(box)[1:]] == [
        ("burn", f"job 2: {STUDY}", "done"),
        ("burn", f"job 3: {STUDY}", "done"),
        ("burn", "1.2.3", "refused"),
    ]
    assert audit_rows(box)[2][0] == "api-token"


def test_sessions_end_when_the_password_changes(box: Path) -> None:
    c = client(box)
    login(c)
    assert 'data-testid="login-user"' in c.get("/").text
    conn = connect(box)
    UserStore(conn, lambda: time.time() + 5).set_password("alice", "password-2")
    conn.close()
    assert 'data-testid="login-user"' not in c.get("/").text


def test_repeated_wrong_passwords_wait(box: Path) -> None:
    c = client(box)
    assert [login(c, "nope-nope") for _ in range(6)][-2:] == [401, 429]
    assert login(c) == 429  # even the right one, until the pause is over


def test_private_status_needs_a_login(box: Path) -> None:
    c = client(box, public=False)
    page = c.get("/", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/"
    assert c.get("/api/dashboard").status_code == 401
    assert c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    login(c)
    assert c.get("/api/dashboard").status_code == 200


class FakeAlarms:
    """What the alarms store will offer (appliance/alarms/ is not there yet)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def active(self) -> list[Alarm]:
        return [Alarm(id="7", source="robot-1", sentence=SENTENCE, can_acknowledge=True)]

    def acknowledge(self, alarm_id: str, who: str) -> str:
        if alarm_id != "7":
            raise AlarmNotFound(alarm_id)
        return f"Alarm {alarm_id} acknowledged by {who}."


def test_alarms_from_the_store_can_be_acknowledged(box: Path) -> None:
    c = client(box, alarms=FakeAlarms)
    login(c)
    html = c.get("/").text
    assert 'data-testid="alarm-ack"' in html
    token = csrf_of(html)
    assert c.post("/api/alarms/7/ack", headers={"X-CSRF-Token": token}).json()["message"] == (
        "Alarm 7 acknowledged by alice."
    )
    assert c.post("/api/alarms/8/ack", headers={"X-CSRF-Token": token}).status_code == 404
    assert audit_rows(box)[-2:] == [
        ("alice", "alarm-ack", "alarm 7", "done"),
        ("alice", "alarm-ack", "alarm 8", "refused"),
    ]
    # without the store, station alarms clear by themselves: nothing to acknowledge
    plain = client(box)
    login(plain)
    token = csrf_of(plain.get("/").text)
    assert (
        plain.post("/api/alarms/station:robot-1/ack", headers={"X-CSRF-Token": token}).status_code
        == 409
    )
