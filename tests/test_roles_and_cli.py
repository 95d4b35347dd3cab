"""The whole box: `appliance run` starts dicom, devices and web as separate processes;
the status API and the engineer's CLI report what was received; SIGTERM stops all."""

from __future__ import annotations

import json
import signal
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import Box, children, free_port, wait_for
from tests.dcmtk import storescu
from tests.dicomdata import write_series


def get_json(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as rsp:
        return json.loads(rsp.read())


def test_all_roles_status_and_cli(box_factory: Callable[..., Box], tmp_path: Path) -> None:
    box = box_factory(role="all")
    assert box.process is not None
    roles = children(box.process.pid, deep=False)
    assert len(roles) == 3  # dicom, devices and web are separate processes

    assert wait_for(
        lambda: (
            all(r["up"] for r in get_json(box.web_port, "/api/status")["roles"].values())
            and len(get_json(box.web_port, "/api/status")["roles"]) == 3
        ),
        30,
    )
    files = write_series(tmp_path / "in", 3)
    sent = storescu(box.port, files)
    assert sent.returncode == 0

    status = get_json(box.web_port, "/api/status")
    dicom = next(s for s in status["services"] if s["service"] == "dicom")
    assert dicom["listening"] and dicom["port"] == box.port and dicom["ae_titles"] == ["KILN"]
    assert status["counts"]["instances"] == 3 and status["counts"]["studies"] == 1

    listing = box.run_cli("studies", "ls", "--json")
    studies = json.loads(listing.stdout)
    assert len(studies) == 1 and studies[0]["instances"] == 3
    uid = studies[0]["study_uid"]
    shown = box.run_cli("studies", "show", uid)
    assert "Test^Patient" in shown.stdout and "3 instance(s)" in shown.stdout
    assert get_json(box.web_port, f"/api/studies/{uid}")["series"][0]["instances"][0]["size"] > 0
    assert wait_for(
        lambda: get_json(box.web_port, f"/api/studies/{uid}")["state"] == "complete", 30
    )

    text = box.run_cli("status").stdout
    assert "role dicom    up" in text and "instances 3" in text

    assert box.stop(signal.SIGTERM, timeout=60) == 0
    for pid in roles:
        assert (
            not Path(f"/proc/{pid}").exists()
            or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
        )


def test_api_refuses_hostile_uid_and_unknown_study(box_factory: Callable[..., Box]) -> None:
    box = box_factory(role="web")
    for path, code in (
        ("/api/studies/..%2F..%2Fetc", 404),
        ("/api/studies/1.2.3%2E%2E", 400),
        ("/api/studies/1.2.3.4", 404),
        ("/api/studies/1.2.abc", 400),
    ):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{box.web_port}{path}", timeout=10)
        except urllib.error.HTTPError as exc:
            assert exc.code == code, path
        else:
            raise AssertionError(f"{path} answered 200")


def test_echo_cli_reports_success_and_clear_errors(box: Box) -> None:
    ok = box.run_cli("echo", "127.0.0.1", str(box.port), "KILN")
    assert "success" in ok.stdout

    wrong = box.run_cli("echo", "127.0.0.1", str(box.port), "NOBODY", check=False)
    assert wrong.returncode == 1
    assert "rejected the association" in wrong.stderr

    closed = box.run_cli(
        "echo", "127.0.0.1", str(free_port()), "KILN", "--timeout", "3", check=False
    )
    assert closed.returncode == 1
    assert "connection refused" in closed.stderr


def test_echo_cli_times_out_on_a_silent_peer(box: Box) -> None:
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts TCP but never answers the association request
    port = silent.getsockname()[1]
    started = time.monotonic()
    result = box.run_cli("echo", "127.0.0.1", str(port), "KILN", "--timeout", "2", check=False)
    silent.close()
    assert result.returncode == 1
    assert time.monotonic() - started < 30
    assert "did not answer the association request in time" in result.stderr


def test_config_check_and_show(tmp_path: Path, box_factory: Callable[..., Box]) -> None:
    box = box_factory(start=False)
    good = box.run_cli("config", "check", str(box.config_path))
    assert "configuration is valid" in good.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("[dicom]\nportt = 104\n")
    result = box.run_cli("config", "check", str(bad), check=False)
    assert result.returncode == 2
    assert "[dicom] portt: unknown key; did you mean 'port'?" in result.stderr
    shown = box.run_cli("config", "show").stdout
    assert f"port = {box.port}" in shown and 'session_secret = "********"' in shown


def test_cli_without_database_says_what_to_do(box_factory: Callable[..., Box]) -> None:
    box = box_factory(start=False)
    result = box.run_cli("studies", "ls", check=False)
    assert result.returncode == 1
    assert "start the box with 'appliance run'" in result.stderr
