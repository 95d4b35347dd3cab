"""The MPPS relay: every accepted N-CREATE and N-SET, in order, to each `[mpps.relay.<NAME>]`.

A thread of the dicom role. Each second, for each destination, it sends the oldest unsettled
messages one after the other on one association, until the queue is empty or one fails.
What the peer's answer means for the queue:

- 0000 or a warning (0001, 0107, 0116, Bxxx): delivered.
- 0111 Duplicate SOP Instance to an N-CREATE: delivered; the peer holds the step (typically a
  re-send after a lost response).
- 0110 to a re-sent N-SET: delivered; the earlier attempt reached the peer and made the step
  final.
- 0110 without Error ID A710, 0213, A7xx, no answer, no association: retried with backoff,
  and the destination waits.
- any other failure (0110 with A710 to a first N-SET, 0105, 0106, 0112, 0120 ...): failed at
  once; the queue moves on, and `appliance outbox retry` brings the message back.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from enum import Enum

from appliance.config.schema import KilnConfig, RelayDestination
from appliance.dicom.scu import ScuError, Target
from appliance.mpps.relay_queue import Operation, RelayQueue
from appliance.mpps.relay_scu import Answer, RelayLink
from appliance.outbox.queue import Backoff, Outbox
from statemachines.mpps import MAY_NO_LONGER_BE_UPDATED

log = logging.getLogger(__name__)

BURST = 100  # messages per destination per pass, so one busy destination cannot starve others


class Outcome(Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    REFUSED = "refused"


_WARNINGS = {0x0001, 0x0107, 0x0116}


def classify(operation: Operation, answer: Answer, resent: bool) -> Outcome:
    status = answer.status
    if status == 0 or status in _WARNINGS or status & 0xF000 == 0xB000:
        return Outcome.DELIVERED
    if operation is Operation.N_CREATE and status == 0x0111:
        return Outcome.DELIVERED
    if status == 0x0110:
        if operation is Operation.N_SET and resent:
            return Outcome.DELIVERED
        if answer.error_id == MAY_NO_LONGER_BE_UPDATED:
            return Outcome.REFUSED
        return Outcome.RETRY
    if status == 0x0213 or status & 0xFF00 == 0xA700:
        return Outcome.RETRY
    return Outcome.REFUSED


class MppsRelay:
    def __init__(self, config: KilnConfig, connect: Callable[[], sqlite3.Connection]) -> None:
        self.config = config
        self.connect = connect
        self.backoff = Backoff(
            config.mpps.retry_initial_seconds,
            config.mpps.retry_max_seconds,
            config.mpps.retry_limit,
        )

    def run(self, stop: threading.Event) -> None:
        pid = os.getpid()
        conn = self.connect()
        queue = RelayQueue(conn)
        try:
            while not stop.is_set():
                try:
                    self.pass_once(queue, pid, stop)
                except Exception:
                    log.exception("MPPS relay pass failed; trying again shortly")
                stop.wait(1.0)
        finally:
            Outbox(conn).release_claims(pid)
            conn.close()

    def pass_once(self, queue: RelayQueue, pid: int, stop: threading.Event) -> None:
        destinations = self.config.mpps.relay
        if queue.fail_unconfigured(set(destinations)):
            log.error("MPPS relay: messages for a destination that is not configured failed")
        for name, destination in destinations.items():
            if stop.is_set():
                return
            self._drain(queue, name, destination, pid, stop)

    def _drain(
        self,
        queue: RelayQueue,
        name: str,
        destination: RelayDestination,
        pid: int,
        stop: threading.Event,
    ) -> None:
        target = Target(destination.host, destination.port, destination.ae_title)
        link: RelayLink | None = None
        try:
            for _ in range(BURST):
                if stop.is_set():
                    return
                message = queue.claim_head(name, pid)
                if message is None:
                    return
                what = f"{message.operation} {message.mpps_uid} (outbox {message.id}) to {name}"
                try:
                    if link is None:
                        link = RelayLink(target, self.config.dicom.ae_titles[0], self.config.dicom)
                    answer = link.send(message)
                except (ScuError, OSError) as exc:
                    link = None  # aborted or never established
                    queue.retry(message.id, str(exc), self.backoff)
                    log.warning("MPPS relay: %s not delivered: %s", what, exc)
                    return
                except Exception as exc:
                    # Never leave a claimed message behind: retry it like any failed delivery.
                    queue.retry(message.id, f"internal error: {exc}", self.backoff)
                    log.exception("MPPS relay: %s failed", what)
                    return
                said = f"status 0x{answer.status:04X}" + (
                    f" ({answer.comment})" if answer.comment else ""
                )
                outcome = classify(message.operation, answer, message.resent)
                if outcome is Outcome.DELIVERED:
                    queue.delivered(message.id, "" if answer.status == 0 else f"answered {said}")
                    log.info("MPPS relay: %s delivered (%s)", what, said)
                elif outcome is Outcome.RETRY:
                    queue.retry(message.id, f"{destination.ae_title} answered {said}", self.backoff)
                    log.warning("MPPS relay: %s answered %s; will retry", what, said)
                    return
                else:
                    queue.refuse(message.id, f"{destination.ae_title} refused it: {said}")
                    log.error("MPPS relay: %s refused with %s; the queue moves on", what, said)
        finally:
            if link is not None:
                try:
                    link.close()
                except Exception:
                    log.debug("MPPS relay: release to %s failed", name, exc_info=True)
