"""Label files: PNG, PDF and BMP that read back, a PDF page the disc's size, and an atomic
write that leaves nothing behind when it fails."""

from __future__ import annotations

import errno
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from appliance.labels.errors import LabelError, LabelProblem
from appliance.labels.fonts import FontLibrary
from appliance.labels.geometry import DiscGeometry
from appliance.labels.output import LabelFormat
from appliance.labels.render import render_label
from appliance.labels.template import load_template
from appliance.media.copies import CopyType
from appliance.media.labels import LabelData, LabelPatient, LabelStudy

FONTS = FontLibrary()
STUDY = LabelStudy("2026-01-11", "10:15", ("CT",), "CT Thorax", "A1", 10)
DATA = LabelData(
    (LabelPatient("Doe, Jane", "", "PID7", "1961-02-03", "F", (STUDY,)),),
    "General Hospital",
    1,
    1,
    CopyType.PATIENT,
    "KILN",
    "STD-GEN-CD",
)
MM_TO_PT = 72 / 25.4


def render(
    fmt: LabelFormat, out: Path, geometry: DiscGeometry | None = None, template: str = "patient"
) -> Path:
    geometry = geometry or DiscGeometry()
    return render_label(load_template(template), DATA, geometry, fmt=fmt, out=out, fonts=FONTS)


def test_png_is_the_disc_square_at_the_printer_resolution_and_transparent_off_the_ring(
    tmp_path: Path,
) -> None:
    out = render(LabelFormat.PNG, tmp_path / "label.png")
    assert out == tmp_path / "label.png"
    with Image.open(out) as image:
        assert image.format == "PNG"
        assert image.mode == "RGBA"
        assert image.size == (1417, 1417)  # 120 mm at 300 dpi
        assert image.info["dpi"][0] == pytest.approx(1417 / (120 / 25.4), abs=0.01)
        assert image.getpixel((2, 2)) == (255, 255, 255, 0)  # corner: off the disc
        centre = image.getpixel((708, 708))
        assert isinstance(centre, tuple)
        assert centre[3] == 0  # centre: the hub
        assert image.getchannel("A").getbbox() is not None  # something is printed
    assert [p.name for p in tmp_path.iterdir()] == ["label.png"]


@pytest.mark.parametrize(("diameter", "dpi"), [(120.0, 300), (80.0, 600)])
def test_pdf_is_one_page_of_the_disc_diameter(tmp_path: Path, diameter: float, dpi: int) -> None:
    geometry = DiscGeometry(outer_diameter_mm=diameter, hub_diameter_mm=24.0, dpi=dpi)
    # the patient template is laid out for 120 mm; the minimal one fits a mini disc too
    out = render(LabelFormat.PDF, tmp_path / "label.pdf", geometry, template="minimal")
    raw = out.read_bytes()
    assert raw.startswith(b"%PDF-")
    assert raw.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type\s*/Page\b", raw)) == 1
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", raw)
    assert len(boxes) == 1
    width, height = (float(v) for v in boxes[0])
    assert width == pytest.approx(diameter * MM_TO_PT, abs=0.01)
    assert height == pytest.approx(diameter * MM_TO_PT, abs=0.01)
    assert re.search(rb"/Width\s+%d\b" % geometry.size_px, raw)  # the full-resolution image


def test_bmp_is_flat_rgb_with_white_off_the_ring(tmp_path: Path) -> None:
    out = render(LabelFormat.BMP, tmp_path / "label.bmp")
    with Image.open(out) as image:
        assert image.format == "BMP"
        assert image.mode == "RGB"
        assert image.size == (1417, 1417)
        assert image.getpixel((2, 2)) == (255, 255, 255)
        assert image.getpixel((708, 708)) == (255, 255, 255)
        darkest, _ = image.convert("L").getextrema()
        assert isinstance(darkest, int)
        assert darkest < 64  # black text is there


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "label.png"
    out.write_bytes(b"old artwork")

    def full_disk(self: Image.Image, fp: Any, *args: Any, **kwargs: Any) -> None:
        fp.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", full_disk)
    with pytest.raises(LabelError) as caught:
        render(LabelFormat.PNG, out)
    assert caught.value.problem is LabelProblem.WRITE_FAILED
    assert caught.value.message == f"cannot write the label '{out}': No space left on device"
    assert [p.name for p in tmp_path.iterdir()] == ["label.png"]
    assert out.read_bytes() == b"old artwork"


def test_an_unexpected_error_also_removes_the_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Image.Image, fp: Any, *args: Any, **kwargs: Any) -> None:
        raise ValueError("encoder broke")

    monkeypatch.setattr(Image.Image, "save", broken)
    with pytest.raises(ValueError, match="encoder broke"):
        render(LabelFormat.PDF, tmp_path / "label.pdf")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_folder_is_a_write_failure(tmp_path: Path) -> None:
    with pytest.raises(LabelError) as caught:
        render(LabelFormat.PNG, tmp_path / "gone" / "label.png")
    assert caught.value.problem is LabelProblem.WRITE_FAILED
    assert "gone/label.png" in caught.value.message
    assert list(tmp_path.iterdir()) == []
