"""From a job to its discs: media and "n of m" split, one file-set and one image per volume
and copy type in the spool (DATA_DIR/spool/jobs/<job>/), one disc row per copy.

Runs in the devices role (the job runner's preparing step), never in the DICOM receive
path: it reads every instance and writes images of up to a Blu-ray's size.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.media.contents import StudyEntry, load_studies
from appliance.media.copies import CopyType, transform_for
from appliance.media.errors import MediaError, MediaProblem
from appliance.media.extras import ExtrasOptions, extras_size
from appliance.media.labels import LabelData
from appliance.media.profiles import Compression, Medium, Profile
from appliance.media.spanning import MediumPlan, plan_media
from appliance.publishing.jobs_store import DiscPlan, Job, JobStore
from appliance.publishing.settings import MediaChoice, PublishingSettings, PublishProfile

if TYPE_CHECKING:
    from appliance.config.schema import KilnConfig

# (label data, template name, medium, folder to write in) -> the artwork, or None.
RenderLabel = Callable[[LabelData, str, Medium, Path], Path | None]

COPY_ORDER = (CopyType.PATIENT, CopyType.PHYSICIAN, CopyType.ANONYMISED)


class PrepareFailed(Exception):
    """The job's images could not be made; `sentence` is for the operator."""

    def __init__(self, sentence: str) -> None:
        super().__init__(sentence)
        self.sentence = sentence


@dataclass(frozen=True)
class MediaDefaults:
    """What the planner takes from the rest of the configuration."""

    data_dir: Path
    capacities: Mapping[Medium, int]
    by_size_media: tuple[Medium, ...]
    file_set_id: str = "KILN"
    source_ae_title: str = "KILN"
    extras: ExtrasOptions = field(default_factory=ExtrasOptions)
    deid_level: str = "full"

    @classmethod
    def from_config(cls, config: KilnConfig, settings: PublishingSettings) -> MediaDefaults:
        media = config.media
        return cls(
            data_dir=config.box.data_dir,
            capacities={
                Medium.CD: media.cd_mb * 1_000_000,
                Medium.DVD: media.dvd_mb * 1_000_000,
                Medium.DVD_DL: media.dvd_dl_mb * 1_000_000,
                Medium.BD: media.bd_mb * 1_000_000,
            },
            by_size_media=tuple(Medium(m.value) for m in settings.by_size_media),
            file_set_id=media.file_set_id,
            source_ae_title=config.dicom.ae_titles[0],
            extras=ExtrasOptions(
                viewer_dir=media.viewer_dir,
                readme=media.readme,
                index_page=media.index_page,
                autorun=media.autorun,
                autorun_open=media.autorun_open,
            ),
            deid_level=settings.deid_level,
        )


def spool_dir(data_dir: Path, job_id: int) -> Path:
    return data_dir / "spool" / "jobs" / str(job_id)


def _extras(defaults: MediaDefaults, profile: PublishProfile) -> ExtrasOptions:
    return defaults.extras if profile.viewer else replace(defaults.extras, viewer_dir=None)


def plan_volumes(
    studies: list[StudyEntry], profile: PublishProfile, defaults: MediaDefaults
) -> list[MediumPlan]:
    """The volumes and their media, as the profile asks."""
    fixed = profile.fixed_profile
    compression: Compression | None = None
    if fixed is not None:
        compression = Compression.J2K if "J2K" in fixed.value else Compression.JPEG
    if profile.media is not MediaChoice.BY_SIZE:
        media: list[Medium] = [Medium(profile.media.value)]
    elif fixed is not None:
        media = [fixed.medium]
    else:
        media = list(defaults.by_size_media)
    plans = plan_media(
        studies,
        media=media,
        capacities=defaults.capacities,
        compression=compression,
        extras=extras_size(_extras(defaults, profile)),
    )
    if fixed is None:
        return plans
    return [replace(plan, profile=fixed) for plan in plans]


def disc_plans(volumes: list[MediumPlan], profile: PublishProfile) -> list[DiscPlan]:
    """One disc per copy, per copy type, per volume; a copy's volumes come out together."""
    plans: list[DiscPlan] = []
    for copy_type in COPY_ORDER:
        for copy_number in range(1, profile.copies.count(copy_type) + 1):
            for volume in volumes:
                plans.append(
                    DiscPlan(
                        len(plans) + 1,
                        volume.volume,
                        volume.volumes,
                        copy_type,
                        copy_number,
                        volume.medium,
                        volume.profile.value,
                    )
                )
    return plans


_ADVICE = {
    MediaProblem.UNKNOWN_STUDY: "the study was deleted; cancel the job",
    MediaProblem.MISSING_FILE: "restart the dicom role to reconcile the index, then retry the job",
    MediaProblem.UNDECODABLE: "choose a DVD or BD profile that keeps that transfer syntax, "
    "then burn again",
    MediaProblem.NO_SPACE: "free space in the data directory, then retry the job",
    MediaProblem.TOO_LARGE: "allow a larger disc type in the profile, then burn again",
    MediaProblem.BURNED_IN: "make no anonymised copy of that series",
}


def _sentence(job_id: int, what: str, advice: str) -> str:
    return f"Job {job_id}: {what[:1].upper()}{what[1:]}; the box made no disc for it — {advice}."


def prepare(
    store: JobStore,
    job: Job,
    defaults: MediaDefaults,
    *,
    render_label: RenderLabel | None = None,
) -> None:
    """Build every image of `job` and record its discs (image-ready). Raises PrepareFailed;
    the spool folder is then removed."""
    from appliance.media.disc_image import DiscImageError

    spool = spool_dir(defaults.data_dir, job.id)
    shutil.rmtree(spool, ignore_errors=True)  # left by a crash while preparing
    try:
        spool.mkdir(parents=True)
        _build(store, job, defaults, spool, render_label)
    except MediaError as exc:
        shutil.rmtree(spool, ignore_errors=True)
        advice = _ADVICE.get(exc.problem, "check the message, then retry or cancel the job")
        raise PrepareFailed(_sentence(job.id, exc.message, advice)) from exc
    except DiscImageError as exc:
        shutil.rmtree(spool, ignore_errors=True)
        raise PrepareFailed(
            _sentence(job.id, str(exc), "free space or report it with 'appliance diagnostics'")
        ) from exc
    except OSError as exc:
        shutil.rmtree(spool, ignore_errors=True)
        raise PrepareFailed(
            _sentence(
                job.id,
                f"the spool folder {spool} could not be written ({exc.strerror})",
                "check the data directory's disk, then retry the job",
            )
        ) from exc


def _largest_file(root: Path) -> int:
    return max((p.stat().st_size for p in root.rglob("*") if p.is_file()), default=0)


def _build(
    store: JobStore,
    job: Job,
    defaults: MediaDefaults,
    spool: Path,
    render_label: RenderLabel | None,
) -> None:
    from appliance.media.disc_image import build_image, choose_kind
    from appliance.media.fileset import FileSetOptions, staged_fileset

    profile = job.settings
    studies = load_studies(store.conn, job.studies)
    volumes = plan_volumes(studies, profile, defaults)
    plans = disc_plans(volumes, profile)
    ids = dict(zip(plans, store.add_discs(job.id, plans), strict=True))
    for copy_type in COPY_ORDER:
        if profile.copies.count(copy_type) == 0:
            continue
        # One de-identifier for all volumes of the copy: the same UIDs on every disc.
        transform = transform_for(copy_type, defaults.deid_level)
        for volume in volumes:
            options = FileSetOptions(
                Profile(volume.profile),
                file_set_id=defaults.file_set_id,
                source_ae_title=defaults.source_ae_title,
                copy_type=copy_type,
                extras=_extras(defaults, profile),
                volume=volume.volume,
                volumes=volume.volumes,
            )
            image = spool / f"{copy_type.value}-{volume.volume}of{volume.volumes}.iso"
            with staged_fileset(
                defaults.data_dir, volume.studies, options, parent=spool, transform=transform
            ) as staged:
                kind = choose_kind(staged.profile.value, _largest_file(staged.root))
                result = build_image(
                    staged.root, image, volume_id=defaults.file_set_id or "KILN", kind=kind
                )
                label = staged.labels
            artwork = None
            if render_label is not None:
                artwork = render_label(label, profile.label_template, volume.medium, spool)
            for plan, disc_id in ids.items():
                if plan.copy_type is copy_type and plan.volume == volume.volume:
                    store.image_built(
                        disc_id, str(image), result.image_bytes, label, str(artwork or "")
                    )
