"""Where the page's alarms come from.

When the alarms store (appliance/alarms/) is wired in, `create_app(alarms=...)` gets a
factory that opens it on a connection: its active alarms are shown and can be
acknowledged. Until then the alarms are what the status report already says: each
station that is not ready with its sentence, each station that could not be opened, and
each role whose heartbeat has stopped. Those clear by themselves and cannot be
acknowledged.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Protocol

from appliance.web.models import Alarm, Role, Station


class AlarmNotFound(Exception):
    pass


class AlarmStore(Protocol):
    def active(self) -> list[Alarm]: ...

    def acknowledge(self, alarm_id: str, who: str) -> str:
        """Acknowledge; returns the sentence for the user, raises AlarmNotFound."""
        ...


AlarmsFactory = Callable[[sqlite3.Connection], AlarmStore]


def report_alarms(
    stations: list[Station], problems: dict[str, str], roles: list[Role]
) -> list[Alarm]:
    found = [
        Alarm(id=f"station:{s.station}", source=s.station, sentence=s.sentence)
        for s in stations
        if s.condition not in ("ready", "paused") and s.sentence  # a pause is no fault
    ]
    found += [
        Alarm(id=f"station:{name}", source=name, sentence=problem)
        for name, problem in sorted(problems.items())
    ]
    found += [
        Alarm(
            id=f"role:{r.role}",
            source=r.role,
            since=r.last_seen,
            sentence=f"The {r.role} role has stopped reporting; the box restarts it by itself "
            "— if this stays, run 'appliance status' and look at its log.",
        )
        for r in roles
        if not r.up
    ]
    return found
