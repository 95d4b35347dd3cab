"""The N-EVENT-REPORT dataset of a storage commitment result (PS3.4 J.3.3)."""

from __future__ import annotations

from typing import Any

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pynetdicom.dsutils import encode

from appliance.dicom.syntaxes import EXPLICIT_BE, IMPLICIT_LE


def report_dataset(payload: dict[str, Any]) -> Dataset:
    ds = Dataset()
    ds.TransactionUID = payload["transaction_uid"]
    ds.RetrieveAETitle = payload["retrieve_ae"]
    done, failed = [], []
    for sop_class, sop_instance, reason in payload["results"]:
        item = Dataset()
        item.ReferencedSOPClassUID = sop_class
        item.ReferencedSOPInstanceUID = sop_instance
        if reason:
            item.FailureReason = reason
            failed.append(item)
        else:
            done.append(item)
    if done:
        ds.ReferencedSOPSequence = Sequence(done)
    if failed:
        ds.FailedSOPSequence = Sequence(failed)
    return ds


def event_type(payload: dict[str, Any]) -> int:
    """1 when every instance is committed, 2 when any failed."""
    return 2 if any(reason for _, _, reason in payload["results"]) else 1


def encode_report(payload: dict[str, Any], transfer_syntax: str) -> bytes:
    data = encode(
        report_dataset(payload), transfer_syntax == IMPLICIT_LE, transfer_syntax != EXPLICIT_BE
    )
    if data is None:
        raise ValueError("the commitment report could not be encoded")
    return data
