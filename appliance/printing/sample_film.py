"""The test print: a film that shows at a glance whether an output prints correctly.

Four boxes (STANDARD\\2,2) of 12-bit images: a 16-step gray wedge (every step must be
told apart), a fine grid (true size, no smoothing blur), a gradient (no banding) and a
circle on a square (aspect ratio kept). `appliance printer test` queues it like any
modality's film, so the whole chain from the queue to the paper or film is exercised.
"""

from __future__ import annotations

import time

import numpy as np
from numpy.typing import NDArray

from appliance.printing.film import FilmBoxSpec, FilmSessionSpec, ImageBoxSpec, PrintRequest
from appliance.worklist.item import new_uid

SIZE = 256
MAX_12_BIT = 4095
TEST_AE = "KILN_TEST"


def _wedge() -> NDArray[np.uint16]:
    steps = np.repeat(np.arange(16, dtype=np.uint32) * MAX_12_BIT // 15, SIZE // 16)
    return np.tile(steps, (SIZE, 1)).astype(np.uint16)


def _grid() -> NDArray[np.uint16]:
    image = np.full((SIZE, SIZE), MAX_12_BIT // 8, dtype=np.uint16)
    image[::16, :] = MAX_12_BIT
    image[:, ::16] = MAX_12_BIT
    return image


def _gradient() -> NDArray[np.uint16]:
    ramp = np.linspace(0, MAX_12_BIT, SIZE, dtype=np.float64)
    return np.add.outer(ramp, ramp).__truediv__(2).astype(np.uint16)


def _circle() -> NDArray[np.uint16]:
    y, x = np.mgrid[:SIZE, :SIZE]
    centre = (SIZE - 1) / 2
    inside = (x - centre) ** 2 + (y - centre) ** 2 <= (SIZE * 0.4) ** 2
    return np.where(inside, MAX_12_BIT, MAX_12_BIT // 4).astype(np.uint16)


def test_print_request(called_ae: str, film_size: str, medium: str) -> PrintRequest:
    boxes = tuple(
        ImageBoxSpec(position, pixels, bits_stored=12)
        for position, pixels in enumerate((_wedge(), _grid(), _gradient(), _circle()), start=1)
    )
    film = FilmBoxSpec(
        "STANDARD\\2,2",
        film_size_id=film_size,
        border_density="WHITE",
        empty_image_density="WHITE",
        image_boxes=boxes,
    )
    session = FilmSessionSpec(
        number_of_copies=1,
        print_priority="HIGH",
        medium_type=medium,
        film_session_label="KILN TEST PRINT",
    )
    return PrintRequest(
        job_uid=new_uid(),
        calling_ae=TEST_AE,
        called_ae=called_ae,
        session=session,
        films=(film,),
        received_at=time.time(),
    )
