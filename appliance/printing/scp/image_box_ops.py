"""Basic Grayscale / Color Image Box N-SET (PS3.4 H.4.3, H.4.4)."""

from __future__ import annotations

from appliance.dicom.command import Status
from appliance.printing.scp import image_box_attributes
from appliance.printing.scp.exchange import Answer, Exchange, Tools
from appliance.printing.scp.refused import PrintStatus, Refused
from appliance.printing.scp.session import PrintSession


def update(session: PrintSession, exchange: Exchange, tools: Tools) -> Answer:
    found = session.image_box(exchange.uid)
    if found is None:
        raise Refused(Status.NO_SUCH_OBJECT_INSTANCE, "no such image box on this association")
    box = found[1]
    if box.sop_class != exchange.sop_class:
        raise Refused(Status.CLASS_INSTANCE_CONFLICT, "the image box is of the other class")
    spec = image_box_attributes.apply(
        exchange.dataset(), box, little_endian=exchange.little_endian, warnings=exchange.warnings
    )
    held = session.image_bytes() - box.size_bytes + int(spec.pixels.nbytes)
    if held > tools.max_session_bytes:
        raise Refused(
            PrintStatus.INSUFFICIENT_MEMORY,
            f"images would take {held >> 20} MiB, over {tools.max_session_bytes >> 20} MiB",
        )
    box.image = spec  # only now: a refused N-SET leaves the box as it was
    return Answer()
