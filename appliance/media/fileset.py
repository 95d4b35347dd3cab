"""Build a DICOM file-set (PS3.10, PS3.11) in a directory from studies in the index.

Layout (PS3.10 8.2 File IDs: at most 8 components of at most 8 characters A-Z 0-9 _):

    DICOMDIR
    DICOM/P0000001/S0000001/SE000001/I0000001     patient / study / series / instance
    VIEWER/ README.TXT INDEX.HTM AUTORUN.INF        optional extras, outside DICOM/

`build_fileset` writes into a directory the caller owns (the ISO and USB builders use
`staged_fileset`, which removes it afterwards); `export_folder` builds in a hidden sibling
of the destination, fsyncs every file and directory and renames it into place, so a failure
— an instance that cannot be decoded, a full disk — leaves nothing under the destination.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from appliance import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
from appliance.media.contents import InstanceEntry, SeriesEntry, StudyEntry
from appliance.media.copies import CopyType
from appliance.media.dicomdir import FileMeta, FileRef, write_dicomdir
from appliance.media.errors import MediaError, MediaProblem
from appliance.media.extras import ExtrasOptions, extras_size, write_extras
from appliance.media.labels import LabelData, label_data
from appliance.media.leaf_keys import (
    character_set,
    dataset_keys,
    index_image_keys,
    needs_header,
    read_header,
    series_level,
)
from appliance.media.profiles import Disposition, Profile
from appliance.media.record_types import FROM_INDEX, record_type
from appliance.media.records import Leaf, build_records
from appliance.media.spanning import contents_size
from appliance.media.transcode import Transform, write_instance

log = logging.getLogger(__name__)

DICOM_DIR = "DICOM"
DICOMDIR = "DICOMDIR"
FILE_SET_ID = re.compile(r"^[A-Z0-9_ ]{0,16}$")  # CS, 16 characters (PS3.5)

Progress = Callable[[int, int], None]  # (instances written, instances in all)


@dataclass(frozen=True)
class FileSetOptions:
    profile: Profile
    file_set_id: str = "KILN"
    source_ae_title: str = "KILN"  # Source AE Title of rewritten files' meta (and DICOMDIR's)
    copy_type: CopyType = CopyType.PATIENT
    extras: ExtrasOptions = field(default_factory=ExtrasOptions)
    volume: int = 1
    volumes: int = 1


@dataclass(frozen=True)
class FileSetResult:
    root: Path
    profile: Profile
    instances: int
    copied: int
    reencoded: int
    decoded: int
    bytes: int  # DICOM files and DICOMDIR
    labels: LabelData
    file_ids: dict[str, str]  # SOP Instance UID written -> its File ID path (DICOM/P.../I...)


def check_file_set_id(value: str) -> str:
    if not FILE_SET_ID.match(value):
        raise MediaError(
            MediaProblem.BAD_VALUE,
            f"File-set ID {value!r} must be at most 16 characters of A-Z, 0-9, space and _",
        )
    return value


def _plan_ids(studies: Sequence[StudyEntry]) -> dict[str, tuple[str, ...]]:
    """File ID components for each instance (by index path), grouped as the DICOMDIR is."""
    patients: dict[str, int] = {}
    study_counts: dict[int, int] = {}
    ids: dict[str, tuple[str, ...]] = {}
    for study in studies:
        patient = patients.setdefault(study.patient_id or study.study_uid, len(patients) + 1)
        study_counts[patient] = study_counts.get(patient, 0) + 1
        for s, series in enumerate(study.series, start=1):
            for i, entry in enumerate(series.instances, start=1):
                ids[entry.path] = (
                    DICOM_DIR,
                    f"P{patient:07d}",
                    f"S{study_counts[patient]:07d}",
                    f"SE{s:06d}",
                    f"I{i:07d}",
                )
    return ids


def build_fileset(
    data_dir: Path,
    studies: Sequence[StudyEntry],
    root: Path,
    options: FileSetOptions,
    *,
    transform: Transform | None = None,
    progress: Progress | None = None,
) -> FileSetResult:
    """Write the file-set of `studies` into the existing, empty directory `root`."""
    check_file_set_id(options.file_set_id)
    if not any(True for study in studies for _ in study.instances):
        raise MediaError(MediaProblem.NOTHING_SELECTED, "the studies named hold no instances")
    ids = _plan_ids(studies)
    total = len(ids)
    leaves: dict[str, Leaf] = {}
    datasets: dict[str, Dataset] = {}
    filled: dict[str, dict[str, Any]] = {}  # keys the index lacked, read from headers
    counts = dict.fromkeys(Disposition, 0)
    file_ids: dict[str, str] = {}
    directories: set[Path] = set()
    size = 0
    done = 0
    try:
        for study in studies:
            for series in study.series:
                for entry in series.instances:
                    components = ids[entry.path]
                    target = root.joinpath(*components)
                    if target.parent not in directories:
                        target.parent.mkdir(parents=True, exist_ok=True)
                        directories.update(target.parents)
                    written = write_instance(
                        data_dir / entry.path,
                        target,
                        entry.sop_instance_uid,
                        entry.transfer_syntax,
                        options.profile,
                        options.source_ae_title,
                        transform,
                    )
                    counts[written.disposition] += 1
                    size += written.size
                    ds = written.dataset
                    sop_class = str(ds.SOPClassUID) if ds is not None else entry.sop_class_uid
                    sop_uid = str(ds.SOPInstanceUID) if ds is not None else entry.sop_instance_uid
                    kind = record_type(sop_class)
                    header = ds
                    from_index = bool(entry.keys) and not needs_header(entry.keys)
                    from_index = from_index and kind in FROM_INDEX
                    if header is None and not from_index:
                        # Not in the index (another record type, or received before keys
                        # were kept): the header of the copy just written, never its pixels.
                        header = read_header(target)
                    if header is None:
                        keys = index_image_keys(entry.keys)
                        charset = str(entry.keys.get("SpecificCharacterSet", ""))
                    else:
                        keys, charset = dataset_keys(header, kind), character_set(header)
                        if not entry.keys:
                            filled[entry.path] = series_level(header)
                    leaves[entry.path] = Leaf(
                        FileRef(components, sop_class, sop_uid, written.transfer_syntax),
                        kind,
                        keys,
                        charset,
                    )
                    if transform is not None and ds is not None:
                        datasets[entry.path] = ds
                    file_ids[sop_uid] = "/".join(components)
                    done += 1
                    if progress is not None:
                        progress(done, total)
        described = (
            _described(studies, datasets) if transform is not None else _filled(studies, filled)
        )
        records = build_records(described, leaves, options.file_set_id)
        meta = FileMeta(
            str(generate_uid()),
            IMPLEMENTATION_CLASS_UID,
            IMPLEMENTATION_VERSION_NAME,
            options.source_ae_title,
        )
        size += write_dicomdir(root / DICOMDIR, records, options.file_set_id, meta)
        labels = label_data(
            records,
            volume=options.volume,
            volumes=options.volumes,
            copy_type=options.copy_type,
            file_set_id=options.file_set_id,
            profile=options.profile.value,
        )
        extras = write_extras(root, options.extras, labels)
        _sync_extras(extras)
        for directory in sorted(directories | {root}, key=lambda p: -len(p.parts)):
            if directory == root or root in directory.parents:
                _fsync_dir(directory)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise MediaError(
                MediaProblem.NO_SPACE,
                f"the disk holding {root} is full ({done} of {total} written)",
            ) from None
        raise MediaError(MediaProblem.WRITE_FAILED, f"writing to {root} failed: {exc}") from None
    return FileSetResult(
        root,
        options.profile,
        total,
        counts[Disposition.COPY],
        counts[Disposition.REENCODE],
        counts[Disposition.DECODE],
        size,
        labels,
        file_ids,
    )


def dicomdir_from_index(studies: Sequence[StudyEntry], path: Path, options: FileSetOptions) -> int:
    """The DICOMDIR `build_fileset` writes for `studies` when the profile keeps every
    instance as received, from the index alone (no instance is opened): what the media
    benchmark times against dcmmkdir. Image instances with captured keys only (other
    record types need their header). Returns the DICOMDIR's size."""
    check_file_set_id(options.file_set_id)
    ids = _plan_ids(studies)
    leaves: dict[str, Leaf] = {}
    for study in studies:
        for entry in study.instances:
            leaves[entry.path] = Leaf(
                FileRef(
                    ids[entry.path],
                    entry.sop_class_uid,
                    entry.sop_instance_uid,
                    entry.transfer_syntax,
                ),
                record_type(entry.sop_class_uid),
                index_image_keys(entry.keys),
                str(entry.keys.get("SpecificCharacterSet", "")),
            )
    records = build_records(list(studies), leaves, options.file_set_id)
    meta = FileMeta(
        str(generate_uid()),
        IMPLEMENTATION_CLASS_UID,
        IMPLEMENTATION_VERSION_NAME,
        options.source_ae_title,
    )
    return write_dicomdir(path, records, options.file_set_id, meta)


def _text(ds: Dataset, keyword: str) -> str:
    """A value as text; an empty element (None in pydicom) is ""."""
    value = ds.get(keyword)
    return "" if value is None else str(value)


def _filled(studies: Sequence[StudyEntry], filled: dict[str, dict[str, Any]]) -> list[StudyEntry]:
    """Studies whose entries without index keys get the ones read from their headers."""
    if not filled:
        return list(studies)
    return [
        replace(
            study,
            series=tuple(
                replace(
                    series,
                    instances=tuple(
                        replace(entry, keys=filled[entry.path]) if entry.path in filled else entry
                        for entry in series.instances
                    ),
                )
                for series in study.series
            ),
        )
        for study in studies
    ]


def _described(studies: Sequence[StudyEntry], datasets: dict[str, Dataset]) -> list[StudyEntry]:
    """Studies as the rewritten (de-identified) datasets describe them: the DICOMDIR must
    say what the files say, and a de-identifier changes names, IDs and UIDs."""
    out: dict[str, StudyEntry] = {}
    series_out: dict[tuple[str, str], list[InstanceEntry]] = {}
    series_info: dict[tuple[str, str], SeriesEntry] = {}
    for study in studies:
        for series in study.series:
            for entry in series.instances:
                ds = datasets[entry.path]
                study_uid = str(ds.get("StudyInstanceUID", study.study_uid))
                series_uid = str(ds.get("SeriesInstanceUID", series.series_uid))
                if study_uid not in out:
                    out[study_uid] = replace(
                        study,
                        study_uid=study_uid,
                        patient_id=_text(ds, "PatientID"),
                        patient_name=_text(ds, "PatientName"),
                        patient_birth_date=_text(ds, "PatientBirthDate"),
                        patient_sex=_text(ds, "PatientSex"),
                        study_date=_text(ds, "StudyDate"),
                        study_time=_text(ds, "StudyTime"),
                        accession_number=_text(ds, "AccessionNumber"),
                        study_id=_text(ds, "StudyID"),
                        study_description=_text(ds, "StudyDescription"),
                        referring_physician=_text(ds, "ReferringPhysicianName"),
                        institution_name=_text(ds, "InstitutionName"),
                        character_set=character_set(ds),
                        series=(),
                    )
                key = (study_uid, series_uid)
                if key not in series_info:
                    series_info[key] = replace(
                        series,
                        series_uid=series_uid,
                        modality=_text(ds, "Modality"),
                        series_number=_text(ds, "SeriesNumber"),
                        series_description=_text(ds, "SeriesDescription"),
                        instances=(),
                    )
                keys = series_level(ds)
                series_out.setdefault(key, []).append(
                    replace(
                        entry,
                        sop_instance_uid=str(ds.SOPInstanceUID),
                        sop_class_uid=str(ds.SOPClassUID),
                        instance_number=_text(ds, "InstanceNumber"),
                        keys=keys,
                    )
                )
    result = []
    for study_uid, study in out.items():
        members = tuple(
            replace(info, instances=tuple(series_out[key]))
            for key, info in series_info.items()
            if key[0] == study_uid
        )
        result.append(replace(study, series=members))
    return result


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_extras(paths: list[Path]) -> None:
    for path in paths:
        if path.is_dir():
            for folder, _, files in os.walk(path):
                for name in files:
                    _fsync_file(Path(folder) / name)
                _fsync_dir(Path(folder))
        else:
            _fsync_file(path)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _check_space(parent: Path, studies: Sequence[StudyEntry], options: FileSetOptions) -> None:
    need = contents_size(studies, options.profile) + extras_size(options.extras)
    free = shutil.disk_usage(parent).free
    if need > free:
        raise MediaError(
            MediaProblem.NO_SPACE,
            f"the file-set needs about {need // 1_000_000} MB but {parent} has "
            f"{free // 1_000_000} MB free",
        )


def export_folder(
    data_dir: Path,
    studies: Sequence[StudyEntry],
    destination: Path,
    options: FileSetOptions,
    *,
    transform: Transform | None = None,
    progress: Progress | None = None,
) -> FileSetResult:
    """The file-set as the new directory `destination` (which must not exist, or be empty);
    all or nothing."""
    destination = destination.absolute()
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise MediaError(
            MediaProblem.TARGET_EXISTS,
            f"{destination} already exists and is not an empty directory",
        )
    parent = destination.parent
    if not parent.is_dir():
        raise MediaError(MediaProblem.WRITE_FAILED, f"the folder {parent} does not exist")
    _check_space(parent, studies, options)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".partial", dir=parent))
    try:
        result = build_fileset(
            data_dir, studies, staging, options, transform=transform, progress=progress
        )
        staging.rename(destination)
        _fsync_dir(parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return replace(result, root=destination)


@contextlib.contextmanager
def staged_fileset(
    data_dir: Path,
    studies: Sequence[StudyEntry],
    options: FileSetOptions,
    *,
    parent: Path | None = None,
    transform: Transform | None = None,
    progress: Progress | None = None,
) -> Iterator[FileSetResult]:
    """A file-set in a temporary directory (under `parent`, default the system's), removed
    when the block ends: what the ISO and USB exporters build their media from."""
    if parent is not None:
        _check_space(parent, studies, options)
    staging = Path(tempfile.mkdtemp(prefix="kiln-fileset-", dir=parent))
    try:
        yield build_fileset(
            data_dir, studies, staging, options, transform=transform, progress=progress
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
