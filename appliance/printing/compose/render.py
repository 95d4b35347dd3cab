"""A film box laid out as a page image at a given resolution (docs/print-composition.md).

The film is a raster of the film size (Film Size ID, Film Orientation) at `dpi`. The image
boxes sit where the Image Display Format puts them (layout.py); the film around and
between them is Border Density, a box without an image is Empty Image Density. Each image
is turned into paper gray levels first (tone.py: polarity, Presentation LUT, GSDF, paper)
and then magnified into its box with Pillow:

- REPLICATE: nearest neighbour; BILINEAR: bilinear; CUBIC: bicubic, with Smoothing Type
  SHARP (Lanczos), MEDIUM or none (bicubic) or SMOOTH (bilinear);
- NONE: no interpolation, one image pixel is one printer pixel (at `dpi`); an image larger
  than its box is cropped around its centre.

Without Requested Image Size an image is as large as its box allows, keeping its aspect
ratio (and Pixel Aspect Ratio), centred. With it, the image is that wide (mm); if that
does not fit the box it is demagnified to fit (the SCP answers B604 for such a box), which
`ComposedFilm.notes` records, as it records a crop and every value printed otherwise than
asked. Interpolation works on the 8-bit paper gray levels, which are close to perceptually
uniform (sRGB encoding), so smoothing does not shift the image's tones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from appliance.printing.compose.layout import (
    MM_PER_INCH,
    Rect,
    box_rects_mm,
    film_size_mm,
    parse_display_format,
)
from appliance.printing.compose.tone import (
    Densities,
    PaperResponse,
    film_densities,
    named_density_gray,
    tone_table,
)
from appliance.printing.film import FilmBoxSpec, ImageBoxSpec

MIN_DPI = 10.0
MAX_DPI = 600.0
TRIM_MM = 0.3  # width of the trim line around an image

_FILTERS = {
    "REPLICATE": Image.Resampling.NEAREST,
    "BILINEAR": Image.Resampling.BILINEAR,
    "CUBIC": Image.Resampling.BICUBIC,
}
_CUBIC_SMOOTHING = {
    "": Image.Resampling.BICUBIC,
    "MEDIUM": Image.Resampling.BICUBIC,
    "SHARP": Image.Resampling.LANCZOS,
    "SMOOTH": Image.Resampling.BILINEAR,
}


@dataclass(frozen=True)
class ComposedFilm:
    """A film as a page image: mode "L" (grayscale) or "RGB" (a color box on it).

    `width_mm` x `height_mm` is the film's true size (the raster is that size at `dpi`,
    rounded to whole pixels); `notes` say where the print differs from the request.
    """

    image: Image.Image
    width_mm: float
    height_mm: float
    dpi: float
    notes: tuple[str, ...]
    film_size_id: str = ""


@dataclass(frozen=True)
class _Box:
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0


def compose_film(
    film: FilmBoxSpec, *, dpi: float = 150.0, paper: PaperResponse | None = None
) -> ComposedFilm:
    """Lay out one film box as a page image. ValueError for a film box it cannot print."""
    if not MIN_DPI <= dpi <= MAX_DPI:
        raise ValueError(f"dpi {dpi} is outside {MIN_DPI:g}..{MAX_DPI:g}")
    response = paper or PaperResponse()
    width_mm, height_mm = film_size_mm(film.film_size_id, film.film_orientation)
    fmt = parse_display_format(film.image_display_format)
    rects = box_rects_mm(fmt, width_mm, height_mm)
    boxes_by_position = _boxes_by_position(film.image_boxes, fmt.boxes, fmt.text)
    notes: list[str] = []
    densities = film_densities(
        response,
        film.min_density,
        film.max_density,
        film.illumination,
        film.reflected_ambient_light,
        notes,
    )
    border = named_density_gray(film.border_density, response)
    empty = named_density_gray(film.empty_image_density, response)
    color = any(box.color for box in film.image_boxes)
    scale = dpi / MM_PER_INCH
    page_w = max(1, round(width_mm * scale))
    page_h = max(1, round(height_mm * scale))
    page: NDArray[np.uint8] = np.full(
        (page_h, page_w, 3) if color else (page_h, page_w), border, dtype=np.uint8
    )
    trim = film.trim.strip().upper() == "YES"
    trim_px = max(1, round(TRIM_MM * scale)) if trim else 0
    trim_gray = 255 if border < 128 else 0
    tables: dict[tuple[Any, ...], NDArray[np.uint8]] = {}
    for position, rect in enumerate(rects, start=1):
        box = _pixel_box(rect, scale)
        spec = boxes_by_position.get(position)
        if spec is None:
            page[box.y0 : box.y1, box.x0 : box.x1] = empty
            continue
        placed = _place_image(
            spec, film, box, trim_px, scale, densities, response, tables, notes, position
        )
        if placed is None:
            continue
        pixels, x, y = placed
        height, width = pixels.shape[:2]
        if color and pixels.ndim == 2:
            pixels = pixels[:, :, None]
        page[y : y + height, x : x + width] = pixels
        if trim:
            _draw_trim(page, box, x, y, width, height, trim_px, trim_gray)
    image = Image.fromarray(page, "RGB" if color else "L")
    return ComposedFilm(
        image=image,
        width_mm=width_mm,
        height_mm=height_mm,
        dpi=dpi,
        notes=tuple(notes),
        film_size_id=film.film_size_id.strip().upper(),
    )


def _boxes_by_position(
    boxes: Sequence[ImageBoxSpec], count: int, text: str
) -> dict[int, ImageBoxSpec]:
    result: dict[int, ImageBoxSpec] = {}
    for box in boxes:
        if not 1 <= box.position <= count:
            raise ValueError(
                f"Image Box Position {box.position} is outside {text} ({count} image boxes)"
            )
        if box.position in result:
            raise ValueError(f"Image Box Position {box.position} is given twice")
        result[box.position] = box
    return result


def _pixel_box(rect: Rect, scale: float) -> _Box:
    """Whole printer pixels of a box; neighbouring boxes share no pixel."""
    x0, y0 = round(rect.x * scale), round(rect.y * scale)
    x1, y1 = round((rect.x + rect.w) * scale), round((rect.y + rect.h) * scale)
    return _Box(x0, y0, max(x1, x0 + 1), max(y1, y0 + 1))


def _place_image(
    spec: ImageBoxSpec,
    film: FilmBoxSpec,
    box: _Box,
    trim_px: int,
    scale: float,
    densities: Densities,
    paper: PaperResponse,
    tables: dict[tuple[Any, ...], NDArray[np.uint8]],
    notes: list[str],
    position: int,
) -> tuple[NDArray[np.uint8], int, int] | None:
    """The image in paper gray levels at its printed size, and where its top left goes."""
    label = f"box {position}"
    gray = _to_gray(spec, film, densities, paper, tables, notes, label)
    rows, columns = gray.shape[:2]
    if rows == 0 or columns == 0:
        notes.append(f"{label}: the image has no pixels; left empty")
        return None
    # Room for the image: the box, less the trim line on each side.
    room_w = max(1, box.width - 2 * trim_px)
    room_h = max(1, box.height - 2 * trim_px)
    magnification = (spec.magnification_type or film.magnification_type or "CUBIC").upper()
    smoothing = (spec.smoothing_type or film.smoothing_type or "").strip().upper()
    if magnification == "NONE":
        if spec.pixel_aspect_ratio and spec.pixel_aspect_ratio[0] != spec.pixel_aspect_ratio[1]:
            notes.append(f"{label}: Magnification Type NONE prints square pixels")
        pixels = gray
        if columns > room_w or rows > room_h:
            top = max(0, (rows - room_h) // 2)
            left = max(0, (columns - room_w) // 2)
            pixels = gray[top : top + room_h, left : left + room_w]
            notes.append(
                f"{label}: {columns}x{rows} image is larger than its box at one printer "
                f"pixel per image pixel; cropped to {pixels.shape[1]}x{pixels.shape[0]}"
            )
        return _centred(pixels, box)
    resample = _resample(magnification, smoothing, notes, label)
    row_ratio, column_ratio = spec.pixel_aspect_ratio or (1, 1)
    if row_ratio <= 0 or column_ratio <= 0:
        row_ratio = column_ratio = 1
    natural_w = columns * column_ratio
    natural_h = rows * row_ratio
    fit = min(room_w / natural_w, room_h / natural_h)
    factor = fit
    if spec.requested_image_size:
        wanted = spec.requested_image_size * scale / natural_w
        if wanted <= fit * 1.0001:
            factor = wanted
        else:
            notes.append(
                f"{label}: Requested Image Size {spec.requested_image_size:g} mm is larger than "
                f"its box; demagnified to {natural_w * fit / scale:.1f} mm"
            )
    width = max(1, min(room_w, round(natural_w * factor)))
    height = max(1, min(room_h, round(natural_h * factor)))
    if (width, height) == (columns, rows):
        return _centred(gray, box)
    mode = "RGB" if gray.ndim == 3 else "L"
    resized = Image.fromarray(gray, mode).resize((width, height), resample)
    return _centred(np.asarray(resized), box)


def _centred(pixels: NDArray[np.uint8], box: _Box) -> tuple[NDArray[np.uint8], int, int]:
    height, width = pixels.shape[:2]
    return pixels, box.x0 + (box.width - width) // 2, box.y0 + (box.height - height) // 2


def _resample(magnification: str, smoothing: str, notes: list[str], label: str) -> Image.Resampling:
    if magnification == "CUBIC":
        chosen = _CUBIC_SMOOTHING.get(smoothing)
        if chosen is None:
            notes.append(f"{label}: Smoothing Type {smoothing!r} is unknown; printed as MEDIUM")
            chosen = Image.Resampling.BICUBIC
        return chosen
    if magnification not in _FILTERS:
        notes.append(f"{label}: Magnification Type {magnification!r} is unknown; printed CUBIC")
        return Image.Resampling.BICUBIC
    if smoothing:
        notes.append(f"{label}: Smoothing Type applies to CUBIC only; ignored")
    return _FILTERS[magnification]


def _to_gray(
    spec: ImageBoxSpec,
    film: FilmBoxSpec,
    densities: Densities,
    paper: PaperResponse,
    tables: dict[tuple[Any, ...], NDArray[np.uint8]],
    notes: list[str],
    label: str,
) -> NDArray[np.uint8]:
    """Paper gray levels at the image's own size (RGB boxes pass through as sRGB)."""
    pixels = spec.pixels
    reverse = spec.polarity.strip().upper() == "REVERSE"
    if spec.color:
        if pixels.ndim != 3 or pixels.shape[2] != 3:
            raise ValueError(f"{label}: a color image box needs rows x columns x 3 pixels")
        if reverse:
            notes.append(f"{label}: Polarity REVERSE applies to grayscale; color printed as is")
        rgb: NDArray[np.uint8] = np.ascontiguousarray(pixels, dtype=np.uint8)
        return rgb
    if pixels.ndim != 2:
        raise ValueError(f"{label}: a grayscale image box needs rows x columns pixels")
    if not 1 <= spec.bits_stored <= 16:
        raise ValueError(f"{label}: Bits Stored {spec.bits_stored} is not 1..16")
    if pixels.dtype not in (np.uint8, np.uint16):
        pixels = np.clip(pixels, 0, (1 << spec.bits_stored) - 1).astype(np.uint16)
    key = (spec.bits_stored, pixels.dtype.str, reverse)
    table = tables.get(key)
    if table is None:
        table = tone_table(
            spec.bits_stored,
            pixels.dtype,
            reverse=reverse,
            lut=film.presentation_lut,
            densities=densities,
            paper=paper,
            notes=notes,
        )
        tables[key] = table
    gray: NDArray[np.uint8] = table[pixels]
    return gray


def _draw_trim(
    page: NDArray[np.uint8],
    box: _Box,
    x: int,
    y: int,
    width: int,
    height: int,
    trim_px: int,
    gray: int,
) -> None:
    """A line `trim_px` wide just outside the image, kept inside its box."""
    left = max(box.x0, x - trim_px)
    top = max(box.y0, y - trim_px)
    right = min(box.x1, x + width + trim_px)
    bottom = min(box.y1, y + height + trim_px)
    page[top : min(bottom, top + trim_px), left:right] = gray
    page[max(top, bottom - trim_px) : bottom, left:right] = gray
    page[top:bottom, left : min(right, left + trim_px)] = gray
    page[top:bottom, max(left, right - trim_px) : right] = gray


def film_pixels(width_mm: float, height_mm: float, dpi: float) -> tuple[int, int]:
    """The raster size compose_film gives a film of this size."""
    scale = dpi / MM_PER_INCH
    return max(1, round(width_mm * scale)), max(1, round(height_mm * scale))


__all__ = ["ComposedFilm", "compose_film", "film_pixels"]
