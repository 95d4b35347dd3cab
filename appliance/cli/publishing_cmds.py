"""`appliance burn` and `appliance jobs ls/show/retry/cancel` (docs/publishing.md).

These only write the database: the devices role's job runner picks the job up, so the
command returns at once and a burn never depends on the shell that asked for it.
"""

from __future__ import annotations

from typing import Any

import click

from appliance.cli.context import Context, emit_json, pass_ctx, when
from appliance.publishing.burn_request import BurnRefused, request_burn
from appliance.publishing.job_states import TransitionRefused
from appliance.publishing.jobs_store import Disc, HistoryRow, Job, JobStore, UnknownJob
from appliance.publishing.settings import publishing_settings


def _store(obj: Context) -> JobStore:
    import time

    return JobStore(obj.db(), time.time)


def _job_json(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "state": job.state.value,
        "priority": job.priority,
        "profile": job.profile,
        "origin": job.origin,
        "studies": list(job.studies),
        "message": job.message,
        "created": when(job.created_at),
        "updated": when(job.updated_at),
    }


def _disc_json(disc: Disc) -> dict[str, Any]:
    return {
        "id": disc.id,
        "slot": disc.slot,
        "volume": f"{disc.volume} of {disc.volumes}",
        "copy_type": disc.copy_type.value,
        "copy": disc.copy_number,
        "medium": disc.medium.value,
        "profile": disc.profile,
        "attempt": disc.attempt,
        "state": disc.state.value,
        "station": disc.station,
        "step": disc.step,
        "error": disc.error,
    }


def _event_json(row: HistoryRow) -> dict[str, Any]:
    return {"at": when(row.at), "disc": row.disc_id, "event": row.event, "detail": row.detail}


def _unknown(exc: UnknownJob) -> click.ClickException:
    return click.ClickException(f"There is no job {exc.job_id}; see 'appliance jobs ls'.")


def _refused(job_id: int, action: str, exc: TransitionRefused) -> click.ClickException:
    return click.ClickException(
        f"Job {job_id} is {exc.state.value}, so it cannot be {action}; nothing was changed — "
        "see 'appliance jobs show' for what it is doing."
    )


@click.command("burn")
@click.argument("studies", nargs=-1, required=True)
@click.option("--profile", default=None, help="A [publishing.profiles] name.")
@click.option(
    "--copies", type=click.IntRange(0, 20), default=None, help="Patient copies (default: profile)."
)
@click.option(
    "--priority", type=click.IntRange(1, 9), default=None, help="9 burns first (default: profile)."
)
@pass_ctx
def burn_cmd(
    obj: Context,
    studies: tuple[str, ...],
    profile: str | None,
    copies: int | None,
    priority: int | None,
) -> None:
    """Queue a disc job for STUDIES (Study Instance UIDs); the devices role burns it."""
    settings = publishing_settings(obj.config)
    store = _store(obj)
    try:
        job_id = request_burn(
            store, settings, studies, profile=profile, copies=copies, priority=priority
        )
    except BurnRefused as exc:
        raise click.ClickException(exc.sentence) from None
    finally:
        store.conn.close()
    click.echo(f"Queued job {job_id}; follow it with 'appliance jobs show {job_id}'.")


@click.group("jobs")
def jobs_group() -> None:
    """Disc publishing jobs: list, show, retry, cancel."""


@jobs_group.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@pass_ctx
def jobs_ls(obj: Context, as_json: bool, limit: int) -> None:
    """The newest jobs first."""
    store = _store(obj)
    try:
        jobs = store.jobs(limit=limit)
    finally:
        store.conn.close()
    if as_json:
        emit_json([_job_json(j) for j in jobs])
        return
    for job in jobs:
        click.echo(
            f"{job.id:>6}  {job.state.value:<16} p{job.priority}  {job.profile:<12} "
            f"{when(job.created_at)}  {' '.join(job.studies)}"
        )
        if job.message:
            click.echo(f"        {job.message}")


@jobs_group.command("show")
@click.argument("job_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def jobs_show(obj: Context, job_id: int, as_json: bool) -> None:
    """A job, its discs (every attempt) and its event history."""
    store = _store(obj)
    try:
        job = store.job(job_id)
        discs, history = store.discs(job_id), store.history(job_id)
    except UnknownJob as exc:
        raise _unknown(exc) from None
    finally:
        store.conn.close()
    if as_json:
        emit_json(
            {
                **_job_json(job),
                "discs": [_disc_json(d) for d in discs],
                "events": [_event_json(e) for e in history],
            }
        )
        return
    click.echo(f"Job {job.id}: {job.state.value}, profile {job.profile}, priority {job.priority}")
    click.echo(f"Studies: {' '.join(job.studies)}")
    if job.message:
        click.echo(f"Needs: {job.message}")
    for disc in discs:
        click.echo(
            f"  disc {disc.id:>5}  {disc.volume} of {disc.volumes}  "
            f"{disc.copy_type.value} #{disc.copy_number}  {disc.medium.value:<6} "
            f"try {disc.attempt}  {disc.state.value:<12} {disc.station}  {disc.error}".rstrip()
        )
    for row in history:
        which = f" disc {row.disc_id}" if row.disc_id is not None else ""
        click.echo(f"  {when(row.at)}{which}  {row.event}  {row.detail or ''}".rstrip())


@jobs_group.command("retry")
@click.argument("job_id", type=int)
@pass_ctx
def jobs_retry(obj: Context, job_id: int) -> None:
    """Send a parked or failed job back to the queue."""
    store = _store(obj)
    try:
        store.retry(job_id)
    except UnknownJob as exc:
        raise _unknown(exc) from None
    except TransitionRefused as exc:
        raise _refused(job_id, "retried", exc) from None
    finally:
        store.conn.close()
    click.echo(f"Job {job_id} is queued again; discs already made are not made again.")


@jobs_group.command("cancel")
@click.argument("job_id", type=int)
@pass_ctx
def jobs_cancel(obj: Context, job_id: int) -> None:
    """Cancel a job: discs not yet in a station are not made."""
    store = _store(obj)
    try:
        store.cancel(job_id)
    except UnknownJob as exc:
        raise _unknown(exc) from None
    except TransitionRefused as exc:
        raise _refused(job_id, "cancelled", exc) from None
    finally:
        store.conn.close()
    click.echo(f"Job {job_id} is cancelled; a disc already in a station is finished.")


def registered() -> list[click.Command]:
    return [burn_cmd, jobs_group]
