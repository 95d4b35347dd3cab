"""The planner on data received through the receive path's header walk and index."""

from __future__ import annotations

import sqlite3
import time
import zlib
from pathlib import Path

import pycdlib
import pytest
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from appliance.db.database import connect, migrate
from appliance.media.contents import load_studies
from appliance.media.copies import CopyType
from appliance.media.profiles import Medium
from appliance.publishing.job_states import DiscState
from appliance.publishing.jobs_store import JobStore, label_from_json
from appliance.publishing.planner import MediaDefaults, disc_plans, plan_volumes, prepare
from appliance.publishing.settings import PublishProfile
from appliance.storage.completeness import mark_complete
from appliance.storage.header import parse_header
from appliance.storage.index import Index, NewInstance
from tests.media_data import Patient, ct
from tests.unit.test_header import encode

CAPACITIES = {Medium.CD: 700_000_000, Medium.DVD: 4_700_000_000}


def receive_study(
    conn: sqlite3.Connection,
    data_dir: Path,
    *,
    count: int = 3,
    series: int = 1,
    called: str = "KILN",
    calling: str = "CT1",
    patient: Patient | None = None,
) -> str:
    """A CT study stored and indexed as the Storage SCP does it, then completed."""
    patient = patient or Patient("Doe^Jane", "PID-1")
    study_uid = str(generate_uid())
    for s in range(1, series + 1):
        series_uid = str(generate_uid())
        for number in range(1, count + 1):
            ds = ct(patient, study_uid, series_uid, series_number=s, number=number)
            path = f"dicom/{study_uid}/{series_uid}/{ds.SOPInstanceUID}.dcm"
            (data_dir / path).parent.mkdir(parents=True, exist_ok=True)
            ds.save_as(data_dir / path, enforce_file_format=True)
            raw = (data_dir / path).read_bytes()
            header = parse_header(
                encode(ds, ExplicitVRLittleEndian), ExplicitVRLittleEndian, complete=True
            )
            Index(conn).add(
                NewInstance(
                    header,
                    ExplicitVRLittleEndian,
                    path,
                    len(raw),
                    zlib.crc32(raw),
                    calling,
                    called,
                    None,
                )
            )
    mark_complete(conn, 1, now=time.time() + 100)
    return study_uid


def defaults(data_dir: Path, **capacities: int) -> MediaDefaults:
    caps = dict(CAPACITIES)
    caps.update({Medium(k): v for k, v in capacities.items()})
    return MediaDefaults(data_dir, caps, (Medium.CD, Medium.DVD))


def iso_files(image: Path) -> list[str]:
    iso = pycdlib.PyCdlib()
    iso.open(str(image))
    try:
        return sorted(
            str(Path(root) / name)
            for root, _dirs, files in iso.walk(joliet_path="/")
            for name in files
        )
    finally:
        iso.close()


def test_two_volumes_three_copy_types_one_image_each(tmp_path: Path) -> None:
    migrate(tmp_path)
    conn = connect(tmp_path)
    study = receive_study(conn, tmp_path, count=4, series=2)
    store = JobStore(conn, time.time)
    profile = PublishProfile.model_validate(
        {"copies": {"patient": 2, "physician": 1, "anonymised": 1}, "media": "cd"}
    )
    job_id = store.create_job([study], "p", profile, priority=5, origin="operator")
    # A CD just large enough for one series: the study spans two discs, by series.
    tiny = defaults(tmp_path, cd=64 * 1024 + 60_000)
    volumes = plan_volumes(
        load_studies(conn, [study]),
        profile,
        tiny,
    )
    assert [(v.volume, v.volumes, v.medium) for v in volumes] == [
        (1, 2, Medium.CD),
        (2, 2, Medium.CD),
    ]
    plans = disc_plans(volumes, profile)
    # Each copy's volumes together: patient 1 (1of2, 2of2), patient 2, physician, anonymised.
    assert [(p.copy_type, p.copy_number, p.volume) for p in plans] == [
        (CopyType.PATIENT, 1, 1),
        (CopyType.PATIENT, 1, 2),
        (CopyType.PATIENT, 2, 1),
        (CopyType.PATIENT, 2, 2),
        (CopyType.PHYSICIAN, 1, 1),
        (CopyType.PHYSICIAN, 1, 2),
        (CopyType.ANONYMISED, 1, 1),
        (CopyType.ANONYMISED, 1, 2),
    ]
    prepare(store, store.job(job_id), tiny)
    discs = store.discs(job_id)
    assert len(discs) == 8 and all(d.state is DiscState.IMAGE_READY for d in discs)
    images = sorted({d.image for d in discs})
    spool = tmp_path / "spool" / "jobs" / str(job_id)
    assert images == sorted(
        str(spool / f"{t}-{v}of2.iso")
        for t in ("anonymised", "patient", "physician")
        for v in (1, 2)
    )
    assert sorted(p.name for p in spool.iterdir()) == sorted(
        Path(i).name for i in images
    )  # no staging left
    for disc in discs:
        label = label_from_json(disc.label)
        assert (label.volume, label.volumes, label.copy_type) == (disc.volume, 2, disc.copy_type)
        assert disc.image_bytes == Path(disc.image).stat().st_size
        assert "/DICOMDIR" in iso_files(Path(disc.image))
    names = {d.copy_type: label_from_json(d.label).patient for d in discs if d.volume == 1}
    patient = names[CopyType.PATIENT]
    assert patient is not None and patient.name == "Doe, Jane"
    anon = names[CopyType.ANONYMISED]
    assert anon is not None and "Doe" not in anon.name_dicom


def test_anonymised_volumes_share_one_set_of_uids(tmp_path: Path) -> None:
    from pydicom import dcmread

    migrate(tmp_path)
    conn = connect(tmp_path)
    study = receive_study(conn, tmp_path, count=2, series=2)
    store = JobStore(conn, time.time)
    profile = PublishProfile.model_validate(
        {"copies": {"patient": 0, "anonymised": 1}, "media": "cd"}
    )
    job_id = store.create_job([study], "a", profile, priority=5, origin="operator")
    prepare(store, store.job(job_id), defaults(tmp_path, cd=64 * 1024 + 40_000))
    study_uids = set()
    for disc in store.discs(job_id):
        iso = pycdlib.PyCdlib()
        iso.open(disc.image)
        try:
            target = tmp_path / f"DICOMDIR-{disc.volume}"
            iso.get_file_from_iso(str(target), joliet_path="/DICOMDIR")
        finally:
            iso.close()
        records = dcmread(target).DirectoryRecordSequence
        study_uids |= {r.StudyInstanceUID for r in records if r.DirectoryRecordType == "STUDY"}
    assert len(study_uids) == 1 and study not in study_uids


def test_a_missing_study_fails_with_a_sentence_and_leaves_no_spool(tmp_path: Path) -> None:
    from appliance.publishing.planner import PrepareFailed

    migrate(tmp_path)
    conn = connect(tmp_path)
    store = JobStore(conn, time.time)
    job_id = store.create_job(["1.2.3.4"], "p", PublishProfile(), priority=5, origin="operator")
    with pytest.raises(PrepareFailed) as failed:
        prepare(store, store.job(job_id), defaults(tmp_path))
    assert failed.value.sentence.startswith(f"Job {job_id}: The box holds no study 1.2.3.4")
    assert "cancel the job" in failed.value.sentence
    assert not (tmp_path / "spool" / "jobs" / str(job_id)).exists()
