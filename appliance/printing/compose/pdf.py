"""Composed films as a PDF for paper: one page per film, at true size when it fits.

The PDF is written by hand (a few objects: catalog, pages, one font, and per page a content
stream and an image) rather than with Pillow's PDF writer, because the page box must be the
paper's exact size in points (A4 is 595.276 x 841.89 pt), independent of the raster's
whole-pixel size, so that CUPS prints it without scaling of its own; and the film must sit
on it at an exact physical size, with a caption beside it. Pillow derives the page box from
the pixel count and resolution and cannot place an image on a larger page or add text.

The page box is always the paper in portrait. A landscape film is drawn turned a quarter
and the page carries /Rotate 90, so viewers show it upright while the paper size stays the
one CUPS expects. A film larger than the paper (less `margin_mm`) is scaled down to fit,
and the page says so in a caption line ("14INX17IN film printed at 59 %").
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from appliance.printing.compose.layout import MM_PER_INCH
from appliance.printing.compose.render import ComposedFilm

POINTS_PER_MM = 72.0 / MM_PER_INCH

# Paper sizes in mm, portrait.
PAPER_SIZES: dict[str, tuple[float, float]] = {
    "A4": (210.0, 297.0),
    "A3": (297.0, 420.0),
    "LETTER": (8.5 * MM_PER_INCH, 11 * MM_PER_INCH),
    "LEGAL": (8.5 * MM_PER_INCH, 14 * MM_PER_INCH),
    "TABLOID": (11 * MM_PER_INCH, 17 * MM_PER_INCH),
}

CAPTION_BAND_MM = 6.0  # room kept below the film for the caption line
CAPTION_POINTS = 8.0
_EPSILON = 1e-6


@dataclass(frozen=True)
class PaperPdf:
    """The PDF, the scale each film was printed at (1.0 = true size), and notes."""

    data: bytes
    scales: tuple[float, ...]
    notes: tuple[str, ...]


def paper_size_points(paper: str) -> tuple[float, float]:
    """(width, height) of a paper in PDF points, portrait; ValueError naming an unknown one."""
    size = PAPER_SIZES.get(paper.strip().upper())
    if size is None:
        raise ValueError(f"unknown paper {paper!r} (known: {', '.join(PAPER_SIZES)})")
    return size[0] * POINTS_PER_MM, size[1] * POINTS_PER_MM


@dataclass(frozen=True)
class _Placement:
    landscape: bool
    scale: float
    x_mm: float  # film's lower-left corner on the (upright) page, PDF convention
    y_mm: float
    caption: str


def _fit(
    width_mm: float, height_mm: float, paper_mm: tuple[float, float], margin_mm: float, caption: str
) -> tuple[bool, float, float]:
    """(landscape, scale, caption band) of a film on the paper."""
    landscape = width_mm > height_mm
    page_w, page_h = (paper_mm[1], paper_mm[0]) if landscape else paper_mm
    room_w = page_w - 2 * margin_mm
    room_h = page_h - 2 * margin_mm
    if room_w <= 0 or room_h <= CAPTION_BAND_MM:
        raise ValueError(f"margin {margin_mm:g} mm leaves no room on the paper")
    band = CAPTION_BAND_MM if caption else 0.0
    scale = min(1.0, room_w / width_mm, (room_h - band) / height_mm)
    if scale < 1.0 - _EPSILON and not band:
        band = CAPTION_BAND_MM
        scale = min(1.0, room_w / width_mm, (room_h - band) / height_mm)
    if scale >= 1.0 - _EPSILON:
        scale = 1.0
    return landscape, scale, band


def film_scale(
    width_mm: float, height_mm: float, paper: str, *, margin_mm: float = 0.0, caption: str = ""
) -> float:
    """The scale `paper_pdf` prints a film of this size at (1.0: true size). Composing at
    dpi x scale gives the printed page the full dpi without composing pixels the page
    shrinks away."""
    paper_mm = PAPER_SIZES.get(paper.strip().upper())
    if paper_mm is None:
        raise ValueError(f"unknown paper {paper!r} (known: {', '.join(PAPER_SIZES)})")
    return _fit(width_mm, height_mm, paper_mm, margin_mm, caption)[1]


def _place(
    film: ComposedFilm, paper_mm: tuple[float, float], margin_mm: float, caption: str
) -> _Placement:
    landscape, scale, band = _fit(film.width_mm, film.height_mm, paper_mm, margin_mm, caption)
    page_w, page_h = (paper_mm[1], paper_mm[0]) if landscape else paper_mm
    room_h = page_h - 2 * margin_mm
    parts = [caption] if caption else []
    if scale < 1.0:
        name = film.film_size_id or f"{film.width_mm:.0f}x{film.height_mm:.0f} mm"
        parts.append(f"{name} film printed at {scale * 100:.0f} %")
    width, height = film.width_mm * scale, film.height_mm * scale
    x = (page_w - width) / 2
    y = margin_mm + band + (room_h - band - height) / 2
    return _Placement(landscape, scale, x, y, " - ".join(parts))


def paper_pdf(
    films: Sequence[ComposedFilm],
    paper: str | None,
    *,
    margin_mm: float = 0.0,
    caption: str = "",
) -> PaperPdf:
    """A PDF with one page per film on `paper` (A4, A3, LETTER, LEGAL, TABLOID), or, with
    `paper=None`, each page exactly its film's size (the print archive)."""
    if not films:
        raise ValueError("no films to print")
    if margin_mm < 0:
        raise ValueError(f"margin {margin_mm:g} mm is negative")
    paper_name = paper.strip().upper() if paper is not None else "its film"
    if paper is not None:
        paper_size_points(paper_name)  # ValueError for an unknown paper
    writer = _Writer()
    catalog = writer.reserve()
    pages = writer.reserve()
    font = writer.add(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    )
    page_ids: list[int] = []
    scales: list[float] = []
    notes: list[str] = []
    for number, film in enumerate(films, start=1):
        paper_mm = (
            PAPER_SIZES[paper_name]
            if paper is not None
            else (min(film.width_mm, film.height_mm), max(film.width_mm, film.height_mm))
        )
        page_w_pt, page_h_pt = paper_mm[0] * POINTS_PER_MM, paper_mm[1] * POINTS_PER_MM
        placement = _place(film, paper_mm, margin_mm, caption)
        scales.append(placement.scale)
        if placement.scale < 1.0:
            notes.append(
                f"film {number}: {film.film_size_id or 'film'} is larger than {paper_name}; "
                f"printed at {placement.scale * 100:.0f} %"
            )
        image_id = writer.add_stream(*_image_object(film))
        content = _content(placement, film, page_w_pt, number)
        content_id = writer.add_stream(b"", content)
        rotate = b" /Rotate 90" if placement.landscape else b""
        page_ids.append(
            writer.add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s]%s "
                b"/Resources << /Font << /F1 %d 0 R >> /XObject << /Im%d %d 0 R >> >> "
                b"/Contents %d 0 R >>"
                % (
                    pages,
                    _num(page_w_pt),
                    _num(page_h_pt),
                    rotate,
                    font,
                    number,
                    image_id,
                    content_id,
                )
            )
        )
    kids = b" ".join(b"%d 0 R" % page for page in page_ids)
    writer.set(pages, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(page_ids)))
    writer.set(catalog, b"<< /Type /Catalog /Pages %d 0 R >>" % pages)
    return PaperPdf(data=writer.finish(catalog), scales=tuple(scales), notes=tuple(notes))


def _image_object(film: ComposedFilm) -> tuple[bytes, bytes]:
    image = film.image
    if image.mode not in {"L", "RGB"}:
        image = image.convert("RGB")
    space = b"/DeviceGray" if image.mode == "L" else b"/DeviceRGB"
    width, height = image.size
    raw = np.asarray(image).tobytes()
    header = (
        b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s "
        b"/BitsPerComponent 8 /Filter /FlateDecode" % (width, height, space)
    )
    return header, zlib.compress(raw, 1)  # level 1: 3x faster than 6, a local file


def _content(placement: _Placement, film: ComposedFilm, page_w_pt: float, number: int) -> bytes:
    ops: list[bytes] = []
    if placement.landscape:
        # Draw in the upright (landscape) page's coordinates; /Rotate 90 turns it for display.
        ops.append(b"0 1 -1 0 %s 0 cm" % _num(page_w_pt))
    width = film.width_mm * placement.scale * POINTS_PER_MM
    height = film.height_mm * placement.scale * POINTS_PER_MM
    x = placement.x_mm * POINTS_PER_MM
    y = placement.y_mm * POINTS_PER_MM
    ops.append(
        b"q %s 0 0 %s %s %s cm /Im%d Do Q" % (_num(width), _num(height), _num(x), _num(y), number)
    )
    if placement.caption:
        baseline = (placement.y_mm - CAPTION_BAND_MM + 2.0) * POINTS_PER_MM
        ops.append(
            b"BT /F1 %s Tf 0 g %s %s Td (%s) Tj ET"
            % (
                _num(CAPTION_POINTS),
                _num(x),
                _num(max(baseline, 2.0)),
                _pdf_text(placement.caption),
            )
        )
    return b"\n".join(ops) + b"\n"


def _pdf_text(text: str) -> bytes:
    encoded = text.encode("cp1252", errors="replace")
    return encoded.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _num(value: float) -> bytes:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return (text if text not in {"", "-0"} else "0").encode("ascii")


class _Writer:
    """Numbered PDF objects, written in order, with their cross-reference table."""

    def __init__(self) -> None:
        self._objects: dict[int, bytes] = {}
        self._next = 1

    def reserve(self) -> int:
        number = self._next
        self._next += 1
        return number

    def set(self, number: int, body: bytes) -> None:
        self._objects[number] = body

    def add(self, body: bytes) -> int:
        number = self.reserve()
        self.set(number, body)
        return number

    def add_stream(self, header: bytes, data: bytes) -> int:
        extra = header + b" " if header else b""
        return self.add(b"<< %s/Length %d >>\nstream\n%s\nendstream" % (extra, len(data), data))

    def finish(self, root: int) -> bytes:
        out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets: list[int] = []
        for number in range(1, self._next):
            offsets.append(len(out))
            out += b"%d 0 obj\n%s\nendobj\n" % (number, self._objects[number])
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % self._next
        for offset in offsets:
            out += b"%010d 00000 n \n" % offset
        out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
            self._next,
            root,
            xref,
        )
        return bytes(out)
