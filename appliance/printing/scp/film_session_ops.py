"""Basic Film Session: N-CREATE, N-SET, N-DELETE, N-ACTION (PS3.4 H.4.1)."""

from __future__ import annotations

import logging

from appliance.dicom import command as cmd
from appliance.dicom.command import Status
from appliance.printing.scp import session_attributes
from appliance.printing.scp.exchange import Answer, Exchange, Tools
from appliance.printing.scp.queueing import PRINT_ACTION, print_films
from appliance.printing.scp.refused import PrintStatus, Refused
from appliance.printing.scp.session import FilmSession, PrintSession

log = logging.getLogger(__name__)


def create(session: PrintSession, exchange: Exchange, tools: Tools) -> Answer:
    if session.film_session is not None:
        # PS3.4 H.2.1: one film session per association (DCMTK answers the same).
        raise Refused(Status.DUPLICATE_SOP_INSTANCE, "a film session exists on this association")
    if session.route is None:
        # The called AE title picks the output; this one has none, so nothing could
        # print. Refused here, at the first request, rather than after the images.
        raise Refused(
            Status.PROCESSING_FAILURE, f"called AE title {session.called_ae} prints nowhere"
        )
    ds = exchange.dataset(required=False)
    spec, lut = session_attributes.apply(
        ds,
        session_attributes.defaults(session.route),
        session.route,
        session.luts,
        exchange.warnings,
    )
    session.film_session = FilmSession(exchange.uid, spec, lut)
    log.info(
        "film session %s created by %s for %s (%s, %d copies)",
        exchange.uid,
        exchange.peer.calling_ae,
        session.called_ae,
        spec.medium_type,
        spec.number_of_copies,
    )
    return Answer(session_attributes.attributes(spec))


def update(session: PrintSession, exchange: Exchange, tools: Tools) -> Answer:
    film_session = _own(session, exchange)
    assert session.route is not None  # a film session exists only with a route
    ds = exchange.dataset()
    spec, lut = session_attributes.apply(
        ds, film_session.spec, session.route, session.luts, exchange.warnings
    )
    film_session.spec = spec
    if lut is not None:
        film_session.presentation_lut = lut
    return Answer()


def delete(session: PrintSession, exchange: Exchange, tools: Tools) -> Answer:
    _own(session, exchange)
    # The whole hierarchy goes with it (PS3.4 H.4.1.2.3); queued jobs are not touched.
    session.film_session = None
    log.info("film session %s deleted by %s", exchange.uid, exchange.peer.calling_ae)
    return Answer()


def action(session: PrintSession, exchange: Exchange, tools: Tools) -> Answer:
    film_session = _own(session, exchange)
    if exchange.command.get_int(cmd.ACTION_TYPE, -1) != PRINT_ACTION:
        raise Refused(Status.NO_SUCH_ACTION_TYPE, "Action Type ID is not 1 (print)")
    films = list(film_session.film_boxes.values())
    if not films:
        raise Refused(PrintStatus.SESSION_HAS_NO_FILM_BOX, "the film session has no film box")
    empty = sum(1 for film in films if film.empty)
    if empty:
        # A warning, not a failure (PS3.4 H.4.1.2.4): the films print, empty boxes blank.
        exchange.warnings.add(PrintStatus.SESSION_EMPTY_PAGE, f"{empty} film(s) have no image")
    reply = print_films(session, film_session, films, exchange, tools, whole_session=True)
    return Answer(reply)


def _own(session: PrintSession, exchange: Exchange) -> FilmSession:
    film_session = session.film_session
    if film_session is None or film_session.uid != exchange.uid:
        raise Refused(Status.NO_SUCH_OBJECT_INSTANCE, "no such film session on this association")
    return film_session
