"""`appliance mpps ls|show`: the Performed Procedure Steps the box received."""

from __future__ import annotations

from typing import Any

import click

from appliance.cli.context import Context, emit_json, pass_ctx, when

STATES = ("IN PROGRESS", "COMPLETED", "DISCONTINUED")


def _state(value: str | None) -> str:
    """`in-progress`, `IN_PROGRESS` and `"IN PROGRESS"` all name the same state."""
    return (value or "").upper().replace("-", " ").replace("_", " ")


@click.group()
def mpps() -> None:
    """Modality Performed Procedure Steps (MPPS) received."""


@mpps.command("ls")
@click.option("--state", default=None, help="in-progress, completed or discontinued.")
@click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def mpps_ls(obj: Context, state: str | None, limit: int, as_json: bool) -> None:
    """List steps, most recently changed first."""
    from appliance.mpps.store import MppsStore

    wanted = _state(state)
    if wanted and wanted not in STATES:
        raise click.BadParameter(
            f"{state!r} is not in-progress, completed or discontinued", param_hint="--state"
        )
    rows = MppsStore(obj.db()).list(state=wanted, limit=limit)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("No performed procedure steps received yet.")
        return
    click.echo(
        f"{'SOP INSTANCE UID':<64}  {'STATE':<12} {'FROM':<16} {'PATIENT':<20} "
        f"{'ACCESSION':<16} {'MOD':<4} UPDATED"
    )
    for r in rows:
        click.echo(
            f"{r['sop_instance_uid']:<64}  {r['state']:<12} {r['calling_ae']:<16} "
            f"{r['patient_name'][:20]:<20} {r['accession_number'][:16]:<16} "
            f"{r['modality'][:4]:<4} {when(r['updated_at'])}"
        )


def _relay_states(obj: Context, uid: str) -> list[dict[str, Any]]:
    rows = obj.db().execute(
        "SELECT id, destination, json_extract(payload, '$.operation'), state, last_error "
        "FROM outbox WHERE kind = 'mpps-relay' AND json_extract(payload, '$.mpps_uid') = ? "
        "ORDER BY id",
        (uid,),
    )
    return [
        {"id": r[0], "destination": r[1], "operation": r[2], "state": r[3], "last_error": r[4]}
        for r in rows
    ]


@mpps.command("show")
@click.argument("uid")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def mpps_show(obj: Context, uid: str, as_json: bool) -> None:
    """One step: its history, worklist items, referenced instances and relay."""
    from appliance.mpps.attributes import decode_stored
    from appliance.mpps.store import MppsStore

    step = MppsStore(obj.db()).show(uid.strip())
    if step is None:
        raise click.ClickException(f"no MPPS {uid} on this box; 'appliance mpps ls' lists them")
    step["relay"] = _relay_states(obj, step["sop_instance_uid"])
    attributes = decode_stored(step.pop("attributes"))
    if as_json:
        step["attributes"] = attributes.to_json_dict()
        emit_json(step)
        return
    received = sum(1 for r in step["references"] if r["received"])
    click.echo(f"MPPS       {step['sop_instance_uid']}")
    click.echo(f"State      {step['state']}  (PPS ID {step['pps_id'] or '-'})")
    click.echo(f"From       {step['calling_ae']} to {step['called_ae']}")
    click.echo(f"Patient    {step['patient_name']} (ID {step['patient_id'] or '-'})")
    click.echo(
        f"Study      {step['study_uid'] or '-'}  accession {step['accession_number'] or '-'}  "
        f"modality {step['modality'] or '-'}"
    )
    click.echo(f"Performed  {step['started'] or '?'} to {step['ended'] or '...'}")
    click.echo(
        f"Instances  {received} of {len(step['references'])} referenced instance(s) received"
        + (f"; study completion {step['completion']}" if step["completion"] else "")
    )
    items = ", ".join(map(str, step["worklist_items"])) or "none"
    click.echo(f"Worklist   item(s) {items}")
    for event in step["events"]:
        click.echo(
            f"  {when(event['at'])}  {event['operation']:<8} -> {event['state']:<12} "
            f"from {event['calling_ae']}"
        )
    for message in step["relay"]:
        error = f"  ({message['last_error']})" if message["last_error"] else ""
        click.echo(
            f"  relay {message['operation']:<8} to {message['destination']}: "
            f"{message['state']} (outbox {message['id']}){error}"
        )
