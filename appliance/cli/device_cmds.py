"""`appliance device ls/show/test/pause/resume`: the box's devices (disc stations, print
outputs, LEDs), their states, a self-test or test print, and pausing a station (it takes
no new disc until resumed)."""

from __future__ import annotations

from typing import Any

import click

from appliance.cli.context import Context, emit_json, pass_ctx
from appliance.cli.device_inventory import inventory, printer_inventory, states
from appliance.roles.device_tests import Check


def _report(obj: Context) -> dict[str, Any] | None:
    """The status report, or None on a box that never ran (no database yet)."""
    from appliance.db.database import DB_NAME
    from appliance.status import collect

    if not (obj.config.box.data_dir / DB_NAME).exists():
        return None
    return collect(obj.db(), obj.config)


def _names(obj: Context) -> str:
    stations = ", ".join(obj.config.publishing.stations) or "none"
    printers = ", ".join(obj.config.print.outputs) or "none"
    return f"stations: {stations}; printers: {printers}; and leds"


def _entry(obj: Context, name: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The configured station NAME, the one whose runtime station (robot1-d0) is NAME, or
    the print output NAME."""
    report = _report(obj)
    for entry in inventory(obj.config, report):
        if name == entry["name"] or name in entry["station_names"]:
            return entry, report
    for entry in printer_inventory(obj.config, report):
        if name == entry["name"]:
            return entry, report
    raise click.ClickException(
        f"there is no device {name} on this box ({_names(obj)}); 'appliance device ls' lists them"
    )


@click.group()
def device() -> None:
    """Devices: disc stations with their robots and drives, printers, and the LEDs."""


@device.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def device_ls(obj: Context, as_json: bool) -> None:
    """Every configured station and printer, their devices and their states."""
    report = _report(obj)
    entries = inventory(obj.config, report)
    printers = printer_inventory(obj.config, report)
    if as_json:
        emit_json([*entries, *printers])
        return
    if not entries:
        click.echo("No stations are configured ([publishing.stations]).")
    for entry in entries:
        addresses = ", ".join(f"{d['device']} {d['address']}" for d in entry["devices"])
        click.echo(f"{entry['name']:<12} {entry['kind']:<7} {entry['condition']:<16} {addresses}")
        for station in entry["stations"]:
            click.echo(f"  {station['station']:<12} {station['condition']:<16} {states(station)}")
    for printer in printers:
        click.echo(
            f"{printer['name']:<12} {printer['kind']:<7} {printer['condition']:<16} "
            f"printer {printer['address']}"
        )
        click.echo(
            f"  {printer['status']} {printer['status_info']}, device {printer['state']}, "
            f"{printer['waiting']} job(s) waiting"
        )
        if printer["problem"] or printer["message"]:
            click.echo(f"  {printer['problem'] or printer['message']}")


def _show_printer(entry: dict[str, Any]) -> None:
    click.echo(f"Printer    {entry['name']} ({entry['kind']}), AE title {entry['ae_title']}")
    click.echo(f"Condition  {entry['condition']}")
    if entry["problem"]:
        click.echo(f"Problem    {entry['problem']}")
    sim = " (simulated)" if entry["simulated"] else ""
    click.echo(f"Device     printer: {entry['address']}{sim}, state {entry['state']}")
    click.echo(f"DICOM      Printer Status {entry['status']}, Info {entry['status_info']}")
    job = f", printing job {entry['printing_job']}" if entry["printing_job"] else ""
    click.echo(f"Jobs       {entry['waiting']} waiting{job}")
    if entry["message"]:
        click.echo(f"           {entry['message']}")


@device.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def device_show(obj: Context, name: str, as_json: bool) -> None:
    """One station or printer: configuration, devices, states, alarm."""
    entry, _ = _entry(obj, name)
    if as_json:
        emit_json(entry)
        return
    if entry.get("device") == "printer":
        _show_printer(entry)
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
        if station["lent_to"]:
            click.echo(f"    lent to {station['lent_to']} {station['step']}".rstrip())
        elif station["step"]:
            click.echo(f"    disc {station['disc']} {station['step']}")
        if station["sentence"]:
            click.echo(f"    {station['sentence']}")


@device.command("test")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--wait",
    type=click.FloatRange(0, 3600),
    default=120,
    show_default=True,
    help="Seconds to wait for the result (a test print: 0 queues it and returns).",
)
@pass_ctx
def device_test(obj: Context, name: str, as_json: bool, wait: float) -> None:
    """Test NAME: a station or `leds` (self-test, lamp test), or a printer (a test print).

    A station's devices are asked for their status; nothing is burned. While the devices
    role runs, it runs the test on the devices it holds; otherwise the CLI opens them. A
    printer gets a test film through the print queue, followed until it is printed.
    """
    from appliance.cli.device_selftest import LEDS

    settings = obj.config.publishing.stations.get(name)
    if settings is None and name in obj.config.print.outputs:
        _test_printer(obj, name, as_json, wait)
        return
    if name != LEDS and settings is None:
        _entry(obj, name)  # not a device at all: say so; a robot's drive: say what to test
        raise click.ClickException(
            f"{name} is one drive of a robot station; test the whole station by its "
            "configured name ('appliance device ls' lists them)"
        )
    report = _report(obj)
    if report and (report["roles"].get("devices") or {}).get("up"):
        checks = _test_in_role(obj, name, wait, as_json)
    else:
        checks = _test_here(obj, name)
    _finish(name, checks, as_json)


def _test_here(obj: Context, name: str) -> list[Check]:
    """The devices role is stopped: open the devices here."""
    from appliance.cli.device_selftest import led_checks, station_checks

    data_dir = obj.config.box.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = obj.config.publishing.stations.get(name)
    if settings is None:
        found = led_checks(obj.config, data_dir)
        if found is None:
            raise click.ClickException("LEDs are not configured on this box; nothing was tested")
        return found
    return station_checks(name, settings, data_dir)


def _test_in_role(obj: Context, name: str, wait: float, as_json: bool) -> list[Check]:
    """The devices role runs and holds the devices: it runs the test (device_tests.py)."""
    import time

    from appliance.cli.alarms_cmds import operator_name
    from appliance.roles import device_tests

    if name == "leds" and not obj.config.leds.enabled:
        raise click.ClickException("LEDs are not configured on this box; nothing was tested")
    conn = obj.db()
    try:
        test_id = device_tests.request(conn, name, operator_name(), time.time())
        click.echo(f"The devices role is running: it tests {name} (request {test_id}).", err=True)
        deadline = time.monotonic() + max(wait, 1.0)
        while True:
            found = device_tests.result(conn, test_id)
            if found.state is device_tests.TestState.DONE:
                return found.checks
            if time.monotonic() >= deadline and device_tests.expire(conn, test_id, time.time()):
                raise click.ClickException(
                    f"the devices role did not take the test of {name} within {wait:g} s; "
                    "nothing was tested. Check that it runs ('appliance status') and try again"
                )
            time.sleep(device_tests.LOOK_SECONDS)
    finally:
        conn.close()


def _finish(name: str, checks: list[Check], as_json: bool) -> None:
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


def _test_printer(obj: Context, name: str, as_json: bool, wait: float) -> None:
    """A test film through the print queue (the devices role prints it), followed."""
    from appliance.cli.print_cmds import test_print
    from appliance.printing.job_states import PrintJobState
    from appliance.printing.test_print import outcome_sentence

    job = test_print(obj, name, None, wait, as_json=True)
    printed = job.state is PrintJobState.DONE
    sentence = (
        f"queued as print job {job.id}; it prints when the printer is free"
        if not wait
        else outcome_sentence(job, name, wait)
    )
    checks = [
        Check("queue test print", True, f"print job {job.id} on {name} ({job.film_size})"),
        Check("print", printed or not wait, sentence),
    ]
    if as_json:
        emit_json(
            {
                "device": name,
                "passed": printed or not wait,
                "print_job": job.id,
                "state": job.state.value,
                "checks": [c.to_json() for c in checks],
            }
        )
        if wait and not printed:
            raise SystemExit(1)
        return
    if wait and not printed:
        raise click.ClickException(sentence)
    click.echo(f"{name}: {sentence}" if not wait else sentence)


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
