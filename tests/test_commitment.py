"""Storage Commitment Push Model against the running box, with pynetdicom as the modality.

pynetdicom stands in for the modality here because DCMTK has no storage-commitment SCU
(and no N-EVENT-REPORT receiver); Orthanc's own commitment client is exercised in
tests/test_orthanc_peer.py. The instances themselves are sent with DCMTK's storescu.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE, evt

from tests.conftest import Box, free_port
from tests.dicomdata import CT, MR, write_series

# UIDs as strings: pynetdicom's sop_class module builds its names at run time (mypy cannot).
STORAGE_COMMITMENT_PUSH = "1.2.840.10008.1.20.1"
WELL_KNOWN_INSTANCE = "1.2.840.10008.1.20.1.1"
PROCESSING_FAILURE = 0x0110
NO_SUCH_OBJECT_INSTANCE = 0x0112
CLASS_INSTANCE_CONFLICT = 0x0119
SCU_AE = "MODALITY"
RECEIVER_AE = "MODALITY_RX"


# -- helpers ------------------------------------------------------------------------------
def storescu(box: Box, files: list[Path]) -> None:
    result = subprocess.run(
        [
            "storescu",
            "-aet",
            SCU_AE,
            "-aec",
            box.ae_title,
            "127.0.0.1",
            str(box.port),
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert box.count("SELECT count(*) FROM instances") >= len(files)


def stored(box: Box) -> list[dict[str, Any]]:
    with box.db() as conn:
        return [
            dict(r)
            for r in conn.execute(
                "SELECT sop_instance_uid, sop_class_uid, path FROM instances ORDER BY id"
            )
        ]


def commitment_request(transaction: str, refs: list[tuple[str, str]]) -> Dataset:
    ds = Dataset()
    ds.TransactionUID = transaction
    items = []
    for sop_class, sop_instance in refs:
        item = Dataset()
        item.ReferencedSOPClassUID = sop_class
        item.ReferencedSOPInstanceUID = sop_instance
        items.append(item)
    ds.ReferencedSOPSequence = items
    return ds


@dataclass
class Report:
    calling_ae: str
    event_type: int | None
    info: Dataset
    # (local AE may be SCU, local AE may be SCP) for the commitment context, as negotiated.
    local_roles: tuple[bool, bool] | None


def _on_report(reports: queue.Queue[Report]) -> Callable[[Any], tuple[int, None]]:
    def handle(event: Any) -> tuple[int, None]:
        info = event.event_information
        roles = [
            (bool(c.as_scu), bool(c.as_scp))
            for c in event.assoc.accepted_contexts
            if c.abstract_syntax == STORAGE_COMMITMENT_PUSH
        ]
        reports.put(
            Report(
                str(event.assoc.requestor.ae_title).strip(),
                event.event_type,
                info,
                roles[0] if roles else None,
            )
        )
        return 0x0000, None

    return handle


def request_commitment(
    box: Box, refs: list[tuple[str, str]], *, keep_open: bool, wait: float = 15.0
) -> tuple[str, Report | None]:
    """N-ACTION as the modality; with `keep_open`, wait on the association for the report."""
    transaction = generate_uid()
    reports: queue.Queue[Report] = queue.Queue()
    answered = threading.Event()

    def on_sent(event: Any) -> None:
        if type(event.message).__name__ == "N_EVENT_REPORT_RSP":
            answered.set()

    ae = AE(ae_title=SCU_AE)
    ae.add_requested_context(STORAGE_COMMITMENT_PUSH)
    handlers: list[Any] = (
        [(evt.EVT_N_EVENT_REPORT, _on_report(reports)), (evt.EVT_DIMSE_SENT, on_sent)]
        if keep_open
        else []
    )
    assoc = ae.associate("127.0.0.1", box.port, ae_title=box.ae_title, evt_handlers=handlers)
    assert assoc.is_established
    report = None
    try:
        status, _ = assoc.send_n_action(
            commitment_request(transaction, refs), 1, STORAGE_COMMITMENT_PUSH, WELL_KNOWN_INSTANCE
        )
        assert status and status.Status == 0x0000, status
        if keep_open:
            report = reports.get(timeout=wait)
            # pynetdicom would otherwise start the release before its answer is out.
            assert answered.wait(wait), "the N-EVENT-REPORT was never answered"
    finally:
        if assoc.is_established:
            assoc.release()
    return transaction, report


@contextmanager
def receiver(port: int, *, accept_scp_role: bool = True) -> Iterator[queue.Queue[Report]]:
    """The modality's report receiver: accepts N-EVENT-REPORT with the roles reversed."""
    reports: queue.Queue[Report] = queue.Queue()
    ae = AE(ae_title=RECEIVER_AE)
    if accept_scp_role:
        # Role selection: the box (requestor) plays SCP, this receiver plays SCU.
        ae.add_supported_context(STORAGE_COMMITMENT_PUSH, scu_role=False, scp_role=True)
    else:
        # Only the usual roles: the box may be SCU (send N-ACTION), never SCP.
        ae.add_supported_context(STORAGE_COMMITMENT_PUSH, scu_role=True, scp_role=False)
    handlers: list[Any] = [(evt.EVT_N_EVENT_REPORT, _on_report(reports))]
    server = ae.start_server(("127.0.0.1", port), block=False, evt_handlers=handlers)
    assert server is not None
    try:
        yield reports
    finally:
        server.shutdown()


def peer_config(port: int, mode: str, **commitment: Any) -> dict[str, dict[str, Any]]:
    return {
        "commitment": {
            "peers": {
                SCU_AE: {"ae_title": RECEIVER_AE, "host": "127.0.0.1", "port": port, "mode": mode}
            },
            **commitment,
        }
    }


def outbox_row(box: Box, transaction: str) -> dict[str, Any]:
    with box.db() as conn:
        rows = [dict(r) for r in conn.execute("SELECT * FROM outbox ORDER BY id")]
    found = [r for r in rows if json.loads(r["payload"])["transaction_uid"] == transaction]
    assert len(found) == 1, rows
    return found[0]


def wait_row(
    box: Box,
    transaction: str,
    check: Callable[[dict[str, Any]], bool],
    what: str,
    timeout: float = 20.0,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        row = outbox_row(box, transaction)
        if check(row):
            return row
        if time.monotonic() > deadline:
            raise AssertionError(f"outbox row never became {what}: {row}")
        time.sleep(0.1)


def referenced(seq: Any) -> set[tuple[str, str]]:
    return {(str(i.ReferencedSOPClassUID), str(i.ReferencedSOPInstanceUID)) for i in seq}


def failed(seq: Any) -> dict[tuple[str, str], int]:
    return {
        (str(i.ReferencedSOPClassUID), str(i.ReferencedSOPInstanceUID)): int(i.FailureReason)
        for i in seq
    }


@pytest.fixture
def series(tmp_path: Path) -> list[Path]:
    return write_series(tmp_path / "series", count=3)


# -- (a) the report on the same association -------------------------------------------------
def test_report_on_the_same_association(box: Box, series: list[Path]) -> None:
    storescu(box, series)
    refs = [(r["sop_class_uid"], r["sop_instance_uid"]) for r in stored(box)]

    transaction, report = request_commitment(box, refs, keep_open=True)

    assert report is not None
    assert report.event_type == 1
    assert report.info.TransactionUID == transaction
    assert report.info.RetrieveAETitle == box.ae_title
    assert referenced(report.info.ReferencedSOPSequence) == set(refs)
    assert "FailedSOPSequence" not in report.info
    row = wait_row(box, transaction, lambda r: r["state"] == "sent", "sent")
    assert row["destination"] == SCU_AE
    assert row["attempts"] == 1


# -- (b) failure reasons ----------------------------------------------------------------------
def test_failures_are_reported_with_their_reasons(box: Box, tmp_path: Path) -> None:
    storescu(box, write_series(tmp_path / "in", count=3))
    good_row, wrong_row, corrupt_row = stored(box)
    # Corrupt the third file on disk after it was stored: same size, one byte changed.
    path = box.data_dir / corrupt_row["path"]
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    unknown = generate_uid()
    assert good_row["sop_class_uid"] == CT

    transaction, report = request_commitment(
        box,
        [
            (CT, good_row["sop_instance_uid"]),
            (CT, unknown),
            (MR, wrong_row["sop_instance_uid"]),
            (CT, corrupt_row["sop_instance_uid"]),
        ],
        keep_open=True,
    )

    assert report is not None
    assert report.event_type == 2
    assert report.info.TransactionUID == transaction
    assert referenced(report.info.ReferencedSOPSequence) == {(CT, good_row["sop_instance_uid"])}
    assert failed(report.info.FailedSOPSequence) == {
        (CT, unknown): NO_SUCH_OBJECT_INSTANCE,
        (MR, wrong_row["sop_instance_uid"]): CLASS_INSTANCE_CONFLICT,
        (CT, corrupt_row["sop_instance_uid"]): PROCESSING_FAILURE,
    }
    wait_row(box, transaction, lambda r: r["state"] == "sent", "sent")


# -- (c) the report on a new association -----------------------------------------------------
def test_report_on_a_new_association_after_release(
    box_factory: Callable[..., Box],
    series: list[Path],
) -> None:
    port = free_port()
    box = box_factory(peer_config(port, "new-association"))
    storescu(box, series)
    refs = [(r["sop_class_uid"], r["sop_instance_uid"]) for r in stored(box)]

    with receiver(port) as reports:
        started = time.monotonic()
        transaction, _ = request_commitment(box, refs, keep_open=False)
        report = reports.get(timeout=10)
        assert time.monotonic() - started < 10

    assert report.calling_ae == box.ae_title
    # Role selection took effect: on this association the receiver is the SCU only.
    assert report.local_roles == (True, False)
    assert report.event_type == 1
    assert report.info.TransactionUID == transaction
    assert referenced(report.info.ReferencedSOPSequence) == set(refs)
    row = wait_row(box, transaction, lambda r: r["state"] == "sent", "sent")
    assert row["attempts"] == 1


# -- (d) durability across a restart ----------------------------------------------------------
def test_report_survives_a_down_receiver_and_a_restart(
    box_factory: Callable[..., Box],
    series: list[Path],
) -> None:
    port = free_port()
    box = box_factory(
        peer_config(port, "new-association", retry_initial_seconds=0.5, retry_max_seconds=1.0)
    )
    storescu(box, series[:1])
    refs = [(r["sop_class_uid"], r["sop_instance_uid"]) for r in stored(box)]

    transaction, _ = request_commitment(box, refs, keep_open=False)
    row = wait_row(
        box,
        transaction,
        lambda r: r["state"] == "pending" and r["attempts"] >= 2,
        "pending after two failed attempts",
    )
    assert f"127.0.0.1:{port}" in row["last_error"], row

    assert box.stop() == 0
    row = outbox_row(box, transaction)
    assert row["state"] == "pending", row
    assert row["attempts"] >= 2
    assert row["sent_at"] is None

    with receiver(port) as reports:
        box.start()
        report = reports.get(timeout=20)
        row = wait_row(box, transaction, lambda r: r["state"] == "sent", "sent")

    assert report.info.TransactionUID == transaction
    assert report.event_type == 1
    assert referenced(report.info.ReferencedSOPSequence) == set(refs)
    assert row["attempts"] >= 3
    assert reports.empty()


# -- (e) no peer to report to -----------------------------------------------------------------
# Kiln sends the report right behind the N-ACTION-RSP; pynetdicom's reactor may answer it
# (with 0x0110, no handler is bound) while release() is under way, and its DUL thread then
# raises InvalidEventError (Evt9 in Sta7). Either way the box never gets a success.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_release_without_a_configured_peer_fails_the_report(box: Box, series: list[Path]) -> None:
    storescu(box, series[:1])
    refs = [(r["sop_class_uid"], r["sop_instance_uid"]) for r in stored(box)]

    transaction, _ = request_commitment(box, refs, keep_open=False)

    row = wait_row(box, transaction, lambda r: r["state"] == "failed", "failed")
    assert f"[commitment.peers.{SCU_AE}]" in row["last_error"]
    assert row["sent_at"] is None


# -- a receiver that refuses the reversed roles ------------------------------------------------
def test_receiver_refusing_the_scp_role_leaves_the_report_retryable(
    box_factory: Callable[..., Box],
    series: list[Path],
) -> None:
    """PS3.4 J.3.3: the box must be SCP on the report association. A receiver that accepts
    the context but not the role cannot take the report; the row is retried with a reason,
    never left stuck in 'sending'."""
    port = free_port()
    box = box_factory(
        peer_config(port, "new-association", retry_initial_seconds=0.5, retry_max_seconds=1.0)
    )
    storescu(box, series[:1])
    refs = [(r["sop_class_uid"], r["sop_instance_uid"]) for r in stored(box)]

    with receiver(port, accept_scp_role=False) as reports:
        transaction, _ = request_commitment(box, refs, keep_open=False)
        row = wait_row(
            box,
            transaction,
            lambda r: r["state"] in ("pending", "failed") and r["attempts"] >= 1,
            "retried after the role was refused",
        )
        assert reports.empty()
    # The operator is told what the receiver refused, not that "it aborted".
    assert "Storage Commitment Push Model" in row["last_error"], row
    assert "refused" in row["last_error"], row
