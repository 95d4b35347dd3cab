"""Tier 4: Kiln's film relay as Print SCU against DCMTK's dcmprscp as the film printer.

dcmprscp (the Print SCP of DCMTK's dcmpstat) runs from a dcmpstat.cfg written here: one
LOCALPRINTER with 12-bit and Presentation LUT support. For every film box printed it
stores a Stored Print object (SP_*.dcm: the film box and image box attributes) and one
Hardcopy Grayscale image per image box (HG_*.dcm) in its database directory; those are
what the assertions read.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset

from appliance.printing.film import (
    FilmBoxSpec,
    FilmSessionSpec,
    ImageBoxSpec,
    LutSpec,
    PrintRequest,
)
from appliance.printing.film_relay import OFFLINE, Done, Failed, RetryLater, relay
from drivers.film_printer.driver import FilmPrinter
from drivers.film_printer.protocol import PrinterStatus
from drivers.film_printer.transport import FilmPrinterTarget
from tests.conftest import DCMTK_ENV, free_port, wait_port

AE_TITLE = "DCMPRSCP"
RNG = np.random.default_rng(42)

CONFIG = """\
[[GENERAL]]
[DATABASE]
Directory = {root}/database
[PRINT]
Directory = {root}/spool
DetailedLog = false
BinaryLog = false
[LUT]
Directory = {root}/lut
[[COMMUNICATION]]
[FILMPRINTER]
Aetitle = {ae}
Description = Kiln test film printer
Hostname = localhost
Port = {port}
Type = LOCALPRINTER
BorderDensity = 150\\20\\BLACK\\WHITE
DisplayFormat = 1,1\\1,2\\2,2\\2,3\\3,3\\3,4\\3,5\\4,4\\4,5
EmptyImageDensity = 20\\BLACK\\WHITE
FilmDestination = MAGAZINE\\PROCESSOR
FilmSizeID = 8INX10IN\\10INX12IN\\11INX14IN\\14INX17IN\\24CMX30CM
ImplicitOnly = false
MagnificationType = REPLICATE\\BILINEAR\\CUBIC\\NONE
MaxDensity = 320
MaxPDU = 32768
MediumType = PAPER\\CLEAR FILM\\BLUE FILM
MinDensity = 20
OmitSOPClassUIDFromCreateResponse = false
PresentationLUTMatchRequired = false
PresentationLUTinFilmSession = false
ResolutionID = STANDARD\\HIGH
SmoothingType = NONE
Supports12Bit = true
SupportsDecimateCrop = false
SupportsImageSize = true
SupportsPresentationLUT = true
SupportsTrim = true
"""


@dataclass
class Dcmprscp:
    target: FilmPrinterTarget
    database: Path
    log: Path
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def stored_prints(self) -> list[Dataset]:
        return [dcmread(path) for path in sorted(self.database.glob("SP_*.dcm"))]

    def hardcopy(self, uid: str) -> Dataset:
        for path in self.database.glob("HG_*.dcm"):
            image = dcmread(path)
            if image.SOPInstanceUID == uid:
                return image
        raise AssertionError(f"no hardcopy image {uid} in {self.database}")


@pytest.fixture
def dcmprscp(tmp_path: Path) -> Iterator[Dcmprscp]:
    port = free_port()
    for folder in ("database", "spool", "lut"):
        (tmp_path / folder).mkdir()
    config = tmp_path / "dcmpstat.cfg"
    config.write_text(CONFIG.format(root=tmp_path, ae=AE_TITLE, port=port), encoding="ascii")
    log = tmp_path / "dcmprscp.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            ["dcmprscp", "-c", str(config), "-p", "FILMPRINTER", "-v"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=DCMTK_ENV,
            cwd=tmp_path,
        )
    peer = Dcmprscp(
        FilmPrinterTarget("127.0.0.1", port, AE_TITLE, "KILN", timeout=20.0),
        tmp_path / "database",
        log,
        process,
    )
    try:
        wait_port(port, timeout=20)
        yield peer
    finally:
        peer.stop()


def _request(*films: FilmBoxSpec, medium: str = "BLUE FILM") -> PrintRequest:
    return PrintRequest(
        job_uid="1.2.826.0.1.3680043.2.1143.6",
        calling_ae="SYNGO_MR",
        called_ae="KILN_FILM",
        session=FilmSessionSpec(number_of_copies=1, medium_type=medium, print_priority="MED"),
        films=films,
    )


def _boxes(stored: Dataset) -> dict[int, str]:
    """Image Box Position -> the Hardcopy Grayscale image's SOP Instance UID."""
    return {
        int(item.ImageBoxPosition): str(item.ReferencedImageSequence[0].ReferencedSOPInstanceUID)
        for item in stored.ImageBoxContentSequence
    }


def test_printer_status_from_dcmprscp(dcmprscp: Dcmprscp) -> None:
    state = FilmPrinter(dcmprscp.target).status()
    assert state.status is PrinterStatus.NORMAL


def test_a_2x2_8_bit_film(dcmprscp: Dcmprscp) -> None:
    boxes = tuple(
        ImageBoxSpec(
            position=n,
            pixels=RNG.integers(0, 256, (64, 80)).astype(np.uint8),
            bits_stored=8,
            polarity="REVERSE" if n == 4 else "NORMAL",
        )
        for n in (1, 2, 3, 4)
    )
    film = FilmBoxSpec(
        "STANDARD\\2,2",
        film_orientation="PORTRAIT",
        film_size_id="14INX17IN",
        magnification_type="CUBIC",
        border_density="BLACK",
        empty_image_density="WHITE",
        min_density=20,
        max_density=300,
        image_boxes=boxes,
    )
    result = relay(_request(film), FilmPrinter(dcmprscp.target))
    assert isinstance(result, Done), result
    assert result.films_printed == 1

    (stored,) = dcmprscp.stored_prints()
    content = stored.FilmBoxContentSequence[0]
    assert content.ImageDisplayFormat == "STANDARD\\2,2"
    assert content.FilmSizeID == "14INX17IN"
    assert content.FilmOrientation == "PORTRAIT"
    assert content.MagnificationType == "CUBIC"
    assert (content.BorderDensity, content.EmptyImageDensity) == ("BLACK", "WHITE")
    assert (content.MinDensity, content.MaxDensity) == (20, 300)
    assert len(stored.ImageBoxContentSequence) == 4
    polarity = {int(i.ImageBoxPosition): i.Polarity for i in stored.ImageBoxContentSequence}
    assert polarity == {1: "NORMAL", 2: "NORMAL", 3: "NORMAL", 4: "REVERSE"}
    for position, uid in _boxes(stored).items():
        image = dcmprscp.hardcopy(uid)
        assert (image.BitsStored, image.Rows, image.Columns) == (8, 64, 80)
        assert np.array_equal(image.pixel_array, boxes[position - 1].pixels)


def test_a_12_bit_film_with_a_presentation_lut(dcmprscp: Dcmprscp) -> None:
    pixels = RNG.integers(0, 4096, (96, 72)).astype(np.uint16)
    lut = LutSpec(descriptor=(4096, 0, 12), data=tuple(range(4095, -1, -1)), explanation="inverse")
    film = FilmBoxSpec(
        "STANDARD\\1,1",
        film_size_id="8INX10IN",
        magnification_type="NONE",
        presentation_lut=lut,
        illumination=2000,
        reflected_ambient_light=10,
        image_boxes=(ImageBoxSpec(position=1, pixels=pixels, bits_stored=12),),
    )
    result = relay(_request(film, medium="CLEAR FILM"), FilmPrinter(dcmprscp.target))
    assert isinstance(result, Done), result

    (stored,) = dcmprscp.stored_prints()
    content = stored.FilmBoxContentSequence[0]
    assert content.ImageDisplayFormat == "STANDARD\\1,1"
    assert content.FilmSizeID == "8INX10IN"
    assert (content.Illumination, content.ReflectedAmbientLight) == (2000, 10)
    (lut_content,) = stored.PresentationLUTContentSequence
    table = lut_content.PresentationLUTSequence[0]
    assert list(table.LUTDescriptor) == [4096, 0, 12]
    data = table.LUTData  # OW in the stored file: raw little-endian words
    words = np.frombuffer(data, "<u2") if isinstance(data, bytes) else np.asarray(data)
    assert np.array_equal(words, np.arange(4095, -1, -1))
    referenced = content.ReferencedPresentationLUTSequence[0].ReferencedSOPInstanceUID
    assert referenced == lut_content.SOPInstanceUID
    (uid,) = _boxes(stored).values()
    image = dcmprscp.hardcopy(uid)
    assert (image.BitsAllocated, image.BitsStored, image.HighBit) == (16, 12, 11)
    assert np.array_equal(image.pixel_array, pixels)


def test_two_films_in_one_session(dcmprscp: Dcmprscp) -> None:
    films = [
        FilmBoxSpec(
            "STANDARD\\1,2",
            film_size_id="10INX12IN",
            image_boxes=tuple(
                ImageBoxSpec(n, RNG.integers(0, 256, (32, 32)).astype(np.uint8), 8) for n in (1, 2)
            ),
        )
        for _ in range(2)
    ]
    result = relay(_request(*films), FilmPrinter(dcmprscp.target))
    assert isinstance(result, Done), result
    assert result.films_printed == 2
    stored = dcmprscp.stored_prints()
    assert len(stored) == 2
    assert all(len(s.ImageBoxContentSequence) == 2 for s in stored)


def test_a_film_size_dcmprscp_does_not_have_fails_the_job(dcmprscp: Dcmprscp) -> None:
    film = FilmBoxSpec(
        "STANDARD\\1,1",
        film_size_id="14INX14IN",
        image_boxes=(ImageBoxSpec(1, np.zeros((8, 8), np.uint8), 8),),
    )
    result = relay(_request(film), FilmPrinter(dcmprscp.target))
    assert isinstance(result, Failed), result
    assert "Film Box N-CREATE" in result.sentence
    assert dcmprscp.stored_prints() == []


def test_color_is_refused_by_a_grayscale_printer(dcmprscp: Dcmprscp) -> None:
    rgb = RNG.integers(0, 256, (16, 16, 3)).astype(np.uint8)
    film = FilmBoxSpec("STANDARD\\1,1", image_boxes=(ImageBoxSpec(1, rgb, 8, color=True),))
    target = FilmPrinterTarget(dcmprscp.target.host, dcmprscp.target.port, AE_TITLE, color=True)
    result = relay(_request(film), FilmPrinter(target))
    assert isinstance(result, Failed), result
    assert "color printing is not supported" in result.sentence
    assert dcmprscp.stored_prints() == []


def test_a_printer_that_is_gone_is_retried(dcmprscp: Dcmprscp) -> None:
    # dcmprscp accepts any called AE title (it rejects only a foreign application context
    # name), so "not reachable" is shown by stopping it; a rejection is in test_film_printer.
    dcmprscp.stop()
    film = FilmBoxSpec(
        "STANDARD\\1,1", image_boxes=(ImageBoxSpec(1, np.zeros((8, 8), np.uint8), 8),)
    )
    result = relay(_request(film), FilmPrinter(dcmprscp.target))
    assert isinstance(result, RetryLater), result
    assert result.status_info == OFFLINE
    assert "cannot be reached" in result.sentence
