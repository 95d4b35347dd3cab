"""Paper PDF: exact page boxes, films at true size when they fit, scaled with a caption
when not; checked with poppler's pdfinfo and pdftoppm (Debian package poppler-utils)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from appliance.printing.compose.pdf import paper_pdf, paper_size_points
from appliance.printing.compose.render import ComposedFilm, compose_film
from tests.unit.print_films import box, constant, film


def poppler(tool: str) -> str:
    path = shutil.which(tool)
    assert path, f"{tool} is missing: install the Debian package poppler-utils"
    return path


def pdfinfo(path: Path) -> dict[int, tuple[float, float, int]]:
    """Page number -> (width pt, height pt, rotation)."""
    out = subprocess.run(
        [poppler("pdfinfo"), "-f", "1", "-l", "99", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    sizes = {
        int(m[1]): (float(m[2]), float(m[3]))
        for m in re.finditer(r"Page\s+(\d+) size:\s+([\d.]+) x ([\d.]+) pts", out)
    }
    rotations = {int(m[1]): int(m[2]) for m in re.finditer(r"Page\s+(\d+) rot:\s+(\d+)", out)}
    return {page: (*size, rotations[page]) for page, size in sizes.items()}


def render_page(path: Path, page: int, dpi: int, tmp_path: Path) -> Image.Image:
    prefix = tmp_path / f"page{page}"
    pages = ["-f", str(page), "-l", str(page)]
    subprocess.run(
        [poppler("pdftoppm"), "-r", str(dpi), *pages, "-png", str(path), str(prefix)], check=True
    )
    (output,) = tmp_path.glob(f"page{page}*.png")
    return Image.open(output).convert("L")


def black_film(size_id: str, orientation: str = "PORTRAIT") -> ComposedFilm:
    """A film all black (border and empty box BLACK) so its extent shows on the page."""
    return compose_film(
        film("STANDARD\\1,1", film_size_id=size_id, film_orientation=orientation), dpi=20
    )


def dark_extent(image: Image.Image) -> tuple[int, int, int, int]:
    dark = np.argwhere(np.asarray(image) < 64)
    (top, left), (bottom, right) = dark.min(axis=0), dark.max(axis=0)
    return int(left), int(top), int(right) + 1, int(bottom) + 1


def test_paper_sizes_in_points() -> None:
    assert paper_size_points("A4") == pytest.approx((595.2756, 841.8898), abs=1e-3)
    assert paper_size_points("letter") == pytest.approx((612.0, 792.0))
    assert paper_size_points("TABLOID") == pytest.approx((792.0, 1224.0))
    with pytest.raises(ValueError, match="unknown paper 'B5'"):
        paper_size_points("B5")


def test_8x10_film_on_a4_is_true_size(tmp_path: Path) -> None:
    pdf = paper_pdf([black_film("8INX10IN")], "A4")
    assert pdf.scales == (1.0,)
    assert pdf.notes == ()
    path = tmp_path / "film.pdf"
    path.write_bytes(pdf.data)
    assert pdfinfo(path) == {1: (595.276, 841.89, 0)}
    page = render_page(path, 1, 72, tmp_path)
    left, top, right, bottom = dark_extent(page)
    # 8 x 10 inches at 72 dpi = 576 x 720 points, centred across the 595 pt page
    assert right - left == pytest.approx(576, abs=2)
    assert bottom - top == pytest.approx(720, abs=2)
    assert left == pytest.approx((595.276 - 576) / 2, abs=2)


def test_14x17_film_on_a4_is_scaled_with_the_scale_on_the_page(tmp_path: Path) -> None:
    pdf = paper_pdf([black_film("14INX17IN")], "A4", caption="Job 42")
    (scale,) = pdf.scales
    assert scale == pytest.approx(210.0 / 355.6)
    assert pdf.notes == ("film 1: 14INX17IN is larger than A4; printed at 59 %",)
    assert b"(Job 42 - 14INX17IN film printed at 59 %) Tj" in pdf.data
    path = tmp_path / "film.pdf"
    path.write_bytes(pdf.data)
    page = render_page(path, 1, 72, tmp_path)
    left, _top, right, _bottom = dark_extent(page)
    assert right - left == pytest.approx(14 * 72 * scale, abs=2)


def test_letter_page_box_and_landscape_film_turns_the_page(tmp_path: Path) -> None:
    landscape = compose_film(
        film(
            "STANDARD\\2,1",
            box(1, constant(4095)),
            film_size_id="8INX10IN",
            film_orientation="LANDSCAPE",
            border_density="WHITE",
        ),
        dpi=20,
    )
    pdf = paper_pdf([black_film("8INX10IN"), landscape], "LETTER", margin_mm=5.0)
    assert pdf.scales == (1.0, 1.0)
    path = tmp_path / "films.pdf"
    path.write_bytes(pdf.data)
    assert pdfinfo(path) == {1: (612.0, 792.0, 0), 2: (612.0, 792.0, 90)}
    # Shown upright: wider than high, and box 2 (empty, black) on the right-hand side.
    page = render_page(path, 2, 30, tmp_path)
    assert page.width > page.height
    left, top, right, bottom = dark_extent(page)
    assert left > page.width / 2
    assert (right - left) < (bottom - top)


def test_margin_and_bad_requests() -> None:
    film_8x10 = black_film("8INX10IN")
    # 203.2 mm wide film on 210 mm paper with 10 mm margins: scaled to 190/203.2
    pdf = paper_pdf([film_8x10], "A4", margin_mm=10.0)
    assert len(pdf.scales) == 1
    assert pdf.scales[0] == pytest.approx(190.0 / 203.2)
    with pytest.raises(ValueError, match="no films"):
        paper_pdf([], "A4")
    with pytest.raises(ValueError, match="unknown paper"):
        paper_pdf([film_8x10], "A5")
    with pytest.raises(ValueError, match="leaves no room"):
        paper_pdf([film_8x10], "A4", margin_mm=150.0)
