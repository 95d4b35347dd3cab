"""`appliance export iso` and `appliance export usb`: file-sets on a disc image or a stick.

Both build the file-set in a staging directory (`staged_fileset`) and then master it:
`export iso` into one ISO 9660/UDF image per volume (docs/media.md, "Disc images"),
`export usb` onto a stick through the USB export device (docs/usb-export.md). Errors from
the media layer become one sentence here, at the edge.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from appliance.cli.context import Context, pass_ctx
from appliance.cli.export_cmds import (
    DISCS,
    build_arguments,
    describe,
    disc_capacities,
    media_failure,
    media_options,
    parse_media,
    progress_bar,
    selection,
)
from appliance.media.errors import MediaError
from appliance.media.profiles import Medium, Profile

if TYPE_CHECKING:
    from appliance.media.contents import StudyEntry
    from appliance.media.disc_image import DiscImageError, ImageResult
    from appliance.media.fileset import FileSetResult
    from appliance.media.spanning import MediumPlan

DISC_MEDIA = frozenset({Medium.CD, Medium.DVD, Medium.DVD_RAM, Medium.BD})
STICK_MEDIA = frozenset({Medium.USB, Medium.FLASH})
# Set on the re-executed command so a preload that still is not there cannot loop.
_REEXEC_MARK = "KILN_USB_WRAPPED"


def _checked_profile(profile: str | None, allowed: frozenset[Medium], what: str) -> None:
    if profile is not None and Profile(profile).medium not in allowed:
        choices = ", ".join(p.value for p in Profile if p.medium in allowed)
        raise click.BadParameter(f"{profile} is not a {what} profile; use one of {choices}")


def volume_path(output: Path, plan: MediumPlan) -> Path:
    """FILE itself for one volume; FILE-1of2.iso, FILE-2of2.iso... for several."""
    if plan.volumes == 1:
        return output
    return output.with_name(f"{output.stem}-{plan.volume}of{plan.volumes}{output.suffix}")


def _plans(
    obj: Context, chosen: list[StudyEntry], profile: str | None, media: str
) -> list[MediumPlan]:
    from dataclasses import replace

    from appliance.media.extras import ExtrasOptions, extras_size
    from appliance.media.profiles import Compression
    from appliance.media.spanning import plan_media

    settings = obj.config.media
    if profile is not None:
        wanted = [Profile(profile).medium]
        compression: Compression | None = Compression.J2K if "J2K" in profile else Compression.JPEG
    else:
        wanted = [Medium(m) for m in parse_media(media)]
        compression = None
    extras = extras_size(ExtrasOptions(viewer_dir=settings.viewer_dir))
    plans = plan_media(
        chosen,
        media=wanted,
        capacities=disc_capacities(settings),
        compression=compression,
        extras=extras,
    )
    if profile is None:
        return plans
    return [replace(plan, profile=Profile(profile)) for plan in plans]


def _largest_file(root: Path) -> int:
    return max((p.stat().st_size for p in root.rglob("*") if p.is_file()), default=0)


def _image_failure(exc: DiscImageError) -> click.ClickException:
    from appliance.media.disc_image import ImageProblem

    advice = {
        ImageProblem.NO_SPACE: "free space or write the image somewhere else",
        ImageProblem.OUTPUT_NOT_WRITABLE: "choose a folder the box may write to",
        ImageProblem.BAD_OUTPUT: "name a new image file outside the data directory",
        ImageProblem.BAD_VOLUME_ID: "set [media] file_set_id to A-Z, 0-9 and _ only",
    }.get(exc.problem, "report this with 'appliance diagnostics'")
    text = str(exc)
    return click.ClickException(
        f"{text[:1].upper()}{text[1:]}; no image was left behind — {advice}."
    )


def _master(staged: FileSetResult, output: Path, volume_id: str, label: str) -> ImageResult:
    from appliance.media.disc_image import build_image, choose_kind

    kind = choose_kind(staged.profile.value, _largest_file(staged.root))
    total = max(1, staged.bytes)
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:

        def advance(done: int, all_bytes: int) -> None:
            # The image is larger than the file-set (file system structures): scale.
            bar.update(max(0, done * total // max(1, all_bytes) - bar.pos))

        return build_image(staged.root, output, volume_id=volume_id, kind=kind, progress=advance)


@click.command("iso")
@click.argument("output", metavar="FILE", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("studies", nargs=-1, required=True)
@media_options
@click.option(
    "--media",
    default=",".join(DISCS),
    show_default=True,
    help="Disc types the image may be for, comma-separated (cd, dvd, dvd-dl, bd); the "
    "smallest that holds the studies is chosen, and several when none does.",
)
@pass_ctx
def export_iso_cmd(
    obj: Context,
    output: Path,
    studies: tuple[str, ...],
    profile: str | None,
    copy_type: str,
    deid_level: str,
    media: str,
) -> None:
    """Write STUDIES as a disc image FILE: a file-set (DICOMDIR at the root) in an ISO 9660
    + Joliet + Rock Ridge image, UDF for Blu-ray or files over 4 GiB. Studies too large
    for one disc give FILE-1of2.iso, FILE-2of2.iso..., each a complete file-set."""
    from appliance.media.disc_image import DiscImageError
    from appliance.media.fileset import FileSetOptions, staged_fileset

    _checked_profile(profile, DISC_MEDIA, "disc")
    output = output.absolute()
    written: list[Path] = []
    try:
        arguments = build_arguments(obj, profile, copy_type, deid_level)
        base: FileSetOptions = arguments["options"]
        chosen = selection(obj, studies)
        plans = _plans(obj, chosen, profile, media)
        targets = [volume_path(output, plan) for plan in plans]
        existing = [str(t) for t in targets if t.exists()]
        if existing:
            raise click.ClickException(
                f"{', '.join(existing)} already exists; nothing was written — name a new file."
            )
        for plan, target in zip(plans, targets, strict=True):
            from dataclasses import replace

            options = replace(base, profile=plan.profile, volume=plan.volume, volumes=plan.volumes)
            prefix = f"Volume {plan.volume} of {plan.volumes}: " if plan.volumes > 1 else ""
            count = sum(1 for study in plan.studies for _ in study.instances)
            with (
                progress_bar(count, f"{prefix}writing instances") as advance,
                staged_fileset(
                    arguments["data_dir"],
                    plan.studies,
                    options,
                    parent=target.parent,
                    transform=arguments["transform"],  # one de-identifier for every volume
                    progress=advance,
                ) as staged,
            ):
                image = _master(
                    staged, target, base.file_set_id or "KILN", f"{prefix}mastering image"
                )
            written.append(target)
            click.echo(
                f"{prefix}{describe(staged, len(plan.studies), str(target))} "
                f"Image {image.kind.value}, {image.image_bytes / 1_000_000:.1f} MB, "
                f"volume {image.volume_id}, for a {plan.medium.value.upper()}."
            )
    except MediaError as exc:
        _remove(written)
        raise media_failure(exc, str(output.parent)) from None
    except DiscImageError as exc:
        _remove(written)
        raise _image_failure(exc) from None
    except BaseException:
        _remove(written)
        raise


def _remove(paths: list[Path]) -> None:
    """An export of several volumes is all or nothing: earlier volumes go too."""
    for path in paths:
        path.unlink(missing_ok=True)


def _wrap_process(obj: Context) -> None:
    """Some USB backends need the process started a particular way (the simulator needs
    umockdev's preload library from the start): re-execute this command so."""
    from appliance.media.usb_export import process_wrapper

    wrapper = process_wrapper(obj.config)
    if not wrapper or os.environ.get(_REEXEC_MARK):
        return
    if shutil.which(wrapper[0]) is None:
        raise click.ClickException(
            f"USB export with [usb] backend = {obj.config.usb.backend.value!r} needs "
            f"'{wrapper[0]}', which is not installed; nothing was written — install it "
            "(apt-get install umockdev) or set the backend to 'udev'."
        )
    sys.stdout.flush()
    sys.stderr.flush()
    argv = [*wrapper, sys.executable, "-m", "appliance", *sys.argv[1:]]
    os.execvpe(argv[0], argv, {**os.environ, _REEXEC_MARK: "1"})  # noqa: S606


@click.command("usb")
@click.argument("studies", nargs=-1, required=True)
@media_options
@click.option(
    "--wait",
    type=click.FloatRange(0.1, 3600),
    default=None,
    help="Seconds to wait for a stick (default: [usb] wait_seconds).",
)
@pass_ctx
def export_usb_cmd(
    obj: Context,
    studies: tuple[str, ...],
    profile: str | None,
    copy_type: str,
    deid_level: str,
    wait: float | None,
) -> None:
    """Write STUDIES to a USB stick as a file-set, read it back and check every file, and
    say when the stick is safe to remove. The default profile is STD-GEN-USB-JPEG or -J2K,
    whichever keeps more instances as received."""
    from dataclasses import replace

    from appliance.activities import PREPARING, USB_EXPORT, Activity
    from appliance.media.fileset import FileSetOptions, staged_fileset
    from appliance.media.profiles import compression_for, disc_profile
    from appliance.media.usb_export import (
        ExportPhase,
        UsbExporter,
        UsbExportUnavailable,
        open_usb_driver,
    )

    _checked_profile(profile, STICK_MEDIA, "USB or flash")
    _wrap_process(obj)
    config = obj.config
    try:
        arguments = build_arguments(obj, profile, copy_type, deid_level)
        chosen = selection(obj, studies)
        options: FileSetOptions = arguments["options"]
        if profile is None:
            syntaxes = [e.transfer_syntax for s in chosen for e in s.instances]
            options = replace(options, profile=disc_profile(Medium.USB, compression_for(syntaxes)))
        driver = open_usb_driver(config)
    except UsbExportUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    except MediaError as exc:
        raise media_failure(exc, "the stick") from None
    staging = config.data_dir / "tmp"
    staging.mkdir(parents=True, exist_ok=True)
    count = sum(1 for study in chosen for _ in study.instances)
    try:
        with (
            # The LEDs show the export as activity (appliance/activities.py, docs/leds.md).
            Activity(obj.db, USB_EXPORT, phase=PREPARING, detail=f"{count} instance(s)") as busy,
            UsbExporter(config, driver) as exporter,
            progress_bar(count, "Writing instances") as advance,
            staged_fileset(
                arguments["data_dir"],
                chosen,
                options,
                parent=staging,
                transform=arguments["transform"],
                progress=advance,
            ) as staged,
        ):
            bars: dict[ExportPhase, Any] = {}
            exporter.subscribe(lambda moved: busy.update(moved.after.value))
            busy.update(exporter.state.value)

            def report(phase: ExportPhase, done: int, total: int) -> None:
                busy.update(exporter.state.value, done, total)
                bar = bars.get(phase)
                if bar is None:
                    for other in bars.values():
                        other.render_finish()
                    label = "Copying to stick" if phase is ExportPhase.WRITE else "Reading back"
                    bar = click.progressbar(length=max(1, total), label=label, file=sys.stderr)
                    bars[phase] = bar
                bar.update(done - bar.pos)

            click.echo(
                f"Insert a USB stick (waiting up to {wait or config.usb.wait_seconds:g} s).",
                err=True,
            )
            result = exporter.export(staged.root, report, wait_seconds=wait)
            for bar in bars.values():
                bar.render_finish()
    except MediaError as exc:
        raise media_failure(exc, "the stick") from None
    if result.ok:
        click.echo(describe(staged, len(chosen), f"the stick {result.stick}".rstrip()))
    click.echo(result.message, err=not result.ok)
    if not result.ok:
        sys.exit(1)


def registered() -> list[click.Command]:
    return [export_iso_cmd, export_usb_cmd]
