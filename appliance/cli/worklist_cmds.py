"""`appliance worklist`: add, list, show, remove and import worklist items."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click

from appliance.cli.context import Context, emit_json, pass_ctx
from appliance.worklist.importer import parse_csv, parse_json
from appliance.worklist.item import ItemError
from appliance.worklist.store import StoredItem, WorklistStore


@click.group()
def worklist() -> None:
    """The Modality Worklist the box serves."""


def _line(s: StoredItem) -> str:
    v = s.summary()
    return (
        f"{v['id']:>6} {v['status']:<12} {v['start']:<15} {v['modality']:<4} "
        f"{v['station_ae']:<16} {v['patient_id'][:16]:<16} {v['patient_name'][:28]:<28} "
        f"{v['accession_number'][:16]:<16} {v['description'][:40]}"
    )


_HEADER = (
    f"{'ID':>6} {'STATUS':<12} {'START':<15} {'MOD':<4} {'STATION AE':<16} "
    f"{'PATIENT ID':<16} {'PATIENT NAME':<28} {'ACCESSION':<16} DESCRIPTION"
)


@worklist.command("add")
@click.option("--patient-id", required=True)
@click.option("--patient-name", required=True, help="DICOM form: FAMILY^GIVEN")
@click.option("--modality", required=True)
@click.option("--date", "start_date", default=None, help="YYYYMMDD (default: today)")
@click.option("--time", "start_time", default="", help="HHMMSS")
@click.option("--station-ae", default="", help="Scheduled Station AE Title")
@click.option("--accession", default="")
@click.option("--description", default="", help="Scheduled step description")
@click.option("--birth-date", default="")
@click.option("--sex", type=click.Choice(["M", "F", "O", ""]), default="")
@click.option("--referring", default="", help="Referring physician (FAMILY^GIVEN)")
@click.option("--study-uid", default="", help="Default: generated")
@click.option("--key", default=None, help="Identity for later updates (default: IDs)")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def add(
    obj: Context,
    patient_id: str,
    patient_name: str,
    modality: str,
    start_date: str | None,
    start_time: str,
    station_ae: str,
    accession: str,
    description: str,
    birth_date: str,
    sex: str,
    referring: str,
    study_uid: str,
    key: str | None,
    as_json: bool,
) -> None:
    """Schedule one procedure step."""
    step = {
        "Modality": modality,
        "ScheduledProcedureStepStartDate": start_date or date.today().strftime("%Y%m%d"),
        "ScheduledProcedureStepStartTime": start_time,
        "ScheduledStationAETitle": station_ae,
        "ScheduledProcedureStepDescription": description,
    }
    item = {
        "PatientID": patient_id,
        "PatientName": patient_name,
        "PatientBirthDate": birth_date,
        "PatientSex": sex,
        "AccessionNumber": accession,
        "ReferringPhysicianName": referring,
        "StudyInstanceUID": study_uid,
        "RequestedProcedureDescription": description,
        "ScheduledProcedureStepSequence": [{k: v for k, v in step.items() if v}],
    }
    try:
        stored, created = WorklistStore(obj.db()).put(
            {k: v for k, v in item.items() if v}, source="cli", key=key
        )
    except ItemError as exc:
        raise click.UsageError(f"the item was not stored: {exc}") from None
    if as_json:
        emit_json(stored.summary())
        return
    click.echo(
        f"{'Added' if created else 'Replaced'} worklist item {stored.id} ({stored.key}) "
        f"for {patient_name}, {modality} on {step['ScheduledProcedureStepStartDate']}."
    )


@worklist.command("ls")
@click.option("--all", "include_finished", is_flag=True, help="Include finished steps.")
@click.option("--date", "on_date", default="", help="Only steps on YYYYMMDD.")
@click.option("--limit", type=click.IntRange(1, 1000000), default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def ls(obj: Context, include_finished: bool, on_date: str, limit: int, as_json: bool) -> None:
    """List scheduled steps in start order (finished ones only with --all)."""
    items = WorklistStore(obj.db()).list(
        include_finished=include_finished, date=on_date, limit=limit
    )
    if as_json:
        emit_json([s.summary() for s in items])
        return
    if not items:
        click.echo("The worklist is empty." if not on_date else f"Nothing scheduled on {on_date}.")
        return
    click.echo(_HEADER)
    for s in items:
        click.echo(_line(s))


@worklist.command("show")
@click.argument("ident")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def show(obj: Context, ident: str, as_json: bool) -> None:
    """Show one item (by ID or key) with every attribute it holds."""
    stored = WorklistStore(obj.db()).get(ident)
    if stored is None:
        raise click.ClickException(f"no worklist item {ident}; 'appliance worklist ls' lists them")
    if as_json:
        emit_json({**stored.summary(), "item": stored.item})
        return
    click.echo(f"Item {stored.id} ({stored.key}) from {stored.source}, {stored.status}")
    click.echo(json.dumps(stored.item, indent=2, ensure_ascii=False, sort_keys=True))


@worklist.command("rm")
@click.argument("ident")
@pass_ctx
def rm(obj: Context, ident: str) -> None:
    """Remove one item (by ID or key)."""
    if not WorklistStore(obj.db()).remove(ident):
        raise click.ClickException(f"no worklist item {ident}; nothing was removed")
    click.echo(f"Removed worklist item {ident}.")


@worklist.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "json", "csv"]),
    default="auto",
    show_default=True,
    help="auto: by the file's extension.",
)
@pass_ctx
def import_(obj: Context, file: Path, fmt: str) -> None:
    """Add or replace every item of a JSON or CSV file: all of them, or none."""
    if fmt == "auto":
        fmt = "csv" if file.suffix.lower() == ".csv" else "json"
    text = file.read_text(encoding="utf-8-sig")
    try:
        entries = parse_csv(text) if fmt == "csv" else parse_json(text)
        count = WorklistStore(obj.db()).put_many(entries, source="import")
    except ItemError as exc:
        raise click.ClickException(f"{file}: nothing was imported: {exc}") from None
    click.echo(f"Imported {count} worklist item(s) from {file}.")
