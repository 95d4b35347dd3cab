"""The JSON API against its own OpenAPI description, with schemathesis.

Every operation in /openapi.json is called with generated requests (the app in process,
on a migrated database holding a study, a disc job, a station report, a user and an
alarm), as a program with the API token: no answer is a server error, and each status
code and body is one the description declares.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, checks
from schemathesis.core.result import Ok

from appliance.alarms.store import AlarmSource, AlarmStore, Severity
from appliance.config.schema import KilnConfig
from appliance.db.database import connect, migrate
from appliance.media.copies import CopyType
from appliance.media.profiles import Medium
from appliance.printing import sample_film
from appliance.printing.backend import OutputKind, PrinterReport, PrinterStatus
from appliance.printing.queue import OutputState, PrintQueue
from appliance.publishing.job_states import DiscEvent, JobEvent
from appliance.publishing.jobs_store import DiscPlan, JobStore
from appliance.publishing.settings import PublishProfile
from appliance.roles.heartbeat import beat
from appliance.web.app import create_app
from appliance.web.stored_alarms import StoredAlarms
from appliance.web.users import UserStore

STUDY = "1.2.826.0.1.3680043.8.498.7"
TOKEN = "schema-test-token"
EXAMPLES = 15  # per operation: the whole file runs in seconds
SENTENCE = "Input bin empty — load blank discs in the left bin; the job resumes by itself."


def box(data_dir: Path) -> None:
    """A box with one of everything the API shows."""
    migrate(data_dir)
    conn = connect(data_dir)
    conn.execute(
        "INSERT INTO studies (study_uid, patient_id, patient_name, study_description, "
        "first_received, last_received, state) VALUES (?, 'P1', 'DOE^JANE', 'CT HEAD', 1, 2, "
        "'complete')",
        (STUDY,),
    )
    store = JobStore(conn, time.time)
    job = store.create_job([STUDY], "patient", PublishProfile(), priority=5, origin="rule")
    [disc] = store.add_discs(job, [DiscPlan(0, 1, 1, CopyType.PATIENT, 1, Medium.CD, "STD-CD")])
    store.fire_job(job, JobEvent.PREPARE)
    store.fire_job(job, JobEvent.IMAGES_READY)
    store.fire_disc(disc, DiscEvent.IMAGE_BUILT)
    store.fire_disc(disc, DiscEvent.STARTED, station="robot1-d0")
    station = {
        "station": "robot1-d0",
        "condition": "waiting-operator",
        "sentence": SENTENCE,
        "retry_at": None,
        "disc": disc,
        "step": "picking",
        "fraction": 0.0,
        "device": {"robot_state": "input-empty", "drive_state": "empty", "alarm": SENTENCE},
    }
    printers = {
        "outputs": {
            "film": {
                "status": "FAILURE",
                "status_info": "NO FILM",
                "state": "out-of-film",
                "message": "",
                "job": None,
            }
        },
        "problems": {},
    }
    leds = {"state": "attention", "reasons": ["station robot1-d0 waits"], "problem": ""}
    detail = {"devices": [station], "problems": {}, "printers": printers, "leds": leds}
    beat(conn, "devices", time.time(), detail)
    upstream = {"ae_title": "RIS", "last_success": 0.0, "last_error": "refused", "items": 0}
    beat(conn, "dicom", time.time(), {"port": 104, "bind": "0.0.0.0", "ae_titles": ["KILN"],
                                       "workers": 2, "open_associations": 0,
                                       "upstream_worklist": upstream})  # fmt: skip
    conn.execute(
        "INSERT INTO activities (kind, pid, phase, detail, started_at, updated_at) "
        "VALUES ('usb-export', 1, 'writing', '3 instance(s)', ?, ?)",
        (time.time(), time.time() + 3600),
    )
    AlarmStore(conn).raise_alarm(AlarmSource.STATION, "robot1-d0", Severity.ATTENTION, SENTENCE)
    prints = PrintQueue(conn)
    prints.add(sample_film.test_print_request("KILN_FILM", "A4", "PAPER"), "film", "print/x", 1)
    report = PrinterReport(PrinterStatus.FAILURE, "NO FILM", "film")
    prints.set_output(OutputState("film", OutputKind.FILM, report, "out-of-film", "", time.time()))
    UserStore(conn, time.time).add("alice", "password-1")
    conn.close()


def make_app(data_dir: Path) -> FastAPI:
    config = KilnConfig.model_validate(
        {
            "box": {"data_dir": data_dir},
            "web": {"api_token": TOKEN, "session_secret": "k" * 48},
            "publishing": {"profiles": {"cd": {"media": "cd"}}},
        }
    )
    return create_app(config, lambda: connect(data_dir), alarms=StoredAlarms)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    data_dir = tmp_path_factory.mktemp("api-schema")
    box(data_dir)
    return make_app(data_dir)


# A schema-valid request may still be refused for what it means (a burn of a study the box
# does not hold, an empty worklist import): a 4xx the description lists, with a sentence.
MEANING_CHECKED = [checks.positive_data_acceptance]


def check(case: Case[Any]) -> None:
    if case.path == "/api/events":
        case.query = {**(case.query or {}), "count": 1}  # a stream: one snapshot, then end
    case.call_and_validate(
        headers={"Authorization": f"Bearer {TOKEN}"}, excluded_checks=MEANING_CHECKED
    )


def test_every_operation_answers_as_described_without_a_server_error(app: FastAPI) -> None:
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app)
    failed: dict[str, str] = {}
    tried = 0
    for result in loaded.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Case[Any]) -> None:
            check(case)

        tried += 1
        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # every operation is tried; all reported
            failed[operation.label] = f"{type(exc).__name__}: {exc}"[:3000]
    assert tried >= 18
    assert failed == {}, "\n\n".join(f"{k}\n{v}" for k, v in failed.items())


def test_status_and_studies_are_described_by_their_models(app: FastAPI) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(app)
    schema = client.get("/openapi.json").json()

    def answer(path: str) -> dict[str, Any]:
        content = schema["paths"][path]["get"]["responses"]["200"]["content"]
        found: dict[str, Any] = content["application/json"]["schema"]
        return found

    assert answer("/api/status") == {"$ref": "#/components/schemas/StatusReport"}
    assert answer("/api/studies")["items"] == {"$ref": "#/components/schemas/StudyListing"}
    report = schema["components"]["schemas"]["StatusReport"]
    assert {"roles", "services", "print", "alarms", "activities"} <= set(report["properties"])
    status = client.get("/api/status", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    devices = status["roles"]["devices"]
    assert devices["leds"]["state"] == "attention" and devices["devices"][0]["disc"] is not None
    assert status["roles"]["dicom"]["upstream_worklist"]["last_error"] == "refused"
    assert [a["phase"] for a in status["activities"]] == ["writing"]
    (study,) = client.get("/api/studies", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert study["study_uid"] == STUDY and study["modalities"] == ""


def test_the_description_lists_every_api_operation(app: FastAPI) -> None:
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = {
        (result.ok().method.upper(), result.ok().path)
        for result in loaded.get_all_operations()
        if isinstance(result, Ok)
    }
    for wanted in (
        ("GET", "/api/dashboard"),
        ("GET", "/api/events"),
        ("GET", "/api/jobs"),
        ("GET", "/api/jobs/{job_id}"),
        ("POST", "/api/jobs/{job_id}/retry"),
        ("POST", "/api/jobs/{job_id}/cancel"),
        ("POST", "/api/burns"),
        ("GET", "/api/devices"),
        ("GET", "/api/alarms"),
        ("POST", "/api/alarms/{alarm_id}/ack"),
        ("GET", "/api/status"),
        ("GET", "/api/studies"),
        ("GET", "/metrics"),
        ("GET", "/api/printers"),
        ("GET", "/api/print/jobs"),
        ("GET", "/api/print/jobs/{job_id}"),
        ("POST", "/api/print/jobs/{job_id}/retry"),
        ("POST", "/api/print/jobs/{job_id}/cancel"),
        ("POST", "/api/printers/{output}/test"),
    ):
        assert wanted in operations, sorted(operations)
