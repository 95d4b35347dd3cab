"""Film sizes and Image Display Format layout (PS3.3 C.13.5): sizes, parsing, and the
box rectangles in Image Box Position order."""

from __future__ import annotations

import pytest

from appliance.printing.compose.layout import (
    FILM_SIZES,
    MAX_BOXES,
    DisplayFormat,
    Rect,
    box_rects_mm,
    film_size_mm,
    parse_display_format,
)


def test_film_sizes_in_mm_portrait_and_landscape() -> None:
    assert film_size_mm("14INX17IN", "PORTRAIT") == pytest.approx((355.6, 431.8))
    assert film_size_mm("14INX17IN", "LANDSCAPE") == pytest.approx((431.8, 355.6))
    assert film_size_mm("8_5INX11IN", "PORTRAIT") == pytest.approx((215.9, 279.4))
    assert film_size_mm("24CMX30CM", "LANDSCAPE") == (300.0, 240.0)
    assert film_size_mm("A4", "") == (210.0, 297.0)
    for width, height in FILM_SIZES.values():
        assert width <= height
    assert len(FILM_SIZES) == 12


def test_unknown_film_size_or_orientation_is_named() -> None:
    with pytest.raises(ValueError, match="unknown Film Size ID '15INX17IN'"):
        film_size_mm("15INX17IN", "PORTRAIT")
    with pytest.raises(ValueError, match="unknown Film Orientation 'SIDEWAYS'"):
        film_size_mm("A4", "SIDEWAYS")


def test_parse_standard_row_and_col() -> None:
    standard = parse_display_format("STANDARD\\4,5")
    assert standard == DisplayFormat("STANDARD", (4, 5))
    assert standard.lines == (4, 4, 4, 4, 4)
    assert standard.boxes == 20
    row = parse_display_format("ROW\\1,2,3")
    assert row.lines == (1, 2, 3)
    assert row.boxes == 6
    assert not row.column_major
    col = parse_display_format(" col\\2, 1 ")
    assert col == DisplayFormat("COL", (2, 1))
    assert col.column_major
    assert col.boxes == 3
    assert col.text == "COL\\2,1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SLIDE", "SLIDE is not supported"),
        ("SUPERSLIDE", "SUPERSLIDE is not supported"),
        ("CUSTOM\\1", "CUSTOM is not supported"),
        ("GRID\\2,2", "is not STANDARD"),
        ("STANDARD", "needs numbers"),
        ("STANDARD\\2", "two numbers, columns and rows"),
        ("STANDARD\\2,2,2", "two numbers"),
        ("STANDARD\\2,x", "'x' is not a positive whole number"),
        ("ROW\\1,-2", "'-2' is not a positive whole number"),
        ("ROW\\0", "0 is outside 1..32"),
        ("STANDARD\\33,1", "33 is outside"),
        ("STANDARD\\32,32", f"1024 image boxes, more than {MAX_BOXES}"),
        ("ROW\\" + ",".join(["1"] * 33), "more than 32 rows or columns"),
    ],
)
def test_bad_formats_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_display_format(text)


def test_standard_boxes_are_row_major_from_top_left() -> None:
    rects = box_rects_mm(parse_display_format("STANDARD\\2,3"), 100.0, 200.0, gap_mm=4.0)
    # 2 columns: (100 - 3*4)/2 = 44 wide; 3 rows: (200 - 4*4)/3 high
    height = (200.0 - 16.0) / 3
    assert rects[0] == Rect(4.0, 4.0, 44.0, height)
    assert rects[1] == Rect(52.0, 4.0, 44.0, height)
    assert (rects[2].x, rects[2].w, rects[2].h) == (4.0, 44.0, height)
    assert rects[2].y == pytest.approx(8.0 + height)
    assert rects[5].x == 52.0
    assert rects[5].y + rects[5].h == pytest.approx(196.0)
    assert len(rects) == 6


def test_row_format_rows_hold_their_own_number_of_boxes() -> None:
    rects = box_rects_mm(parse_display_format("ROW\\1,2"), 100.0, 100.0, gap_mm=0.0)
    assert rects == [
        Rect(0.0, 0.0, 100.0, 50.0),
        Rect(0.0, 50.0, 50.0, 50.0),
        Rect(50.0, 50.0, 50.0, 50.0),
    ]


def test_col_format_is_column_major() -> None:
    rects = box_rects_mm(parse_display_format("COL\\2,1"), 100.0, 100.0, gap_mm=0.0)
    # first column: two boxes top to bottom (positions 1, 2); second: one tall box
    assert rects == [
        Rect(0.0, 0.0, 50.0, 50.0),
        Rect(0.0, 50.0, 50.0, 50.0),
        Rect(50.0, 0.0, 50.0, 100.0),
    ]


def test_a_format_too_fine_for_the_film_is_refused() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        box_rects_mm(parse_display_format("STANDARD\\32,1"), 50.0, 50.0, gap_mm=2.0)
    with pytest.raises(ValueError, match="not positive"):
        box_rects_mm(parse_display_format("STANDARD\\1,1"), 0.0, 50.0)
