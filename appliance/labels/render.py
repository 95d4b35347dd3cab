"""A label template and a disc's label data, drawn on the disc's geometry.

The canvas is the disc's outer diameter square at the printer's resolution. Everything is
drawn into layers and clipped to the printable ring at the end, so no ink can land on the
hub or over the edge whatever a template says; text is fitted first, so it is not cut.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PIL import Image, ImageChops, ImageColor, ImageDraw

from appliance.labels.errors import LabelError, LabelProblem
from appliance.labels.fonts import FontLibrary
from appliance.labels.geometry import DiscGeometry
from appliance.labels.output import LabelFormat, write_atomically
from appliance.labels.template import (
    MORE_FIELD,
    ImageElement,
    LabelTemplate,
    StudiesElement,
    TextElement,
)
from appliance.labels.text import (
    Style,
    draw_arc,
    draw_straight,
    fit_arc,
    fit_straight,
)
from appliance.media.copies import CopyType
from appliance.media.labels import LabelData, LabelPatient, LabelStudy

log = logging.getLogger(__name__)

MM_PER_POINT = 25.4 / 72


def render_label(
    template: LabelTemplate,
    data: LabelData,
    geometry: DiscGeometry,
    *,
    fmt: LabelFormat,
    out: Path,
    fonts: FontLibrary | None = None,
) -> Path:
    """Draw the label and write it to `out` atomically; returns `out`.

    Raises LabelError: DOES_NOT_FIT (an element outside this geometry's ring), BAD_IMAGE,
    WRITE_FAILED. On error nothing is left at `out` or beside it.
    """
    artwork = render_image(template, data, geometry, fonts=fonts)
    return write_atomically(artwork, geometry, fmt, out)


def render_image(
    template: LabelTemplate,
    data: LabelData,
    geometry: DiscGeometry,
    *,
    fonts: FontLibrary | None = None,
) -> Image.Image:
    """The label as an RGBA image: transparent outside the printable ring."""
    fonts = fonts or FontLibrary()
    size = geometry.size_px
    canvas = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    ring = ring_mask(geometry)
    if template.background:
        fill = Image.new("RGBA", (size, size), ImageColor.getrgb(template.background))
        canvas.paste(fill, (0, 0), ring)
    for number, element in enumerate(template.elements, start=1):
        where = f"label template '{template.name}', element {number}" + (
            f" '{element.id}'" if element.id else ""
        )
        if isinstance(element, ImageElement):
            _draw_image(canvas, element, geometry, where)
            continue
        coverage = Image.new("L", (size, size))
        if isinstance(element, TextElement):
            _draw_text(coverage, element, data, geometry, fonts, where)
        else:
            _draw_studies(coverage, element, data, geometry, fonts, where)
        ink = Image.new("RGBA", (size, size), ImageColor.getrgb(element.colour))
        ink.putalpha(coverage)
        canvas.alpha_composite(ink)
    canvas.putalpha(ImageChops.multiply(canvas.getchannel("A"), ring))
    return canvas


def check_layout(
    template: LabelTemplate, geometry: DiscGeometry, *, fonts: FontLibrary | None = None
) -> None:
    """Raise LabelError (DOES_NOT_FIT, BAD_IMAGE) if the template cannot be printed on this
    geometry: for `appliance config check`, so a job never finds out at print time."""
    render_image(template, sample_label_data(), geometry, fonts=fonts)


def sample_label_data() -> LabelData:
    """Every field filled, as long as real values get: a layout that takes these takes any."""
    study = LabelStudy(
        "2026-12-31", "23:59", ("CT", "PT", "SR"), "Whole body PET-CT with contrast", "A1", 999
    )
    patient = LabelPatient(
        "Example-Longname, Firstname Middlename",
        "Example-Longname^Firstname^Middlename",
        "PID-0123456789",
        "1970-01-01",
        "O",
        (study,) * 12,
    )
    return LabelData(
        (patient,),
        "Example University Hospital, Department of Radiology",
        12,
        12,
        CopyType.PHYSICIAN,
        "KILN_0001",
        "STD-GEN-DVD-JPEG",
    )


def ring_mask(geometry: DiscGeometry) -> Image.Image:
    """255 on the printable ring, 0 on the hub and beyond the outer margin."""
    size = geometry.size_px
    centre = geometry.centre_px
    inner, outer = geometry.ring_px
    mask = Image.new("L", (size, size))
    draw = ImageDraw.Draw(mask)
    draw.ellipse((centre - outer, centre - outer, centre + outer, centre + outer), fill=255)
    draw.ellipse((centre - inner, centre - inner, centre + inner, centre + inner), fill=0)
    return mask


def _style(element: TextElement | StudiesElement) -> Style:
    return Style(
        element.font,
        element.bold,
        element.align,
        element.size,
        element.min_size,
        element.max_width,
    )


def _draw_text(
    coverage: Image.Image,
    element: TextElement,
    data: LabelData,
    geometry: DiscGeometry,
    fonts: FontLibrary,
    where: str,
) -> None:
    text = element.expression().render(data)
    if element.curved and element.radius is not None and element.angle is not None:
        arc = fit_arc(
            text,
            element.radius,
            element.angle,
            _style(element),
            element.span,
            geometry=geometry,
            fonts=fonts,
            where=where,
        )
        if arc:
            draw_arc(arc, coverage, geometry.centre_px)
        return
    x, y = element.position_mm()
    line = fit_straight(text, x, y, _style(element), geometry=geometry, fonts=fonts, where=where)
    if line:
        draw_straight(line, coverage, geometry.centre_px)


def study_lines(element: StudiesElement, data: LabelData) -> list[str]:
    """One line per study; when there are more than `max_lines`, the last says how many
    more there are ("+3 more")."""
    studies: list[LabelStudy] = [s for p in data.patients for s in p.studies]
    line = element.line_expression()
    if len(studies) <= element.max_lines:
        return [line.render_study(study) for study in studies]
    shown = element.max_lines - 1
    lines = [line.render_study(study) for study in studies[:shown]]
    more = str(len(studies) - shown)
    lines.append(element.more_expression().render_study(studies[shown], {MORE_FIELD: more}))
    return lines


def _draw_studies(
    coverage: Image.Image,
    element: StudiesElement,
    data: LabelData,
    geometry: DiscGeometry,
    fonts: FontLibrary,
    where: str,
) -> None:
    x, y = element.position_mm()
    pitch = element.size * MM_PER_POINT * element.spacing
    for index, text in enumerate(study_lines(element, data)):
        line = fit_straight(
            text,
            x,
            y + index * pitch,
            _style(element),
            geometry=geometry,
            fonts=fonts,
            where=f"{where}, line {index + 1}",
        )
        if line:
            draw_straight(line, coverage, geometry.centre_px)


def _draw_image(
    canvas: Image.Image, element: ImageElement, geometry: DiscGeometry, where: str
) -> None:
    try:
        with Image.open(element.path) as source:
            logo = source.convert("RGBA")
    except OSError as exc:
        raise LabelError(
            LabelProblem.BAD_IMAGE, f"{where}: cannot read the image {element.path!r}: {exc}"
        ) from None
    width = geometry.px(element.width)
    height = geometry.px(element.height) if element.height else width * logo.height / logo.width
    x, y = element.position_mm()
    _check_inside(geometry, where, x, y, element.width, height / geometry.px_per_mm)
    logo = logo.resize((max(1, round(width)), max(1, round(height))), Image.Resampling.LANCZOS)
    layer = Image.new("RGBA", canvas.size, (255, 255, 255, 0))
    centre = geometry.centre_px
    layer.paste(
        logo,
        (round(centre + geometry.px(x) - width / 2), round(centre + geometry.px(y) - height / 2)),
    )
    canvas.alpha_composite(layer)


def _check_inside(
    geometry: DiscGeometry, where: str, x: float, y: float, width: float, height: float
) -> None:
    """A logo's box must lie on the ring: corners inside the edge, no part over the hub."""
    left, right, top, bottom = x - width / 2, x + width / 2, y - height / 2, y + height / 2
    outer = geometry.printable_outer_radius_mm
    inner = geometry.printable_inner_radius_mm
    far = max((cx * cx + cy * cy) ** 0.5 for cx in (left, right) for cy in (top, bottom))
    near_x = min(max(0.0, left), right)
    near_y = min(max(0.0, top), bottom)
    near = (near_x * near_x + near_y * near_y) ** 0.5
    if far > outer or near < inner:
        raise LabelError(
            LabelProblem.DOES_NOT_FIT,
            f"{where}: the image ({width:g} x {height:.1f} mm at x={x:g}, y={y:g}) is not "
            f"inside the printable ring ({inner:g} to {outer:g} mm from the centre); "
            "move it or make it smaller",
        )
