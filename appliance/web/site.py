"""What every router of the web app is given: config, database, signing key, clock,
templates. One per app (built by `create_app`), never a module global."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from appliance.config.schema import KilnConfig
from appliance.web.alarm_source import AlarmsFactory

HERE = Path(__file__).resolve().parent


def public_status(config: KilnConfig) -> bool:
    """[web] public_status: the read-only page needs no login (default, clinic LAN).

    Read with a default until the key is in the config schema.
    """
    return config.web.public_status


def template_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a misspelt name fails the test, not the page
    )
    return env


@dataclass
class Site:
    config: KilnConfig
    connect: Callable[[], sqlite3.Connection]
    key: bytes
    clock: Callable[[], float]
    public: bool
    alarms: AlarmsFactory | None
    templates: jinja2.Environment
    # login failures per user name: a few tries, then a pause (guessing passwords is slow)
    failures: dict[str, list[float]] = field(default_factory=dict)

    def db(self) -> Iterator[sqlite3.Connection]:
        """FastAPI dependency: one connection per request, closed after it."""
        conn = self.connect()
        try:
            yield conn
        finally:
            conn.close()
