"""`appliance alarms ls/ack`: what needs attention now, and who has seen it."""

from __future__ import annotations

import getpass
import os
import sqlite3

import click

from appliance.alarms.store import AlarmStore, UnknownAlarm, has_alarms
from appliance.alarms.sync import sync_alarms
from appliance.cli.context import Context, emit_json, pass_ctx, when


def alarm_store(obj: Context) -> AlarmStore:
    conn = obj.db()
    if not has_alarms(conn):
        raise click.ClickException(
            "this box's database has no alarms yet (it was made by an older Kiln); restart "
            "the box so it brings its database up to date, then ask again"
        )
    return AlarmStore(conn)


def refresh(conn: sqlite3.Connection, obj: Context) -> None:
    """Bring the derived alarms up to date first, so the list is current even between the
    roles' own syncs."""
    from appliance.status import collect

    sync_alarms(conn, collect(conn, obj.config))


def operator_name() -> str:
    # Under sudo the person is SUDO_USER, not root.
    return os.environ.get("SUDO_USER") or getpass.getuser()


@click.group()
def alarms() -> None:
    """Alarms: what needs attention, in plain words."""


@alarms.command("ls")
@click.option("--all", "show_all", is_flag=True, help="Cleared alarms too, newest first.")
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def alarms_ls(obj: Context, show_all: bool, limit: int, as_json: bool) -> None:
    """List active alarms (errors first), or with --all every recent one."""
    store = alarm_store(obj)
    refresh(store.conn, obj)
    rows = store.recent(limit) if show_all else store.active()[:limit]
    if as_json:
        emit_json([alarm.to_json() for alarm in rows])
        return
    if not rows:
        click.echo("No alarms." if show_all else "No active alarms.")
        return
    for alarm in rows:
        state = "active" if alarm.active else f"cleared {when(alarm.cleared_at)}"
        seen = (
            f", acknowledged by {alarm.acknowledged_by} {when(alarm.acknowledged_at)}"
            if alarm.acknowledged_at
            else ""
        )
        click.echo(
            f"[{alarm.id}] {alarm.severity.value.upper()} {alarm.source} {alarm.key} - "
            f"raised {when(alarm.raised_at)}, {state}{seen}"
        )
        click.echo(f"    {alarm.sentence}")


@alarms.command("ack")
@click.argument("alarm_id", type=int)
@click.option("--by", default=None, help="Who acknowledges (default: the logged-in user).")
@pass_ctx
def alarms_ack(obj: Context, alarm_id: int, by: str | None) -> None:
    """Acknowledge alarm ALARM_ID: it stays until its cause is gone, marked as seen."""
    store = alarm_store(obj)
    try:
        alarm, changed = store.acknowledge(alarm_id, by or operator_name())
    except UnknownAlarm:
        raise click.ClickException(
            f"there is no alarm {alarm_id}; 'appliance alarms ls --all' lists them"
        ) from None
    if not changed:
        click.echo(
            f"Alarm {alarm.id} was already acknowledged by {alarm.acknowledged_by} "
            f"{when(alarm.acknowledged_at)}."
        )
        return
    click.echo(f"Alarm {alarm.id} acknowledged by {alarm.acknowledged_by}.")
