"""Storage Commitment Push Model SCP: N-ACTION in, N-EVENT-REPORT out through the outbox."""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable
from io import BytesIO
from typing import Any

from pydicom.filereader import read_dataset

from appliance.config.schema import KilnConfig, ReportMode
from appliance.dicom import command as cmd
from appliance.dicom.command import CommandField, Status
from appliance.dicom.commitment_check import Reference, settle
from appliance.dicom.commitment_report import encode_report, event_type
from appliance.dicom.negotiation import AcceptedContext
from appliance.dicom.services import Outgoing, Peer, Reply
from appliance.dicom.store_service import ConnectionFactory
from appliance.dicom.syntaxes import (
    EXPLICIT_BE,
    IMPLICIT_LE,
    STORAGE_COMMITMENT_INSTANCE,
    STORAGE_COMMITMENT_PUSH,
)
from appliance.outbox.queue import Outbox
from appliance.storage.index import Index
from appliance.storage.layout import DataLayout
from appliance.storage.uids import InvalidUID, check_uid

log = logging.getLogger(__name__)

KIND = "commitment-report"


class CommitmentService:
    def __init__(
        self,
        config: KilnConfig,
        layout: DataLayout,
        connections: ConnectionFactory,
        durable: Callable[[], sqlite3.Connection],
    ) -> None:
        self.config = config
        self.layout = layout
        self.connections = connections
        self.durable = durable  # outbox rows are synced before the N-ACTION is answered

    def _reply(self, request: cmd.Command, status: int, comment: str = "") -> Reply:
        elements: dict[int, str | int] = {
            cmd.COMMAND_FIELD: int(CommandField.N_ACTION_RSP),
            cmd.RESPONDED_TO: request.message_id,
            cmd.DATASET_TYPE: cmd.NO_DATASET,
            cmd.STATUS: status,
            cmd.AFFECTED_SOP_CLASS: request.get_str(cmd.REQUESTED_SOP_CLASS),
            cmd.AFFECTED_SOP_INSTANCE: request.get_str(cmd.REQUESTED_SOP_INSTANCE),
        }
        if status == Status.SUCCESS:
            elements[cmd.ACTION_TYPE] = request.get_int(cmd.ACTION_TYPE)
        if comment:
            elements[cmd.ERROR_COMMENT] = comment[:64]
        return Reply(cmd.encode(elements))

    def handle(
        self, peer: Peer, command: cmd.Command, context: AcceptedContext, dataset: bytes | None
    ) -> tuple[list[Reply], list[Outgoing]]:
        if command.get_str(cmd.REQUESTED_SOP_CLASS) != STORAGE_COMMITMENT_PUSH:
            return [self._reply(command, Status.NO_SUCH_SOP_CLASS)], []
        if command.get_str(cmd.REQUESTED_SOP_INSTANCE) != STORAGE_COMMITMENT_INSTANCE:
            return [self._reply(command, 0x0117, "not the well-known commitment instance")], []
        if command.get_int(cmd.ACTION_TYPE) != 1:
            return [self._reply(command, Status.NO_SUCH_ACTION_TYPE)], []
        try:
            transaction, references = self._parse(dataset, context.transfer_syntax)
        except ValueError as exc:
            # 0x0120 Missing attribute: a required attribute is absent or unusable.
            return [self._reply(command, 0x0120, str(exc))], []
        # The request is made durable now; the instances are checked after the answer
        # (reading files back may take a while on a large study).
        payload: dict[str, Any] = {
            "transaction_uid": transaction,
            "calling_ae": peer.calling_ae,
            "retrieve_ae": peer.called_ae,
            "references": [[r.sop_class_uid, r.sop_instance_uid] for r in references],
            "results": None,
        }
        target = self.config.commitment.peers.get(peer.calling_ae)
        same = target is None or target.mode == ReportMode.SAME_ASSOCIATION
        durable = self.durable()
        try:
            item_id = Outbox(durable).put(
                KIND, peer.calling_ae, payload, claimed_by=os.getpid() if same else None
            )
        finally:
            durable.close()
        log.info(
            "commitment %s from %s: %d instance(s); report %s",
            transaction,
            peer.calling_ae,
            len(references),
            "on this association" if same else "on a new association",
        )
        replies = [self._reply(command, Status.SUCCESS)]
        if not same:
            return replies, []

        def build() -> tuple[dict[int, str | int], bytes]:
            conn = self.connections.get()
            settle(payload, Index(conn), self.layout)
            Outbox(conn).update_payload(item_id, payload)
            elements: dict[int, str | int] = {
                cmd.COMMAND_FIELD: int(CommandField.N_EVENT_REPORT_RQ),
                cmd.DATASET_TYPE: 0x0000,
                cmd.AFFECTED_SOP_CLASS: STORAGE_COMMITMENT_PUSH,
                cmd.AFFECTED_SOP_INSTANCE: STORAGE_COMMITMENT_INSTANCE,
                cmd.EVENT_TYPE: event_type(payload),
            }
            return elements, encode_report(payload, context.transfer_syntax)

        return replies, [Outgoing(context_id=context.context_id, build=build, key=item_id)]

    def _parse(self, dataset: bytes | None, transfer_syntax: str) -> tuple[str, list[Reference]]:
        if not dataset:
            raise ValueError("the N-ACTION has no dataset")
        try:
            ds = read_dataset(
                BytesIO(dataset), transfer_syntax == IMPLICIT_LE, transfer_syntax != EXPLICIT_BE
            )
            transaction = check_uid(ds.get("TransactionUID"), "Transaction UID (0008,1195)")
            references = [
                Reference(
                    check_uid(item.get("ReferencedSOPClassUID"), "Referenced SOP Class UID"),
                    check_uid(item.get("ReferencedSOPInstanceUID"), "Referenced SOP Instance UID"),
                )
                for item in ds.get("ReferencedSOPSequence", [])
            ]
        except InvalidUID as exc:
            raise ValueError(str(exc)) from None
        except Exception as exc:  # malformed datasets raise many kinds
            raise ValueError(f"the N-ACTION dataset cannot be parsed: {exc}") from None
        if not references:
            raise ValueError("Referenced SOP Sequence (0008,1199) is missing or empty")
        return transaction, references

    def response_received(self, peer: Peer, key: int, command: cmd.Command) -> None:
        outbox = Outbox(self.connections.get())
        status = command.get_int(cmd.STATUS, 0xFFFF)
        if status == Status.SUCCESS:
            outbox.sent(key)
            log.info(
                "commitment report %d delivered to %s on the same association", key, peer.calling_ae
            )
        else:
            log.warning(
                "commitment report %d refused by %s with status 0x%04X",
                key,
                peer.calling_ae,
                status,
            )
            self._hand_over(key, f"status 0x{status:04X}")

    def association_ended(self, peer: Peer, undelivered: list[int]) -> None:
        for key in undelivered:
            self._hand_over(key, "the association ended before the report was acknowledged")

    def _hand_over(self, key: int, why: str) -> None:
        """Undelivered on the association: the outbox runner takes it to a new association."""
        conn = self.connections.get()
        conn.execute(
            "UPDATE outbox SET state = 'pending', claimed_by = NULL, last_error = ?, "
            "next_attempt_at = 0 WHERE id = ? AND state = 'sending'",
            (why, key),
        )
