"""`appliance device ls/show/test/pause/resume`: the box's devices, their states, a
self-test, and pausing a station (it takes no new disc until resumed)."""

from __future__ import annotations

from typing import Any

import click

from appliance.cli.context import Context, emit_json, pass_ctx
from appliance.cli.device_inventory import inventory, states


def _report(obj: Context) -> dict[str, Any] | None:
    """The status report, or None on a box that never ran (no database yet)."""
    from appliance.db.database import DB_NAME
    from appliance.status import collect

    if not (obj.config.box.data_dir / DB_NAME).exists():
        return None
    return collect(obj.db(), obj.config)


def _entry(obj: Context, name: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The configured station NAME, or the one whose runtime station (robot1-d0) is NAME."""
    report = _report(obj)
    for entry in inventory(obj.config, report):
        if name == entry["name"] or name in entry["station_names"]:
            return entry, report
    known = ", ".join(obj.config.publishing.stations) or "none"
    raise click.ClickException(
        f"there is no device {name} on this box (stations: {known}; and leds); "
        "'appliance device ls' lists them"
    )


@click.group()
def device() -> None:
    """Devices: disc stations with their robots and drives, and the LEDs."""


@device.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def device_ls(obj: Context, as_json: bool) -> None:
    """Every configured station, its devices and their states."""
    entries = inventory(obj.config, _report(obj))
    if as_json:
        emit_json(entries)
        return
    if not entries:
        click.echo("No stations are configured ([publishing.stations]).")
        return
    for entry in entries:
        addresses = ", ".join(f"{d['device']} {d['address']}" for d in entry["devices"])
        click.echo(f"{entry['name']:<12} {entry['kind']:<7} {entry['condition']:<16} {addresses}")
        for station in entry["stations"]:
            click.echo(f"  {station['station']:<12} {station['condition']:<16} {states(station)}")


@device.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def device_show(obj: Context, name: str, as_json: bool) -> None:
    """One station: configuration, devices, states, alarm."""
    entry, _ = _entry(obj, name)
    if as_json:
        emit_json(entry)
        return
    click.echo(f"Station    {entry['name']} ({entry['kind']}), discs {', '.join(entry['media'])}")
    click.echo(f"Condition  {entry['condition']}")
    if entry["problem"]:
        click.echo(f"Problem    {entry['problem']}")
    for dev in entry["devices"]:
        extra = f" model {dev['model']}" if "model" in dev else ""
        sim = " (simulated)" if dev["simulated"] else ""
        click.echo(f"Device     {dev['device']}: {dev['address']}{extra}{sim}")
    for station in entry["stations"]:
        click.echo(f"  {station['station']}: {station['condition']}, {states(station)}")
        if station["step"]:
            click.echo(f"    disc {station['disc']} {station['step']}")
        if station["sentence"]:
            click.echo(f"    {station['sentence']}")


@device.command("test")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def device_test(obj: Context, name: str, as_json: bool) -> None:
    """Self-test NAME (a station, or `leds`): open its devices and ask each for its status.

    Nothing is burned or printed. The devices role must be stopped first: it holds the
    devices while it runs.
    """
    from appliance.cli.device_selftest import LEDS, led_checks, station_checks

    settings = obj.config.publishing.stations.get(name)
    if name != LEDS and settings is None:
        _entry(obj, name)  # not a device at all: say so; a robot's drive: say what to test
        raise click.ClickException(
            f"{name} is one drive of a robot station; test the whole station by its "
            "configured name ('appliance device ls' lists them)"
        )
    report = _report(obj)
    if report and (report["roles"].get("devices") or {}).get("up"):
        raise click.ClickException(
            f"the devices role is running and holds the {name} devices: nothing was tested. "
            "Stop it (systemctl stop kiln-devices), run the test, then start it again"
        )
    data_dir = obj.config.box.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    if settings is None:
        found = led_checks(obj.config, data_dir)
        if found is None:
            raise click.ClickException("LEDs are not configured on this box; nothing was tested")
        checks = found
    else:
        checks = station_checks(name, settings, data_dir)
    passed = all(check.passed for check in checks)
    if as_json:
        emit_json({"device": name, "passed": passed, "checks": [c.to_json() for c in checks]})
    else:
        for check in checks:
            click.echo(f"{'ok  ' if check.passed else 'FAIL'} {check.name}: {check.detail}")
    if not passed:
        if as_json:
            raise SystemExit(1)
        raise click.ClickException(
            f"{name} failed its self-test; the failed checks above say what does not answer"
        )
    if not as_json:
        click.echo(f"{name}: every check passed.")


def _held_stations(obj: Context, name: str) -> list[str]:
    """The runtime stations NAME means: one drive station, or every one of a station."""
    entry, _ = _entry(obj, name)
    names: list[str] = entry["station_names"]
    return [name] if name in names else names


@device.command("pause")
@click.argument("name")
@click.option("--reason", default="", help="Why, shown with the station's condition.")
@pass_ctx
def device_pause(obj: Context, name: str, reason: str) -> None:
    """Pause NAME: it takes no new disc (a disc it is making is finished) until resumed."""
    import time

    from appliance.cli.alarms_cmds import operator_name
    from appliance.db.database import migrate, transaction
    from appliance.publishing import holds

    targets = _held_stations(obj, name)
    migrate(obj.config.box.data_dir)
    conn = obj.db()
    try:
        with transaction(conn):
            paused = [
                n for n in targets if holds.pause(conn, n, operator_name(), time.time(), reason)
            ]
        if not paused:
            hold = holds.held(conn, targets[0])
            by = f" by {hold.paused_by}" if hold else ""
            raise click.ClickException(f"{name} is already paused{by}; nothing was changed")
    finally:
        conn.close()
    click.echo(
        f"Paused {', '.join(paused)}: no new disc starts there (a disc in progress is "
        f"finished). 'appliance device resume {name}' resumes it."
    )


@device.command("resume")
@click.argument("name")
@pass_ctx
def device_resume(obj: Context, name: str) -> None:
    """Resume NAME after a pause: it takes discs again at its next look."""
    from appliance.db.database import migrate, transaction
    from appliance.publishing import holds

    targets = _held_stations(obj, name)
    migrate(obj.config.box.data_dir)
    conn = obj.db()
    try:
        with transaction(conn):
            resumed = [n for n in targets if holds.resume(conn, n)]
    finally:
        conn.close()
    if not resumed:
        raise click.ClickException(f"{name} is not paused; nothing was changed")
    click.echo(f"Resumed {', '.join(resumed)}: it takes discs again.")
