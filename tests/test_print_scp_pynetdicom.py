"""Tier 4 with pynetdicom as the Print SCU, for what no third-party tool sends.

DCMTK's print client only prints grayscale, always fills a film box before printing it
and never sends a second film session, a 16-bit image, an N-SET for an unknown
instance or an Attribute Identifier List: pynetdicom stands in for those.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.tag import Tag
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.association import Association

from appliance.printing.scp.uids import (
    COLOR_IMAGE_BOX,
    COLOR_META,
    FILM_BOX,
    FILM_SESSION,
    GRAYSCALE_IMAGE_BOX,
    GRAYSCALE_META,
    PRINT_JOB,
    PRINTER,
    PRINTER_INSTANCE,
)
from tests.print_acceptor import FILM_AE, GRAY_AE, STORE_AE, Acceptor, print_acceptor


@pytest.fixture
def acceptor(tmp_path: Path) -> Iterator[Acceptor]:
    with print_acceptor(tmp_path) as running:
        yield running


@contextmanager
def associate(acceptor: Acceptor, called_ae: str = FILM_AE) -> Iterator[Association]:
    ae = AE(ae_title="PYNETSCU")
    for uid in (GRAYSCALE_META, COLOR_META, PRINT_JOB, PRINTER):
        ae.add_requested_context(uid)
    assoc = ae.associate("127.0.0.1", acceptor.port, ae_title=called_ae)
    assert assoc.is_established
    try:
        yield assoc
    finally:
        assoc.release()


def film_session(assoc: Association, meta: str = GRAYSCALE_META) -> str:
    ds = Dataset()
    ds.NumberOfCopies = 1
    ds.MediumType = "BLUE FILM"
    uid = generate_uid()  # pynetdicom does not hand back a UID the box creates
    status, _ = assoc.send_n_create(ds, FILM_SESSION, uid, meta_uid=meta)
    assert status.Status == 0, status
    return uid


def film_box(
    assoc: Association, session_uid: str, meta: str, layout: str = "STANDARD\\1,2"
) -> tuple[str, list[Dataset]]:
    ds = Dataset()
    ds.ImageDisplayFormat = layout
    ds.FilmSizeID = "8INX10IN"
    reference = Dataset()
    reference.ReferencedSOPClassUID = FILM_SESSION
    reference.ReferencedSOPInstanceUID = session_uid
    ds.ReferencedFilmSessionSequence = [reference]
    uid = generate_uid()
    status, reply = assoc.send_n_create(ds, FILM_BOX, uid, meta_uid=meta)
    assert status.Status == 0, status
    assert reply is not None
    return uid, list(reply.ReferencedImageBoxSequence)


def present(ds: Dataset | None) -> Dataset:
    assert ds is not None
    return ds


def job_uid(reply: Dataset | None) -> str:
    """The Print Job UID in the N-ACTION-RSP's Referenced Print Job Sequence (2100,0500)."""
    return str(present(reply)[0x21000500].value[0].ReferencedSOPInstanceUID)


def copies() -> Dataset:
    ds = Dataset()
    ds.NumberOfCopies = 1
    return ds


def gray_image(
    rows: int = 4, columns: int = 6, bits: tuple[int, int, int] = (16, 12, 11)
) -> Dataset:
    item = Dataset()
    item.SamplesPerPixel = 1
    item.PhotometricInterpretation = "MONOCHROME2"
    item.Rows, item.Columns = rows, columns
    item.BitsAllocated, item.BitsStored, item.HighBit = bits
    item.PixelRepresentation = 0
    pixels = (np.arange(rows * columns) * 100).astype(np.uint16 if bits[0] == 16 else np.uint8)
    item.PixelData = pixels.tobytes()
    ds = Dataset()
    ds.ImageBoxPosition = 1
    ds.BasicGrayscaleImageSequence = [item]
    return ds


def test_color_image_boxes(acceptor: Acceptor) -> None:
    """No DCMTK tool sends Basic Color Print: RGB in both planar configurations."""
    rgb = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    with associate(acceptor) as assoc:
        session = film_session(assoc, COLOR_META)
        box_uid, boxes = film_box(assoc, session, COLOR_META)
        assert [b.ReferencedSOPClassUID for b in boxes] == [COLOR_IMAGE_BOX] * 2
        for position, (reference, planar) in enumerate(zip(boxes, (0, 1), strict=True), 1):
            item = Dataset()
            item.SamplesPerPixel = 3
            item.PhotometricInterpretation = "RGB"
            item.PlanarConfiguration = planar
            item.Rows, item.Columns = 4, 5
            item.BitsAllocated, item.BitsStored, item.HighBit = 8, 8, 7
            item.PixelRepresentation = 0
            item.PixelData = (rgb if planar == 0 else rgb.transpose(2, 0, 1)).tobytes()
            ds = Dataset()
            ds.ImageBoxPosition = position
            ds.BasicColorImageSequence = [item]
            status, _ = assoc.send_n_set(
                ds, COLOR_IMAGE_BOX, reference.ReferencedSOPInstanceUID, meta_uid=COLOR_META
            )
            assert status.Status == 0
        status, _ = assoc.send_n_action(None, 1, FILM_BOX, box_uid, meta_uid=COLOR_META)
        assert status.Status == 0
    (film,) = acceptor.backend.enqueued[0].films
    for box in film.image_boxes:
        assert box.color and box.bits_stored == 8
        assert np.array_equal(box.pixels, rgb)


def test_color_refused_by_a_grayscale_output(acceptor: Acceptor) -> None:
    with associate(acceptor, GRAY_AE) as assoc:
        session = film_session(assoc, COLOR_META)
        ds = Dataset()
        ds.ImageDisplayFormat = "STANDARD\\1,1"
        reference = Dataset()
        reference.ReferencedSOPClassUID = FILM_SESSION
        reference.ReferencedSOPInstanceUID = session
        ds.ReferencedFilmSessionSequence = [reference]
        status, _ = assoc.send_n_create(ds, FILM_BOX, meta_uid=COLOR_META)
        assert status.Status == 0x0118


def test_empty_film_box_printed_with_b603(acceptor: Acceptor) -> None:
    with associate(acceptor) as assoc:
        session = film_session(assoc)
        box_uid, _ = film_box(assoc, session, GRAYSCALE_META)
        status, reply = assoc.send_n_action(None, 1, FILM_BOX, box_uid, meta_uid=GRAYSCALE_META)
        assert status.Status == 0xB603
        job = job_uid(reply)
    (request,) = acceptor.backend.enqueued
    assert request.job_uid == job and request.films[0].image_boxes == ()


def test_film_session_without_film_box_c600(acceptor: Acceptor) -> None:
    with associate(acceptor) as assoc:
        session = film_session(assoc)
        status, _ = assoc.send_n_action(None, 1, FILM_SESSION, session, meta_uid=GRAYSCALE_META)
        assert status.Status == 0xC600
    assert acceptor.backend.enqueued == []


def test_refusals_change_nothing(acceptor: Acceptor) -> None:
    """16-bit and unknown-instance N-SETs, a second film session: refused; what was set
    before still prints."""
    with associate(acceptor) as assoc:
        session = film_session(assoc)
        status, _ = assoc.send_n_create(copies(), FILM_SESSION, meta_uid=GRAYSCALE_META)
        assert status.Status == 0x0111  # one film session per association
        box_uid, boxes = film_box(assoc, session, GRAYSCALE_META)
        first = boxes[0].ReferencedSOPInstanceUID
        status, _ = assoc.send_n_set(
            gray_image(), GRAYSCALE_IMAGE_BOX, first, meta_uid=GRAYSCALE_META
        )
        assert status.Status == 0
        status, _ = assoc.send_n_set(
            gray_image(bits=(16, 16, 15)), GRAYSCALE_IMAGE_BOX, first, meta_uid=GRAYSCALE_META
        )
        assert status.Status == 0x0106
        status, _ = assoc.send_n_set(
            gray_image(), GRAYSCALE_IMAGE_BOX, "1.2.3.4", meta_uid=GRAYSCALE_META
        )
        assert status.Status == 0x0112
        malformed = gray_image()
        malformed.BasicGrayscaleImageSequence[0].PixelData = b"\x00" * 7
        status, _ = assoc.send_n_set(malformed, GRAYSCALE_IMAGE_BOX, first, meta_uid=GRAYSCALE_META)
        assert status.Status == 0x0106
        status, _ = assoc.send_n_action(None, 1, FILM_BOX, box_uid, meta_uid=GRAYSCALE_META)
        assert status.Status == 0
    (box,) = acceptor.backend.enqueued[0].films[0].image_boxes
    assert box.bits_stored == 12 and box.pixels[0, 1] == 100


def test_no_route_refuses_the_film_session(acceptor: Acceptor) -> None:
    with associate(acceptor, STORE_AE) as assoc:
        status, _ = assoc.send_n_create(copies(), FILM_SESSION, meta_uid=GRAYSCALE_META)
        assert status.Status == 0x0110
        assert "prints nowhere" in status.ErrorComment


def test_printer_and_print_job_n_get(acceptor: Acceptor) -> None:
    with associate(acceptor) as assoc:
        status, got = assoc.send_n_get(
            [Tag(0x21100010), Tag(0x21100020), Tag(0x21100030)],
            PRINTER,
            PRINTER_INSTANCE,
            meta_uid=GRAYSCALE_META,
        )
        assert status.Status == 0
        ds = present(got)
        assert (ds.PrinterStatus, ds.PrinterStatusInfo, ds.PrinterName) == (
            "NORMAL",
            "NORMAL",
            "film",
        )
        assert "Manufacturer" not in ds  # only what was asked for
        status, got = assoc.send_n_get([], PRINTER, PRINTER_INSTANCE)  # on the Printer context
        assert status.Status == 0 and present(got).DeviceSerialNumber == "SN-1"
        session = film_session(assoc)
        box_uid, _ = film_box(assoc, session, GRAYSCALE_META)
        _, reply = assoc.send_n_action(None, 1, FILM_BOX, box_uid, meta_uid=GRAYSCALE_META)
        job = job_uid(reply)
        status, got = assoc.send_n_get([], PRINT_JOB, job)
        assert status.Status == 0
        assert (present(got).ExecutionStatus, present(got).Originator) == ("PENDING", "PYNETSCU")
        status, _ = assoc.send_n_get([], PRINT_JOB, "1.2.3.4.5")
        assert status.Status == 0x0112


def test_session_ends_with_the_association(acceptor: Acceptor) -> None:
    with associate(acceptor) as assoc:
        film_session(assoc)
    assert acceptor.scp._sessions == {}  # dropped at release (PS3.4 H.2)
    with associate(acceptor) as assoc:
        film_session(assoc)  # a new association starts afresh
