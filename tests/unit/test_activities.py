"""Work outside the roles (a USB export in the CLI) in the status report and on the LEDs."""

from __future__ import annotations

import os
import time
from pathlib import Path

from appliance.activities import STALE_AFTER, USB_EXPORT, Activity, current
from appliance.config.schema import KilnConfig
from appliance.db.database import connect, migrate
from appliance.leds.policy import AggregateState, Thresholds, assess
from appliance.status import collect


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_activity_is_listed_while_it_runs_and_gone_after(tmp_path: Path) -> None:
    migrate(tmp_path)
    conn = connect(tmp_path)
    clock = Clock()
    with Activity(lambda: connect(tmp_path), USB_EXPORT, phase="preparing", clock=clock) as job:
        (seen,) = current(conn, clock.now)
        assert (seen["kind"], seen["phase"], seen["pid"]) == (USB_EXPORT, "preparing", os.getpid())
        clock.now += 1
        job.update("writing", 3, 9)
        (seen,) = current(conn, clock.now)
        assert (seen["phase"], seen["done"], seen["total"]) == ("writing", 3, 9)
        clock.now += 0.1
        job.update("writing", 4, 9)  # progress within WRITE_EVERY: not written
        assert current(conn, clock.now)[0]["done"] == 3
        job.update("verifying", 0, 9)  # a new phase: written at once
        assert current(conn, clock.now)[0]["phase"] == "verifying"
    assert current(conn, clock.now) == []
    assert conn.execute("SELECT count(*) FROM activities").fetchone()[0] == 0
    conn.close()


def test_a_process_that_died_leaves_a_row_nobody_shows(tmp_path: Path) -> None:
    migrate(tmp_path)
    conn = connect(tmp_path)
    conn.execute(
        "INSERT INTO activities (kind, pid, phase, started_at, updated_at) "
        "VALUES ('usb-export', 99999, 'writing', 100, 100)"
    )
    assert current(conn, 100 + STALE_AFTER - 1) != []
    assert current(conn, 100 + STALE_AFTER + 1) == []
    conn.close()


def test_the_activity_is_refreshed_while_a_long_step_runs(tmp_path: Path) -> None:
    migrate(tmp_path)
    conn = connect(tmp_path)
    clock = Clock()
    with Activity(lambda: connect(tmp_path), USB_EXPORT, clock=clock, refresh_seconds=0.05):
        clock.now += STALE_AFTER * 3  # a long file: no progress callback meanwhile
        deadline = time.monotonic() + 5
        while not current(conn, clock.now) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert current(conn, clock.now) != []  # the refresh thread kept it alive
    conn.close()


def test_a_usb_export_lights_the_activity_led(tmp_path: Path) -> None:
    config = KilnConfig.model_validate({"box": {"data_dir": str(tmp_path)}})
    migrate(tmp_path)
    conn = connect(tmp_path)
    roles = Thresholds(roles=())  # no role runs in this test
    assert assess(collect(conn, config), roles).state is AggregateState.READY
    with Activity(lambda: connect(tmp_path), USB_EXPORT, phase="absent") as job:
        assert assess(collect(conn, config), roles).state is AggregateState.READY  # waiting
        job.update("writing", 1, 4)
        result = assess(collect(conn, config), roles)
        assert result.state is AggregateState.ACTIVITY
        assert result.reasons == ("a USB export is writing",)
    assert assess(collect(conn, config), roles).state is AggregateState.READY
    conn.close()
