"""`appliance print ls/show/retry/cancel` and `appliance printer status/test` (docs/print.md).

Like the disc jobs these only read and write the database; the devices role prints.
"""

from __future__ import annotations

from typing import Any

import click

from appliance.cli.context import Context, emit_json, pass_ctx, when
from appliance.printing.job_states import PrintJobEvent, PrintJobRefused, PrintJobState
from appliance.printing.queue import PrintJob, PrintQueue, UnknownPrintJob
from appliance.printing.test_print import (
    TestPrintRefused,
    follow,
    outcome_sentence,
    queue_test_print,
)
from appliance.status import print_status


def _queue(obj: Context) -> PrintQueue:
    return PrintQueue(obj.db())


def _key(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def _job_json(job: PrintJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "job_uid": job.job_uid,
        "output": job.output,
        "state": job.state.value,
        "status_info": job.status_info,
        "message": job.message,
        "from": job.calling_ae,
        "to": job.called_ae,
        "films": job.films,
        "images": job.images,
        "copies": job.copies,
        "priority": job.priority,
        "medium": job.medium,
        "film_size": job.film_size,
        "label": job.label,
        "attempts": job.attempts,
        "external_id": job.external_id,
        "scale": job.scale,
        "created": when(job.created_at),
        "finished": when(job.finished_at),
    }


def _unknown(exc: UnknownPrintJob) -> click.ClickException:
    return click.ClickException(f"There is no print job {exc.key}; see 'appliance print ls'.")


def _refused(job_id: int, action: str, exc: PrintJobRefused) -> click.ClickException:
    return click.ClickException(
        f"Print job {job_id} is {exc.state.value}, so it cannot be {action}; nothing was "
        "changed — see 'appliance print show' for what it is doing."
    )


@click.group("print")
def print_group() -> None:
    """Print jobs from modalities: list, show, retry, cancel."""


@print_group.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@pass_ctx
def print_ls(obj: Context, as_json: bool, limit: int) -> None:
    """The newest print jobs first."""
    queue = _queue(obj)
    try:
        jobs = queue.recent(limit=limit)
    finally:
        queue.conn.close()
    if as_json:
        emit_json([_job_json(job) for job in jobs])
        return
    for job in jobs:
        click.echo(
            f"{job.id:>6}  {job.state.value:<9} {job.output:<8} {job.calling_ae:<16} "
            f"{job.films} film(s) {job.film_size:<10} x{job.copies}  {when(job.created_at)}"
        )
        if job.message:
            click.echo(f"        {job.message}")


@print_group.command("show")
@click.argument("job")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def print_show(obj: Context, job: str, as_json: bool) -> None:
    """A print job (by number or Print Job UID) and its history."""
    queue = _queue(obj)
    try:
        found = queue.get(_key(job))
        events = queue.events(found.id)
    except UnknownPrintJob as exc:
        raise _unknown(exc) from None
    finally:
        queue.conn.close()
    if as_json:
        history = [{"at": when(e.at), "state": e.state.value, "detail": e.detail} for e in events]
        emit_json({**_job_json(found), "events": history})
        return
    click.echo(
        f"Print job {found.id}: {found.state.value} ({found.status_info}) on {found.output}, "
        f"from {found.calling_ae} to {found.called_ae}"
    )
    click.echo(f"Print Job UID: {found.job_uid}")
    click.echo(
        f"{found.films} film(s), {found.images} image(s), {found.film_size}, {found.medium}, "
        f"{found.copies} cop{'y' if found.copies == 1 else 'ies'}, priority {found.priority}"
        + (f", label {found.label}" if found.label else "")
    )
    if found.scale is not None and found.scale < 1:
        click.echo(f"Printed at {found.scale:.0%} of true size (the film is larger than the paper)")
    if found.message:
        click.echo(f"Note: {found.message}")
    for event in events:
        click.echo(f"  {when(event.at)}  {event.state.value:<9} {event.detail}".rstrip())


def _change(obj: Context, job: str, event: PrintJobEvent, action: str) -> PrintJob:
    queue = _queue(obj)
    try:
        found = queue.get(_key(job))
        return queue.change(found.id, event, detail=f"operator: {action}")
    except UnknownPrintJob as exc:
        raise _unknown(exc) from None
    except PrintJobRefused as exc:
        raise _refused(found.id, action, exc) from None
    finally:
        queue.conn.close()


@print_group.command("retry")
@click.argument("job")
@pass_ctx
def print_retry(obj: Context, job: str) -> None:
    """Send a failed or cancelled print job back to the queue."""
    changed = _change(obj, job, PrintJobEvent.RETRY, "retried")
    click.echo(f"Print job {changed.id} is queued again for {changed.output}.")


@print_group.command("cancel")
@click.argument("job")
@pass_ctx
def print_cancel(obj: Context, job: str) -> None:
    """Cancel a queued print job (a film already on its way is finished)."""
    changed = _change(obj, job, PrintJobEvent.CANCEL, "cancelled")
    click.echo(f"Print job {changed.id} is cancelled.")


@click.group("printer")
def printer_group() -> None:
    """The print outputs: their state, and a test print."""


@printer_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def printer_status(obj: Context, as_json: bool) -> None:
    """Each output's AE title, device state and queue, as modalities see it."""
    conn = obj.db()
    try:
        rows = print_status(conn, obj.config)["outputs"]
    finally:
        conn.close()
    for row in rows:
        row["updated"] = when(row.pop("updated_at"))
        if row["state"] == "unknown":
            row["message"] = "the devices role has not reported yet"
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("No print outputs are configured ([print.outputs]).")
    for row in rows:
        click.echo(
            f"{row['output']:<8} {row['kind']:<5} AE {row['ae_title']:<16} {row['status']:<7} "
            f"{row['status_info']:<16} {row['state']:<12} {row['waiting']} waiting"
        )
        if row["message"]:
            click.echo(f"         {row['message']}")


@printer_group.command("test")
@click.argument("output")
@click.option("--film-size", default=None, help="Default: the output's first film size.")
@click.option(
    "--wait",
    type=click.FloatRange(0, 3600),
    default=0,
    help="Seconds to wait for the print to finish (0: queue it and return).",
)
@pass_ctx
def printer_test(obj: Context, output: str, film_size: str | None, wait: float) -> None:
    """Queue a test print (gray wedge, grid, gradient, circle) on OUTPUT."""
    job = test_print(obj, output, film_size, wait)
    if wait and job.state is not PrintJobState.DONE:
        raise click.ClickException(outcome_sentence(job, output, wait))


def test_print(
    obj: Context, output: str, film_size: str | None, wait: float, *, as_json: bool = False
) -> PrintJob:
    """Queue a test print on OUTPUT, say so, and follow it for up to `wait` seconds (each
    change of state on stderr); the job as last seen. Shared with `appliance device test`
    (`as_json`: stdout is left for the JSON, the sentences go to stderr)."""
    try:
        job = queue_test_print(obj.config, obj.db, output, film_size)
    except TestPrintRefused as exc:
        raise click.ClickException(exc.sentence) from None
    click.echo(f"Queued test print {job.id} on {output} ({job.film_size}).", err=as_json)
    if not wait:
        return job

    def show(seen: PrintJob) -> None:
        words = f"{seen.state.value} ({seen.status_info})"
        click.echo(f"  {words}" + (f": {seen.message}" if seen.message else ""), err=True)

    queue = _queue(obj)
    try:
        job = follow(queue, job, wait, show)
    finally:
        queue.conn.close()
    if job.state is PrintJobState.DONE and not as_json:
        click.echo(outcome_sentence(job, output, wait))
    return job


def registered() -> list[click.Command]:
    return [print_group, printer_group]
