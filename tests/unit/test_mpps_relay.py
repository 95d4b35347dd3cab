"""The MPPS relay's queue discipline and answer handling, on a real database."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from appliance.db.database import connect, migrate
from appliance.mpps.relay import Outcome, classify
from appliance.mpps.relay_queue import Operation, RelayQueue, payload
from appliance.mpps.relay_scu import Answer
from appliance.outbox.queue import Backoff, Outbox

CREATE, SET = Operation.N_CREATE, Operation.N_SET
IMPLICIT_LE = "1.2.840.10008.1.2"


@pytest.fixture
def queue(tmp_path: Path) -> RelayQueue:
    migrate(tmp_path)
    return RelayQueue(connect(tmp_path))


def put(queue: RelayQueue, destination: str, operation: Operation, uid: str) -> int:
    return queue.enqueue(destination, payload(uid, operation, IMPLICIT_LE, b"\x08\x00", "MR"))


def state(conn: sqlite3.Connection, item_id: int) -> str:
    return str(conn.execute("SELECT state FROM outbox WHERE id = ?", (item_id,)).fetchone()[0])


def test_only_the_oldest_message_of_a_destination_goes(queue: RelayQueue) -> None:
    first = put(queue, "RIS", CREATE, "1.1")
    second = put(queue, "RIS", SET, "1.1")
    other = put(queue, "PACS", CREATE, "1.1")
    head = queue.claim_head("RIS", pid=1)
    assert head is not None
    assert (head.id, head.operation, head.dataset, head.resent) == (
        first,
        CREATE,
        b"\x08\x00",
        False,
    )
    assert queue.claim_head("RIS", pid=1) is None  # the head is in flight: the N-SET waits
    pacs = queue.claim_head("PACS", pid=1)
    assert pacs is not None
    assert pacs.id == other  # destinations are independent
    queue.delivered(first)
    following = queue.claim_head("RIS", pid=1)
    assert following is not None
    assert following.id == second


def test_a_waiting_head_holds_its_destination(queue: RelayQueue) -> None:
    first = put(queue, "RIS", CREATE, "1.2")
    put(queue, "RIS", SET, "1.2")
    head = queue.claim_head("RIS", pid=1)
    assert head is not None
    queue.retry(head.id, "nothing listens", Backoff(60, 60, 10))
    assert state(queue.conn, first) == "pending"
    assert queue.claim_head("RIS", pid=1) is None  # not due for a minute, and nothing passes it
    again = queue.claim_head("RIS", pid=1, now=time.time() + 61)
    assert again is not None
    assert (again.id, again.resent) == (first, True)


def test_a_message_in_flight_when_the_box_died_is_a_resend(queue: RelayQueue) -> None:
    first = put(queue, "RIS", CREATE, "1.3")
    assert queue.claim_head("RIS", pid=4242) is not None
    Outbox(queue.conn).release_claims()  # what the dicom role does when it starts
    head = queue.claim_head("RIS", pid=1)
    assert head is not None
    assert (head.id, head.resent) == (first, True)


def test_a_refused_message_lets_the_queue_move_on(queue: RelayQueue) -> None:
    first = put(queue, "RIS", CREATE, "1.4")
    second = put(queue, "RIS", CREATE, "1.5")
    assert queue.claim_head("RIS", pid=1) is not None
    queue.refuse(first, "RIS refused it: status 0x0106")
    assert state(queue.conn, first) == "failed"
    head = queue.claim_head("RIS", pid=1)
    assert head is not None
    assert head.id == second


def test_retry_limit_marks_the_message_failed(queue: RelayQueue) -> None:
    first = put(queue, "RIS", CREATE, "1.6")
    backoff = Backoff(0.0, 0.0, 2)
    for _ in range(2):
        head = queue.claim_head("RIS", pid=1)
        assert head is not None
        queue.retry(head.id, "timed out", backoff)
    row = queue.conn.execute(
        "SELECT state, last_error FROM outbox WHERE id = ?", (first,)
    ).fetchone()
    assert row[0] == "failed"
    assert row[1] == "gave up after 2 attempts: timed out"


def test_messages_for_an_unconfigured_destination_fail(queue: RelayQueue) -> None:
    gone = put(queue, "OLD_RIS", CREATE, "1.7")
    kept = put(queue, "RIS", CREATE, "1.7")
    assert queue.fail_unconfigured({"RIS"}) == 1
    assert (state(queue.conn, gone), state(queue.conn, kept)) == ("failed", "pending")


@pytest.mark.parametrize(
    ("operation", "status", "error_id", "resent", "outcome"),
    [
        (CREATE, 0x0000, None, False, Outcome.DELIVERED),
        (SET, 0x0000, None, True, Outcome.DELIVERED),
        (SET, 0xB000, None, False, Outcome.DELIVERED),
        (CREATE, 0x0107, None, False, Outcome.DELIVERED),
        (CREATE, 0x0111, None, True, Outcome.DELIVERED),
        (CREATE, 0x0111, None, False, Outcome.DELIVERED),
        (SET, 0x0111, None, False, Outcome.REFUSED),
        (SET, 0x0110, 0xA710, True, Outcome.DELIVERED),
        (SET, 0x0110, None, True, Outcome.DELIVERED),
        (SET, 0x0110, 0xA710, False, Outcome.REFUSED),
        (SET, 0x0110, None, False, Outcome.RETRY),
        (CREATE, 0x0110, None, True, Outcome.RETRY),
        (CREATE, 0x0213, None, False, Outcome.RETRY),
        (CREATE, 0xA700, None, False, Outcome.RETRY),
        (CREATE, 0x0106, None, False, Outcome.REFUSED),
        (SET, 0x0112, None, False, Outcome.REFUSED),
        (CREATE, 0x0120, None, False, Outcome.REFUSED),
        (CREATE, 0xC000, None, False, Outcome.REFUSED),
    ],
)
def test_what_an_answer_means(
    operation: Operation, status: int, error_id: int | None, resent: bool, outcome: Outcome
) -> None:
    assert classify(operation, Answer(status, error_id, ""), resent) is outcome
