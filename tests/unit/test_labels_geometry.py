"""Disc geometry: canvas size, the printable ring, its checks, and the free stretch of a
text band (left and right of the hub when the band crosses it)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from appliance.labels.geometry import DiscGeometry, free_span


def test_defaults_are_a_120_mm_disc_on_a_primera_at_300_dpi() -> None:
    geometry = DiscGeometry()
    assert geometry.size_px == 1417
    assert geometry.printable_outer_radius_mm == 59.0
    assert geometry.printable_inner_radius_mm == 12.5
    inner, outer = geometry.ring_px
    assert inner == pytest.approx(12.5 * 1417 / 120)
    assert outer == pytest.approx(59.0 * 1417 / 120)
    assert geometry.pt_to_px(72.0) == pytest.approx(1417 / (120 / 25.4))


def test_per_robot_settings_and_their_limits() -> None:
    geometry = DiscGeometry.model_validate(
        {"hub_diameter_mm": 44.0, "outer_margin_mm": 2.0, "inner_margin_mm": 0.0, "dpi": 600}
    )
    assert geometry.printable_inner_radius_mm == 22.0
    assert geometry.size_px == 2835
    with pytest.raises(ValidationError, match="printable ring must be at least 5 mm wide"):
        DiscGeometry(outer_diameter_mm=60.0, hub_diameter_mm=50.0)
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        DiscGeometry.model_validate({"hub_mm": 20.0})
    with pytest.raises(ValidationError, match="less than or equal to 1200"):
        DiscGeometry(dpi=4800)


def test_free_span_of_a_band() -> None:
    ring = (10.0, 50.0)
    # clear of the hub: the whole chord at the band's outer edge
    assert free_span(ring, -40.0, -30.0, 0.0) == pytest.approx((-30.0, 30.0))
    # across the hub: the side the anchor is on, starting where the hub ends
    assert free_span(ring, -3.0, 3.0, 20.0) == pytest.approx((10.0, (2500 - 9) ** 0.5))
    assert free_span(ring, -3.0, 3.0, -20.0) == pytest.approx((-((2500 - 9) ** 0.5), -10.0))
    # band near the hub's edge: the hole is narrower there
    assert free_span(ring, 6.0, 8.0, 20.0) == pytest.approx((8.0, (2500 - 64) ** 0.5))
    # anchor on the hub, off the disc, or a band beyond the edge: nothing
    assert free_span(ring, -3.0, 3.0, 0.0) is None
    assert free_span(ring, -40.0, -30.0, 45.0) is None
    assert free_span(ring, -52.0, -48.0, 0.0) is None
