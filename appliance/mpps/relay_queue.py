"""The MPPS relay's view of the durable outbox: one ordered queue per destination.

Only the oldest unsettled message of a destination may be sent; while it waits for its next
attempt, the destination waits with it. So an N-SET never overtakes its N-CREATE, and a
restart (claims released by the dicom role) resumes exactly where the relay stopped.
Attempts are counted when a message is claimed, so a message that was in flight when the
box died counts as sent once: its next attempt is known to be a re-send.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from appliance.db.database import rollback
from appliance.outbox.queue import Backoff, Outbox

KIND = "mpps-relay"


class Operation(StrEnum):
    N_CREATE = "N-CREATE"
    N_SET = "N-SET"


@dataclass(frozen=True)
class RelayMessage:
    id: int
    destination: str
    mpps_uid: str
    operation: Operation
    transfer_syntax: str
    dataset: bytes
    resent: bool  # an earlier attempt may have reached the peer


def payload(
    mpps_uid: str, operation: Operation, transfer_syntax: str, dataset: bytes, calling_ae: str
) -> dict[str, Any]:
    return {
        "mpps_uid": mpps_uid,
        "operation": operation.value,
        "transfer_syntax": transfer_syntax,
        "dataset": base64.b64encode(dataset).decode("ascii"),
        "calling_ae": calling_ae,
    }


class RelayQueue:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def enqueue(self, destination: str, message: dict[str, Any]) -> int:
        """In the caller's transaction, so the message exists exactly when the step does."""
        return Outbox(self.conn).put(KIND, destination, message)

    def claim_head(
        self, destination: str, pid: int, now: float | None = None
    ) -> RelayMessage | None:
        """The destination's oldest unsettled message, if it is due; None otherwise."""
        now = time.time() if now is None else now
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            row = self.conn.execute(
                "SELECT id, payload, attempts, state, next_attempt_at FROM outbox "
                "WHERE kind = ? AND destination = ? AND state IN ('pending', 'sending') "
                "ORDER BY id LIMIT 1",
                (KIND, destination),
            ).fetchone()
            if row is None or row[3] != "pending" or row[4] > now:
                self.conn.execute("COMMIT")
                return None
            self.conn.execute(
                "UPDATE outbox SET state = 'sending', claimed_by = ?, attempts = attempts + 1 "
                "WHERE id = ?",
                (pid, row[0]),
            )
            self.conn.execute("COMMIT")
        except BaseException:
            rollback(self.conn)
            raise
        body = json.loads(row[1])
        return RelayMessage(
            id=int(row[0]),
            destination=destination,
            mpps_uid=body["mpps_uid"],
            operation=Operation(body["operation"]),
            transfer_syntax=body["transfer_syntax"],
            dataset=base64.b64decode(body["dataset"]),
            resent=int(row[2]) > 0,
        )

    def delivered(self, item_id: int, note: str = "") -> None:
        self.conn.execute(
            "UPDATE outbox SET state = 'sent', sent_at = ?, claimed_by = NULL, last_error = ? "
            "WHERE id = ?",
            (time.time(), note, item_id),
        )

    def retry(self, item_id: int, error: str, backoff: Backoff) -> None:
        """Back to pending after the backoff; the destination waits for it."""
        attempts = int(
            self.conn.execute("SELECT attempts FROM outbox WHERE id = ?", (item_id,)).fetchone()[0]
        )
        if attempts >= backoff.limit:
            self.refuse(item_id, f"gave up after {attempts} attempts: {error}")
            return
        self.conn.execute(
            "UPDATE outbox SET state = 'pending', claimed_by = NULL, next_attempt_at = ?, "
            "last_error = ? WHERE id = ?",
            (time.time() + backoff.delay(attempts), error, item_id),
        )

    def refuse(self, item_id: int, error: str) -> None:
        """Failed for good: the destination's queue moves on; `outbox retry` brings it back."""
        Outbox(self.conn).fail(item_id, error)

    def fail_unconfigured(self, configured: set[str]) -> int:
        """Messages for a destination no longer in the configuration can never be sent."""
        rows = self.conn.execute(
            "SELECT DISTINCT destination FROM outbox WHERE kind = ? AND state = 'pending'",
            (KIND,),
        ).fetchall()
        failed = 0
        for (destination,) in rows:
            if destination in configured:
                continue
            failed += self.conn.execute(
                "UPDATE outbox SET state = 'failed', last_error = ? "
                "WHERE kind = ? AND destination = ? AND state = 'pending'",
                (
                    f"no [mpps.relay.{destination}] is configured, so the message cannot be "
                    "relayed; add the section and run 'appliance outbox retry --all-failed'",
                    KIND,
                    destination,
                ),
            ).rowcount
        return failed
