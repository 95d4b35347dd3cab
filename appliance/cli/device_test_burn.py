"""`appliance device test-burn NAME`: one real disc through a station, with no patient on it.

The disc holds a file-set of one synthetic Secondary Capture ("KILN^TEST DISC"), a DICOMDIR
and a label, and goes the whole way a patient disc goes: picked, burned, verified,
labelled, unloaded (a manual station burns and ejects). It shows a field engineer that
robot, drives and printer work together, without a job in the queue.

While the devices role runs it holds the stations: the CLI hands the test burn to it (a
request row, appliance/roles/test_burns.py), which makes the disc on a station borrowed
from its job runner between patient discs, and follows it with a line per step. While the
role is stopped the CLI opens the station itself. NAME is a configured station (the first
of its runtime stations that is free) or one runtime station (robot1-d1).
"""

from __future__ import annotations

import sqlite3
import sys
import time
from dataclasses import dataclass

import click

from appliance.cli.context import Context, emit_json, pass_ctx
from appliance.media.profiles import Medium
from appliance.publishing.station import DiscFailed, DiscStep, StationFault
from appliance.roles.device_tests import Check, TestKind, TestResult, TestState


@dataclass(frozen=True)
class Outcome:
    station: str
    check: Check
    request: int | None = None


@click.command("test-burn")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--wait",
    type=click.FloatRange(0, 86400),
    default=900,
    show_default=True,
    help="While the devices role runs: seconds to follow the test disc (a patient disc "
    "in progress is finished first).",
)
@pass_ctx
def device_test_burn(obj: Context, name: str, as_json: bool, wait: float) -> None:
    """Burn, verify and label one test disc (no patient data) on station NAME."""
    from appliance.cli.device_cmds import _report
    from appliance.roles.test_burns import resolve

    if resolve(obj.config, name) is None:
        known = ", ".join(obj.config.publishing.stations) or "none"
        raise click.ClickException(f"there is no station {name} (stations: {known})")
    report = _report(obj)
    if report and (report["roles"].get("devices") or {}).get("up"):
        outcome = _burn_in_role(obj, name, wait)
    else:
        outcome = _burn_here(obj, name)
    if as_json:
        emit_json(
            {
                "device": name,
                "station": outcome.station,
                "passed": outcome.check.passed,
                "request": outcome.request,
                "checks": [outcome.check.to_json()],
            }
        )
        if not outcome.check.passed:
            raise SystemExit(1)
        return
    if not outcome.check.passed:
        raise click.ClickException(outcome.check.detail)
    click.echo(outcome.check.detail)


def _burn_here(obj: Context, name: str) -> Outcome:
    """The devices role is stopped: open the station here."""
    from appliance.publishing.service_disc import burn_test_disc, overall
    from appliance.publishing.stations.factory import MEDIUM, build_stations
    from appliance.roles.test_burns import CHECK, resolve

    found = resolve(obj.config, name)
    assert found is not None
    configured, settings, names = found
    data_dir = obj.config.box.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    medium = MEDIUM[settings.media[0]] if settings.media else Medium.CD
    built = build_stations({configured: settings}, data_dir)
    try:
        if configured in built.problems:
            raise click.ClickException(built.problems[configured])
        station = next(s for s in built.stations if s.name in names)
        station.recover()
        with click.progressbar(length=100, label="Test disc", file=sys.stderr) as bar:

            def progress(step: DiscStep, fraction: float) -> None:
                bar.update(max(0, int(overall(step, fraction) * 100) - bar.pos))

            burn_test_disc(station, medium, obj.config.publishing.label, data_dir, progress)
    except (DiscFailed, StationFault) as error:
        return Outcome(station.name, Check(CHECK, False, f"the test disc failed: {error}"))
    finally:
        built.close()
    sentence = f"{station.name}: a test disc was burned, verified, labelled and unloaded."
    return Outcome(station.name, Check(CHECK, True, sentence))


def _line(name: str, found: TestResult) -> str:
    """A progress line: what the request is doing now."""
    from appliance.roles.device_tests import WAITING

    if found.state is TestState.QUEUED:
        return "  queued for the devices role"
    if found.step == WAITING:
        return f"  waiting for a station of {name} (a patient disc in progress is finished first)"
    if found.state is TestState.RUNNING and found.step:
        return f"  {found.station} {found.step} {int(found.fraction * 10) * 10}%"
    return ""


def _burn_in_role(obj: Context, name: str, wait: float) -> Outcome:
    """The devices role runs and holds the stations: it burns the test disc."""
    from appliance.cli.alarms_cmds import operator_name
    from appliance.roles import device_tests
    from appliance.roles.test_burns import CHECK

    conn = obj.db()
    try:
        test_id = device_tests.request(conn, name, operator_name(), time.time(), kind=TestKind.BURN)
        click.echo(
            f"The devices role is running: it burns the test disc on {name} (request {test_id}).",
            err=True,
        )
        deadline = time.monotonic() + max(wait, 1.0)
        shown = ""
        while True:
            found = device_tests.result(conn, test_id)
            line = _line(name, found)
            if line and line != shown:
                click.echo(line, err=True)
                shown = line
            if found.state is TestState.DONE:
                [check] = found.checks or [Check(CHECK, False, "the role recorded no outcome")]
                return Outcome(found.station, check, test_id)
            if found.state is TestState.EXPIRED:
                raise click.ClickException(
                    f"the devices role stopped while it had the test burn of {name} (request "
                    f"{test_id}); a disc it had started goes to the reject bin at its next "
                    "start. Run the test again once it runs"
                )
            if time.monotonic() >= deadline:
                _give_up(conn, name, wait, found)  # raises, unless it just ended
            else:
                time.sleep(device_tests.LOOK_SECONDS)
    finally:
        conn.close()


def _give_up(conn: sqlite3.Connection, name: str, wait: float, found: TestResult) -> None:
    """--wait ran out: withdraw the request if its disc was not started, and say so.
    Returns (for one more look) only when the request ended meanwhile."""
    from appliance.roles import device_tests

    if device_tests.expire(conn, found.id, time.time()):
        if found.state is TestState.QUEUED:
            raise click.ClickException(
                f"the devices role did not take the test burn of {name} within {wait:g} s; "
                "nothing was burned. Check that it runs ('appliance status') and try again"
            )
        raise click.ClickException(
            f"no station of {name} was free for the test disc within {wait:g} s (patient "
            "discs come first); nothing was burned. Try again later, or with a longer --wait"
        )
    if device_tests.result(conn, found.id).state is not TestState.RUNNING:
        return
    raise click.ClickException(
        f"the test disc on {found.station or name} is still being made (request {found.id}, "
        f"{found.step or 'starting'}) after {wait:g} s; the devices role finishes it. "
        f"'appliance device show {name}' shows it"
    )
