"""Fitting text into the printable ring and drawing it into a coverage mask.

Text is shrunk in half-point steps from its size down to its minimum, then cut short with
"…", until it fits the stretch of ring at its height (straight text) or its arc (curved
text). Drawing goes into an 8-bit coverage mask; the renderer colours and clips it.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw, ImageFont

from appliance.labels.errors import LabelError, LabelProblem
from appliance.labels.fonts import FontFamily, FontLibrary
from appliance.labels.geometry import DiscGeometry, free_span
from appliance.labels.template import Align

ELLIPSIS = "…"
STEP_PT = 0.5

Run = tuple[str, ImageFont.FreeTypeFont]


@dataclass(frozen=True)
class Style:
    family: FontFamily
    bold: bool
    align: Align
    size: float  # pt
    min_size: float  # pt
    max_width_mm: float | None


@dataclass(frozen=True)
class Fitted:
    text: str  # as drawn: maybe shortened, ending in "…"
    size: float  # pt
    runs: tuple[Run, ...]
    width: float  # px


def sizes(style: Style) -> list[float]:
    steps = int((style.size - style.min_size) / STEP_PT)
    return [style.size - i * STEP_PT for i in range(steps + 1)] + [style.min_size]


def half_height(runs: list[Run] | tuple[Run, ...]) -> float:
    return max(sum(font.getmetrics()) for _, font in runs) / 2


def width_of(runs: list[Run] | tuple[Run, ...]) -> float:
    return sum(font.getlength(text) for text, font in runs)


def cut_points(text: str) -> list[int]:
    """Where text may be cut: never between a letter and its combining marks."""
    return [i for i in range(len(text)) if not unicodedata.category(text[i]).startswith("M")]


def shorten(text: str, fits: Callable[[str], bool]) -> str:
    """The longest start of `text`, plus "…", for which `fits` holds; "" if none does."""
    points = cut_points(text)
    lo, hi = 0, len(points) - 1  # points[0] == 0: the ellipsis alone
    if not fits(ELLIPSIS):
        return ""
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(text[: points[mid]].rstrip() + ELLIPSIS):
            lo = mid
        else:
            hi = mid - 1
    return text[: points[lo]].rstrip() + ELLIPSIS


@dataclass(frozen=True)
class StraightLine:
    """A horizontal line of text whose vertical middle is at y; x per the alignment."""

    fitted: Fitted
    left: float  # px from the centre
    middle: float  # px from the centre


def fit_straight(
    text: str,
    x_mm: float,
    y_mm: float,
    style: Style,
    *,
    geometry: DiscGeometry,
    fonts: FontLibrary,
    where: str,
) -> StraightLine | None:
    """The largest size at which `text` fits the ring at (x, y), shortened if it must be."""
    if not text.strip():
        return None
    x, y = geometry.px(x_mm), geometry.px(y_mm)
    cap = geometry.px(style.max_width_mm) if style.max_width_mm else math.inf
    ring = geometry.ring_px
    for size in sizes(style):
        runs = fonts.runs(text, style.family, style.bold, geometry.pt_to_px(size))
        half = half_height(runs)
        span = free_span(ring, y - half, y + half, x)
        if span is None:
            continue
        room = min(cap, _room(span, x, style.align))
        width = width_of(runs)
        if width <= room:
            return _placed(Fitted(text, size, tuple(runs), width), x, y, style.align)
        if size == style.min_size:

            def fits(candidate: str, size: float = size, room: float = room) -> bool:
                runs = fonts.runs(candidate, style.family, style.bold, geometry.pt_to_px(size))
                return width_of(runs) <= room

            short = shorten(text, fits)
            if not short:
                return None
            runs = fonts.runs(short, style.family, style.bold, geometry.pt_to_px(size))
            return _placed(Fitted(short, size, tuple(runs), width_of(runs)), x, y, style.align)
    raise LabelError(
        LabelProblem.DOES_NOT_FIT,
        f"{where}: at x={x_mm:g}, y={y_mm:g} mm even {style.min_size:g} pt text is not inside "
        f"the printable ring ({geometry.printable_inner_radius_mm:g} to "
        f"{geometry.printable_outer_radius_mm:g} mm from the centre); move it or shrink it",
    )


def _room(span: tuple[float, float], x: float, align: Align) -> float:
    left, right = x - span[0], span[1] - x
    if align is Align.LEFT:
        return right
    if align is Align.RIGHT:
        return left
    return 2 * min(left, right)


def _placed(fitted: Fitted, x: float, y: float, align: Align) -> StraightLine:
    offset = {Align.LEFT: 0.0, Align.CENTER: fitted.width / 2, Align.RIGHT: fitted.width}
    return StraightLine(fitted, x - offset[align], y)


def draw_straight(line: StraightLine, coverage: Image.Image, centre: float) -> None:
    draw = ImageDraw.Draw(coverage)
    x = centre + line.left
    for text, font in line.fitted.runs:
        draw.text((x, centre + line.middle), text, font=font, fill=255, anchor="lm")
        x += font.getlength(text)


@dataclass(frozen=True)
class ArcLine:
    fitted: Fitted
    radius: float  # px: the middle of the text
    angle: float  # degrees clockwise from 12 o'clock: the middle of the text
    clockwise: bool  # over the top; under the bottom it runs anticlockwise, upright


def fit_arc(
    text: str,
    radius_mm: float,
    angle: float,
    style: Style,
    span_degrees: float,
    *,
    geometry: DiscGeometry,
    fonts: FontLibrary,
    where: str,
) -> ArcLine | None:
    if not text.strip():
        return None
    radius = geometry.px(radius_mm)
    inner, outer = geometry.ring_px
    room = radius * math.radians(span_degrees)
    if style.max_width_mm:
        room = min(room, geometry.px(style.max_width_mm))
    clockwise = math.cos(math.radians(angle)) >= -1e-9
    for size in sizes(style):
        runs = fonts.runs(text, style.family, style.bold, geometry.pt_to_px(size))
        half = half_height(runs)
        if radius - half < inner or radius + half > outer:
            continue
        width = width_of(runs)
        if width <= room:
            return ArcLine(Fitted(text, size, tuple(runs), width), radius, angle, clockwise)
        if size == style.min_size:

            def fits(candidate: str, size: float = size) -> bool:
                runs = fonts.runs(candidate, style.family, style.bold, geometry.pt_to_px(size))
                return width_of(runs) <= room

            short = shorten(text, fits)
            if not short:
                return None
            runs = fonts.runs(short, style.family, style.bold, geometry.pt_to_px(size))
            return ArcLine(
                Fitted(short, size, tuple(runs), width_of(runs)), radius, angle, clockwise
            )
    raise LabelError(
        LabelProblem.DOES_NOT_FIT,
        f"{where}: curved text at radius {radius_mm:g} mm is not inside the printable ring "
        f"({geometry.printable_inner_radius_mm:g} to {geometry.printable_outer_radius_mm:g} mm "
        f"from the centre) even at {style.min_size:g} pt; change its radius or size",
    )


def _clusters(runs: tuple[Run, ...]) -> list[Run]:
    """Letters with their combining marks, each with its font: placed one by one."""
    out: list[Run] = []
    for text, font in runs:
        for ch in text:
            if out and out[-1][1] is font and unicodedata.category(ch).startswith("M"):
                out[-1] = (out[-1][0] + ch, font)
            else:
                out.append((ch, font))
    return out


def draw_arc(line: ArcLine, coverage: Image.Image, centre: float) -> None:
    half = half_height(line.fitted.runs)
    sweep = line.fitted.width / line.radius  # radians
    middle = math.radians(line.angle)
    travelled = 0.0
    for cluster, font in _clusters(line.fitted.runs):
        advance = font.getlength(cluster)
        along = (travelled + advance / 2) / line.radius - sweep / 2
        theta = middle + along if line.clockwise else middle - along
        turn = math.degrees(theta) if line.clockwise else math.degrees(theta) - 180.0
        side = math.ceil(2 * max(advance, 2 * half)) + 4
        glyph = Image.new("L", (side, side))
        ImageDraw.Draw(glyph).text((side / 2, side / 2), cluster, font=font, fill=255, anchor="mm")
        glyph = glyph.rotate(-turn, resample=Image.Resampling.BICUBIC)
        left = round(centre + line.radius * math.sin(theta) - side / 2)
        top = round(centre - line.radius * math.cos(theta) - side / 2)
        box = (left, top, left + side, top + side)
        coverage.paste(ImageChops.lighter(coverage.crop(box), glyph), box)
        travelled += advance
