"""The devices role: the job runner and the stations' devices live here.

It opens the stations of [publishing.stations] and the print outputs of [print.outputs]
(starting the simulators their `sim://` addresses ask for), runs the job runner
(completed studies -> rules -> jobs -> images -> discs) and the print runner (queued
films -> paper or film), and publishes the devices' state in its heartbeat for the status
page. A fault in a device never reaches the dicom role: they share only the database.
"""

from __future__ import annotations

import logging
import signal
import sqlite3
import threading
import time
from types import FrameType
from typing import TYPE_CHECKING

from appliance.config.schema import KilnConfig
from appliance.db.database import connect, migrate
from appliance.roles.heartbeat import beat, stopped
from appliance.roles.sd_notify import Notifier, notifier

if TYPE_CHECKING:
    from appliance.publishing.runner import JobRunner

log = logging.getLogger(__name__)
ROLE = "devices"
BEAT_SECONDS = 2.0


def run_devices_role(config: KilnConfig, notify: Notifier | None = None) -> int:
    from appliance.publishing.label_artwork import label_renderer
    from appliance.publishing.planner import MediaDefaults
    from appliance.publishing.runner import JobRunner
    from appliance.publishing.stations.factory import build_stations

    notify = notify or notifier()
    stop = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    data_dir = config.box.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    migrate(data_dir)
    conn = connect(data_dir)
    started = time.time()
    settings = config.publishing
    built = build_stations(settings.stations, data_dir)
    runner = JobRunner(
        lambda: connect(data_dir),
        built.stations,
        settings,
        MediaDefaults.from_config(config, settings),
        render_label=label_renderer(settings),
    )
    thread = threading.Thread(target=runner.run, args=(stop,), name="job-runner")
    thread.start()
    printing = _start_printing(config, stop)
    leds = _start_leds(config, stop)
    tester = _start_tester(config, stop, runner, built.problems, leds)
    burner = _start_test_burns(config, stop, runner, built.problems)
    log.info(
        "devices role up: %d station(s) %s",
        len(built.stations),
        ", ".join(s.name for s in built.stations),
    )
    notify.ready(f"{len(built.stations)} station(s); job runner started")
    try:
        while not stop.is_set():
            detail = {"devices": runner.status(), "problems": built.problems}
            if printing is not None:
                detail["printers"] = printing.status()
            if leds is not None:
                detail["leds"] = leds.view()
            beat(conn, ROLE, started, detail)
            _sync_alarms(conn, config)
            notify.ping()
            stop.wait(BEAT_SECONDS)
    finally:
        notify.stopping()
        stop.set()
        thread.join()
        tester.join()
        burner.join()  # a test disc being made is finished, as the runner's discs are
        if printing is not None:
            printing.close()
        if leds is not None:
            leds.close()
        runner.close()
        built.close()
        stopped(conn, ROLE)
        conn.close()
        log.info("stopped")
    return 0


class _Printing:
    """The print outputs (their simulators started) and the print runner's thread."""

    def __init__(self, config: KilnConfig, stop: threading.Event) -> None:
        from appliance.printing.outputs import open_outputs
        from appliance.printing.runner import PrintRunner

        data_dir = config.box.data_dir
        self.opened = open_outputs(config.print, data_dir, config.dicom.max_pdu)
        self.runner = PrintRunner(
            lambda: connect(data_dir), config.print, self.opened.outputs, data_dir
        )
        self.thread = threading.Thread(target=self.runner.run, args=(stop,), name="print-runner")
        self.thread.start()
        log.info(
            "print outputs up: %s",
            ", ".join(self.opened.outputs) or "none",
        )
        for name, problem in self.opened.problems.items():
            log.error("print output %s: %s", name, problem)

    def status(self) -> dict[str, object]:
        return {"outputs": self.runner.status(), "problems": self.opened.problems}

    def close(self) -> None:
        self.runner.wake.set()
        self.thread.join()
        self.runner.close()
        self.opened.close()


def _start_printing(config: KilnConfig, stop: threading.Event) -> _Printing | None:
    if not config.print.enabled or not config.print.outputs:
        return None
    return _Printing(config, stop)


def _start_tester(
    config: KilnConfig,
    stop: threading.Event,
    runner: JobRunner,
    problems: dict[str, str],
    leds: _Leds | None,
) -> threading.Thread:
    """`appliance device test NAME` while this role runs: the test runs here, on the devices
    this role holds (appliance/roles/device_tests.py)."""
    from appliance.cli.device_inventory import runtime_names
    from appliance.cli.device_selftest import LEDS, live_led_checks, live_station_checks
    from appliance.roles.device_tests import Check, Tester

    def run(_test_id: int, device: str) -> list[Check]:
        if device == LEDS:
            return live_led_checks(leds.service if leds else None, config)
        settings = config.publishing.stations.get(device)
        if settings is None:
            return [Check("open devices", False, f"there is no station {device} on this box")]
        stations = runner.stations_named(runtime_names(device, settings))
        return live_station_checks(device, settings, stations, problems.get(device))

    data_dir = config.box.data_dir
    tester = Tester(lambda: connect(data_dir), run)
    thread = threading.Thread(target=tester.serve, args=(stop,), name="device-tests")
    thread.start()
    return thread


def _start_test_burns(
    config: KilnConfig,
    stop: threading.Event,
    runner: JobRunner,
    problems: dict[str, str],
) -> threading.Thread:
    """`appliance device test-burn NAME` while this role runs: a test disc on a station
    borrowed from the job runner between discs (appliance/roles/test_burns.py)."""
    from appliance.roles.device_tests import Tester, TestKind
    from appliance.roles.test_burns import TestBurner

    data_dir = config.box.data_dir
    burner = TestBurner(config, runner, problems, lambda: connect(data_dir), stop)
    tester = Tester(lambda: connect(data_dir), burner, kind=TestKind.BURN)
    thread = threading.Thread(target=tester.serve, args=(stop,), name="test-burns")
    thread.start()
    return thread


def _sync_alarms(conn: sqlite3.Connection, config: KilnConfig) -> None:
    """Alarms follow the status (the web role does the same when this role is down)."""
    from appliance.alarms.sync import sync_alarms
    from appliance.status import collect

    try:
        sync_alarms(conn, collect(conn, config))
    except sqlite3.Error as error:  # busy or full: the next beat tries again
        log.warning("alarms not updated: %s", error)


class _Leds:
    """The front-panel LEDs' service and its thread (docs/leds.md)."""

    def __init__(self, config: KilnConfig, stop: threading.Event) -> None:
        from appliance.leds.factory import build_leds
        from appliance.leds.service import DatabaseStatus, LedService

        data_dir = config.box.data_dir
        self.built = build_leds(config.leds, data_dir, time.monotonic)
        self.status = DatabaseStatus(lambda: connect(data_dir), config)
        self.service = LedService(
            self.built.driver,
            self.status,
            config.leds.thresholds(),
            clock=time.monotonic,
            status_seconds=config.leds.status_seconds,
            retry_seconds=config.leds.retry_seconds,
            startup_grace_seconds=config.leds.startup_grace_seconds,
        )
        self.thread = threading.Thread(
            target=self.service.run, args=(stop, config.leds.tick_seconds), name="leds"
        )
        self.thread.start()

    def view(self) -> dict[str, object]:
        return {
            "state": self.service.state.value,
            "reasons": list(self.service.assessment.reasons),
            "problem": self.service.problem,
        }

    def close(self) -> None:
        self.thread.join()
        self.status.close()
        self.built.close()


def _start_leds(config: KilnConfig, stop: threading.Event) -> _Leds | None:
    from drivers.leds.errors import LedError

    if not config.leds.enabled:
        return None
    try:
        return _Leds(config, stop)
    except LedError as error:  # the box works without its LEDs; the log says why
        log.error("front-panel LEDs not available: %s", error)
        return None
