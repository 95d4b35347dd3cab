"""The disc a label is printed on: its size, the printable ring and the printer's resolution.

The printable ring runs from the hub (plus the inner margin) to the disc's edge (less the
outer margin). Defaults are a 120 mm disc with a hub-printable surface, as Primera disc
publishers print it; a robot's own printer settings override them per robot.
"""

from __future__ import annotations

import math

from pydantic import Field, model_validator

from appliance.strict_model import Strict

MM_PER_INCH = 25.4
POINTS_PER_INCH = 72.0


class DiscGeometry(Strict):
    """Millimetres and dots per inch; config-ready (unknown keys are rejected)."""

    outer_diameter_mm: float = Field(120.0, ge=50.0, le=130.0)  # 120 mm discs, 80 mm minis
    hub_diameter_mm: float = Field(24.0, ge=10.0, le=50.0)  # no ink inside this circle
    outer_margin_mm: float = Field(1.0, ge=0.0, le=10.0)  # unprinted rim at the edge
    inner_margin_mm: float = Field(0.5, ge=0.0, le=10.0)  # unprinted ring around the hub
    dpi: int = Field(300, ge=72, le=1200)

    @model_validator(mode="after")
    def _ring_not_empty(self) -> DiscGeometry:
        if self.printable_inner_radius_mm + 5.0 > self.printable_outer_radius_mm:
            raise ValueError(
                "the printable ring must be at least 5 mm wide: hub_diameter_mm plus twice "
                "inner_margin_mm must stay 10 mm below outer_diameter_mm less twice "
                "outer_margin_mm"
            )
        return self

    @property
    def printable_outer_radius_mm(self) -> float:
        return self.outer_diameter_mm / 2 - self.outer_margin_mm

    @property
    def printable_inner_radius_mm(self) -> float:
        return self.hub_diameter_mm / 2 + self.inner_margin_mm

    @property
    def size_px(self) -> int:
        """The square canvas's side: the disc's outer diameter at the printer's resolution."""
        return round(self.outer_diameter_mm / MM_PER_INCH * self.dpi)

    @property
    def px_per_mm(self) -> float:
        # From the rounded canvas, so the page of a PDF is exactly the disc's diameter.
        return self.size_px / self.outer_diameter_mm

    def px(self, mm: float) -> float:
        return mm * self.px_per_mm

    def pt_to_px(self, points: float) -> float:
        return points / POINTS_PER_INCH * MM_PER_INCH * self.px_per_mm

    @property
    def centre_px(self) -> float:
        return self.size_px / 2

    @property
    def ring_px(self) -> tuple[float, float]:
        """(inner, outer) radius of the printable ring, in pixels."""
        return self.px(self.printable_inner_radius_mm), self.px(self.printable_outer_radius_mm)


def free_span(
    geometry_ring: tuple[float, float], top: float, bottom: float, anchor_x: float
) -> tuple[float, float] | None:
    """The horizontal stretch, containing `anchor_x`, that a band from `top` to `bottom` has
    inside the ring (all relative to the centre, in pixels); None when there is none.

    A band crossing the hub has two stretches, left and right of it: text never jumps it.
    """
    inner, outer = geometry_ring
    far = max(abs(top), abs(bottom))
    if far >= outer:
        return None
    half = math.sqrt(outer * outer - far * far)
    near = 0.0 if top <= 0.0 <= bottom else min(abs(top), abs(bottom))
    if near >= inner:
        span = (-half, half)
    else:
        hole = math.sqrt(inner * inner - near * near)
        if hole >= half:
            return None
        span = (hole, half) if anchor_x >= 0 else (-half, -hole)
    if not span[0] <= anchor_x <= span[1]:
        return None
    return span
