"""Basic Film Box: N-CREATE, N-SET, N-ACTION, N-DELETE (PS3.4 H.4.2)."""

from __future__ import annotations

import logging
from dataclasses import replace

from pydicom.dataset import Dataset

from appliance.dicom import command as cmd
from appliance.dicom.command import Status
from appliance.printing.scp import film_box_attributes
from appliance.printing.scp.exchange import Answer, Exchange, Tools
from appliance.printing.scp.queueing import PRINT_ACTION, print_films
from appliance.printing.scp.refused import PrintStatus, Refused
from appliance.printing.scp.session import FilmBox, FilmSession, ImageBox, PrintSession
from appliance.printing.scp.uids import COLOR_META, FILM_SESSION, image_box_class

log = logging.getLogger(__name__)


def create(session: PrintSession, exchange: Exchange, tools: Tools) -> Answer:
    film_session = session.film_session
    ds = exchange.dataset()
    referenced = film_box_attributes.film_session_uid(ds)
    if film_session is None or film_session.uid != referenced:
        raise Refused(
            Status.INVALID_ATTRIBUTE_VALUE, "Referenced Film Session: no such film session"
        )
    route = session.route
    assert route is not None  # a film session exists only with a route
    if exchange.context.abstract_syntax == COLOR_META and not route.color:
        raise Refused(Status.NO_SUCH_SOP_CLASS, f"{session.called_ae} prints grayscale only")
    if _find(session, exchange.uid) is not None:
        raise Refused(Status.DUPLICATE_SOP_INSTANCE, "a film box with this UID exists")
    spec, _, rects = film_box_attributes.layout(ds, route)
    spec = replace(spec, presentation_lut=film_session.presentation_lut)
    spec = film_box_attributes.apply(
        ds, spec, route, session.luts, exchange.warnings, creating=True
    )
    box_class = image_box_class(exchange.context.abstract_syntax)
    boxes = [
        ImageBox(tools.new_uid(), box_class, position, rect)
        for position, rect in enumerate(rects, start=1)
    ]
    film_session.film_boxes[exchange.uid] = FilmBox(exchange.uid, spec, boxes)
    log.info(
        "film box %s created: %s %s %s, %d image box(es)",
        exchange.uid,
        spec.image_display_format,
        spec.film_size_id,
        spec.film_orientation,
        len(boxes),
    )
    reply = film_box_attributes.attributes(spec)
    reply.ReferencedFilmSessionSequence = [_reference(FILM_SESSION, film_session.uid)]
    reply.ReferencedImageBoxSequence = [_reference(box.sop_class, box.uid) for box in boxes]
    return Answer(reply)


def update(session: PrintSession, exchange: Exchange, tools: Tools) -> Answer:
    film_box = _own(session, exchange)[1]
    assert session.route is not None
    film_box.spec = film_box_attributes.apply(
        exchange.dataset(),
        film_box.spec,
        session.route,
        session.luts,
        exchange.warnings,
        creating=False,
    )
    return Answer()


def action(session: PrintSession, exchange: Exchange, tools: Tools) -> Answer:
    film_session, film_box = _own(session, exchange)
    if exchange.command.get_int(cmd.ACTION_TYPE, -1) != PRINT_ACTION:
        raise Refused(Status.NO_SUCH_ACTION_TYPE, "Action Type ID is not 1 (print)")
    if film_box.empty:
        # A warning (PS3.4 H.4.2.2.4): the film prints with every box at Empty Image Density.
        exchange.warnings.add(PrintStatus.FILM_BOX_EMPTY_PAGE, "the film box has no image")
    reply = print_films(session, film_session, [film_box], exchange, tools, whole_session=False)
    return Answer(reply)


def delete(session: PrintSession, exchange: Exchange, tools: Tools) -> Answer:
    film_session, film_box = _own(session, exchange)
    del film_session.film_boxes[film_box.uid]  # its image boxes go with it
    return Answer()


def _find(session: PrintSession, uid: str) -> tuple[FilmSession, FilmBox] | None:
    film_session = session.film_session
    if film_session is None:
        return None
    film_box = film_session.film_boxes.get(uid)
    return (film_session, film_box) if film_box is not None else None


def _own(session: PrintSession, exchange: Exchange) -> tuple[FilmSession, FilmBox]:
    found = _find(session, exchange.uid)
    if found is None:
        raise Refused(Status.NO_SUCH_OBJECT_INSTANCE, "no such film box on this association")
    return found


def _reference(sop_class: str, uid: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = sop_class
    item.ReferencedSOPInstanceUID = uid
    return item
