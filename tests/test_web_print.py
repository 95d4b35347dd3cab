"""The print server on the status page and its API: the Printers and Print jobs cards (live,
over the event stream), the print job page, /api/printers and /api/print/jobs, retry and
cancel (login and CSRF, or the API token; audited), the test print and /metrics, through
FastAPI's test client on a migrated database seeded through the print queue."""

from __future__ import annotations

import dataclasses
import json
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from appliance.config.schema import KilnConfig
from appliance.db.database import connect, migrate
from appliance.printing import sample_film
from appliance.printing.backend import OutputKind, PrinterReport, PrinterStatus
from appliance.printing.job_states import PrintJobEvent
from appliance.printing.queue import OutputState, PrintQueue
from appliance.printing.settings import MEDIUM_TYPES
from appliance.web.app import create_app
from appliance.web.users import UserStore

NO_FILM = "Out of film: load 14INX17IN film in tray 1; the box prints the queue by itself."
REFUSED = "The film printer refused the film; print it again from the modality."
TOKEN = "print-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
MODALITY = "MR_SCANNER"


def modality_film(called_ae: str, film_size: str, medium: str) -> Any:
    """A film from a modality (the test film's shape, another calling AE title)."""
    return dataclasses.replace(
        sample_film.test_print_request(called_ae, film_size, medium), calling_ae=MODALITY
    )


@pytest.fixture
def box(tmp_path: Path) -> Path:
    """Job 1 queued on film (from the MR), job 2 failed on film; the film printer reports
    FAILURE / NO FILM; the paper output has not reported yet."""
    migrate(tmp_path)
    conn = connect(tmp_path)
    queue = PrintQueue(conn)
    queue.add(modality_film("KILN_FILM", "14INX17IN", "BLUE FILM"), "film", "print/a", 2)
    failed = queue.add(modality_film("KILN_FILM", "8INX10IN", "CLEAR FILM"), "film", "print/b", 1)
    queue.change(failed, PrintJobEvent.START)
    queue.change(failed, PrintJobEvent.REFUSED, status_info="INVALID PAGE DES", message=REFUSED)
    queue.set_output(
        OutputState(
            "film",
            OutputKind.FILM,
            PrinterReport(PrinterStatus.FAILURE, "NO FILM", "film"),
            "out-of-film",
            NO_FILM,
            time.time(),
        )
    )
    UserStore(conn, time.time).add("alice", "password-1")
    conn.close()
    return tmp_path


def client(data_dir: Path, **print_settings: object) -> TestClient:
    config = KilnConfig.model_validate(
        {
            "box": {"data_dir": data_dir},
            "web": {"api_token": TOKEN, "session_secret": "p" * 32},
            **({"print": print_settings} if print_settings else {}),
        }
    )
    return TestClient(create_app(config, lambda: connect(data_dir)))


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def login(c: TestClient) -> str:
    token = csrf_of(c.get("/login").text)
    answer = c.post(
        "/login",
        data={"name": "alice", "password": "password-1", "csrf": token, "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    return csrf_of(c.get("/").text)


def audit_rows(data_dir: Path) -> list[tuple[str, str, str, str]]:
    conn = sqlite3.connect(data_dir / "kiln.db")
    try:
        return conn.execute(
            "SELECT who, action, target, result FROM web_audit WHERE action != 'login' ORDER BY id"
        ).fetchall()
    finally:
        conn.close()


def test_the_cards_show_each_printer_and_the_print_jobs(box: Path) -> None:
    html = client(box).get("/").text
    film = html[html.index('data-testid="printer-film"') :].split("</li>")[0]
    assert 'data-status="FAILURE" data-state="out-of-film"' in film
    for shown in (
        'data-testid="printer-kind">film',
        'data-testid="printer-ae">KILN_FILM',
        'data-testid="printer-status" title="Printer Status">FAILURE',
        'data-testid="printer-status-info" title="Printer Status Info">NO FILM',
        'data-testid="printer-state">device: out-of-film',
        'data-testid="printer-waiting">1 waiting',
        f'data-testid="printer-message">{NO_FILM}',
    ):
        assert shown in film, shown
    # Not reported yet: what a modality is told (WARNING, PRINTER INIT), and why.
    paper = html[html.index('data-testid="printer-paper"') :].split("</li>")[0]
    assert 'data-status="WARNING" data-state="unknown"' in paper
    assert "PRINTER INIT" in paper and "has not reported it yet" in paper
    queued = html[html.index('data-testid="print-job-1"') :].split("</tr>")[0]
    assert 'data-state="queued"' in queued and 'href="/print/1"' in queued
    for shown in (
        f'data-testid="print-job-from">{MODALITY}',
        'data-testid="print-job-output">film',
        'data-testid="print-job-size">14INX17IN',
        'data-testid="print-job-copies">2 copies',
        "1 film, 4 images",
    ):
        assert shown in queued, shown
    failed = html[html.index('data-testid="print-job-2"') :].split("</tr>")[0]
    assert 'data-state="failed"' in failed and REFUSED in failed and "INVALID PAGE DES" in failed
    assert 'data-testid="print-jobs-queued">1 queued' in html
    # Controls only for users.
    for control in ("print-job-retry", "print-job-cancel", "test-print"):
        assert f'data-testid="{control}' not in html


def test_the_cards_are_live_over_the_event_stream(box: Path) -> None:
    with client(box).stream("GET", "/api/events", params={"count": 1}) as answer:
        body = answer.read().decode()
    data = next(line for line in body.splitlines() if line.startswith("data: "))
    event = json.loads(data.removeprefix("data: "))
    assert 'data-testid="printer-film" data-status="FAILURE"' in event["html"]["printers"]
    assert 'data-testid="print-job-2" data-state="failed"' in event["html"]["print_jobs"]
    status = event["status"]
    assert status["printers"][1]["status_info"] == "NO FILM"
    assert [j["id"] for j in status["print_jobs"]] == [2, 1]
    assert status["print_jobs_by_state"] == {"queued": 1, "failed": 1}


def test_print_job_page_has_its_history(box: Path) -> None:
    c = client(box)
    page = c.get("/print/2")
    assert page.status_code == 200
    states = re.findall(r'data-testid="print-job-event" data-state="(\w+)"', page.text)
    assert states == ["queued", "printing", "failed"]
    assert 'data-testid="print-job-printer" class="bad">FAILURE, NO FILM' in page.text
    assert f'data-testid="print-job-from">{MODALITY} to KILN_FILM' in page.text
    missing = c.get("/print/99")
    assert missing.status_code == 404 and "There is no print job 99." in missing.text
    assert c.get("/print/0").status_code == 422


def test_json_api_lists_printers_and_jobs(box: Path) -> None:
    c = client(box)
    printers = {p["output"]: p for p in c.get("/api/printers").json()}
    assert printers["film"]["status"] == "FAILURE" and printers["film"]["waiting"] == 1
    assert printers["film"]["message"] == NO_FILM and printers["film"]["ae_title"] == "KILN_FILM"
    assert printers["paper"]["state"] == "unknown" and printers["paper"]["updated_at"] is None
    assert printers["paper"]["medium_types"] == list(MEDIUM_TYPES)  # film media too
    assert [j["id"] for j in c.get("/api/print/jobs").json()] == [2, 1]
    failed = c.get("/api/print/jobs", params={"state": "failed"}).json()
    assert [(j["id"], j["can_retry"], j["can_cancel"]) for j in failed] == [(2, True, False)]
    job = c.get("/api/print/jobs/1").json()
    assert job["calling_ae"] == MODALITY and job["can_cancel"] and not job["can_retry"]
    assert [e["state"] for e in job["events"]] == ["queued"]
    assert job["events"][0]["detail"] == f"from {MODALITY}"
    for path, status in (
        ("/api/print/jobs/99", 404),
        ("/api/print/jobs/0", 422),
        ("/api/print/jobs?state=printed", 422),
        ("/api/print/jobs?limit=0", 422),
    ):
        answer = c.get(path)
        assert answer.status_code == status, path
        assert isinstance(answer.json()["detail"], str)
    assert c.get("/api/print/jobs/99").json()["detail"] == "There is no print job 99."
    schema = c.get("/openapi.json").json()
    ok = schema["paths"]["/api/print/jobs/{job_id}"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["$ref"].endswith("/PrintJobDetail")


def test_retry_and_cancel_need_a_login_and_csrf_and_are_audited(box: Path) -> None:
    c = client(box)
    assert c.post("/api/print/jobs/1/cancel").status_code == 401  # nobody logged in
    refused = c.post("/print/1/cancel", data={"csrf": "x"}, follow_redirects=False)
    assert refused.status_code in (401, 403)
    token = login(c)
    html = c.get("/").text
    assert 'action="/print/1/cancel"' in html and 'action="/print/2/retry"' in html
    assert 'action="/print/1/retry"' not in html and 'action="/print/2/cancel"' not in html
    assert c.post("/api/print/jobs/1/cancel").status_code == 403  # no CSRF token
    forged = c.post("/api/print/jobs/1/cancel", headers={"X-CSRF-Token": "forged"})
    assert forged.status_code == 403
    answer = c.post("/print/1/cancel", data={"csrf": token, "back": "/"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/?done=")
    page = c.get(answer.headers["location"]).text
    assert 'data-testid="notice" data-result="done">Print job 1 is cancelled' in page
    header = {"X-CSRF-Token": token}
    again = c.post("/api/print/jobs/1/cancel", headers=header)
    assert again.status_code == 409
    assert again.json()["detail"] == (
        "Print job 1 is cancelled, so it cannot be cancelled; nothing was changed."
    )
    retried = c.post("/api/print/jobs/2/retry", headers=header)
    assert retried.status_code == 200
    assert retried.json() == {"message": "Print job 2 is queued again for film.", "print_job_id": 2}
    assert c.get("/api/print/jobs/2").json()["state"] == "queued"
    assert c.post("/api/print/jobs/2/retry", headers=header).status_code == 409
    missing = c.post("/api/print/jobs/99/retry", headers=header)
    assert missing.status_code == 404 and missing.json()["detail"] == "There is no print job 99."
    # The page's own form, back to the print job page with the sentence.
    form = c.post(
        "/print/1/retry", data={"csrf": token, "back": "/print/1"}, follow_redirects=False
    )
    assert form.headers["location"].startswith("/print/1?done=")
    assert "Print job 1 is queued again for film." in c.get(form.headers["location"]).text
    # A program with the API token.
    by_program = client(box).post("/api/print/jobs/2/cancel", headers=BEARER)
    assert by_program.status_code == 200
    conn = connect(box)
    events = PrintQueue(conn).events(2)
    conn.close()
    assert [e.state.value for e in events][-2:] == ["queued", "cancelled"]
    assert events[-2].detail == "alice: retried on the web page"
    assert audit_rows(box) == [
        ("alice", "print-cancel", "print job 1", "done"),
        ("alice", "print-cancel", "print job 1", "refused"),
        ("alice", "print-retry", "print job 2", "done"),
        ("alice", "print-retry", "print job 2", "refused"),
        ("alice", "print-retry", "print job 99", "refused"),
        ("alice", "print-retry", "print job 1", "done"),
        ("api-token", "print-cancel", "print job 2", "done"),
    ]


def test_a_user_queues_a_test_print_from_kiln_test(box: Path) -> None:
    c = client(box)
    assert c.post("/api/printers/paper/test").status_code == 401
    token = login(c)
    html = c.get("/").text
    form = html[html.index('data-testid="test-print-paper"') :].split("</form>")[0]
    assert 'action="/printers/paper/test" class="test-print" data-testid="test-print-paper"' in html
    assert '<option value="A3">A3</option>' in form
    answer = c.post(
        "/printers/paper/test",
        data={"csrf": token, "film_size": "A3", "back": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"].startswith("/print/3?done=")
    page = c.get(answer.headers["location"]).text
    assert 'data-result="done">Queued test print 3 on paper (A3)' in page
    job = c.get("/api/print/jobs/3").json()
    assert (job["calling_ae"], job["called_ae"], job["output"]) == (
        sample_film.TEST_AE,
        "KILN_PAPER",
        "paper",
    )
    assert (job["film_size"], job["medium"], job["state"], job["films"]) == (
        "A3",
        "PAPER",
        "queued",
        1,
    )
    conn = connect(box)
    folder = conn.execute("SELECT folder FROM print_jobs WHERE id = 3").fetchone()[0]
    conn.close()
    assert (box / folder).is_dir()  # stored like any modality's film, for the devices role
    # A film size the output does not print: refused with the sizes it takes, nothing queued.
    refused = c.post(
        "/printers/paper/test",
        data={"csrf": token, "film_size": "14INX36IN", "back": "/"},
        follow_redirects=False,
    )
    assert refused.headers["location"].startswith("/?done=")
    notice = c.get(refused.headers["location"]).text
    assert 'data-result="refused">The paper output does not print 14INX36IN' in notice
    header = {"X-CSRF-Token": token}
    assert c.post("/api/printers/nothing/test", headers=header).status_code == 404
    made = client(box).post("/api/printers/film/test", json={}, headers=BEARER)
    assert made.status_code == 201 and made.json()["print_job_id"] == 4
    assert c.get("/api/print/jobs/4").json()["film_size"] == "8INX10IN"  # the output's first
    bad = client(box).post("/api/printers/film/test", json={"film_size": "A9"}, headers=BEARER)
    assert bad.status_code == 422 and "Nothing was queued" in bad.json()["detail"]
    assert len(c.get("/api/print/jobs").json()) == 4
    assert audit_rows(box) == [
        ("alice", "test-print", "print job 3 on paper", "done"),
        ("alice", "test-print", "printer paper", "refused"),
        ("alice", "test-print", "printer nothing", "refused"),
        ("api-token", "test-print", "print job 4 on film", "done"),
        ("api-token", "test-print", "printer film", "refused"),
    ]


def test_no_test_print_while_printing_is_off(box: Path) -> None:
    c = client(box, enabled=False)
    token = login(c)
    html = c.get("/").text
    assert 'data-testid="print-off"' in html and 'data-testid="test-print"' not in html
    answer = c.post("/api/printers/paper/test", headers={"X-CSRF-Token": token})
    assert answer.status_code == 409 and "Printing is switched off" in answer.json()["detail"]


def test_metrics_count_print_jobs_and_each_printers_status(box: Path) -> None:
    text = client(box).get("/metrics").text
    for line in (
        "# TYPE kiln_print_jobs gauge",
        'kiln_print_jobs{state="queued"} 1',
        'kiln_print_jobs{state="failed"} 1',
        'kiln_print_jobs{state="done"} 0',
        "# TYPE kiln_printer_status gauge",
        'kiln_printer_status{output="film",status="FAILURE"} 1',
        'kiln_printer_status{output="film",status="NORMAL"} 0',
        'kiln_printer_status{output="paper",status="WARNING"} 1',
        'kiln_printer_waiting_jobs{output="film"} 1',
        'kiln_printer_waiting_jobs{output="paper"} 0',
    ):
        assert line in text.splitlines(), line
