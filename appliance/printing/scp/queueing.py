"""Printing: films become one PrintRequest with a fresh Print Job UID, handed to the queue."""

from __future__ import annotations

import errno
import logging

from pydicom.dataset import Dataset

from appliance.dicom.command import Status
from appliance.printing.backend import QueueFull
from appliance.printing.film import PrintRequest
from appliance.printing.scp.exchange import Exchange, Tools
from appliance.printing.scp.refused import PrintStatus, Refused
from appliance.printing.scp.session import FilmBox, FilmBoxState, FilmSession, PrintSession
from appliance.printing.scp.uids import PRINT_JOB

log = logging.getLogger(__name__)

PRINT_ACTION = 1  # Action Type ID of the film session's and film box's N-ACTION
# Referenced Print Job Sequence of the N-ACTION-RSP (PS3.4 H.4.1.2.4, H.4.2.2.4). pydicom
# names (2100,0500) after its retired Pull Stored Print use; the tag is the same.
REFERENCED_PRINT_JOB_SEQUENCE = 0x21000500


def print_films(
    session: PrintSession,
    film_session: FilmSession,
    films: list[FilmBox],
    exchange: Exchange,
    tools: Tools,
    *,
    whole_session: bool,
) -> Dataset:
    """Queue the films as one job; the N-ACTION-RSP's Referenced Print Job Sequence."""
    full = PrintStatus.SESSION_QUEUE_FULL if whole_session else PrintStatus.FILM_BOX_QUEUE_FULL
    job_uid = tools.new_uid()
    request = PrintRequest(
        job_uid=job_uid,
        calling_ae=exchange.peer.calling_ae,
        called_ae=exchange.peer.called_ae,
        session=film_session.spec,
        films=tuple(film.filled() for film in films),
        received_at=tools.clock(),
        extra={"host": exchange.peer.host, "film_session": film_session.uid},
    )
    try:
        tools.backend.enqueue(request)
    except QueueFull as exc:
        raise Refused(full, f"print queue is full: {exc}") from None
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise Refused(full, "no room to store the print job (disk full)") from None
        log.exception("print job %s could not be stored", job_uid)
        raise Refused(Status.PROCESSING_FAILURE, f"print job not stored: {exc}") from None
    for film in films:
        film.state = FilmBoxState.PRINTED
    session.jobs.append(job_uid)
    log.info(
        "print job %s queued: %d film(s) from %s for %s",
        job_uid,
        len(films),
        exchange.peer.calling_ae,
        exchange.peer.called_ae,
    )
    reference = Dataset()
    reference.ReferencedSOPClassUID = PRINT_JOB
    reference.ReferencedSOPInstanceUID = job_uid
    reply = Dataset()
    reply.add_new(REFERENCED_PRINT_JOB_SEQUENCE, "SQ", [reference])
    return reply
