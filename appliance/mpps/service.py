"""MPPS SCP: N-CREATE and N-SET, each checked, stored, linked and queued for relay at once.

Everything one request changes — the step, its history, the worklist items, study
completion and the relay messages — is written in one synced transaction before the
answer, so a refused request changes nothing and an acknowledged one is never lost.
Refusals are converted to a DIMSE status here, once.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from appliance.config.schema import KilnConfig
from appliance.db.database import rollback
from appliance.dicom import command as cmd
from appliance.dicom.command import CommandField, Status
from appliance.dicom.negotiation import AcceptedContext
from appliance.dicom.services import Outgoing, Peer, Reply
from appliance.mpps import MPPS_SOP_CLASS
from appliance.mpps.attributes import (
    check_create,
    check_final,
    check_set,
    decode,
    decode_stored,
    encode,
    merge,
    references,
    status_of,
    summary,
)
from appliance.mpps.completion import settle
from appliance.mpps.refused import Refused
from appliance.mpps.relay_queue import Operation, RelayQueue, payload
from appliance.mpps.store import MppsStore
from appliance.mpps.worklist_link import check_for, follow, matched_items
from appliance.storage.uids import InvalidUID, check_uid
from appliance.worklist.item import new_uid
from statemachines.mpps import (
    FINAL_STATES,
    MppsRefused,
    MppsState,
    create_event,
    next_state,
    set_event,
)

log = logging.getLogger(__name__)

INVALID_OBJECT_INSTANCE = 0x0117


class MppsService:
    def __init__(self, config: KilnConfig, durable: Callable[[], sqlite3.Connection]) -> None:
        self.config = config
        self.durable = durable  # synchronous=FULL: acknowledged steps survive a power cut

    def handle(
        self, peer: Peer, command: cmd.Command, context: AcceptedContext, dataset: bytes | None
    ) -> tuple[list[Reply], list[Outgoing]]:
        creating = command.field == CommandField.N_CREATE_RQ
        field = CommandField.N_CREATE_RSP if creating else CommandField.N_SET_RSP
        given = command.get_str(
            cmd.AFFECTED_SOP_INSTANCE if creating else cmd.REQUESTED_SOP_INSTANCE
        )
        # PS3.4 F.7.2.1.2: the SCP creates the UID when the SCU gives none, and answers it.
        uid = given or (new_uid() if creating else "")
        try:
            if creating:
                self._create(peer, command, context, dataset, uid)
            else:
                self._set(peer, command, context, dataset, uid)
        except Refused as exc:
            log.warning(
                "%s %s from %s refused with 0x%04X: %s",
                "N-CREATE" if creating else "N-SET",
                uid or "(no UID)",
                peer.calling_ae,
                exc.status,
                exc.comment,
            )
            return [_reply(command, field, exc.status, given, exc.comment, exc.error_id)], []
        except Exception as exc:
            log.exception("MPPS request from %s failed", peer.calling_ae)
            comment = f"the request could not be stored: {exc}"
            return [_reply(command, field, Status.PROCESSING_FAILURE, given, comment)], []
        return [_reply(command, field, Status.SUCCESS, uid)], []

    # -- the two operations ---------------------------------------------------------------
    def _create(
        self,
        peer: Peer,
        command: cmd.Command,
        context: AcceptedContext,
        data: bytes | None,
        uid: str,
    ) -> None:
        _check_command(command.get_str(cmd.AFFECTED_SOP_CLASS), uid, "Affected")
        ds = decode(data, context.transfer_syntax)
        check_create(ds)
        with _table():
            event = create_event(status_of(ds) or "")
        check = check_for(self.config.mpps, peer.calling_ae)

        def write(conn: sqlite3.Connection, now: float) -> MppsState:
            store = MppsStore(conn)
            step = store.get(uid)
            with _table():
                state = next_state(step.state if step else MppsState.NONE, event)
            items = matched_items(conn, ds, check)
            store.create(uid, state, peer.calling_ae, peer.called_ae, summary(ds), encode(ds), now)
            store.add_event(
                uid,
                Operation.N_CREATE,
                state,
                peer.calling_ae,
                context.transfer_syntax,
                data or b"",
                now,
            )
            store.link_worklist(uid, items)
            follow(conn, items, state)
            found = references(ds)
            if found is not None:
                store.set_references(uid, found)
            self._relay(conn, uid, Operation.N_CREATE, context.transfer_syntax, data, peer)
            return state

        self._in_transaction(write)
        log.info("MPPS %s created IN PROGRESS by %s", uid, peer.calling_ae)

    def _set(
        self,
        peer: Peer,
        command: cmd.Command,
        context: AcceptedContext,
        data: bytes | None,
        uid: str,
    ) -> None:
        _check_command(command.get_str(cmd.REQUESTED_SOP_CLASS), uid, "Requested")
        if not uid:
            raise Refused(INVALID_OBJECT_INSTANCE, "Requested SOP Instance UID is missing")
        ds = decode(data, context.transfer_syntax)
        with _table():
            event = set_event(status_of(ds))
        completed: list[str] = []

        def write(conn: sqlite3.Connection, now: float) -> MppsState:
            store = MppsStore(conn)
            step = store.get(uid)
            before = step.state if step else MppsState.NONE
            with _table():
                state = next_state(before, event)
            assert step is not None  # the table refuses N-SET on an unknown step
            check_set(ds)
            merged = merge(decode_stored(step.attributes), ds)
            if state in FINAL_STATES:
                check_final(merged)
            store.update(uid, state, summary(merged), encode(merged), now)
            store.add_event(
                uid,
                Operation.N_SET,
                state,
                peer.calling_ae,
                context.transfer_syntax,
                data or b"",
                now,
            )
            found = references(ds)
            if found is not None:
                store.set_references(uid, found)
            if state is not before:
                follow(conn, store.linked_items(uid), state)
            if state is MppsState.COMPLETED and store.reference_count(uid):
                store.set_completion(uid, "waiting")
                completed.extend(settle(conn, now, uid))
            self._relay(conn, uid, Operation.N_SET, context.transfer_syntax, data, peer)
            return state

        state = self._in_transaction(write)
        log.info("MPPS %s set %s by %s", uid, state.value, peer.calling_ae)
        for study in completed:
            log.info("study %s is complete: MPPS %s completed with all its instances", study, uid)

    # -- shared ---------------------------------------------------------------------------
    def _relay(
        self,
        conn: sqlite3.Connection,
        uid: str,
        operation: Operation,
        transfer_syntax: str,
        data: bytes | None,
        peer: Peer,
    ) -> None:
        queue = RelayQueue(conn)
        message = payload(uid, operation, transfer_syntax, data or b"", peer.calling_ae)
        for name in self.config.mpps.relay:
            queue.enqueue(name, message)

    def _in_transaction(self, write: Callable[[sqlite3.Connection, float], MppsState]) -> MppsState:
        conn = self.durable()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                state = write(conn, time.time())
                conn.execute("COMMIT")
            except BaseException:
                rollback(conn)
                raise
        finally:
            conn.close()
        return state

    def response_received(self, peer: Peer, key: int, command: cmd.Command) -> None:
        """The MPPS SCP sends no requests of its own."""

    def association_ended(self, peer: Peer, undelivered: list[int]) -> None:
        """Nothing to hand over."""


@contextmanager
def _table() -> Iterator[None]:
    """A refusal by the state machine is the request's refusal."""
    try:
        yield
    except MppsRefused as exc:
        raise Refused.from_table(exc) from None


def _check_command(sop_class: str, uid: str, which: str) -> None:
    if sop_class != MPPS_SOP_CLASS:
        raise Refused(Status.NO_SUCH_SOP_CLASS, f"{which} SOP Class UID is not MPPS")
    if uid:
        try:
            check_uid(uid, f"{which} SOP Instance UID")
        except InvalidUID as exc:
            raise Refused(INVALID_OBJECT_INSTANCE, str(exc)) from None


def _reply(
    request: cmd.Command,
    field: CommandField,
    status: int,
    uid: str,
    comment: str = "",
    error_id: int | None = None,
) -> Reply:
    """N-CREATE-RSP / N-SET-RSP, no attribute list (as the CDS answers)."""
    elements: dict[int, str | int] = {
        cmd.COMMAND_FIELD: int(field),
        cmd.RESPONDED_TO: request.message_id,
        cmd.DATASET_TYPE: cmd.NO_DATASET,
        cmd.STATUS: status,
        cmd.AFFECTED_SOP_CLASS: MPPS_SOP_CLASS,
    }
    if uid:
        elements[cmd.AFFECTED_SOP_INSTANCE] = uid
    if comment:
        elements[cmd.ERROR_COMMENT] = comment[:64]
    if error_id is not None:
        elements[cmd.ERROR_ID] = error_id
    return Reply(cmd.encode(elements))
