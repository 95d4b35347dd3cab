"""The web role: uvicorn serving the FastAPI app."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

import uvicorn

from appliance.config.schema import KilnConfig
from appliance.db.database import connect, migrate
from appliance.roles.heartbeat import beat, stopped
from appliance.roles.sd_notify import Notifier, notifier
from appliance.roles.web_notify import NotifyingServer
from appliance.web.app import create_app
from appliance.web.stored_alarms import StoredAlarms

log = logging.getLogger(__name__)
ROLE = "web"


def run_web_role(config: KilnConfig, notify: Notifier | None = None) -> int:
    config.box.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(config.box.data_dir)
    done = threading.Event()
    started = time.time()

    def heartbeat() -> None:
        from appliance.alarms.sync import sync_alarms
        from appliance.status import collect

        conn = connect(config.box.data_dir)
        try:
            while not done.wait(2.0) or False:
                beat(conn, ROLE, started, {"port": config.web.port, "bind": config.web.bind})
                try:  # alarms stay current even while the devices role is down
                    sync_alarms(conn, collect(conn, config))
                except sqlite3.Error as error:
                    log.warning("alarms not updated: %s", error)
        finally:
            stopped(conn, ROLE)
            conn.close()

    conn = connect(config.box.data_dir)
    beat(conn, ROLE, started, {"port": config.web.port, "bind": config.web.bind})
    conn.close()
    thread = threading.Thread(target=heartbeat, name="heartbeat", daemon=True)
    thread.start()
    server = NotifyingServer(
        uvicorn.Config(
            create_app(config, lambda: connect(config.box.data_dir), alarms=StoredAlarms),
            host=config.web.bind,
            port=config.web.port,
            log_level=config.logging.level.lower(),
            access_log=False,
        ),
        notify or notifier(),
    )
    try:
        server.run()  # uvicorn handles SIGTERM/SIGINT by finishing requests and returning
    finally:
        done.set()
        thread.join(5)
    return 0
