"""The films the composition golden images are made of, and their regeneration.

    KILN_REGENERATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_print_compose.py
    # or: .venv/bin/python -m tests.unit.print_films

writes tests/golden/print/<name>.png from the current code; look at them (and at the diff)
before committing. Films are small (8INX10IN at 20 dpi) so the PNGs stay a few KB.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from appliance.printing.compose.render import ComposedFilm, compose_film
from appliance.printing.film import FilmBoxSpec, ImageBoxSpec, LutSpec

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "print"
GOLDEN_DPI = 20.0


def ramp12(rows: int = 64, columns: int = 64) -> NDArray[np.uint16]:
    """12-bit horizontal ramp 0..4095, with a bright 8x8 mark at the top left (orientation)."""
    ramp = np.linspace(0, 4095, columns).round().astype(np.uint16)
    pixels = np.tile(ramp, (rows, 1))
    pixels[:8, :8] = 4095
    return pixels


def ramp8(rows: int = 48, columns: int = 64) -> NDArray[np.uint8]:
    """8-bit vertical ramp 0..255 with a black 8x8 mark at the top right."""
    ramp = np.linspace(0, 255, rows).round().astype(np.uint8)
    pixels = np.tile(ramp[:, None], (1, columns))
    pixels[:8, -8:] = 0
    return pixels


def constant(value: int, bits: int = 12, size: int = 32) -> NDArray[np.uint16]:
    return np.full((size, size), value, dtype=np.uint16 if bits > 8 else np.uint8)


def quadrants_rgb(size: int = 32) -> NDArray[np.uint8]:
    pixels = np.zeros((size, size, 3), dtype=np.uint8)
    half = size // 2
    pixels[:half, :half] = (255, 0, 0)
    pixels[:half, half:] = (0, 255, 0)
    pixels[half:, :half] = (0, 0, 255)
    pixels[half:, half:] = (255, 255, 0)
    return pixels


def box(position: int, pixels: NDArray[np.generic], **kwargs: object) -> ImageBoxSpec:
    bits = 8 if pixels.dtype == np.uint8 else 12
    return ImageBoxSpec(position=position, pixels=pixels, bits_stored=bits, **kwargs)  # type: ignore[arg-type]


def film(fmt: str, *boxes: ImageBoxSpec, **kwargs: object) -> FilmBoxSpec:
    options: dict[str, object] = {"film_size_id": "8INX10IN", **kwargs}
    return FilmBoxSpec(image_display_format=fmt, image_boxes=boxes, **options)  # type: ignore[arg-type]


def gamma_lut() -> LutSpec:
    """An explicit 4096-entry, 16-bit Presentation LUT: P = input^0.5 (brightens mid-tones)."""
    values = (np.sqrt(np.arange(4096) / 4095) * 65535).round().astype(int)
    return LutSpec(descriptor=(4096, 0, 16), data=tuple(int(v) for v in values))


FILMS: dict[str, Callable[[], FilmBoxSpec]] = {
    "standard-1x1-identity": lambda: film("STANDARD\\1,1", box(1, ramp12())),
    "standard-2x2-mixed": lambda: film(
        "STANDARD\\2,2",
        box(1, ramp12()),
        box(2, ramp8()),
        box(4, ramp12(), polarity="REVERSE"),
        empty_image_density="WHITE",
    ),
    "row-1-2-white-trim": lambda: film(
        "ROW\\1,2",
        box(1, ramp12(32, 96)),
        box(2, ramp8()),
        box(3, ramp12()),
        border_density="WHITE",
        trim="YES",
    ),
    "col-2-1-landscape-densities": lambda: film(
        "COL\\2,1",
        box(1, ramp12()),
        box(3, ramp8(64, 32)),
        film_orientation="LANDSCAPE",
        border_density="50",
        empty_image_density="100",
    ),
    "lin-od": lambda: film(
        "STANDARD\\1,2",
        box(1, ramp12()),
        box(2, ramp8()),
        presentation_lut=LutSpec(shape="LIN OD"),
        min_density=20,
        max_density=300,
    ),
    "explicit-lut": lambda: film("STANDARD\\1,1", box(1, ramp12()), presentation_lut=gamma_lut()),
    "color": lambda: film(
        "STANDARD\\2,1", box(1, quadrants_rgb(), color=True), box(2, ramp12()), trim="YES"
    ),
    "magnification": lambda: film(
        "STANDARD\\2,2",
        box(1, ramp12(16, 16), magnification_type="REPLICATE"),
        box(2, ramp12(16, 16), magnification_type="BILINEAR"),
        box(3, ramp12(16, 16), magnification_type="NONE"),
        box(4, ramp12(16, 32), requested_image_size=40.0, pixel_aspect_ratio=(2, 1)),
    ),
}


def render(name: str) -> ComposedFilm:
    return compose_film(FILMS[name](), dpi=GOLDEN_DPI)


def regenerate() -> list[Path]:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    written = []
    for name in FILMS:
        path = GOLDEN / f"{name}.png"
        render(name).image.save(path, optimize=True)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in regenerate():
        print(path, path.stat().st_size)
