"""Alarms: the store (raise once per fault, clear, acknowledge) and the sync from a report."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.alarms.store import (
    AlarmSource,
    AlarmStore,
    Severity,
    UnknownAlarm,
    active_alarms,
)
from appliance.alarms.sync import sync_alarms
from appliance.config.schema import KilnConfig
from appliance.db.database import connect, migrate
from appliance.status import collect

S, A = AlarmSource, Severity


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    migrate(tmp_path)
    connection = connect(tmp_path)
    yield connection
    connection.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_raising_an_active_alarm_again_is_the_same_alarm(conn: sqlite3.Connection) -> None:
    store = AlarmStore(conn, Clock())
    first, new = store.raise_alarm(S.STATION, "robot1-d0", A.ATTENTION, "Input bin empty.")
    again, new_again = store.raise_alarm(S.STATION, "robot1-d0", A.ATTENTION, "Input bin empty.")
    assert new and not new_again and again == first
    assert [a.id for a in store.active()] == [first.id]


def test_a_cleared_alarm_stays_as_history_and_comes_back_as_a_new_one(
    conn: sqlite3.Connection,
) -> None:
    store = AlarmStore(conn, Clock())
    first, _ = store.raise_alarm(S.DISK, "data", A.ERROR, "Disk below reserve.")
    cleared = store.clear(S.DISK, "data")
    assert cleared is not None and not cleared.active and cleared.cleared_at is not None
    assert store.clear(S.DISK, "data") is None  # nothing active any more
    second, new = store.raise_alarm(S.DISK, "data", A.ERROR, "Disk below reserve.")
    assert new and second.id != first.id
    assert [a.id for a in store.recent()] == [second.id, first.id]
    assert [a.id for a in store.active()] == [second.id]


def test_acknowledgement_is_kept_until_the_alarm_gets_worse(conn: sqlite3.Connection) -> None:
    store = AlarmStore(conn, Clock())
    alarm, _ = store.raise_alarm(S.OUTBOX, "failed", A.ATTENTION, "1 message failed.")
    acked, changed = store.acknowledge(alarm.id, "ines")
    assert changed and acked.acknowledged_by == "ines" and acked.acknowledged_at is not None
    again, changed_again = store.acknowledge(alarm.id, "otto")
    assert not changed_again and again.acknowledged_by == "ines"

    reworded, _ = store.raise_alarm(S.OUTBOX, "failed", A.ATTENTION, "2 messages failed.")
    assert reworded.sentence == "2 messages failed." and reworded.acknowledged_by == "ines"
    assert reworded.raised_at == alarm.raised_at

    worse, _ = store.raise_alarm(S.OUTBOX, "failed", A.ERROR, "2 messages failed.")
    assert worse.id == alarm.id and worse.severity is A.ERROR
    assert worse.acknowledged_at is None and worse.acknowledged_by == ""


def test_acknowledging_an_unknown_alarm_says_so(conn: sqlite3.Connection) -> None:
    with pytest.raises(UnknownAlarm) as raised:
        AlarmStore(conn).acknowledge(42, "ines")
    assert raised.value.alarm_id == 42


def test_active_lists_errors_first_then_oldest(conn: sqlite3.Connection) -> None:
    store = AlarmStore(conn, Clock())
    store.raise_alarm(S.STATION, "a", A.ATTENTION, "a")
    store.raise_alarm(S.STATION, "b", A.ERROR, "b")
    store.raise_alarm(S.STATION, "c", A.ATTENTION, "c")
    assert [a.key for a in store.active()] == ["b", "a", "c"]


def test_the_status_report_lists_active_alarms_and_none_before_the_migration(
    conn: sqlite3.Connection, tmp_path: Path
) -> None:
    AlarmStore(conn).raise_alarm(S.USB, "stick", A.ATTENTION, "Stick pulled.")
    report = collect(conn, KilnConfig.model_validate({"box": {"data_dir": str(tmp_path)}}))
    assert [a["sentence"] for a in report["alarms"]] == ["Stick pulled."]
    assert active_alarms(sqlite3.connect(":memory:")) == []


# --- sync -----------------------------------------------------------------------------------


def devices_role(up: bool = True, **detail: Any) -> dict[str, Any]:
    return {"pid": 1, "up": up, "since": 0.0, "last_seen": 1_700_000_000.0, **detail}


def report(**parts: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "roles": {"dicom": devices_role(), "web": devices_role()},
        "outbox": {"pending": 0, "sending": 0, "failed": 0, "sent": 0},
        "disk": {"total": 100, "free": 50, "reserve": 10},
    }
    base.update(parts)
    return base


def bad_report() -> dict[str, Any]:
    stations = [
        {"station": "robot1-d0", "condition": "waiting-operator", "sentence": "Input bin empty."},
        {"station": "robot1-d1", "condition": "ready", "sentence": ""},
        {"station": "desk", "condition": "out-of-service", "sentence": "", "device": {}},
        {
            "station": "pt",
            "condition": "retrying",
            "sentence": "",
            "device": {"alarm": {"code": 7, "sentence": "PTBurn busy."}},
        },
    ]
    roles = {
        "dicom": devices_role(up=False),
        "web": devices_role(),
        "devices": devices_role(devices=stations, problems={"ptb": "Station ptb cannot open."}),
    }
    return report(
        roles=roles,
        outbox={"pending": 0, "sending": 0, "failed": 3, "sent": 5},
        disk={"total": 100, "free": 5, "reserve": 10},
    )


def park_job(conn: sqlite3.Connection, state: str, message: str) -> int:
    cursor = conn.execute(
        "INSERT INTO jobs (profile, settings, priority, origin, state, message, created_at, "
        "updated_at) VALUES ('patient', '{}', 5, 'rule', ?, ?, 0, 0)",
        (state, message),
    )
    return int(cursor.lastrowid or 0)


def by_key(conn: sqlite3.Connection) -> dict[tuple[str, str], tuple[Severity, str]]:
    return {(a.source, a.key): (a.severity, a.sentence) for a in AlarmStore(conn).active()}


def test_sync_raises_an_alarm_for_every_fault_in_the_report(conn: sqlite3.Connection) -> None:
    job = park_job(conn, "parked", "disc 2 failed 4 times; run 'appliance jobs retry 1'.")
    park_job(conn, "done", "")
    result = sync_alarms(conn, bad_report())
    alarms = by_key(conn)
    assert alarms[("station", "robot1-d0")] == (A.ATTENTION, "Input bin empty.")
    assert ("station", "robot1-d1") not in alarms  # ready
    assert alarms[("station", "desk")][0] is A.ERROR
    assert "Station desk is out-of-service" in alarms[("station", "desk")][1]
    assert alarms[("station", "pt")] == (A.ATTENTION, "PTBurn busy.")
    assert alarms[("station", "ptb")] == (A.ERROR, "Station ptb cannot open.")
    assert alarms[("role", "dicom")][0] is A.ERROR
    assert "dicom role has not reported since 2023-11-14" in alarms[("role", "dicom")][1]
    assert ("role", "web") not in alarms
    assert alarms[("outbox", "failed")][1].startswith("3 outbound DICOM message(s)")
    assert "below the reserve" in alarms[("disk", "data")][1]
    assert alarms[("jobs", str(job))][1] == (
        f"Disc job {job} is parked: disc 2 failed 4 times; run 'appliance jobs retry 1'."
    )
    assert len(result.raised) == len(alarms) == 8 and not result.cleared


def test_sync_again_changes_nothing_and_a_healthy_report_clears_all_but_others_alarms(
    conn: sqlite3.Connection,
) -> None:
    job = park_job(conn, "failed", "")
    sync_alarms(conn, bad_report())
    usb, _ = AlarmStore(conn).raise_alarm(S.USB, "stick", A.ATTENTION, "Stick pulled.")
    again = sync_alarms(conn, bad_report())
    assert not again.raised and not again.cleared

    conn.execute("UPDATE jobs SET state = 'cancelled' WHERE id = ?", (job,))
    healthy = report(roles={**report()["roles"], "devices": devices_role(devices=[])})
    cleared = sync_alarms(conn, healthy)
    assert len(cleared.cleared) == 8 and not cleared.raised
    assert [a.id for a in AlarmStore(conn).active()] == [usb.id]  # not the sync's to clear


def test_station_alarms_stay_while_the_devices_role_is_silent_and_go_when_it_stopped(
    conn: sqlite3.Connection,
) -> None:
    sync_alarms(conn, bad_report())
    silent = bad_report()
    silent["roles"]["devices"] = devices_role(up=False, devices=[], problems={})
    sync_alarms(conn, silent)
    stations = {k for (source, k) in by_key(conn) if source == "station"}
    assert stations == {"robot1-d0", "desk", "pt", "ptb"}
    assert ("role", "devices") in by_key(conn)

    stopped = report()  # a role that stopped cleanly leaves no heartbeat row
    sync_alarms(conn, stopped)
    assert not any(source == "station" for source, _ in by_key(conn))


def test_a_reserve_of_zero_never_raises_the_disk_alarm(conn: sqlite3.Connection) -> None:
    sync_alarms(conn, report(disk={"total": 100, "free": 0, "reserve": 0}))
    assert by_key(conn) == {}


def test_two_connections_syncing_make_one_alarm_per_fault(
    conn: sqlite3.Connection, tmp_path: Path
) -> None:
    other = connect(tmp_path)
    sync_alarms(conn, bad_report())
    sync_alarms(other, bad_report())
    rows = conn.execute("SELECT count(*) FROM alarms").fetchone()[0]
    assert rows == 7  # no job rows here: one alarm per fault, not per caller
    other.close()


def test_alarm_times_come_from_the_clock(conn: sqlite3.Connection) -> None:
    before = time.time()
    alarm, _ = AlarmStore(conn).raise_alarm(S.LEDS, "panel", A.ERROR, "LED board silent.")
    assert before <= alarm.raised_at <= time.time()
    assert alarm.to_json()["severity"] == "error" and alarm.to_json()["active"] is True


def test_printer_faults_and_failed_print_jobs_are_alarms_until_they_are_over(
    conn: sqlite3.Connection,
) -> None:
    outputs = [
        {
            "output": "paper",
            "status": "FAILURE",
            "status_info": "SUPPLY EMPTY",
            "waiting": 2,
            "message": "Tray 1 is out of paper; load paper, the jobs go on by themselves.",
        },
        {
            "output": "film",
            "status": "WARNING",
            "status_info": "SUPPLY LOW",
            "waiting": 0,
            "message": "",
        },
        {
            "output": "lab",
            "status": "WARNING",
            "status_info": "PRINTER INIT",
            "waiting": 0,
            "message": "",
        },
    ]
    devices = {"roles": {**report()["roles"], "devices": devices_role(devices=[])}}
    conn.execute(
        "INSERT INTO print_jobs (job_uid, output, state, calling_ae, called_ae, films, images,"
        " copies, priority, medium, film_size, folder, message, created_at, updated_at) VALUES"
        " ('1.2', 'film', 'failed', 'MR', 'KILN_FILM', 1, 1, 1, 'MED', 'BLUE FILM', 'A4', 'x',"
        " 'The film printer does not take A4 film.', 0, 0)"
    )
    sync_alarms(conn, report(print={"outputs": outputs}, **devices))
    alarms = by_key(conn)
    assert alarms[("print", "output:paper")] == (
        A.ERROR,
        "Printer paper (FAILURE, SUPPLY EMPTY): Tray 1 is out of paper; load paper, the jobs "
        "go on by themselves. 2 print job(s) wait for it.",
    )
    assert alarms[("print", "output:film")] == (
        A.ATTENTION,
        "Printer film (WARNING, SUPPLY LOW): The film printer reports SUPPLY LOW.",
    )
    assert ("print", "output:lab") not in alarms  # just started: not a fault
    assert (
        "Print job 1 on film failed: The film printer does not take A4 film."
        in alarms[("print", "job:1")][1]
    )
    conn.execute("UPDATE print_jobs SET state = 'cancelled'")
    cleared = sync_alarms(conn, report(print={"outputs": []}, **devices))
    assert len(cleared.cleared) == 3 and not by_key(conn)
