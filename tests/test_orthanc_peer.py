"""Orthanc 1.10 as a real third-party peer: it stores to Kiln, echoes it, and asks Kiln for
storage commitment (Orthanc's own storage-commitment SCU), receiving the report on a new
association."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import JPEGLosslessSV1, generate_uid

from tests.conftest import Box
from tests.dicomdata import CT, MR, make_instance
from tests.orthanc import Orthanc, OrthancFactory, kiln_modality

NO_SUCH_OBJECT_INSTANCE = 0x0112
CLASS_INSTANCE_CONFLICT = 0x0119


@pytest.fixture
def orthanc_factory(tmp_path: Path) -> Iterator[OrthancFactory]:
    with OrthancFactory(tmp_path) as factory:
        yield factory


def encode(ds: Dataset) -> bytes:
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def jpeg_lossless(ds: Dataset, folder: Path) -> bytes:
    """The same instance, JPEG Lossless SV1 compressed by DCMTK's dcmcjpeg."""
    folder.mkdir(parents=True, exist_ok=True)
    source, target = folder / "plain.dcm", folder / "jpeg.dcm"
    source.write_bytes(encode(ds))
    subprocess.run(["dcmcjpeg", "+e1", str(source), str(target)], check=True, capture_output=True)
    compressed = dcmread(target)
    assert compressed.file_meta.TransferSyntaxUID == JPEGLosslessSV1
    return target.read_bytes()


def start_pair(
    box_factory: Callable[..., Box],
    orthanc_factory: OrthancFactory,
    overrides: dict[str, dict[str, Any]] | None = None,
    commitment_mode: str | None = None,
) -> tuple[Box, Orthanc]:
    """An Orthanc that knows the box as `kiln`, and a box that may know Orthanc as a peer."""
    orthanc = orthanc_factory(start=False)
    config = dict(overrides or {})
    if commitment_mode:
        config["commitment"] = {
            "retry_initial_seconds": 0.5,
            "peers": {
                orthanc.ae_title: {
                    "ae_title": orthanc.ae_title,
                    "host": "127.0.0.1",
                    "port": orthanc.dicom_port,
                    "mode": commitment_mode,
                }
            },
        }
    box = box_factory(config)
    orthanc.modalities = kiln_modality(box.port, box.ae_title)
    orthanc.start()
    return box, orthanc


def upload_study(
    orthanc: Orthanc, tmp_path: Path, count: int = 3, jpeg: bool = True
) -> tuple[str, dict[str, Dataset]]:
    """Upload `count` instances of one study (plus a JPEG one); (Orthanc study ID, by UID)."""
    study, series = generate_uid(), generate_uid()
    datasets = [
        make_instance(study_uid=study, series_uid=series, number=i + 1) for i in range(count)
    ]
    blobs = [encode(ds) for ds in datasets]
    if jpeg:
        extra = make_instance(study_uid=study, series_uid=series, number=count + 1, size=32)
        blob = jpeg_lossless(extra, tmp_path / "jpeg")
        datasets.append(dcmread(BytesIO(blob)))
        blobs.append(blob)
    parents = set()
    for blob in blobs:
        answer = orthanc.upload(blob)
        assert answer["Status"] == "Success", answer
        parents.add(answer["ParentStudy"])
    assert len(parents) == 1
    return parents.pop(), {str(ds.SOPInstanceUID): ds for ds in datasets}


def wait_for(what: str, check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


def outbox_rows(box: Box) -> list[dict[str, Any]]:
    with box.db() as conn:
        rows = [dict(r) for r in conn.execute("SELECT * FROM outbox ORDER BY id")]
    for row in rows:
        row["payload"] = json.loads(row["payload"])
    return rows


def outbox_row(box: Box, transaction_uid: str) -> dict[str, Any]:
    found = [r for r in outbox_rows(box) if r["payload"]["transaction_uid"] == transaction_uid]
    assert len(found) == 1, f"{len(found)} outbox rows for {transaction_uid}"
    return found[0]


def wait_row_state(
    box: Box, transaction_uid: str, state: str, timeout: float = 30.0
) -> dict[str, Any]:
    wait_for(
        f"outbox row of {transaction_uid} to be {state}",
        lambda: outbox_row(box, transaction_uid)["state"] == state,
        timeout,
    )
    return outbox_row(box, transaction_uid)


def test_orthanc_echoes_and_stores_a_study_to_kiln(
    box_factory: Callable[..., Box],
    orthanc_factory: OrthancFactory,
    tmp_path: Path,
) -> None:
    box, orthanc = start_pair(box_factory, orthanc_factory)

    assert orthanc.post("/modalities/kiln/echo", {}) == {}
    wait_for(
        "Orthanc's echo association to be closed",
        lambda: (
            box.count(
                "SELECT count(*) FROM associations WHERE calling_ae = 'ORTHANC' "
                "AND state = 'released'"
            )
            >= 1
        ),
    )

    study_id, sent = upload_study(orthanc, tmp_path)
    job = orthanc.post("/modalities/kiln/store", {"Resources": [study_id]})
    assert job["InstancesCount"] == len(sent), job
    assert job["FailedInstancesCount"] == 0, job

    assert box.count("SELECT count(*) FROM instances") == len(sent)
    assert box.count("SELECT count(*) FROM instances WHERE calling_ae = 'ORTHANC'") == len(sent)
    assert len(box.files()) == len(sent)
    assert box.partials() == []
    with box.db() as conn:
        rows = [
            dict(r)
            for r in conn.execute(
                "SELECT sop_instance_uid, sop_class_uid, transfer_syntax, path FROM instances"
            )
        ]
    stored_uids = set()
    for row in rows:
        path = box.data_dir / row["path"]
        assert path.is_file()
        stored = dcmread(path)
        original = sent[row["sop_instance_uid"]]
        stored_uids.add(str(stored.SOPInstanceUID))
        assert stored.SOPInstanceUID == row["sop_instance_uid"]
        assert stored.SOPClassUID == row["sop_class_uid"] == original.SOPClassUID
        # Stored as received: the transfer syntax of the file Orthanc holds, byte for byte.
        assert stored.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID
        assert row["transfer_syntax"] == original.file_meta.TransferSyntaxUID
        assert stored == original
    assert stored_uids == set(sent)
    assert JPEGLosslessSV1 in {r["transfer_syntax"] for r in rows}


def test_orthanc_storage_commitment_is_reported_on_a_new_association(
    box_factory: Callable[..., Box],
    orthanc_factory: OrthancFactory,
    tmp_path: Path,
) -> None:
    box, orthanc = start_pair(box_factory, orthanc_factory, commitment_mode="new-association")
    study_id, sent = upload_study(orthanc, tmp_path)

    job = orthanc.post(
        "/modalities/kiln/store", {"Resources": [study_id], "StorageCommitment": True}
    )
    assert job["FailedInstancesCount"] == 0, job
    transaction = job["StorageCommitmentTransactionUID"]

    report = orthanc.wait_commitment(transaction)
    assert report["Status"] == "Success", report
    assert report["RemoteAET"] == box.ae_title
    assert report["Failures"] == []
    assert {(i["SOPClassUID"], i["SOPInstanceUID"]) for i in report["Success"]} == {
        (str(ds.SOPClassUID), uid) for uid, ds in sent.items()
    }

    row = wait_row_state(box, transaction, "sent")
    assert row["destination"] == orthanc.ae_title
    assert row["kind"] == "commitment-report"
    assert row["attempts"] == 1
    assert all(reason == 0 for _, _, reason in row["payload"]["results"])


def test_orthanc_storage_commitment_reports_instances_kiln_never_received(
    box_factory: Callable[..., Box],
    orthanc_factory: OrthancFactory,
    tmp_path: Path,
) -> None:
    box, orthanc = start_pair(box_factory, orthanc_factory, commitment_mode="new-association")
    study_id, sent = upload_study(orthanc, tmp_path, count=1, jpeg=False)
    job = orthanc.post("/modalities/kiln/store", {"Resources": [study_id]})
    assert job["FailedInstancesCount"] == 0, job
    ((stored_uid, stored),) = sent.items()
    missing = [generate_uid(), generate_uid()]

    request = [
        {"SOPClassUID": str(stored.SOPClassUID), "SOPInstanceUID": stored_uid},
        *({"SOPClassUID": CT, "SOPInstanceUID": uid} for uid in missing),
        # Kiln holds this instance, but as CT, not MR.
        {"SOPClassUID": MR, "SOPInstanceUID": stored_uid},
    ]
    answer = orthanc.post("/modalities/kiln/storage-commitment", {"DicomInstances": request})
    transaction = answer["ID"]

    report = orthanc.wait_commitment(transaction)
    assert report["Status"] == "Failure", report
    assert [(i["SOPClassUID"], i["SOPInstanceUID"]) for i in report["Success"]] == [
        (str(stored.SOPClassUID), stored_uid)
    ]
    failures = {
        (i["SOPClassUID"], i["SOPInstanceUID"]): i["FailureReason"] for i in report["Failures"]
    }
    expected: dict[tuple[str, str], int] = {(CT, uid): NO_SUCH_OBJECT_INSTANCE for uid in missing}
    expected[(MR, stored_uid)] = CLASS_INSTANCE_CONFLICT
    assert failures == expected

    row = wait_row_state(box, transaction, "sent")
    assert row["destination"] == orthanc.ae_title
    assert sorted(reason for _, _, reason in row["payload"]["results"]) == [
        0,
        NO_SUCH_OBJECT_INSTANCE,
        NO_SUCH_OBJECT_INSTANCE,
        CLASS_INSTANCE_CONFLICT,
    ]


def test_orthanc_does_not_take_the_report_on_its_request_association(
    box_factory: Callable[..., Box],
    orthanc_factory: OrthancFactory,
    tmp_path: Path,
) -> None:
    """Orthanc releases the N-ACTION association without answering a report sent on it:
    with mode same-association, Kiln falls back to a new association and Orthanc gets it."""
    box, orthanc = start_pair(box_factory, orthanc_factory, commitment_mode="same-association")
    study_id, sent = upload_study(orthanc, tmp_path, count=2, jpeg=False)

    job = orthanc.post(
        "/modalities/kiln/store", {"Resources": [study_id], "StorageCommitment": True}
    )
    transaction = job["StorageCommitmentTransactionUID"]

    report = orthanc.wait_commitment(transaction)
    assert report["Status"] == "Success", report
    assert {i["SOPInstanceUID"] for i in report["Success"]} == set(sent)
    row = wait_row_state(box, transaction, "sent")
    assert row["last_error"] == ""  # cleared once delivered
    assert "delivered to ORTHANC on a new association" in box.log()
