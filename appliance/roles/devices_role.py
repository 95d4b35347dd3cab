"""The devices role: the job runner and device state machines live here.

In this release it owns no device yet; it keeps its heartbeat so the status page shows
the process is up, and it consumes nothing from the study events (rules arrive with the
disc-publishing issue).
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


def run_devices_role(config: KilnConfig) -> int:
    stop = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    config.box.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(config.box.data_dir)
    conn = connect(config.box.data_dir)
    started = time.time()
    log.info("devices role up (no devices configured)")
    try:
        while not stop.is_set():
            beat(conn, ROLE, started, {"devices": []})
            stop.wait(2.0)
    finally:
        stopped(conn, ROLE)
        conn.close()
        log.info("stopped")
    return 0
