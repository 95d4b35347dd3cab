"""Film composition: golden pages (layout, polarity, LUTs, densities, trim, color,
magnification) and pixel values computed by hand from PS3.14 and the paper model.

Regenerate the golden PNGs (after checking the change is wanted; see tests/unit/print_films.py):
    KILN_REGENERATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_print_compose.py
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from PIL import Image

from appliance.printing.compose.layout import box_rects_mm, parse_display_format
from appliance.printing.compose.render import compose_film
from appliance.printing.compose.tone import PaperResponse, gsdf_jnd, gsdf_luminance
from appliance.printing.film import LutSpec
from tests.unit import print_films
from tests.unit.print_films import FILMS, GOLDEN, box, constant, film, ramp12

PAPER = PaperResponse()  # white 0.05 OD, black 1.5 OD, 150 cd/m2, no ambient


def paper_gray(density: float) -> int:
    """The paper model by hand: reflectance, black-point compensation, sRGB encoding."""
    white, black = 10**-PAPER.min_density, 10**-PAPER.max_density
    linear = (10**-density - black) / (white - black)
    encoded = 12.92 * linear if linear <= 0.0031308 else 1.055 * linear ** (1 / 2.4) - 0.055
    return round(encoded * 255)


def centre_of_box(image: Image.Image, fmt: str, position: int, size: tuple[float, float]) -> int:
    rect = box_rects_mm(parse_display_format(fmt), *size)[position - 1]
    scale = image.width / size[0]
    x = int((rect.x + rect.w / 2) * scale)
    y = int((rect.y + rect.h / 2) * scale)
    value = image.getpixel((x, y))
    assert isinstance(value, int)
    return value


@pytest.mark.parametrize("name", sorted(FILMS))
def test_golden_page(name: str) -> None:
    """Pixel-exact: the same numpy/Pillow code gives the same bytes; a change is a decision."""
    composed = print_films.render(name)
    if os.environ.get("KILN_REGENERATE_GOLDEN"):
        composed.image.save(GOLDEN / f"{name}.png", optimize=True)
    golden = Image.open(GOLDEN / f"{name}.png")
    assert golden.mode == composed.image.mode
    assert golden.size == composed.image.size
    difference = np.abs(
        np.asarray(golden, dtype=np.int16) - np.asarray(composed.image, dtype=np.int16)
    )
    assert int(difference.max()) == 0, f"{name}: {int((difference > 0).sum())} pixels differ"
    assert (GOLDEN / f"{name}.png").stat().st_size < 30_000


def test_golden_set_is_complete() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.png")) == sorted(FILMS)


def test_page_size_and_modes() -> None:
    composed = print_films.render("standard-1x1-identity")
    assert composed.image.mode == "L"
    assert (composed.width_mm, composed.height_mm) == pytest.approx((203.2, 254.0))
    assert composed.image.size == (160, 200)  # 8 x 10 inches at 20 dpi
    assert composed.film_size_id == "8INX10IN"
    landscape = print_films.render("col-2-1-landscape-densities")
    assert landscape.image.size == (200, 160)
    assert print_films.render("color").image.mode == "RGB"


def test_gsdf_end_points() -> None:
    """PS3.14 table B-1: j = 1 is 0.0500 cd/m2, j = 1023 is 3993.4 cd/m2."""
    assert gsdf_luminance(np.array([1.0]))[0] == pytest.approx(0.05, rel=1e-3)
    assert gsdf_luminance(np.array([1023.0]))[0] == pytest.approx(3993.4, rel=1e-3)
    for luminance in (0.5, 10.0, 150.0, 2000.0):
        j = gsdf_jnd(luminance)
        assert gsdf_luminance(np.array([j]))[0] == pytest.approx(luminance, rel=2e-3)


def test_box_values_through_identity_lut_and_black_border() -> None:
    """\\2,2: box 2 holds one value; its centre is that P-value on paper, the border black."""
    top, middle = 4095, 2048
    composed = compose_film(
        film(
            "STANDARD\\2,2",
            box(1, constant(0)),
            box(2, constant(middle)),
            box(3, constant(top)),
        ),
        dpi=30,
    )
    image = composed.image
    size = (composed.width_mm, composed.height_mm)
    assert image.getpixel((0, 0)) == 0  # border BLACK
    assert centre_of_box(image, "STANDARD\\2,2", 1, size) == 0  # P = 0: Max Density = black
    assert centre_of_box(image, "STANDARD\\2,2", 3, size) == 255  # P = top: paper white
    assert centre_of_box(image, "STANDARD\\2,2", 4, size) == 0  # empty image density BLACK
    # P = 2048/4095 halfway in JND between black (1.5 OD) and white (0.05 OD) at 150 cd/m2
    dark, bright = gsdf_jnd(150 * 10**-1.5), gsdf_jnd(150 * 10**-0.05)
    luminance = gsdf_luminance(np.array([dark + middle / top * (bright - dark)]))[0]
    expected = paper_gray(-math.log10(luminance / 150))
    assert centre_of_box(image, "STANDARD\\2,2", 2, size) == expected
    assert 80 < expected < 200  # perceptually mid, not black or white


def test_lin_od_is_linear_in_density_and_reverse_inverts() -> None:
    value = 1024
    fmt = "STANDARD\\2,1"
    composed = compose_film(
        film(
            fmt,
            box(1, constant(value)),
            box(2, constant(value), polarity="REVERSE"),
            presentation_lut=LutSpec(shape="LIN OD"),
            min_density=30,
            max_density=120,
            border_density="WHITE",
        ),
        dpi=30,
    )
    size = (composed.width_mm, composed.height_mm)
    assert composed.image.getpixel((0, 0)) == 255  # border WHITE
    density = 1.20 - (1.20 - 0.30) * value / 4095
    assert centre_of_box(composed.image, fmt, 1, size) == paper_gray(density)
    reversed_density = 1.20 - (1.20 - 0.30) * (4095 - value) / 4095
    assert centre_of_box(composed.image, fmt, 2, size) == paper_gray(reversed_density)


def test_lin_od_densities_beyond_paper_are_clamped_with_a_note() -> None:
    composed = compose_film(
        film(
            "STANDARD\\1,1",
            box(1, constant(0)),
            presentation_lut=LutSpec(shape="LIN OD"),
            min_density=20,
            max_density=300,
        ),
        dpi=30,
    )
    assert any("Max Density 3.00 OD is beyond paper" in note for note in composed.notes)
    size = (composed.width_mm, composed.height_mm)
    assert centre_of_box(composed.image, "STANDARD\\1,1", 1, size) == 0


def test_explicit_lut_and_numeric_densities() -> None:
    # A 4096-entry 16-bit table mapping every input to P = 1/4 of full scale.
    lut = LutSpec(descriptor=(4096, 0, 16), data=(16384,) * 4096)
    composed = compose_film(
        film(
            "STANDARD\\2,1",
            box(1, constant(4000)),
            presentation_lut=lut,
            border_density="100",
            empty_image_density="WHITE",
        ),
        dpi=30,
    )
    size = (composed.width_mm, composed.height_mm)
    dark, bright = gsdf_jnd(150 * 10**-1.5), gsdf_jnd(150 * 10**-0.05)
    luminance = gsdf_luminance(np.array([dark + 16384 / 65535 * (bright - dark)]))[0]
    assert centre_of_box(composed.image, "STANDARD\\2,1", 1, size) == paper_gray(
        -math.log10(luminance / 150)
    )
    assert centre_of_box(composed.image, "STANDARD\\2,1", 2, size) == 255
    assert composed.image.getpixel((0, 0)) == paper_gray(1.0)  # border 1.00 OD


def test_eight_bit_and_twelve_bit_agree_on_the_same_p_value() -> None:
    eight = compose_film(film("STANDARD\\1,1", box(1, constant(255, bits=8))), dpi=30)
    twelve = compose_film(film("STANDARD\\1,1", box(1, constant(4095))), dpi=30)
    size = (eight.width_mm, eight.height_mm)
    assert centre_of_box(eight.image, "STANDARD\\1,1", 1, size) == 255
    assert centre_of_box(twelve.image, "STANDARD\\1,1", 1, size) == 255


def test_color_box_passes_through_and_the_film_turns_rgb() -> None:
    composed = print_films.render("color")
    size = (composed.width_mm, composed.height_mm)
    rect = box_rects_mm(parse_display_format("STANDARD\\2,1"), *size)[0]
    scale = composed.image.width / size[0]
    # The top-left quadrant of the color image is red.
    x = int((rect.x + rect.w * 0.3) * scale)
    y = int((rect.y + rect.h / 2) * scale) - 3
    assert composed.image.getpixel((x, y)) == (255, 0, 0)
    assert composed.image.getpixel((0, 0)) == (0, 0, 0)


def test_requested_size_too_large_is_demagnified_with_a_note() -> None:
    composed = compose_film(
        film("STANDARD\\2,2", box(1, ramp12(), requested_image_size=150.0)), dpi=30
    )
    assert any(
        "box 1: Requested Image Size 150 mm is larger than its box; demagnified" in note
        for note in composed.notes
    )
    fits = compose_film(film("STANDARD\\1,1", box(1, ramp12(), requested_image_size=50.0)), dpi=50)
    assert fits.notes == ()
    width_px = int((np.asarray(fits.image) > 0).any(axis=0).sum())
    assert width_px == round(50.0 * 50 / 25.4)


def test_magnification_none_is_one_to_one_and_crops_with_a_note() -> None:
    small = compose_film(
        film("STANDARD\\1,1", box(1, constant(4095, size=20), magnification_type="NONE")), dpi=30
    )
    lit = np.argwhere(np.asarray(small.image) == 255)
    assert lit.max(axis=0).tolist() == (lit.min(axis=0) + 19).tolist()  # exactly 20 x 20
    big = compose_film(
        film("STANDARD\\4,4", box(1, constant(4095, size=200), magnification_type="NONE")), dpi=30
    )
    assert any("cropped" in note for note in big.notes)


def test_replicate_is_nearest_neighbour() -> None:
    pixels = np.array([[0, 4095], [4095, 0]], dtype=np.uint16)
    composed = compose_film(
        film("STANDARD\\1,1", box(1, pixels, magnification_type="REPLICATE")), dpi=30
    )
    assert set(np.unique(np.asarray(composed.image)).tolist()) == {0, 255}


def test_bad_films_are_refused() -> None:
    with pytest.raises(ValueError, match="Image Box Position 5 is outside STANDARD"):
        compose_film(film("STANDARD\\2,2", box(5, ramp12())))
    with pytest.raises(ValueError, match="given twice"):
        compose_film(film("STANDARD\\2,2", box(1, ramp12()), box(1, ramp12())))
    with pytest.raises(ValueError, match="SLIDE is not supported"):
        compose_film(film("SLIDE"))
    with pytest.raises(ValueError, match="unknown Film Size ID"):
        compose_film(film("STANDARD\\1,1", film_size_id="35MM"))
    with pytest.raises(ValueError, match="dpi"):
        compose_film(film("STANDARD\\1,1"), dpi=5000)
