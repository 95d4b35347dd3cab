"""One outbound association to a relay destination, sending datasets exactly as received.

pynetdicom's `send_n_create`/`send_n_set` take a Dataset and encode it again; the relay must
not touch the modality's bytes, so the request primitive is built here with the received
bytes as its attribute list and exchanged the way those methods do it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from pydicom.filereader import read_dataset
from pynetdicom.dimse_primitives import N_CREATE, N_SET
from pynetdicom.dsutils import encode

from appliance.config.schema import DicomSection
from appliance.dicom.scu import ScuError, Target, associate, make_ae
from appliance.dicom.syntaxes import EXPLICIT_BE, IMPLICIT_LE, UNCOMPRESSED
from appliance.mpps import MPPS_SOP_CLASS
from appliance.mpps.relay_queue import Operation, RelayMessage


@dataclass(frozen=True)
class Answer:
    status: int
    error_id: int | None
    comment: str


def _transcode(data: bytes, source: str, target: str) -> bytes:
    """Only when the peer accepted none of the syntax the modality used: same attributes."""
    ds = read_dataset(BytesIO(data), source == IMPLICIT_LE, source != EXPLICIT_BE)
    encoded = encode(ds, target == IMPLICIT_LE, target != EXPLICIT_BE)
    if encoded is None:
        raise ScuError(f"the dataset cannot be encoded in {target}")
    return encoded


class RelayLink:
    def __init__(self, target: Target, calling: str, dicom: DicomSection) -> None:
        self.target = target
        ae = make_ae(calling, dicom)
        # One context per syntax, so the peer can accept the very one each message came in.
        for syntax in UNCOMPRESSED:
            ae.add_requested_context(MPPS_SOP_CLASS, [syntax])
        self.assoc: Any = associate(ae, target)
        self.contexts = {
            str(cx.transfer_syntax[0]): int(cx.context_id)
            for cx in self.assoc.accepted_contexts
            if cx.abstract_syntax == MPPS_SOP_CLASS
        }
        if not self.contexts:
            self.close()
            raise ScuError(f"{target.ae_title} accepted no MPPS presentation context")
        self.message_id = 0

    def send(self, message: RelayMessage) -> Answer:
        syntax = message.transfer_syntax
        data = message.dataset
        if syntax not in self.contexts:
            chosen = next(iter(self.contexts))
            data, syntax = _transcode(data, syntax, chosen), chosen
        self.message_id = self.message_id % 0xFFFF + 1
        request: N_CREATE | N_SET
        if message.operation is Operation.N_CREATE:
            request = N_CREATE()
            request.AffectedSOPClassUID = MPPS_SOP_CLASS
            # Always explicit: the box generated it when the modality sent none, and the
            # N-SETs that follow name it.
            request.AffectedSOPInstanceUID = message.mpps_uid
            request.AttributeList = BytesIO(data)
        else:
            request = N_SET()
            request.RequestedSOPClassUID = MPPS_SOP_CLASS
            request.RequestedSOPInstanceUID = message.mpps_uid
            request.ModificationList = BytesIO(data)
        request.MessageID = self.message_id
        response = self._exchange(request, self.contexts[syntax])
        if response is None:
            raise ScuError(
                f"{self.target.ae_title} did not answer the {message.operation} in time, "
                "or the connection was lost"
            )
        return Answer(
            int(response.Status),
            int(response.ErrorID) if response.ErrorID is not None else None,
            str(response.ErrorComment or ""),
        )

    def _exchange(self, request: N_CREATE | N_SET, context_id: int) -> Any:
        # As pynetdicom's own send_* methods: pause the association's reactor so it does not
        # take our response off the queue, send, wait up to the DIMSE timeout.
        # (pynetdicom is pinned in pyproject: these internals are those of 3.0.4.)
        assoc = self.assoc
        assoc._reactor_checkpoint.clear()
        deadline = time.monotonic() + 5.0
        while not assoc._is_paused:
            if time.monotonic() > deadline or not assoc.is_established:
                assoc._reactor_checkpoint.set()
                raise ScuError(f"{self.target.ae_title}: the association is not responding")
            time.sleep(0.0001)
        try:
            assoc.dimse.send_msg(request, context_id)
            _, response = assoc.dimse.get_msg(block=True)
        finally:
            assoc._reactor_checkpoint.set()
        if response is None or getattr(response, "Status", None) is None:
            if assoc.is_established:
                assoc.abort()
            return None
        return response

    def close(self) -> None:
        if self.assoc.is_established:
            self.assoc.release()
