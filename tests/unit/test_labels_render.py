"""Rendering: nothing outside the printable ring or on the hub, text fitted rather than
cut, every script drawn (or boxed, never a crash), curved text where it belongs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tomli_w
from numpy.typing import NDArray
from PIL import Image

from appliance.labels import render as render_module
from appliance.labels.errors import LabelError, LabelProblem
from appliance.labels.fonts import DEJAVU_DIR, FontFamily, FontLibrary
from appliance.labels.geometry import DiscGeometry
from appliance.labels.render import check_layout, render_image, study_lines
from appliance.labels.template import (
    BUILTIN_TEMPLATES,
    Align,
    LabelTemplate,
    StudiesElement,
    load_template,
    parse_template,
)
from appliance.labels.text import ELLIPSIS, Style, fit_straight
from appliance.media.copies import CopyType
from appliance.media.labels import LabelData, LabelPatient, LabelStudy

GEOMETRY = DiscGeometry(dpi=150)
FONTS = FontLibrary()  # one per module: its caches make the tests quick


def data(
    name: str = "Doe, Jane", studies: int = 2, institution: str = "General Hospital"
) -> LabelData:
    items = tuple(
        LabelStudy(f"2026-01-{i + 10}", "10:15", ("CT",), f"CT Thorax {i}", f"A{i}", 10)
        for i in range(studies)
    )
    patient = LabelPatient(name, "", "PID7", "1961-02-03", "F", items)
    return LabelData((patient,), institution, 1, 2, CopyType.PATIENT, "KILN", "STD-GEN-CD")


LONG = data(
    "Müller-Lüdenscheidt-Oberhausen, Åsa-Ørjan Θεοδωράκης Дмитрий Константинович 山田太郎",
    studies=9,
    institution="Städtisches Universitätsklinikum Süd, Institut für Radiologie und Nuklearmedizin",
)


def text_template(text: str, **keys: object) -> LabelTemplate:
    element: dict[str, object] = {"id": "it", "type": "text", "text": text, **keys}
    if "radius" not in keys and "x" not in keys:
        element |= {"x": 0.0, "y": -36.0}
    return parse_template(tomli_w.dumps({"element": [element]}), name="test")


def alpha(image: Image.Image) -> NDArray[np.uint8]:
    return np.asarray(image.getchannel("A"))


def distance_mm(geometry: DiscGeometry) -> NDArray[np.float64]:
    """Each pixel centre's distance from the disc's centre, in mm."""
    pixels = np.arange(geometry.size_px) + 0.5 - geometry.centre_px
    distance: NDArray[np.float64] = np.hypot(pixels[None, :], pixels[:, None])
    return distance / geometry.px_per_mm


def test_nothing_outside_the_ring_or_on_the_hub_and_the_ring_is_filled() -> None:
    geometry = DiscGeometry(dpi=150, hub_diameter_mm=40.0, outer_margin_mm=3.0)
    template = parse_template(
        'background = "#ff0000"\n'
        '[[element]]\ntype = "text"\ntext = "{patient.name}"\nx = 0\ny = -50\nsize = 40\n',
        name="full",
    )
    image = render_image(template, LONG, geometry, fonts=FONTS)
    assert image.size == (geometry.size_px, geometry.size_px) == (709, 709)
    a, r = alpha(image), distance_mm(geometry)
    tolerance = 1.5 / geometry.px_per_mm  # the ring's edge pixels
    assert not a[r > 57.0 + tolerance].any(), "ink beyond the outer margin"
    assert not a[r < 20.5 - tolerance].any(), "ink on the hub"
    assert (a[(r > 20.5 + tolerance) & (r < 57.0 - tolerance)] == 255).all()
    rgb = np.asarray(image.convert("RGB"))
    assert (rgb[(r > 25) & (r < 40)] == (255, 0, 0)).all(axis=1).mean() > 0.99


@pytest.mark.parametrize("name", BUILTIN_TEMPLATES)
def test_builtin_templates_fit_long_unicode_values_without_clipping(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = load_template(name)
    clipped = render_image(template, LONG, GEOMETRY, fonts=FONTS)
    assert alpha(clipped).sum() > 0
    # Without the ring's clipping the same pixels: fitting kept every glyph on the ring.
    full = Image.new("L", clipped.size, 255)
    monkeypatch.setattr(render_module, "ring_mask", lambda geometry: full)
    unclipped = render_image(template, LONG, GEOMETRY, fonts=FONTS)
    assert np.array_equal(alpha(clipped), alpha(unclipped))


def test_a_long_name_is_shrunk_to_its_minimum_then_ellipsised_inside_the_chord() -> None:
    style = Style(FontFamily.SANS, True, Align.CENTER, 16.0, 8.0, None)
    short = fit_straight("Doe, Jane", 0.0, -36.0, style, geometry=GEOMETRY, fonts=FONTS, where="t")
    assert short is not None
    assert short.fitted.size == 16.0
    assert short.fitted.text == "Doe, Jane"
    long = fit_straight(
        LONG.patients[0].name, 0.0, -36.0, style, geometry=GEOMETRY, fonts=FONTS, where="t"
    )
    assert long is not None
    assert long.fitted.size == 8.0
    assert long.fitted.text.endswith(ELLIPSIS)
    assert LONG.patients[0].name.startswith(long.fitted.text[:-1])
    # the chord at the band's outer edge: 59 mm radius, y = -36 mm less half the line
    half_line = max(sum(f.getmetrics()) for _, f in long.fitted.runs) / 2 / GEOMETRY.px_per_mm
    chord = 2 * (59.0**2 - (36.0 + half_line) ** 2) ** 0.5
    assert long.fitted.width / GEOMETRY.px_per_mm <= chord
    assert long.fitted.width / GEOMETRY.px_per_mm > chord - 10  # it uses the room it has


def test_max_width_caps_the_line() -> None:
    image = render_image(
        text_template("{institution}", max_width=30.0, size=12.0, min_size=12.0),
        LONG,
        GEOMETRY,
        fonts=FONTS,
    )
    columns = np.nonzero(alpha(image).any(axis=0))[0]
    assert (columns[-1] - columns[0]) / GEOMETRY.px_per_mm <= 30.5


@pytest.mark.parametrize(
    "name",
    ["Müller, Jürgen Åke Ørsted", "Θεοδωράκης, Νίκος", "Дмитриев, Иван Петрович", "Kovač, Łucja"],
)
def test_non_ascii_names_are_drawn_with_real_glyphs(name: str) -> None:
    sans = FONTS.primary(FontFamily.SANS, True)
    assert all(FONTS.covers(sans, ch) for ch in name)
    template = text_template("{patient.name}", bold=True)
    drawn = alpha(render_image(template, data(name), GEOMETRY, fonts=FONTS))
    boxes = alpha(render_image(template, data("\U0010fffd" * len(name)), GEOMETRY, fonts=FONTS))
    rows = np.nonzero(drawn.any(axis=1))[0]
    centre_row = GEOMETRY.centre_px - GEOMETRY.px(36.0)
    assert rows[0] < centre_row < rows[-1], "the name is drawn around y = -36 mm"
    assert (drawn > 0).sum() > 200
    assert not np.array_equal(drawn, boxes), "glyphs, not .notdef boxes"


def test_a_character_the_font_lacks_comes_from_the_next_font_in_the_chain() -> None:
    sans = DEJAVU_DIR / "DejaVuSans.ttf"
    fonts = FontLibrary(fallbacks=(sans,))
    runs = fonts.runs("Aא Ⅷ-B", FontFamily.MONO, False, 40.0)
    assert [text for text, _ in runs] == ["A", "א Ⅷ", "-B"]  # the space stays with the run
    assert Path(str(runs[1][1].path)) == sans
    assert Path(str(runs[0][1].path)) == DEJAVU_DIR / "DejaVuSansMono.ttf"
    assert runs[2][1] is runs[0][1]


def test_cjk_never_crashes_boxes_without_a_cjk_font_and_uses_one_if_installed() -> None:
    cjk = data("山田, 太郎")
    template = text_template("{patient.name}")
    no_fallback = FontLibrary(fallbacks=())
    boxed = render_image(template, cjk, GEOMETRY, fonts=no_fallback)
    assert alpha(boxed).any()  # boxes are drawn: the disc still says something is there
    installed = FontLibrary()
    runs = installed.runs("山田", FontFamily.SANS, False, 20.0)
    if installed.fallbacks:
        assert Path(str(runs[0][1].path)) in installed.fallbacks
        drawn = render_image(template, cjk, GEOMETRY, fonts=installed)
        assert not np.array_equal(alpha(drawn), alpha(boxed))
    else:
        assert Path(str(runs[0][1].path)).parent == DEJAVU_DIR


@pytest.mark.parametrize("angle", [0.0, 180.0])
def test_curved_text_sits_on_its_circle_and_reads_left_to_right(angle: float) -> None:
    template = text_template(
        "M{patient.sex}          ", radius=50.0, angle=angle, curved=True, size=10.0
    )
    image = render_image(template, data(), GEOMETRY, fonts=FONTS)
    a, r = alpha(image), distance_mm(GEOMETRY)
    assert a.any()
    inked = r[a > 0]
    assert inked.min() > 50.0 - 3.0 and inked.max() < 50.0 + 3.0
    rows, columns = np.nonzero(a)
    above = rows.mean() < GEOMETRY.centre_px
    assert above == (angle == 0.0)
    assert columns.mean() < GEOMETRY.centre_px, "the first letters are on the left"


def test_study_list_lines_and_plus_more() -> None:
    element = load_template("patient").elements[4]
    assert isinstance(element, StudiesElement)
    assert element.max_lines == 4
    lines = study_lines(element, data(studies=6))
    assert lines == [
        "2026-01-10  CT  CT Thorax 0",
        "2026-01-11  CT  CT Thorax 1",
        "2026-01-12  CT  CT Thorax 2",
        "+3 more",
    ]
    assert len(study_lines(element, data(studies=4))) == 4
    assert study_lines(element, data(studies=0)) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('type = "text"\ntext = "hub"\nx = 0\ny = 0', "element 1 'it': at x=0, y=0 mm"),
        ('type = "text"\ntext = "edge"\nx = 0\ny = -60', "element 1 'it': at x=0, y=-60 mm"),
        (
            'type = "text"\ntext = "arc"\nradius = 58.5\nangle = 0\ncurved = true',
            "curved text at radius 58.5 mm",
        ),
    ],
)
def test_an_element_off_the_ring_is_refused_naming_it(body: str, message: str) -> None:
    template = parse_template(f'[[element]]\nid = "it"\n{body}\n', name="t")
    with pytest.raises(LabelError) as caught:
        render_image(template, data(), GEOMETRY, fonts=FONTS)
    assert caught.value.problem is LabelProblem.DOES_NOT_FIT
    assert message in caught.value.message
    assert "label template 't'" in caught.value.message


def test_a_logo_is_drawn_where_it_is_put_and_refused_over_the_hub(tmp_path: Path) -> None:
    Image.new("RGB", (200, 100), (0, 0, 255)).save(tmp_path / "logo.png")
    good = tmp_path / "good.toml"
    good.write_text('[[element]]\ntype = "image"\npath = "logo.png"\nwidth = 30\nx = 0\ny = 35\n')
    image = render_image(load_template(str(good)), data(), GEOMETRY, fonts=FONTS)
    rows, columns = np.nonzero(alpha(image))
    assert abs((columns.max() - columns.min() + 1) / GEOMETRY.px_per_mm - 30.0) < 0.5
    assert abs((rows.max() - rows.min() + 1) / GEOMETRY.px_per_mm - 15.0) < 0.5
    assert abs(rows.mean() - (GEOMETRY.centre_px + GEOMETRY.px(35.0))) < 2
    bad = tmp_path / "bad.toml"
    bad.write_text('[[element]]\ntype = "image"\npath = "logo.png"\nwidth = 30\nx = 0\ny = 10\n')
    with pytest.raises(LabelError, match=r"the image .* is not inside the printable ring"):
        render_image(load_template(str(bad)), data(), GEOMETRY, fonts=FONTS)


def test_check_layout_passes_builtins_on_a_wide_hub_and_refuses_them_on_a_mini_disc() -> None:
    wide_hub = DiscGeometry(dpi=100, hub_diameter_mm=44.0, outer_margin_mm=2.0)
    for name in BUILTIN_TEMPLATES:
        check_layout(load_template(name), wide_hub, fonts=FONTS)
    mini = DiscGeometry(dpi=100, outer_diameter_mm=80.0)
    with pytest.raises(LabelError) as caught:
        check_layout(load_template("patient"), mini, fonts=FONTS)
    assert caught.value.problem is LabelProblem.DOES_NOT_FIT
    assert "label template 'patient', element 1 'institution'" in caught.value.message
