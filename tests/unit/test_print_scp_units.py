"""Unit tests: the command codec's AT list, the SOP-class router, attribute checks."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset

from appliance.dicom import command as cmd
from appliance.dicom.negotiation import AcceptedContext
from appliance.dicom.services import Outgoing, Peer, Reply
from appliance.dicom.sop_router import Route, SopClassRouter
from appliance.printing.film import FilmBoxSpec
from appliance.printing.scp import film_box_attributes, session_attributes
from appliance.printing.scp.pixels import read_image
from appliance.printing.scp.refused import Refused, Warnings
from appliance.printing.scp.uids import FILM_SESSION, GRAYSCALE_META, PRINTER, carried_by
from tests.print_acceptor import default_routes

FILM = default_routes()["KILN_FILM"]
PAPER = default_routes()["KILN_PAPER"]
PEER = Peer("SCU", "KILN_FILM", "127.0.0.1", 1, 1)
CONTEXT = AcceptedContext(1, GRAYSCALE_META, "1.2.840.10008.1.2")


def test_attribute_identifier_list_round_trip() -> None:
    encoded = cmd.encode(
        {
            cmd.COMMAND_FIELD: int(cmd.CommandField.N_GET_RQ),
            cmd.MESSAGE_ID: 3,
            cmd.DATASET_TYPE: cmd.NO_DATASET,
            cmd.ATTRIBUTE_IDENTIFIER_LIST: (0x21100010, 0x00081090),
        }
    )
    decoded = cmd.decode(encoded[12:])  # without the group length
    assert decoded.field == cmd.CommandField.N_GET_RQ
    assert decoded.get_tags(cmd.ATTRIBUTE_IDENTIFIER_LIST) == (0x21100010, 0x00081090)


class _Recorder:
    def __init__(self) -> None:
        self.responses: list[int] = []
        self.ended: list[list[int]] = []

    def handle(
        self, peer: Peer, command: cmd.Command, context: AcceptedContext, dataset: bytes | None
    ) -> tuple[list[Reply], list[Outgoing]]:
        return [], [Outgoing(context.context_id, lambda: ({}, b""), key=7)]

    def response_received(self, peer: Peer, key: int, command: cmd.Command) -> None:
        self.responses.append(key)

    def association_ended(self, peer: Peer, undelivered: list[int]) -> None:
        self.ended.append(undelivered)


def _request(field: cmd.CommandField, sop_class: str) -> cmd.Command:
    return cmd.Command(
        {cmd.COMMAND_FIELD: int(field), cmd.MESSAGE_ID: 5, cmd.REQUESTED_SOP_CLASS: sop_class}
    )


def test_router_statuses_and_keys() -> None:
    one, two = _Recorder(), _Recorder()
    router = SopClassRouter(
        {
            "1.2.1": Route(one, frozenset({cmd.CommandField.N_ACTION_RQ})),
            "1.2.2": Route(two, frozenset({cmd.CommandField.N_ACTION_RQ})),
        }
    )
    (reply,), _ = router.handle(PEER, _request(cmd.CommandField.N_ACTION_RQ, "9.9"), CONTEXT, None)
    answer = cmd.decode(reply.command[12:])
    assert answer.get_int(cmd.STATUS) == 0x0118 and answer.field == cmd.CommandField.N_ACTION_RSP
    (reply,), _ = router.handle(PEER, _request(cmd.CommandField.N_SET_RQ, "1.2.1"), CONTEXT, None)
    assert cmd.decode(reply.command[12:]).get_int(cmd.STATUS) == 0x0211
    # Both services number their report 7: the router keeps them apart.
    _, (first,) = router.handle(
        PEER, _request(cmd.CommandField.N_ACTION_RQ, "1.2.1"), CONTEXT, None
    )
    _, (second,) = router.handle(
        PEER, _request(cmd.CommandField.N_ACTION_RQ, "1.2.2"), CONTEXT, None
    )
    assert first.key != second.key
    router.response_received(PEER, second.key, cmd.Command())
    assert (one.responses, two.responses) == ([], [7])
    router.association_ended(PEER, [first.key])
    assert one.ended == [[7]] and two.ended == [[]]


def test_meta_context_membership() -> None:
    assert carried_by(FILM_SESSION, GRAYSCALE_META)
    assert carried_by(PRINTER, "1.2.840.10008.5.1.1.16")
    assert not carried_by(FILM_SESSION, "1.2.840.10008.5.1.1.23")
    assert not carried_by("1.2.840.10008.5.1.1.4.1", GRAYSCALE_META)  # color box, gray meta


def test_session_defaults_and_memory_allocation_warning() -> None:
    assert session_attributes.defaults(FILM).medium_type == "BLUE FILM"
    assert session_attributes.defaults(PAPER).medium_type == "PAPER"
    ds = Dataset()
    ds.MemoryAllocation = 1024
    ds.FilmDestination = "bin_2"
    warnings = Warnings()
    spec, _ = session_attributes.apply(ds, session_attributes.defaults(FILM), FILM, {}, warnings)
    assert spec.film_destination == "BIN_2" and warnings.status == 0xB600


@pytest.mark.parametrize(
    ("keyword", "value", "status"),
    [
        ("NumberOfCopies", "0", 0x0106),
        ("PrintPriority", "URGENT", 0x0106),
        ("MediumType", "CLEAR FILM", 0x0106),  # not offered by the paper output
        ("FilmDestination", "SHELF", 0x0106),
    ],
)
def test_session_refusals(keyword: str, value: str, status: int) -> None:
    ds = Dataset()
    setattr(ds, keyword, value)
    with pytest.raises(Refused) as refused:
        session_attributes.apply(ds, session_attributes.defaults(PAPER), PAPER, {}, Warnings())
    assert refused.value.status == status


@pytest.mark.parametrize(
    ("display_format", "boxes"),
    [("STANDARD\\4,5", 20), ("ROW\\2,3", 5), ("COL\\1,2", 3), ("SLIDE", None), ("CUSTOM\\1", None)],
)
def test_display_formats(display_format: str, boxes: int | None) -> None:
    ds = Dataset()
    ds.ImageDisplayFormat = display_format
    if boxes is None:
        with pytest.raises(Refused) as refused:
            film_box_attributes.layout(ds, FILM)
        assert refused.value.status == 0x0106
    else:
        assert len(film_box_attributes.layout(ds, FILM)[2]) == boxes


def test_densities_clamped_and_inverted_refused() -> None:
    ds = Dataset()
    ds.MinDensity, ds.MaxDensity = 10, 400
    warnings = Warnings()
    base = FilmBoxSpec("STANDARD\\1,1")
    assert film_box_attributes.densities(ds, base, FILM, warnings) == (20, 300)
    assert warnings.status == 0xB605
    ds.MinDensity, ds.MaxDensity = 250, 100
    with pytest.raises(Refused):
        film_box_attributes.densities(ds, base, FILM, Warnings())


def test_unknown_attributes_warn_0107() -> None:
    ds = Dataset()
    ds.ImageDisplayFormat = "STANDARD\\1,1"
    ds.PatientName = "Not^Here"
    warnings = Warnings()
    film_box_attributes.apply(ds, FilmBoxSpec("STANDARD\\1,1"), FILM, {}, warnings, creating=True)
    assert warnings.status == 0x0107


def test_twelve_bit_pixels_masked_and_big_endian() -> None:
    item = Dataset()
    item.SamplesPerPixel, item.PhotometricInterpretation = 1, "MONOCHROME2"
    item.Rows, item.Columns = 1, 2
    item.BitsAllocated, item.BitsStored, item.HighBit, item.PixelRepresentation = 16, 12, 11, 0
    item.PixelData = np.array([0xF001, 0x0FFF], ">u2").tobytes()
    ds = Dataset()
    ds.BasicGrayscaleImageSequence = [item]
    image = read_image(ds, color=False, little_endian=False)
    assert image.pixels.tolist() == [[0x001, 0xFFF]]
