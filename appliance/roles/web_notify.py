"""uvicorn that tells systemd when it serves and that its event loop still turns.

READY=1 goes on the first tick of uvicorn's main loop, which starts only after the
application's start-up ran and the listening socket is bound. WATCHDOG=1 goes from the
same loop, so a stuck event loop (not just a live thread) lets the watchdog fire.
"""

from __future__ import annotations

import socket

import uvicorn

from appliance.roles.sd_notify import Notifier

PING_TICKS = 10  # uvicorn ticks every 0.1 s: a ping a second


class NotifyingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, notify: Notifier) -> None:
        super().__init__(config)
        self.notify = notify

    async def on_tick(self, counter: int) -> bool:
        if counter % PING_TICKS == 0:
            self.notify.ready(f"serving http on {self.config.host}:{self.config.port}")
            self.notify.ping()
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.notify.stopping()
        await super().shutdown(sockets)
