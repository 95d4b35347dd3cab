"""Outbound associations (pynetdicom as SCU): C-ECHO for engineers, reports for the outbox."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import Any

from pydicom.uid import UID
from pynetdicom import AE, build_role

from appliance import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
from appliance.config.schema import DicomSection
from appliance.dicom.commitment_report import event_type, report_dataset
from appliance.dicom.syntaxes import (
    STORAGE_COMMITMENT_INSTANCE,
    STORAGE_COMMITMENT_PUSH,
    UNCOMPRESSED,
    VERIFICATION,
)


class ScuError(Exception):
    """An outbound operation failed; the message is one operator sentence."""


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    ae_title: str


def make_ae(calling: str, dicom: DicomSection) -> AE:
    ae = AE(ae_title=calling)
    ae.implementation_class_uid = IMPLEMENTATION_CLASS_UID
    ae.implementation_version_name = IMPLEMENTATION_VERSION_NAME
    ae.acse_timeout = dicom.acse_timeout
    ae.dimse_timeout = dicom.dimse_timeout
    ae.network_timeout = dicom.network_timeout
    ae.maximum_pdu_size = dicom.max_pdu
    return ae


def _reachable(target: Target, timeout: float) -> None:
    """Tell 'nothing listens' and 'no route' apart from DICOM-level refusals."""
    where = f"{target.host}:{target.port}"
    try:
        with socket.create_connection((target.host, target.port), timeout=timeout):
            pass
    except ConnectionRefusedError:
        raise ScuError(f"nothing listens at {where} (connection refused)") from None
    except TimeoutError:
        raise ScuError(f"{where} did not answer within {timeout:.0f} s (timed out)") from None
    except OSError as exc:
        raise ScuError(f"{where} cannot be reached ({exc.strerror or exc})") from None


def associate(ae: AE, target: Target, **kwargs: Any) -> Any:
    _reachable(target, ae.acse_timeout or 30.0)
    started = time.monotonic()
    assoc = ae.associate(target.host, target.port, ae_title=target.ae_title, **kwargs)
    if assoc.is_established:
        return assoc
    where = f"{target.ae_title} at {target.host}:{target.port}"
    if assoc.is_rejected:
        rsp = assoc.acceptor.primitive
        reason = getattr(rsp, "reason_str", "") or ""
        raise ScuError(f"{where} rejected the association ({reason.strip() or 'no reason'})")
    if time.monotonic() - started >= (ae.acse_timeout or 30.0) - 0.5:
        raise ScuError(f"{where} did not answer the association request in time (timed out)")
    if assoc.acceptor.primitive is not None and assoc.rejected_contexts:
        # The peer sent A-ASSOCIATE-AC but accepted no context; pynetdicom then aborts.
        names = ", ".join(
            sorted({UID(str(c.abstract_syntax)).name for c in assoc.rejected_contexts})
        )
        raise ScuError(
            f"{where} accepted the association but refused every proposed "
            f"presentation context ({names}); check that it supports the service "
            "and, for commitment reports, lets the box take the SCP role"
        )
    raise ScuError(f"{where} aborted the association during negotiation")


def echo(target: Target, calling: str, dicom: DicomSection) -> int:
    """C-ECHO; returns the status; raises ScuError with a plain sentence otherwise."""
    ae = make_ae(calling, dicom)
    ae.add_requested_context(VERIFICATION)
    assoc = associate(ae, target)
    try:
        status = assoc.send_c_echo()
        if not status or "Status" not in status:
            raise ScuError(f"{target.ae_title} did not answer the C-ECHO in time")
        return int(status.Status)
    finally:
        if assoc.is_established:
            assoc.release()


def send_commitment_report(
    payload: dict[str, Any], target: Target, calling: str, dicom: DicomSection
) -> None:
    """N-EVENT-REPORT on a new association, the box proposing the SCP role (PS3.4 J.3.3)."""
    ae = make_ae(calling, dicom)
    ae.add_requested_context(STORAGE_COMMITMENT_PUSH, list(UNCOMPRESSED))
    role = build_role(STORAGE_COMMITMENT_PUSH, scu_role=False, scp_role=True)
    assoc = associate(ae, target, ext_neg=[role])
    try:
        status, _ = assoc.send_n_event_report(
            report_dataset(payload),
            event_type(payload),
            STORAGE_COMMITMENT_PUSH,
            STORAGE_COMMITMENT_INSTANCE,
        )
        if not status or "Status" not in status:
            raise ScuError(f"{target.ae_title} did not answer the N-EVENT-REPORT in time")
        if int(status.Status) != 0:
            raise ScuError(f"{target.ae_title} answered status 0x{int(status.Status):04X}")
    finally:
        if assoc.is_established:
            assoc.release()


def find(
    target: Target, calling: str, dicom: DicomSection, sop_class: str, query: Any
) -> list[Any]:
    """C-FIND; every pending identifier, or ScuError when the query does not succeed."""
    ae = make_ae(calling, dicom)
    ae.add_requested_context(sop_class, list(UNCOMPRESSED))
    assoc = associate(ae, target)
    found: list[Any] = []
    try:
        for status, identifier in assoc.send_c_find(query, sop_class):
            if not status or "Status" not in status:
                raise ScuError(f"{target.ae_title} did not answer the C-FIND in time")
            code = int(status.Status)
            if code in (0xFF00, 0xFF01):
                found.append(identifier)
            elif code != 0:
                raise ScuError(f"{target.ae_title} answered the C-FIND with 0x{code:04X}")
    finally:
        if assoc.is_established:
            assoc.release()
    return found
