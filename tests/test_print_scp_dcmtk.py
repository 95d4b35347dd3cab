"""Tier 4: DCMTK's print client (dcmpsprt + dcmprscu) against Kiln's Print SCP.

Kiln's own acceptor runs in the test process with a recording backend
(tests/print_acceptor.py), so each test asserts exactly what an N-ACTION queued.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from pydicom import dcmread

from appliance.printing.film import PrintRequest
from tests.dcmtk import run_tool
from tests.print_acceptor import FILM_AE, PAPER_AE, Acceptor, print_acceptor
from tests.print_dcmtk import PrintClient, ramp_image

FILM_BOX = "BasicFilmBoxSOPClass"
FILM_SESSION = "BasicFilmSessionSOPClass"
IMAGE_BOX = "BasicGrayscaleImageBoxSOPClass"
PRINTER = "PrinterSOPClass"


@pytest.fixture
def acceptor(tmp_path: Path) -> Iterator[Acceptor]:
    with print_acceptor(tmp_path) as running:
        yield running


def client(tmp_path: Path, acceptor: Acceptor, called_ae: str, **kwargs: bool) -> PrintClient:
    printer = PrintClient(tmp_path / "dcmtk", acceptor.port, called_ae, **kwargs)
    printer.write()
    return printer


def only_request(acceptor: Acceptor) -> PrintRequest:
    assert len(acceptor.backend.enqueued) == 1, acceptor.backend.enqueued
    return acceptor.backend.enqueued[0]


def assert_ramp(pixels: NDArray[Any], top: int) -> None:
    """The ramp arrived whole: every row the same, rising left to right to `top`."""
    assert (pixels == pixels[0]).all()
    assert np.all(np.diff(pixels[0].astype(int)) >= 0)
    assert pixels[0, 0] <= top // 50 and pixels[0, -1] >= top - top // 50


def test_standard_2x2_12_bit_identity_lut_blue_film(tmp_path: Path, acceptor: Acceptor) -> None:
    printer = client(tmp_path, acceptor, FILM_AE)
    images = [ramp_image(tmp_path / f"ramp{i}.dcm", 12) for i in range(3)]
    stored = printer.render(images, "--layout", "2", "2", "--filmsize", "14INX17IN", "--identity")
    sent = printer.send(stored, "--medium-type", "BLUE FILM", "--copies", "2")
    assert sent.returncode == 0, sent.output[-3000:]
    assert sent.status_of("N-GET RSP", PRINTER) == 0
    assert sent.status_of("N-ACTION RSP", FILM_BOX) == 0
    assert "(2100,0500)" in sent.output  # the Referenced Print Job Sequence came back
    request = only_request(acceptor)
    assert (request.calling_ae, request.called_ae) == ("DCMPSPRT", FILM_AE)
    assert request.session.medium_type == "BLUE FILM"
    assert request.session.number_of_copies == 2
    (film,) = request.films
    assert film.image_display_format == "STANDARD\\2,2"
    assert film.film_size_id == "14INX17IN"
    assert film.presentation_lut is not None and film.presentation_lut.shape == "IDENTITY"
    assert (film.illumination, film.reflected_ambient_light) == (2000, 10)
    assert [box.position for box in film.image_boxes] == [1, 2, 3]
    for box in film.image_boxes:
        assert box.bits_stored == 12 and box.pixels.dtype == np.uint16
        assert box.pixels.shape == (128, 160) and not box.color
        assert_ramp(box.pixels, 4095)
    assert request.job_uid in sent.output


def test_standard_1x1_8_bit_lin_od_paper_session_print(tmp_path: Path, acceptor: Acceptor) -> None:
    printer = client(tmp_path, acceptor, PAPER_AE, twelve_bit=False)
    image = ramp_image(tmp_path / "ramp.dcm", 8)
    stored = printer.render([image], "--layout", "1", "1", "--filmsize", "A4", "--lin-od")
    sent = printer.send(stored, "--medium-type", "PAPER", "--session-print", "--label", "CHEST")
    assert sent.returncode == 0, sent.output[-3000:]
    assert sent.status_of("N-ACTION RSP", FILM_SESSION) == 0
    request = only_request(acceptor)
    assert request.session.medium_type == "PAPER"
    assert request.session.film_session_label == "CHEST"
    (film,) = request.films
    assert (film.image_display_format, film.film_size_id) == ("STANDARD\\1,1", "A4")
    assert film.presentation_lut is not None and film.presentation_lut.shape == "LIN OD"
    (box,) = film.image_boxes
    assert box.bits_stored == 8 and box.pixels.dtype == np.uint8
    assert_ramp(box.pixels, 255)


def test_explicit_presentation_lut(tmp_path: Path, acceptor: Acceptor) -> None:
    printer = PrintClient(tmp_path / "dcmtk", acceptor.port, FILM_AE)
    (printer.root / "lut").mkdir(parents=True)
    run_tool(
        "dcmmklut", "--presentation", "--gamma", "2.2", "--bits", "12", "--entries", "4096",
        str(printer.root / "lut" / "gamma.lut"), check=True,
    )  # fmt: skip
    printer.write({"GAMMA": "gamma.lut"})
    stored = printer.render([ramp_image(tmp_path / "r.dcm", 12)], "--plut", "GAMMA")
    sent = printer.send(stored)
    assert sent.returncode == 0, sent.output[-3000:]
    lut = only_request(acceptor).films[0].presentation_lut
    assert lut is not None and lut.shape is None and lut.descriptor == (4096, 0, 12)
    assert lut.data is not None and len(lut.data) == 4096
    written = dcmread(printer.root / "lut" / "gamma.lut").PresentationLUTSequence[0]
    table = written.LUTData  # OW in the file: bytes
    expected = np.frombuffer(table, "<u2") if isinstance(table, bytes) else np.asarray(table)
    assert list(lut.data) == expected.tolist()  # the table dcmmklut made, value for value
    assert abs(lut.data[2048] - 2048) > 200  # not an identity in disguise


def test_monochrome1_is_refused_and_nothing_printed(
    tmp_path: Path, acceptor: Acceptor, caplog: pytest.LogCaptureFixture
) -> None:
    printer = client(tmp_path, acceptor, FILM_AE)
    stored = printer.render([ramp_image(tmp_path / "r.dcm", 12)])
    sent = printer.send(stored, "--monochrome1")
    assert sent.status_of("N-SET RSP", IMAGE_BOX) == 0x0106
    assert "Photometric Interpretation" in caplog.text
    assert acceptor.backend.enqueued == []


def test_film_size_the_output_does_not_offer(
    tmp_path: Path, acceptor: Acceptor, caplog: pytest.LogCaptureFixture
) -> None:
    printer = client(tmp_path, acceptor, PAPER_AE)
    stored = printer.render([ramp_image(tmp_path / "r.dcm", 8)], "--filmsize", "24CMX24CM")
    sent = printer.send(stored, "--medium-type", "PAPER")
    assert sent.status_of("N-CREATE RSP", FILM_BOX) == 0x0106
    assert "Film Size ID" in caplog.text
    assert acceptor.backend.enqueued == []


def test_medium_the_output_does_not_offer(
    tmp_path: Path, acceptor: Acceptor, caplog: pytest.LogCaptureFixture
) -> None:
    printer = client(tmp_path, acceptor, PAPER_AE)
    stored = printer.render([ramp_image(tmp_path / "r.dcm", 8)], "--filmsize", "A4")
    sent = printer.send(stored, "--medium-type", "BLUE FILM")
    assert sent.status_of("N-CREATE RSP", FILM_SESSION) == 0x0106
    assert "Medium Type" in caplog.text
    assert acceptor.backend.enqueued == []


def test_densities_outside_the_range_are_clamped_with_b605(
    tmp_path: Path, acceptor: Acceptor
) -> None:
    printer = client(tmp_path, acceptor, FILM_AE)
    image = ramp_image(tmp_path / "r.dcm", 12)
    stored = printer.render([image], "--min-density", "5", "--max-density", "350")
    sent = printer.send(stored)
    assert sent.status_of("N-CREATE RSP", FILM_BOX) == 0xB605
    assert sent.status_of("N-ACTION RSP", FILM_BOX) == 0
    film = only_request(acceptor).films[0]
    assert (film.min_density, film.max_density) == (20, 300)


@pytest.mark.parametrize(("option", "message", "status"), [
    ((), FILM_BOX, 0xC602),
    (("--session-print",), FILM_SESSION, 0xC601),
])  # fmt: skip
def test_queue_full(
    tmp_path: Path,
    acceptor: Acceptor,
    caplog: pytest.LogCaptureFixture,
    option: tuple[str, ...],
    message: str,
    status: int,
) -> None:
    acceptor.backend.full = True
    printer = client(tmp_path, acceptor, FILM_AE)
    stored = printer.render([ramp_image(tmp_path / "r.dcm", 12)])
    sent = printer.send(stored, *option)
    assert sent.status_of("N-ACTION RSP", message) == status
    assert "queue is full" in caplog.text


def test_image_larger_than_its_box(tmp_path: Path, acceptor: Acceptor) -> None:
    """400 mm wide in a quarter of a 14x17in film (about 174 mm): C603, nothing printed;
    asked to decimate instead, the image is printed demagnified with warning B604."""
    printer = client(tmp_path, acceptor, FILM_AE)
    image = ramp_image(tmp_path / "r.dcm", 12)
    layout = ("--layout", "2", "2", "--filmsize", "14INX17IN", "--img-request-size", "400")
    failing = printer.render([image], *layout, "--request-fail")
    sent = printer.send(failing)
    assert sent.status_of("N-SET RSP", IMAGE_BOX) == 0xC603
    assert acceptor.backend.enqueued == []
    decimating = printer.render([image], *layout, "--request-decimate")
    sent = printer.send(decimating)
    assert sent.status_of("N-SET RSP", IMAGE_BOX) == 0xB604
    (box,) = only_request(acceptor).films[0].image_boxes
    assert box.requested_image_size is None  # printed as large as the box allows
