"""Film sizes and the Image Display Format: where each image box sits on the film.

Pure geometry in millimetres, no pixels: the Print SCP uses it to check a film box
(N-CREATE: is the format one we print, how many image boxes to create) and composition
uses it to place the images.

PS3.3 C.13.5 (Basic Film Box) defines Image Display Format (2010,0010):

- ``STANDARD\\C,R`` - equal boxes in R rows and C columns;
- ``ROW\\a,b,c`` - one row per value, the row holding that many equal boxes;
- ``COL\\a,b`` - one column per value, the column holding that many equal boxes.

Image Box Position (2020,0010) numbers the boxes from 1 at the top left, row by row for
STANDARD and ROW, column by column (top to bottom, then left to right) for COL.
SLIDE, SUPERSLIDE and CUSTOM\\i depend on a printer's own definitions and are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

MM_PER_INCH = 25.4

# Film Size ID (2010,0050) -> (width, height) in mm, portrait.
FILM_SIZES: dict[str, tuple[float, float]] = {
    "8INX10IN": (8 * MM_PER_INCH, 10 * MM_PER_INCH),
    "8_5INX11IN": (8.5 * MM_PER_INCH, 11 * MM_PER_INCH),
    "10INX12IN": (10 * MM_PER_INCH, 12 * MM_PER_INCH),
    "10INX14IN": (10 * MM_PER_INCH, 14 * MM_PER_INCH),
    "11INX14IN": (11 * MM_PER_INCH, 14 * MM_PER_INCH),
    "11INX17IN": (11 * MM_PER_INCH, 17 * MM_PER_INCH),
    "14INX14IN": (14 * MM_PER_INCH, 14 * MM_PER_INCH),
    "14INX17IN": (14 * MM_PER_INCH, 17 * MM_PER_INCH),
    "24CMX24CM": (240.0, 240.0),
    "24CMX30CM": (240.0, 300.0),
    "A4": (210.0, 297.0),
    "A3": (297.0, 420.0),
}

# Limits that keep a hostile format from asking for millions of image boxes.
MAX_PER_LINE = 32
MAX_BOXES = 256

# The border (gap) around and between image boxes, in mm.
DEFAULT_GAP_MM = 2.0


def film_size_mm(film_size_id: str, orientation: str) -> tuple[float, float]:
    """(width, height) in mm of a Film Size ID in a Film Orientation (PORTRAIT/LANDSCAPE)."""
    size = FILM_SIZES.get(film_size_id.strip().upper())
    if size is None:
        known = ", ".join(FILM_SIZES)
        raise ValueError(f"unknown Film Size ID {film_size_id!r} (known: {known})")
    which = orientation.strip().upper() or "PORTRAIT"
    if which == "PORTRAIT":
        return size
    if which == "LANDSCAPE":
        return size[1], size[0]
    raise ValueError(f"unknown Film Orientation {orientation!r} (PORTRAIT or LANDSCAPE)")


@dataclass(frozen=True)
class DisplayFormat:
    """A parsed Image Display Format.

    ``kind`` is STANDARD, ROW or COL; ``values`` are the numbers as written (for STANDARD
    (columns, rows)). ``lines`` is the number of boxes in each row (STANDARD, ROW) or each
    column (COL), in position order.
    """

    kind: str
    values: tuple[int, ...]

    @property
    def column_major(self) -> bool:
        return self.kind == "COL"

    @property
    def lines(self) -> tuple[int, ...]:
        if self.kind == "STANDARD":
            columns, rows = self.values
            return (columns,) * rows
        return self.values

    @property
    def boxes(self) -> int:
        """How many image boxes the film box has."""
        return sum(self.lines)

    @property
    def text(self) -> str:
        return f"{self.kind}\\" + ",".join(str(v) for v in self.values)


def parse_display_format(text: str) -> DisplayFormat:
    """Parse Image Display Format; ValueError with a sentence naming what is wrong."""
    raw = text.strip()
    kind, separator, rest = raw.partition("\\")
    kind = kind.strip().upper()
    if kind in {"SLIDE", "SUPERSLIDE", "CUSTOM"}:
        raise ValueError(
            f"Image Display Format {raw!r}: {kind} is not supported "
            "(supported: STANDARD\\C,R, ROW\\a,b,... and COL\\a,b,...)"
        )
    if kind not in {"STANDARD", "ROW", "COL"}:
        raise ValueError(
            f"Image Display Format {raw!r} is not STANDARD\\C,R, ROW\\a,b,... or COL\\a,b,..."
        )
    if not separator or not rest.strip():
        raise ValueError(f"Image Display Format {raw!r}: {kind} needs numbers after '\\'")
    values: list[int] = []
    for part in rest.split(","):
        item = part.strip()
        if not item.isdigit():
            raise ValueError(
                f"Image Display Format {raw!r}: {item!r} is not a positive whole number"
            )
        value = int(item)
        if not 1 <= value <= MAX_PER_LINE:
            raise ValueError(f"Image Display Format {raw!r}: {value} is outside 1..{MAX_PER_LINE}")
        values.append(value)
    if kind == "STANDARD" and len(values) != 2:
        raise ValueError(
            f"Image Display Format {raw!r}: STANDARD takes two numbers, columns and rows"
        )
    if len(values) > MAX_PER_LINE:
        raise ValueError(f"Image Display Format {raw!r}: more than {MAX_PER_LINE} rows or columns")
    result = DisplayFormat(kind, tuple(values))
    if result.boxes > MAX_BOXES:
        raise ValueError(
            f"Image Display Format {raw!r}: {result.boxes} image boxes, more than {MAX_BOXES}"
        )
    return result


@dataclass(frozen=True)
class Rect:
    """A rectangle on the film in mm; (x, y) is the top-left corner, y grows downwards."""

    x: float
    y: float
    w: float
    h: float


def box_rects_mm(
    fmt: DisplayFormat, width_mm: float, height_mm: float, *, gap_mm: float = DEFAULT_GAP_MM
) -> list[Rect]:
    """The image boxes of a film, in Image Box Position order (index 0 = position 1).

    ``gap_mm`` of border surrounds the boxes and separates them; the boxes share the rest
    equally within their row (or column).
    """
    if width_mm <= 0 or height_mm <= 0:
        raise ValueError(f"film size {width_mm} x {height_mm} mm is not positive")
    lines = fmt.lines
    # Along the lines (rows for STANDARD/ROW, columns for COL) and across them.
    across, along = (width_mm, height_mm) if fmt.column_major else (height_mm, width_mm)
    line_size = (across - gap_mm * (len(lines) + 1)) / len(lines)
    if line_size <= 0:
        raise ValueError(f"{fmt.text} does not fit a {width_mm:g} x {height_mm:g} mm film")
    rects: list[Rect] = []
    for index, count in enumerate(lines):
        box_size = (along - gap_mm * (count + 1)) / count
        if box_size <= 0:
            raise ValueError(f"{fmt.text} does not fit a {width_mm:g} x {height_mm:g} mm film")
        start = gap_mm + index * (line_size + gap_mm)
        for slot in range(count):
            offset = gap_mm + slot * (box_size + gap_mm)
            if fmt.column_major:
                rects.append(Rect(x=start, y=offset, w=line_size, h=box_size))
            else:
                rects.append(Rect(x=offset, y=start, w=box_size, h=line_size))
    return rects
