"""The devices role: the job runner and the stations' devices live here.

It opens the stations of [publishing.stations] (starting the simulators their `sim://`
addresses ask for), runs the job runner (completed studies -> rules -> jobs -> images ->
discs) and publishes the stations' state in its heartbeat for the status page. A fault in
a device never reaches the dicom role: they share only the database.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from types import FrameType

from appliance.config.schema import KilnConfig
from appliance.db.database import connect, migrate
from appliance.roles.heartbeat import beat, stopped

log = logging.getLogger(__name__)
ROLE = "devices"
BEAT_SECONDS = 2.0


def run_devices_role(config: KilnConfig) -> int:
    from appliance.publishing.label_artwork import label_renderer
    from appliance.publishing.planner import MediaDefaults
    from appliance.publishing.runner import JobRunner
    from appliance.publishing.stations.factory import build_stations

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
    log.info(
        "devices role up: %d station(s) %s",
        len(built.stations),
        ", ".join(s.name for s in built.stations),
    )
    try:
        while not stop.is_set():
            beat(conn, ROLE, started, {"devices": runner.status(), "problems": built.problems})
            stop.wait(BEAT_SECONDS)
    finally:
        stop.set()
        thread.join()
        runner.close()
        built.close()
        stopped(conn, ROLE)
        conn.close()
        log.info("stopped")
    return 0
