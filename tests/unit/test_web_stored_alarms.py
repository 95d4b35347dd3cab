"""The page's alarms taken from the alarms store: listed with text ids, acknowledged once,
unknown ids refused the way the page expects."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.alarms.store import AlarmSource, AlarmStore, Severity
from appliance.db.database import connect, migrate
from appliance.web.alarm_source import AlarmNotFound
from appliance.web.stored_alarms import StoredAlarms


def test_alarms_are_listed_acknowledged_and_unknown_ids_refused(tmp_path: Path) -> None:
    migrate(tmp_path)
    conn = connect(tmp_path)
    alarm, _new = AlarmStore(conn).raise_alarm(
        AlarmSource.STATION, "robot1-d0", Severity.ATTENTION, "Input bin empty: load discs."
    )
    page = StoredAlarms(conn)
    [shown] = page.active()
    assert (shown.id, shown.sentence, shown.acknowledged, shown.can_acknowledge) == (
        str(alarm.id),
        "Input bin empty: load discs.",
        False,
        True,
    )
    assert "robot1-d0" in shown.source
    assert page.acknowledge(str(alarm.id), "anna").startswith(f"Alarm {alarm.id} acknowledged")
    assert page.active()[0].acknowledged
    assert "already acknowledged by anna" in page.acknowledge(str(alarm.id), "bob")
    for bad in ("999", "x1", ""):
        with pytest.raises(AlarmNotFound):
            page.acknowledge(bad, "anna")
