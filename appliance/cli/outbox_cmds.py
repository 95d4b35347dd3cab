"""`appliance outbox ls|retry`: the durable outbox (MPPS relay, commitment reports)."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

import click

from appliance.cli.context import Context, emit_json, pass_ctx, when
from appliance.db.database import rollback
from appliance.outbox.queue import OutboxState

_LIST = (
    "SELECT id, kind, destination, state, attempts, next_attempt_at, created_at, sent_at, "
    "last_error, payload FROM outbox WHERE (? = '' OR state = ?) AND (? = '' OR kind = ?) "
    "ORDER BY id DESC LIMIT ?"
)
# One message by ID, or (ID NULL) every failed one.
_CHOSEN = "SELECT id FROM outbox WHERE (? IS NULL AND state = 'failed') OR id = ? ORDER BY id"
_REQUEUE = (
    "UPDATE outbox SET attempts = CASE WHEN state = 'failed' THEN 0 ELSE attempts END, "
    "last_error = CASE WHEN state = 'failed' THEN 'retried after: ' || last_error "
    "ELSE last_error END, state = 'pending', claimed_by = NULL, next_attempt_at = ? "
    "WHERE (? IS NULL AND state = 'failed') OR id = ?"
)


def _about(kind: str, payload: str) -> str:
    """One phrase naming what a message carries (its payload may be large)."""
    body = json.loads(payload)
    if "mpps_uid" in body:
        return f"{body.get('operation', '')} {body['mpps_uid']}"
    if "transaction_uid" in body:
        return f"transaction {body['transaction_uid']}"
    return kind


def list_messages(
    conn: sqlite3.Connection, state: str, kind: str, limit: int
) -> list[dict[str, Any]]:
    rows = conn.execute(_LIST, (state, state, kind, kind, limit)).fetchall()
    return [
        {
            "id": r[0],
            "kind": r[1],
            "destination": r[2],
            "state": r[3],
            "attempts": r[4],
            "next_attempt_at": r[5] if r[3] == OutboxState.PENDING else None,
            "created_at": r[6],
            "sent_at": r[7],
            "last_error": r[8],
            "about": _about(r[1], r[9]),
        }
        for r in rows
    ]


def requeue(conn: sqlite3.Connection, item_id: int | None) -> list[int]:
    """Make one failed or pending message, or every failed one, due now.

    A failed message starts a fresh attempt count, so it is not given up again at once.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        ids = [r[0] for r in conn.execute(_CHOSEN, (item_id, item_id))]
        conn.execute(_REQUEUE, (time.time(), item_id, item_id))
        conn.execute("COMMIT")
    except BaseException:
        rollback(conn)
        raise
    return ids


@click.group()
def outbox() -> None:
    """Outbound messages: MPPS relay and storage-commitment reports."""


@outbox.command("ls")
@click.option(
    "--state", type=click.Choice([s.value for s in OutboxState]), default=None, help="Only these."
)
@click.option("--kind", default="", help="Only this kind (mpps-relay, commitment-report).")
@click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def outbox_ls(obj: Context, state: str | None, kind: str, limit: int, as_json: bool) -> None:
    """List outbox messages, newest first."""
    rows = list_messages(obj.db(), state or "", kind, limit)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("The outbox holds no such message.")
        return
    click.echo(
        f"{'ID':>6} {'KIND':<17} {'DESTINATION':<16} {'STATE':<8} {'TRIES':>5} "
        f"{'CREATED':<20} {'NEXT/SENT':<20} ABOUT / LAST ERROR"
    )
    for r in rows:
        later = when(r["sent_at"] if r["state"] == OutboxState.SENT else r["next_attempt_at"])
        click.echo(
            f"{r['id']:>6} {r['kind'][:17]:<17} {r['destination'][:16]:<16} {r['state']:<8} "
            f"{r['attempts']:>5} {when(r['created_at']):<20} {later:<20} {r['about']}"
        )
        if r["last_error"]:
            click.echo(f"{'':>6} {r['last_error']}")


@outbox.command("retry")
@click.argument("item_id", type=int, required=False)
@click.option("--all-failed", is_flag=True, help="Every failed message.")
@pass_ctx
def outbox_retry(obj: Context, item_id: int | None, all_failed: bool) -> None:
    """Make message ITEM_ID (failed or pending), or every failed one, due now."""
    if (item_id is None) == (not all_failed):
        raise click.UsageError("give one message ID or --all-failed")
    conn = obj.db()
    if item_id is not None:
        row = conn.execute("SELECT state FROM outbox WHERE id = ?", (item_id,)).fetchone()
        if row is None:
            raise click.ClickException(
                f"there is no outbox message {item_id}; 'appliance outbox ls' lists them"
            )
        if row[0] not in (OutboxState.FAILED, OutboxState.PENDING):
            raise click.ClickException(
                f"outbox message {item_id} is {row[0]}; only failed or pending messages can be "
                "retried"
            )
    ids = requeue(conn, item_id)
    if not ids:
        click.echo("No failed messages; nothing to retry.")
        return
    click.echo(
        f"{len(ids)} message(s) due now ({', '.join(map(str, ids[:20]))}"
        f"{' ...' if len(ids) > 20 else ''}); the box sends them within seconds, in order."
    )
