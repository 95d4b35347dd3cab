"""The page's alarms from the alarms store (appliance/alarms): active ones listed, each
one acknowledgeable. The store's numeric ids become the page's text ids."""

from __future__ import annotations

import sqlite3

from appliance.alarms.store import AlarmStore, UnknownAlarm
from appliance.web.alarm_source import AlarmNotFound
from appliance.web.models import Alarm


class StoredAlarms:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._store = AlarmStore(conn)

    def active(self) -> list[Alarm]:
        return [
            Alarm(
                id=str(alarm.id),
                source=f"{alarm.source} {alarm.key}".strip(),
                sentence=alarm.sentence,
                since=alarm.raised_at,
                acknowledged=alarm.acknowledged_at is not None,
                can_acknowledge=True,
            )
            for alarm in self._store.active()
        ]

    def acknowledge(self, alarm_id: str, who: str) -> str:
        if not alarm_id.isdigit():
            raise AlarmNotFound(alarm_id)
        try:
            alarm, changed = self._store.acknowledge(int(alarm_id), who)
        except UnknownAlarm:
            raise AlarmNotFound(alarm_id) from None
        if not changed:
            return f"Alarm {alarm.id} was already acknowledged by {alarm.acknowledged_by}."
        return f"Alarm {alarm.id} acknowledged: {alarm.sentence}"
