"""Tier 7: the status page in a real headless Chromium, against a running box.

One box runs every role (`appliance run --role all`) with a simulated robot and drive; its
rule sends studies called to KILN_CD to the CD profile. DCMTK storescu sends the studies.
The browser watches the dashboard follow a burn job from the queue to done without a
reload (per-disc progress on a slowed drive), sees an injected drive fault become an alarm
that says what to do and go away after recovery, sees a paper printer out of paper (a
fault injected into the box's private cupsd) on the printers card and the card clear
after the fix, finds no control while logged out and
has every control refused, logs in through the form as a user `appliance users add` made,
retries, cancels and acknowledges (each in the audit trail on /audit), and checks that every
page fits a phone's width and loads nothing from another host. Each page's screenshot is
saved in docs/screenshots/.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from drivers.optical import simulator as drive_sim
from tests.browser import (
    DESK,
    PHONE,
    chromium,
    find,
    foreign_urls,
    horizontal_overflow,
    js,
    post_json_status,
    post_status,
    present,
    resize,
    screenshot,
    until,
)
from tests.conftest import APPLIANCE, ROOT, Box, free_port, wait_for, write_config
from tests.publishing_chain import (
    BURN_AE,
    PLAIN_AE,
    Sent,
    chain_overrides,
    completed,
    jobs_for,
    make_study,
    send,
)

TOKEN = "browser-test-token"
USER, PASSWORD = "nurse", "correct horse battery"
STATION = "robot1-d0"
BUSY = "Another program is using drive robot1-d0."
BUSY_ADVICE = "Close programs that use the drive"

# The job's row as the page shows it right now (the live sections are replaced as a whole,
# so the page is read with one script rather than through elements that go stale).
JOB_ROW = """
const row = document.querySelector('[data-testid="job-' + arguments[0] + '"]');
if (!row) { return null; }
const discs = [...row.querySelectorAll('.disc[data-state]')].map(d => {
  const bar = d.querySelector('[data-testid="disc-progress"]');
  const step = d.querySelector('[data-testid="disc-step"]');
  return {state: d.dataset.state, step: step ? step.textContent : "",
          progress: bar ? Number(bar.getAttribute("value")) : null};
});
return {state: row.dataset.state, done: row.querySelector('[data-testid="job-discs-done"]')
        .textContent, discs: discs,
        retry: !!row.querySelector('[data-testid="job-retry"]'),
        cancel: !!row.querySelector('[data-testid="job-cancel"]')};
"""
ALARMS = """
return [...document.querySelectorAll('[data-testid="alarms"] [data-alarm]')].map(a => ({
  id: a.dataset.alarm,
  source: a.querySelector('[data-testid="alarm-source"]').textContent,
  sentence: a.querySelector('[data-testid="alarm-sentence"]').textContent,
  ack: !!a.querySelector('[data-testid="alarm-ack"]'),
  acknowledged: !!a.querySelector('[data-testid="alarm-acknowledged"]')}));
"""


# -- the box, the browser ------------------------------------------------------------------


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    root = tmp_path_factory.mktemp("web-browser")
    port, web_port = free_port(), free_port()
    overrides = chain_overrides(drives=1, idle_seconds=1.0)
    overrides["web"] = {"api_token": TOKEN, "session_secret": "s" * 48}
    # The default box's printers; the paper queue stopped by a fault is enabled again
    # every 4 s (the timed way out), so a cleared fault is over within seconds.
    overrides["print"] = {
        "outputs": {
            "paper": {"ae_title": "KILN_PAPER", "kind": "paper", "retry_seconds": 4},
            "film": {"ae_title": "KILN_FILM", "kind": "film"},
        }
    }  # fmt: skip
    box = Box(root, port, web_port, write_config(root, port, web_port, overrides))
    box.start("all")
    try:
        assert wait_for(lambda: (drive_dir(box) / drive_sim.STATE_FILE).exists(), 30), box.log()
        yield box
    finally:
        if box.process is not None and box.process.poll() is None:
            box.stop(signal.SIGTERM, timeout=60)


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    driver = chromium(DESK)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def desk(browser: webdriver.Chrome) -> webdriver.Chrome:
    """The browser at desk size, logged out (no cookie)."""
    resize(browser, DESK)
    browser.delete_all_cookies()
    return browser


def drive_dir(box: Box) -> Path:
    return box.data_dir / "simulators" / "robot1" / "drive0"


def url(box: Box, path: str) -> str:
    return f"http://127.0.0.1:{box.web_port}{path}"


def api(box: Box, path: str, body: object | None = None) -> Any:
    """The JSON API as a program uses it (the bearer token)."""
    request = urllib.request.Request(
        url(box, path),
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=15) as answer:
        return json.loads(answer.read())


def receive(box: Box, folder: Path, called_ae: str, **study: int) -> Sent:
    sent = make_study(folder, **study)
    send(box, sent, called_ae)
    assert wait_for(lambda: completed(box, sent.study_uid), 30), box.log()
    return sent


def job_of(box: Box, study_uid: str) -> int:
    def found() -> list[int]:
        with box.db() as conn:
            return jobs_for(conn, study_uid)

    assert wait_for(found, 30), box.log()
    return found()[0]


def stored_files(box: Box, study_uid: str) -> list[Path]:
    """The study's files in the box's storage (the database keeps their paths)."""
    with box.db() as conn:
        rows = conn.execute("SELECT path FROM instances WHERE study_uid = ?", (study_uid,))
        paths = [Path(str(r[0])) for r in rows]
    found = [p if p.is_absolute() else box.data_dir / p for p in paths]
    assert found and all(p.is_file() for p in found), paths
    return found


def job_state(box: Box, job_id: int) -> str:
    return str(api(box, f"/api/jobs/{job_id}")["state"])


def open_dashboard(driver: webdriver.Chrome, box: Box) -> None:
    driver.get(url(box, "/"))
    until(driver, lambda d: find(d, "live-indicator").get_attribute("data-live") == "on", 15)
    js(driver, "window.kilnSamePage = 'yes'")  # gone if the page were reloaded


def still_same_page(driver: webdriver.Chrome) -> bool:
    return bool(js(driver, "return window.kilnSamePage === 'yes'"))


def log_in(driver: webdriver.Chrome, box: Box, password: str = PASSWORD) -> None:
    driver.get(url(box, "/login"))
    find(driver, "login-name").send_keys(USER)
    find(driver, "login-password").send_keys(password)
    find(driver, "login-submit").click()


def add_user(box: Box) -> None:
    """`appliance users add` as a field engineer runs it on the box."""
    listed = box.run_cli("users", "ls", "--json").stdout
    if USER in listed:
        return
    done = subprocess.run(
        [*APPLIANCE, "--config", str(box.config_path), "users", "add", USER, "--password-stdin"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert USER in box.run_cli("users", "ls", "--json").stdout


# -- 1. a burn job from the queue to done, live ---------------------------------------------


def test_the_dashboard_follows_a_burn_job_to_done_without_a_reload(
    box: Box, desk: webdriver.Chrome, tmp_path: Path
) -> None:
    drive_sim.set_speed(drive_dir(box), 600_000)  # ~4 MB: the burn and the check take seconds
    try:
        open_dashboard(desk, box)
        sent = receive(box, tmp_path, BURN_AE, count=8, size=512)
        job_id = job_of(box, sent.study_uid)

        seen: list[dict[str, Any]] = []

        def done(driver: webdriver.Chrome) -> bool:
            row = js(driver, JOB_ROW, job_id)
            if row is not None and (not seen or row != seen[-1]):
                seen.append(row)
            return row is not None and row["state"] == "done"

        until(desk, done, 90)
    finally:
        drive_sim.set_speed(drive_dir(box), 0)
    states = [row["state"] for row in seen]
    discs = [row["discs"][0] for row in seen if row["discs"]]
    fractions = [d["progress"] for d in discs if d["state"] == "in-progress" and d["progress"]]
    assert {"publishing", "done"} <= set(states), seen
    assert states[-1] == "done" and states.index("publishing") < states.index("done")
    assert set(states) <= {"queued", "preparing", "publishing", "done"}, seen
    steps = [d["step"] for d in discs if d["state"] == "in-progress"]
    assert "burning" in steps and "verifying" in steps, seen
    assert any(0 < f < 1 for f in fractions), seen  # per-disc progress while it burns
    assert seen[-1]["discs"][0]["state"] == "done" and seen[-1]["done"] == "1 of 1"
    assert not seen[-1]["retry"] and not seen[-1]["cancel"]  # logged out: no controls
    assert still_same_page(desk)  # the page was updated in place, never reloaded
    assert js(desk, "return performance.getEntriesByType('navigation').length") == 1
    study = js(desk, "return document.querySelector(arguments[0]).dataset.state",
               f'[data-testid="study-{sent.study_uid}"]')  # fmt: skip
    assert study == "complete"
    assert foreign_urls(desk) == []

    desk.get(url(box, f"/devices/{STATION}"))
    assert find(desk, "device").get_attribute("data-condition") == "ready"
    assert present(desk, "transition"), desk.page_source[:2000]
    screenshot(desk, "device")


# -- 2. an injected fault: an alarm that says what to do, gone after recovery -------------


def test_a_drive_fault_becomes_an_alarm_with_its_instruction_and_clears_after_recovery(
    box: Box, desk: webdriver.Chrome, tmp_path: Path
) -> None:
    open_dashboard(desk, box)
    assert present(desk, "alarms-none")
    drive_sim.inject(drive_dir(box), drive_sim.SimFault.BUSY)  # as if a desktop held the drive
    try:
        sent = receive(box, tmp_path, BURN_AE, count=2)
        job_id = job_of(box, sent.study_uid)

        def busy_alarm(driver: webdriver.Chrome) -> dict[str, Any] | None:
            return next((a for a in js(driver, ALARMS) if BUSY in a["sentence"]), None)

        alarm = until(desk, busy_alarm, 45)
        assert alarm is not None
    finally:
        drive_sim.clear_faults(drive_dir(box))  # the operator closed the other program
    assert alarm["source"] == f"station {STATION}"
    assert BUSY_ADVICE in alarm["sentence"], alarm  # what to do, in plain words
    assert not alarm["ack"]  # logged out: seen, but not acknowledgeable
    station = find(desk, f"station-{STATION}")
    assert station.get_attribute("data-condition") == "retrying"
    assert BUSY in find(desk, "station-sentence").text
    assert job_state(box, job_id) == "publishing"
    screenshot(desk, "dashboard-desk")  # the alarm, the waiting station, the job

    # Recovery: the station tries again by itself, the disc is made, the alarm goes.
    until(desk, lambda d: (js(d, JOB_ROW, job_id) or {}).get("state") == "done", 75)
    until(desk, lambda d: bool(present(d, "alarms-none")), 20)
    until(
        desk,
        lambda d: find(d, f"station-{STATION}").get_attribute("data-condition") == "ready",
        20,
    )
    assert still_same_page(desk)
    assert api(box, "/api/alarms") == []


# -- 3. a printer fault on the printers card, gone after the fix --------------------------

PRINTER = """
const card = document.querySelector('[data-testid="printer-' + arguments[0] + '"]');
if (!card) { return null; }
const message = card.querySelector('[data-testid="printer-message"]');
return {status: card.dataset.status, state: card.dataset.state,
        info: card.querySelector('[data-testid="printer-status-info"]').textContent,
        message: message ? message.textContent : ""};
"""


def private_cupsd(box: Box, *command: str) -> None:
    """The operator at the paper printer: the fault injected into (or cleared from) the
    box's private cupsd from outside, as a field engineer would."""
    root = box.data_dir / "simulators" / "print-paper-cups" / "paper"
    assert root.is_dir(), sorted(box.data_dir.glob("simulators/*"))
    done = subprocess.run(
        [sys.executable, "-m", "drivers.cups_printer.private_cupsd", str(root),
         "--queue", "paper", *command],
        capture_output=True, text=True, cwd=ROOT, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_paper_printer_fault_shows_on_the_printers_card_and_clears_after_the_fix(
    box: Box, desk: webdriver.Chrome
) -> None:
    open_dashboard(desk, box)
    ready = until(desk, lambda d: (js(d, PRINTER, "paper") or {}).get("status") == "NORMAL", 30)
    assert ready
    private_cupsd(box, "inject", "paper_out")
    try:
        sent = box.run_cli("printer", "test", "paper")
        assert sent.returncode == 0 and "Queued test print" in sent.stdout, sent.stderr
        job_id = int(sent.stdout.split("Queued test print ", 1)[1].split()[0])

        def paper_out(driver: webdriver.Chrome) -> dict[str, str] | None:
            card = js(driver, PRINTER, "paper")
            return card if card and card["status"] == "FAILURE" else None

        fault = until(desk, paper_out, 60)
        assert fault is not None
        assert fault["info"] == "EMPTY A4 PAPR", fault  # the DICOM term for the tray's paper
        assert "Paper printer paper reports EMPTY A4 PAPR" in fault["message"], fault
        assert "load paper" in fault["message"]  # what to do, in plain words
        screenshot(desk, "dashboard-printer-fault")
    finally:
        private_cupsd(box, "clear")  # paper loaded
    # The box enables the stopped queue after retry_seconds: the film prints, the card clears.
    until(desk, lambda d: (js(d, PRINTER, "paper") or {}).get("status") == "NORMAL", 60)
    assert wait_for(lambda: api(box, f"/api/print/jobs/{job_id}")["state"] == "done", 60), api(
        box, f"/api/print/jobs/{job_id}"
    )
    until(desk, lambda d: not (js(d, PRINTER, "paper") or {}).get("message"), 30)
    assert still_same_page(desk)
    # The job's own page: done, with its history from queued through the paper-out wait.
    desk.get(url(box, f"/print/{job_id}"))
    assert find(desk, "print-job-state").text == "done"
    assert "KILN_TEST to KILN_PAPER" in find(desk, "print-job-from").text
    history = desk.find_element(By.TAG_NAME, "body").text
    assert "Paper printer paper reports EMPTY A4 PAPR" in history  # the wait, in the history
    screenshot(desk, "print-job")


# -- 4. the login guards every control; a user retries, cancels and acknowledges -------------


def test_controls_need_a_login_and_each_is_audited(
    box: Box, desk: webdriver.Chrome, tmp_path: Path
) -> None:
    # Two studies whose files went missing after they arrived: their jobs fail.
    kept = receive(box, tmp_path / "kept", PLAIN_AE, count=2)
    lost = receive(box, tmp_path / "lost", PLAIN_AE, count=2)
    stored = stored_files(box, kept.study_uid)
    for path in stored:
        path.rename(path.with_name(path.name + ".away"))
    retried = int(api(box, "/api/burns", {"studies": [kept.study_uid], "profile": "cd"})["job_id"])

    # Logged out: no control on any page, and each one refused when posted anyway.
    open_dashboard(desk, box)
    for name in ("burn-form", "job-retry", "job-cancel", "alarm-ack", "logout", "nav-audit"):
        assert not present(desk, name), name
    assert present(desk, "login-link")
    for target, body in (
        (f"/jobs/{retried}/retry", {"csrf": "x", "back": "/"}),
        (f"/jobs/{retried}/cancel", {"csrf": "x", "back": "/"}),
        ("/alarms/1/ack", {"csrf": "x", "back": "/"}),
        ("/burn", {"csrf": "x", "studies": lost.study_uid}),
        (f"/api/jobs/{retried}/retry", {}),
        (f"/api/jobs/{retried}/cancel", {}),
        ("/api/alarms/1/ack", {}),
    ):
        assert post_status(desk, target, body) == 401, target
    assert post_json_status(desk, "/api/burns", {"studies": [lost.study_uid]}) == 401
    desk.get(url(box, "/audit"))
    assert find(desk, "error").get_attribute("data-status") == "401"
    desk.get(url(box, f"/jobs/{retried}"))
    assert not present(desk, "job-retry") and not present(desk, "job-cancel")
    desk.get(url(box, f"/studies/{lost.study_uid}"))
    assert not present(desk, "study-burn-form")

    # A user made with `appliance users add` logs in through the form.
    add_user(box)
    log_in(desk, box, password="not the password")
    # The form's answer is a new page: wait for it (clicking returns before it loads).
    refused = until(desk, lambda d: present(d, "login-error"), 15)
    assert "Wrong name or password" in refused[0].text
    find(desk, "login-name").clear()
    screenshot(desk, "login")
    log_in(desk, box)
    until(desk, lambda d: bool(present(d, "login-user")), 10)
    assert find(desk, "login-user").text == USER

    # A forged request (no CSRF token) is refused even with the user's cookie.
    assert post_status(desk, f"/jobs/{retried}/cancel", {"back": "/"}) == 403
    assert post_status(desk, f"/api/jobs/{retried}/cancel") == 403

    # Burn: the study page's button queues a job for the study whose files are gone.
    for path in stored_files(box, lost.study_uid):
        path.rename(path.with_name(path.name + ".away"))
    desk.get(url(box, f"/studies/{lost.study_uid}"))
    Select(find(desk, "burn-profile")).select_by_value("cd")
    screenshot(desk, "study")
    find(desk, "burn-submit").click()
    until(desk, lambda d: bool(present(d, "notice")), 10)
    assert find(desk, "notice").get_attribute("data-result") == "done"
    cancelled = int(desk.current_url.rsplit("/jobs/", 1)[1].split("?")[0])
    assert cancelled != retried

    # Both jobs fail (their files are missing); each raises an alarm a user can acknowledge.
    open_dashboard(desk, box)

    def failed(driver: webdriver.Chrome) -> bool:
        rows = [js(driver, JOB_ROW, j) or {} for j in (retried, cancelled)]
        return all(r.get("state") == "failed" for r in rows)

    until(desk, failed, 45)
    row = js(desk, JOB_ROW, retried)
    assert row["retry"] and row["cancel"], row

    def job_alarm(driver: webdriver.Chrome) -> dict[str, Any] | None:
        return next((a for a in js(driver, ALARMS) if a["source"] == f"jobs {retried}"), None)

    alarm = until(desk, job_alarm, 20)
    assert alarm is not None
    assert alarm["ack"] and not alarm["acknowledged"], alarm
    assert f"Disc job {retried} is failed" in alarm["sentence"]
    desk.find_element(
        "css selector", f'[data-alarm="{alarm["id"]}"] [data-testid="alarm-ack"]'
    ).click()
    until(desk, lambda d: bool(present(d, "notice")), 10)
    assert find(desk, "notice").get_attribute("data-result") == "done"
    assert f"Alarm {alarm['id']} acknowledged" in find(desk, "notice").text
    acknowledged = until(desk, job_alarm, 10)
    assert acknowledged is not None
    assert acknowledged["acknowledged"] and not acknowledged["ack"], acknowledged

    # Cancel the other job from its page.
    desk.get(url(box, f"/jobs/{cancelled}"))
    find(desk, "job-cancel").click()
    until(desk, lambda d: bool(present(d, "notice")), 10)
    assert find(desk, "notice").get_attribute("data-result") == "done"
    assert find(desk, "job-state").text == "cancelled"
    assert not present(desk, "job-cancel") and not present(desk, "job-retry")

    # The files are back: retry from the dashboard; the job is made and its alarm clears.
    for path in stored:
        path.with_name(path.name + ".away").rename(path)
    open_dashboard(desk, box)
    desk.find_element(
        "css selector", f'[data-testid="job-{retried}"] [data-testid="job-retry"]'
    ).click()
    until(desk, lambda d: bool(present(d, "notice")), 10)
    assert find(desk, "notice").get_attribute("data-result") == "done"
    open_dashboard(desk, box)
    until(desk, lambda d: (js(d, JOB_ROW, retried) or {}).get("state") == "done", 60)
    until(desk, lambda d: job_alarm(d) is None, 20)
    assert still_same_page(desk)

    desk.get(url(box, f"/jobs/{retried}"))
    events = [e.get_attribute("data-event") for e in present(desk, "job-event")]
    assert "retry" in events and "all-discs-done" in events, events
    screenshot(desk, "job")

    # Every action is in the audit trail, under the user's name.
    desk.get(url(box, "/audit"))
    rows = {
        (r.get_attribute("data-action"), r.get_attribute("data-result"))
        for r in present(desk, "audit-row")
    }
    for action in ("login", "burn", "alarm-ack", "job-cancel", "job-retry"):
        assert (action, "done") in rows, rows
    assert ("login", "refused") in rows
    assert ("job-cancel", "refused") not in rows  # refused before the action: no user
    text = find(desk, "audit").text
    assert f"job {cancelled}" in text and f"job {retried}" in text and USER in text
    screenshot(desk, "audit")


# -- 5. every page on a phone; nothing from another host -----------------------------------


def test_every_page_fits_a_phone_and_loads_nothing_from_another_host(
    box: Box, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    browser.delete_all_cookies()
    resize(browser, PHONE)
    sent = receive(box, tmp_path, PLAIN_AE, count=2)
    job_id = int(api(box, "/api/burns", {"studies": [sent.study_uid], "profile": "cd"})["job_id"])
    assert wait_for(lambda: job_state(box, job_id) == "done", 60), api(box, f"/api/jobs/{job_id}")
    add_user(box)
    log_in(browser, box)
    until(browser, lambda d: bool(present(d, "login-user")), 10)
    pages = ["/", f"/studies/{sent.study_uid}", f"/jobs/{job_id}", f"/devices/{STATION}",
             "/audit", "/login"]  # fmt: skip
    for path in pages:
        browser.get(url(box, path))
        assert js(browser, "return window.innerWidth") == PHONE[0], path
        assert horizontal_overflow(browser) <= 0, path
        assert foreign_urls(browser) == [], path
        assert not present(browser, "error"), path
    browser.get(url(box, "/"))
    until(browser, lambda d: find(d, "live-indicator").get_attribute("data-live") == "on", 15)
    assert horizontal_overflow(browser) <= 0
    screenshot(browser, "dashboard-phone", PHONE)
