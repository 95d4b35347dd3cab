"""Device test requests (migrations 0010 and 0011): test burns beside self-tests, what the
CLI may withdraw, and what the devices role expires at its start."""

from __future__ import annotations

from pathlib import Path

from appliance.db.database import connect, migrate
from appliance.roles import device_tests as dt


def test_a_test_burn_may_be_withdrawn_until_its_disc_is_started(tmp_path: Path) -> None:
    migrate(tmp_path)
    conn = connect(tmp_path)
    try:
        selftest = dt.request(conn, "robot1", "anna", 100.0)
        burn = dt.request(conn, "robot1", "anna", 101.0, kind=dt.TestKind.BURN)
        # Each kind's thread takes only its own requests.
        assert dt.claim(conn, 102.0, dt.TestKind.BURN) == (burn, "robot1")
        assert dt.claim(conn, 102.0, dt.TestKind.BURN) is None
        assert dt.progress(conn, burn, dt.WAITING, 0.0, 103.0)
        assert dt.expire(conn, burn, 104.0)  # still waiting for a station: withdrawn
        assert not dt.progress(conn, burn, "picking", 0.0, 105.0, "robot1-d0")  # role gives up
        dt.finish(conn, burn, [dt.Check("test disc", False, "withdrawn")], 106.0)
        assert dt.result(conn, burn).state is dt.TestState.EXPIRED  # stays expired

        again = dt.request(conn, "robot1", "anna", 107.0, kind=dt.TestKind.BURN)
        assert dt.claim(conn, 108.0, dt.TestKind.BURN) == (again, "robot1")
        assert dt.progress(conn, again, "burning", 0.4, 109.0, "robot1-d0")
        assert not dt.expire(conn, again, 110.0)  # its disc is started: it is finished
        found = dt.result(conn, again)
        assert (found.kind, found.station, found.step, found.fraction) == (
            dt.TestKind.BURN,
            "robot1-d0",
            "burning",
            0.4,
        )
        # The role stopped mid-burn: at its next start the test-burn thread expires it,
        # and leaves the self-tests' requests to their own thread.
        assert dt.claim(conn, 111.0, dt.TestKind.TEST) == (selftest, "robot1")
        assert dt.expire_leftovers(conn, 112.0, dt.TestKind.BURN) == 1
        assert dt.result(conn, again).state is dt.TestState.EXPIRED
        assert dt.result(conn, selftest).state is dt.TestState.RUNNING
    finally:
        conn.close()
