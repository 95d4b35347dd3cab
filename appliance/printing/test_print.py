"""A test print, queued and followed: what `appliance printer test`, `appliance device test
PRINTER` and the web page's test-print control share.

The test film (sample_film.py) goes through the print queue like any modality's film, so
the devices role prints it whether or not anyone waits for it; `follow` watches the job
until it is done, failed or cancelled, or the caller stops waiting.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from appliance.config.schema import KilnConfig
from appliance.printing.backend import QueueFull
from appliance.printing.database_backend import DatabasePrintBackend
from appliance.printing.job_states import PrintJobState
from appliance.printing.queue import PrintJob, PrintQueue
from appliance.printing.sample_film import test_print_request

FINISHED = (PrintJobState.DONE, PrintJobState.FAILED, PrintJobState.CANCELLED)
LOOK_SECONDS = 0.2


class TestPrintRefused(Exception):
    """Nothing was queued: `status` as an HTTP status, `sentence` for the operator."""

    __test__ = False  # not a pytest class

    def __init__(self, status: int, sentence: str) -> None:
        super().__init__(sentence)
        self.status = status
        self.sentence = sentence


def queue_test_print(
    config: KilnConfig,
    connect: Callable[[], sqlite3.Connection],
    output: str,
    film_size: str | None = None,
    clock: Callable[[], float] = time.time,
) -> PrintJob:
    """Queue the test film on OUTPUT (its first film size unless `film_size`); the job."""
    settings = config.print.outputs.get(output)
    if settings is None:
        known = ", ".join(config.print.outputs) or "none"
        raise TestPrintRefused(404, f"There is no print output {output!r}; known: {known}.")
    if not config.print.enabled:
        raise TestPrintRefused(
            409, "Printing is switched off ([print] enabled = false); nothing was queued."
        )
    size = film_size or settings.film_sizes[0]
    if size not in settings.film_sizes:
        raise TestPrintRefused(
            422,
            f"The {output} output does not print {size}; it takes "
            f"{', '.join(settings.film_sizes)}. Nothing was queued.",
        )
    request = test_print_request(settings.ae_title, size, settings.medium_types[0])
    try:
        DatabasePrintBackend(config, connect, clock).enqueue(request)
    except QueueFull as exc:
        raise TestPrintRefused(
            409, f"The test print was not queued: {exc}. Wait for them to print, or cancel some."
        ) from None
    except OSError as exc:
        raise TestPrintRefused(
            503,
            f"The test film could not be stored ({exc.strerror or exc}); nothing was queued. "
            "Check the free space of the data directory.",
        ) from None
    conn = connect()
    try:
        return PrintQueue(conn, clock).get(request.job_uid)
    finally:
        conn.close()


def follow(
    queue: PrintQueue,
    job: PrintJob,
    wait: float,
    on_change: Callable[[PrintJob], None] = lambda job: None,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> PrintJob:
    """Look at `job` until it is finished or `wait` seconds have passed; `on_change` sees
    each new state, Execution Status Info or message. The job as last seen."""
    deadline = time.monotonic() + wait
    seen = (job.state, job.status_info, job.message)
    on_change(job)
    while job.state not in FINISHED and time.monotonic() < deadline:
        sleep(LOOK_SECONDS)
        job = queue.get(job.id)
        now = (job.state, job.status_info, job.message)
        if now != seen:
            seen = now
            on_change(job)
    return job


def outcome_sentence(job: PrintJob, output: str, wait: float) -> str:
    """How a followed test print ended, in one sentence."""
    if job.state is PrintJobState.DONE:
        scale = f" at {job.scale:.0%} of true size" if job.scale and job.scale < 1 else ""
        return f"Test print {job.id} printed on {output}{scale}."
    if job.state in FINISHED:
        return f"Test print {job.id} {job.state.value}: {job.message}"
    return (
        f"Test print {job.id} is still {job.state.value} after {wait:g} s"
        + (f": {job.message}" if job.message else "")
        + "; is the devices role running? ('appliance status')"
    )
