"""Test burns in the running devices role (`appliance device test-burn NAME` while the box
runs; the requests are device_tests.py's, of kind test-burn).

The role holds the stations, so the test disc is made on one it already has: it borrows
one of NAME's runtime stations from the job runner (`JobRunner.borrowed`). From the moment
it asks, none of them takes a new patient disc; a patient disc in progress is finished
first; the first station free makes the test disc (built by service_disc.py, as the CLI
builds it with the role stopped) and is given back at the end, after a failure too. The
outcome, a disc made or the station's sentence, is the request's one check.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from appliance.publishing.station import DiscFailed, DiscStep, StationFault
from appliance.roles import device_tests
from appliance.roles.device_tests import Check

if TYPE_CHECKING:
    from appliance.config.schema import KilnConfig
    from appliance.publishing.runner import JobRunner
    from appliance.publishing.stations.settings import StationSettings

log = logging.getLogger(__name__)
CHECK = "test disc"


def resolve(config: KilnConfig, name: str) -> tuple[str, StationSettings, list[str]] | None:
    """NAME as a configured station (all its runtime stations) or one runtime station
    (robot1-d1): (configured name, its settings, the runtime names); None if neither."""
    from appliance.cli.device_inventory import runtime_names

    stations = config.publishing.stations
    if name in stations:
        return name, stations[name], runtime_names(name, stations[name])
    for configured, settings in stations.items():
        if name in runtime_names(configured, settings):
            return configured, settings, [name]
    return None


class TestBurner:
    """`run(test_id, device)` for the test-burn Tester thread."""

    __test__ = False  # not a pytest class

    def __init__(
        self,
        config: KilnConfig,
        runner: JobRunner,
        problems: dict[str, str],
        connect: Callable[[], sqlite3.Connection],
        stop: threading.Event,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._runner = runner
        self._problems = problems
        self._connect = connect
        self._stop = stop
        self._clock = clock

    def __call__(self, test_id: int, device: str) -> list[Check]:
        found = resolve(self._config, device)
        if found is None:
            return [Check(CHECK, False, f"there is no station {device} on this box")]
        configured, settings, names = found
        if configured in self._problems:
            return [Check(CHECK, False, self._problems[configured])]
        conn = self._connect()
        try:
            return self._burn(conn, test_id, settings, names)
        finally:
            conn.close()

    def _burn(
        self,
        conn: sqlite3.Connection,
        test_id: int,
        settings: StationSettings,
        names: list[str],
    ) -> list[Check]:
        from appliance.media.profiles import Medium
        from appliance.publishing.service_disc import burn_test_disc
        from appliance.publishing.stations.factory import MEDIUM

        now = self._clock()
        withdrawn = [not device_tests.progress(conn, test_id, device_tests.WAITING, 0.0, now)]

        def give_up() -> bool:
            if not withdrawn[0]:  # the CLI expires it while it waits for a station
                state = device_tests.result(conn, test_id).state
                withdrawn[0] = state is not device_tests.TestState.RUNNING
            return withdrawn[0] or self._stop.is_set()

        with self._runner.borrowed(names, f"test burn {test_id}", give_up) as loan:
            started = loan is not None and device_tests.progress(
                conn, test_id, DiscStep.PICKING.value, 0.0, self._clock(), loan.station.name
            )
            if loan is None or not started:
                if withdrawn[0] or loan is not None:  # expired by the CLI: nobody reads it
                    log.info("test burn %d: withdrawn before its disc was started", test_id)
                    return [Check(CHECK, False, "withdrawn before the disc was started")]
                return [
                    Check(
                        CHECK,
                        False,
                        "the devices role stopped before a station was free for the test "
                        "disc: nothing was burned. Run the test again once the role runs.",
                    )
                ]
            station, show = loan.station, loan.progress
            log.info("test burn %d: a test disc on %s", test_id, station.name)
            last_step, last_fraction = "", -1.0

            def progress(step: DiscStep, fraction: float) -> None:
                nonlocal last_step, last_fraction
                show(step, fraction)
                if step.value != last_step or fraction - last_fraction >= 0.1 or fraction >= 1:
                    last_step, last_fraction = step.value, fraction
                    device_tests.progress(conn, test_id, step.value, fraction, self._clock())

            medium = MEDIUM[settings.media[0]] if settings.media else Medium.CD
            try:
                burn_test_disc(
                    station,
                    medium,
                    self._config.publishing.label,
                    self._config.box.data_dir,
                    progress,
                )
            except (DiscFailed, StationFault) as error:
                log.warning("test burn %d on %s failed: %s", test_id, station.name, error)
                return [Check(CHECK, False, f"{station.name}: the test disc failed: {error}")]
            return [
                Check(
                    CHECK,
                    True,
                    f"{station.name}: a test disc was burned, verified, labelled and unloaded.",
                )
            ]
