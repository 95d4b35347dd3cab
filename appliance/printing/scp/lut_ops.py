"""Presentation LUT: N-CREATE and N-DELETE (PS3.4 H.4.9)."""

from __future__ import annotations

from appliance.dicom.command import Status
from appliance.printing.scp.exchange import Answer, Exchange, Tools
from appliance.printing.scp.presentation_lut import read_lut
from appliance.printing.scp.refused import Refused
from appliance.printing.scp.session import PrintSession

MAX_LUTS = 64  # per association; more is a runaway SCU, not a print job


def create(session: PrintSession, exchange: Exchange, tools: Tools) -> Answer:
    if exchange.uid in session.luts:
        raise Refused(Status.DUPLICATE_SOP_INSTANCE, "a Presentation LUT with this UID exists")
    if len(session.luts) >= MAX_LUTS:
        raise Refused(Status.RESOURCE_LIMITATION, f"more than {MAX_LUTS} Presentation LUTs")
    lut = read_lut(exchange.dataset(), exchange.warnings, little_endian=exchange.little_endian)
    session.luts[exchange.uid] = lut
    return Answer()


def delete(session: PrintSession, exchange: Exchange, tools: Tools) -> Answer:
    # Film boxes keep the LUT they were given, so deleting it changes no film.
    if session.luts.pop(exchange.uid, None) is None:
        raise Refused(Status.NO_SUCH_OBJECT_INSTANCE, "no such Presentation LUT")
    return Answer()
