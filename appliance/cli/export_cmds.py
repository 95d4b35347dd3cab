"""`appliance export`: studies written as DICOM file-sets (docs/media.md).

`export folder DIR STUDY...` builds one in a new directory, `export plan` says which discs
a study set needs; `export iso` and `export usb` (export_media_cmds.py) take the shared
options (`media_options`), read the studies with `selection`, build their file-set with
`appliance.media.fileset.staged_fileset` and report `MediaError` through `media_failure`,
which is where errors become sentences.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from appliance.cli.context import Context, pass_ctx
from appliance.media.copies import DEFAULT_LEVEL, CopyType, transform_for
from appliance.media.errors import MediaError, MediaProblem
from appliance.media.profiles import Medium, Profile

if TYPE_CHECKING:  # the builders import pydicom: only a command that runs loads them
    from appliance.config.schema import MediaSection
    from appliance.media.contents import StudyEntry
    from appliance.media.fileset import FileSetResult, Progress

F = TypeVar("F", bound=Callable[..., Any])

# What the operator can do about each problem (the message says what happened).
_ADVICE = {
    MediaProblem.UNKNOWN_STUDY: "check the Study Instance UID with 'appliance studies ls'",
    MediaProblem.UNDECODABLE: "choose a profile that keeps that transfer syntax "
    "(--profile), or leave the study out",
    MediaProblem.MISSING_FILE: "the index and the data directory disagree; restart the dicom "
    "role to reconcile them, or leave the study out",
    MediaProblem.TARGET_EXISTS: "name a new directory",
    MediaProblem.NO_SPACE: "free space or write somewhere else",
    MediaProblem.BURNED_IN: "leave that series out of the anonymised copy",
}


def media_options(command: F) -> F:
    """--profile, --copy-type and --deid-level, shared by every export command."""
    command = click.option(
        "--deid-level",
        default=DEFAULT_LEVEL,
        show_default=True,
        help="De-identification level of an anonymised copy (full, reduced, service).",
    )(command)
    command = click.option(
        "--copy-type",
        type=click.Choice([c.value for c in CopyType]),
        default=CopyType.PATIENT.value,
        show_default=True,
        help="Who the copy is for; 'anonymised' de-identifies every instance.",
    )(command)
    return click.option(
        "--profile",
        metavar="PROFILE",
        default=None,
        callback=_profile,
        help="Media Storage Application Profile, e.g. STD-GEN-CD, STD-GEN-DVD-J2K, "
        "STD-GEN-USB-JPEG (default: [media] default_profile; all in docs/media.md).",
    )(command)


def _profile(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """PS3.11 writes profiles in upper case; any case is taken."""
    if value is None:
        return None
    try:
        return Profile(value.upper()).value
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not one of {', '.join(p.value for p in Profile)}"
        ) from None


def media_failure(exc: MediaError, nothing_at: str) -> click.ClickException:
    """One sentence: what happened, what the box did (nothing), what to do."""
    advice = _ADVICE.get(exc.problem)
    sentence = f"{exc.message[:1].upper()}{exc.message[1:]}; nothing was written to {nothing_at}"
    return click.ClickException(sentence + (f" — {advice}." if advice else "."))


def selection(obj: Context, study_uids: tuple[str, ...]) -> list[StudyEntry]:
    from appliance.media.contents import load_studies

    conn = obj.db()
    try:
        return load_studies(conn, study_uids)
    finally:
        conn.close()


def build_arguments(
    obj: Context, profile: str | None, copy_type: str, deid_level: str
) -> dict[str, Any]:
    """data_dir, options and transform for `build_fileset` and its wrappers."""
    from appliance.media.extras import ExtrasOptions
    from appliance.media.fileset import FileSetOptions

    config = obj.config
    media = config.media
    kind = CopyType(copy_type)
    options = FileSetOptions(
        profile=Profile(profile) if profile else media.default_profile,
        file_set_id=media.file_set_id,
        source_ae_title=config.dicom.ae_titles[0],
        copy_type=kind,
        extras=ExtrasOptions(
            viewer_dir=media.viewer_dir,
            readme=media.readme,
            index_page=media.index_page,
            autorun=media.autorun,
            autorun_open=media.autorun_open,
        ),
    )
    return {
        "data_dir": config.box.data_dir,
        "options": options,
        "transform": transform_for(kind, deid_level),
    }


@contextmanager
def progress_bar(total: int, label: str) -> Iterator[Progress]:
    """A click progress bar driven by the builders' (done, total) callback."""
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:

        def advance(done: int, _total: int) -> None:
            bar.update(done - bar.pos)

        yield advance


def describe(result: FileSetResult, studies: int, where: str) -> str:
    parts = [f"{result.copied} as received"]
    if result.reencoded:
        parts.append(f"{result.reencoded} re-encoded")
    if result.decoded:
        parts.append(f"{result.decoded} decoded")
    return (
        f"Wrote {result.instances} instance(s) of {studies} study(ies) ({', '.join(parts)}) "
        f"to {where} as {result.profile.value}, {result.bytes / 1_000_000:.1f} MB."
    )


@click.group("export")
def export() -> None:
    """Write studies as DICOM file-sets (DICOMDIR, PS3.10/PS3.11)."""


@export.command("folder")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.argument("studies", nargs=-1, required=True)
@media_options
@pass_ctx
def export_folder_cmd(
    obj: Context,
    directory: Path,
    studies: tuple[str, ...],
    profile: str | None,
    copy_type: str,
    deid_level: str,
) -> None:
    """Write STUDIES (Study Instance UIDs) as a file-set in the new directory DIRECTORY."""
    from appliance.media.fileset import export_folder

    try:
        arguments = build_arguments(obj, profile, copy_type, deid_level)
        chosen = selection(obj, studies)
        total = sum(1 for study in chosen for _ in study.instances)
        with progress_bar(total, "Writing instances") as advance:
            result = export_folder(
                arguments["data_dir"],
                chosen,
                directory,
                arguments["options"],
                transform=arguments["transform"],
                progress=advance,
            )
    except MediaError as exc:
        raise media_failure(exc, str(directory)) from None
    click.echo(describe(result, len(chosen), str(result.root)))


DISCS = ("cd", "dvd", "dvd-dl", "bd")


def parse_media(media: str) -> list[str]:
    wanted = [m.strip() for m in media.split(",") if m.strip()]
    if not wanted or any(m not in DISCS for m in wanted):
        raise click.BadParameter(f"choose from {', '.join(DISCS)}", param_hint="--media")
    return wanted


def disc_capacities(settings: MediaSection) -> dict[Medium, int]:
    """Usable bytes per disc type, from [media]."""
    return {
        Medium.CD: settings.cd_mb * 1_000_000,
        Medium.DVD: settings.dvd_mb * 1_000_000,
        Medium.DVD_DL: settings.dvd_dl_mb * 1_000_000,
        Medium.BD: settings.bd_mb * 1_000_000,
    }


@export.command("plan")
@click.argument("studies", nargs=-1, required=True)
@click.option(
    "--media",
    default=",".join(DISCS),
    show_default=True,
    help="Disc types the burner takes, comma-separated (cd, dvd, dvd-dl, bd).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def export_plan_cmd(obj: Context, studies: tuple[str, ...], media: str, as_json: bool) -> None:
    """Which discs STUDIES need: the smallest that holds them, or several, split by study
    and then by series ("n of m"). Sizes come from the index; nothing is written."""
    from appliance.cli.context import emit_json
    from appliance.media.extras import ExtrasOptions, extras_size
    from appliance.media.spanning import plan_media

    wanted = parse_media(media)
    settings = obj.config.media
    capacities = disc_capacities(settings)
    extras = extras_size(ExtrasOptions(viewer_dir=settings.viewer_dir))
    try:
        plans = plan_media(
            selection(obj, studies),
            media=[Medium(m) for m in wanted],
            capacities=capacities,
            extras=extras,
        )
    except MediaError as exc:
        raise click.ClickException(f"{exc.message[:1].upper()}{exc.message[1:]}.") from None
    rows: list[dict[str, Any]] = [
        {
            "volume": f"{p.volume} of {p.volumes}",
            "medium": p.medium.value,
            "profile": p.profile.value,
            "mb": round(p.size / 1_000_000, 1),
            "studies": [s.study_uid for s in p.studies],
            "instances": sum(1 for s in p.studies for _ in s.instances),
        }
        for p in plans
    ]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        click.echo(
            f"{row['volume']:<8} {row['medium']:<7} {row['profile']:<18} {row['mb']:>9.1f} MB "
            f"{row['instances']:>6} instance(s)  {' '.join(row['studies'])}"
        )
