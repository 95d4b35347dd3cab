"""Gray levels: from an image box's pixel values to the gray levels of a paper page.

The page is what a reflective print of the film shows. Kiln behaves as a DICOM *reflective
hardcopy* printer (PS3.14 section 7.2, PS3.4 Annex H) whose medium is plain paper:

1. **Polarity** (PS3.3 C.13.5.1): REVERSE turns value v into (2^bits - 1) - v first; the
   Presentation LUT works on these "polarity pixel values" (PS3.4 H.2.1.2.3).
2. **Presentation LUT** (PS3.3 C.11.4, C.11.6): IDENTITY (or none) - the values are
   P-values already; an explicit table - its output, over 0..2^(bits per entry) - 1, is
   the P-value; LIN OD - the values are optical density, linear from Max Density (value 0,
   black, as MONOCHROME2 shows it) to Min Density (the top value, white).
3. **P-value to density** (PS3.14 GSDF): P-values are perceptually linear. The P-value range
   is spread evenly over the JND indices between the darkest and the brightest luminance
   the print can show under its viewing light, L = La + L0 * 10^-D with L0 = Illumination
   and La = Reflected Ambient Light, D between Max and Min Density. The JND index gives the
   luminance (GSDF), the luminance gives the density: D = -log10((L - La) / L0).
4. **Density to a paper gray level**: the page goes to a paper printer as 8-bit sRGB. A
   printer printing with black-point compensation (what CUPS and ICC "relative
   colorimetric + BPC" do) puts 255 on paper white (the paper's own density) and 0 on its
   darkest black, and is linear in reflectance in between after sRGB decoding. So
   R = 10^-D, Y = (R - R_black) / (R_white - R_black), gray = sRGB-encode(Y) * 255.

Why this way: the SCU asked for a film with given densities (or a perceptually linear
rendering of P-values under given viewing conditions), and paper is a reflective medium
like the prints the standard defines, so the densities asked for are the densities put on
paper as far as paper can carry them. Paper cannot reach film densities (about 1.5 OD at
best on plain paper, against 3.0 on film): requested Min/Max Density are clamped into the
paper's range, as PS3.4 H.4.9.1 prescribes for a printer whose range is narrower than the
one requested. BLACK and WHITE (borders, empty boxes) are the paper's darkest black and
its white. The paper's characteristics are `PaperResponse`, so a site can measure its own.

Everything is computed once per distinct (bits, polarity, LUT, densities) as a table
indexed by pixel value (65536 entries at most), so a 512 x 512 12-bit image costs one
numpy take; nothing loops over pixels in Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from appliance.printing.film import LutSpec

# PS3.14 GSDF, luminance from JND index j (1..1023): a rational polynomial in ln(j).
_GSDF_NUM = (-1.3011877, 8.0242636e-2, 1.3646699e-1, -2.5468404e-2, 1.3635334e-3)  # a c e g m
_GSDF_DEN = (1.0, -2.5840191e-2, -1.0320229e-1, 2.8745620e-2, -3.1978977e-3, 1.2992634e-4)
# ... and its inverse, JND index from log10(L): a polynomial of degree 8.
_GSDF_INV = (
    71.498068,
    94.593053,
    41.912053,
    9.8247004,
    0.28175407,
    -1.1878455,
    -0.18014349,
    0.14710899,
    -0.017046845,
)
GSDF_MIN_L = 0.05  # cd/m2 at j = 1
GSDF_MAX_L = 3993.4  # cd/m2 at j = 1023


def gsdf_luminance(j: NDArray[np.float64]) -> NDArray[np.float64]:
    """Luminance (cd/m2) of JND index j (PS3.14 equation 1)."""
    x = np.log(j)
    num = np.zeros_like(x)
    for power, coefficient in enumerate(_GSDF_NUM):
        num += coefficient * x**power
    den = np.zeros_like(x)
    for power, coefficient in enumerate(_GSDF_DEN):
        den += coefficient * x**power
    result: NDArray[np.float64] = 10.0 ** (num / den)
    return result


def gsdf_jnd(luminance: float) -> float:
    """JND index of a luminance (PS3.14 equation 2), clamped to the GSDF's range."""
    x = math.log10(min(max(luminance, GSDF_MIN_L), GSDF_MAX_L))
    return sum(coefficient * x**power for power, coefficient in enumerate(_GSDF_INV))


@dataclass(frozen=True)
class PaperResponse:
    """What the paper and its printer can show, and the light it is looked at under.

    Densities in OD. `illumination` and `reflected_ambient_light` (cd/m2) are used when the
    film box does not give them: white office paper under about 500 lux shows ~150 cd/m2,
    and for a reflective print the room light is the illumination (no separate ambient).
    """

    min_density: float = 0.05  # bare white paper
    max_density: float = 1.5  # solid black of a plain-paper laser printer
    illumination: float = 150.0
    reflected_ambient_light: float = 0.0


@dataclass(frozen=True)
class Densities:
    """The density range and viewing light one film box is printed with."""

    min_density: float
    max_density: float
    illumination: float
    ambient: float


def film_densities(
    paper: PaperResponse,
    min_density: int | None,
    max_density: int | None,
    illumination: int | None,
    reflected_ambient_light: int | None,
    notes: list[str],
) -> Densities:
    """The film box's Min/Max Density (hundredths of OD) clamped into the paper's range."""
    low = paper.min_density if min_density is None else min_density / 100.0
    high = paper.max_density if max_density is None else max_density / 100.0
    clamped_low = min(max(low, paper.min_density), paper.max_density)
    clamped_high = min(max(high, paper.min_density), paper.max_density)
    if max_density is not None and high > paper.max_density:
        notes.append(
            f"Max Density {high:.2f} OD is beyond paper; printed at the paper's "
            f"{paper.max_density:.2f} OD"
        )
    if min_density is not None and low < paper.min_density:
        notes.append(
            f"Min Density {low:.2f} OD is below paper white; printed at {paper.min_density:.2f} OD"
        )
    if clamped_high <= clamped_low:
        notes.append(
            f"Min/Max Density {low:.2f}/{high:.2f} OD leave no range on paper; "
            "the paper's full range is used"
        )
        clamped_low, clamped_high = paper.min_density, paper.max_density
    return Densities(
        min_density=clamped_low,
        max_density=clamped_high,
        illumination=float(illumination) if illumination else paper.illumination,
        ambient=(
            float(reflected_ambient_light)
            if reflected_ambient_light is not None
            else paper.reflected_ambient_light
        ),
    )


def density_to_gray(density: NDArray[np.float64], paper: PaperResponse) -> NDArray[np.uint8]:
    """Paper gray levels (0 black .. 255 white, sRGB-encoded) for optical densities."""
    white = 10.0**-paper.min_density
    black = 10.0**-paper.max_density
    clipped = np.clip(density, paper.min_density, paper.max_density)
    linear = (10.0**-clipped - black) / (white - black)
    encoded = np.where(
        linear <= 0.0031308, 12.92 * linear, 1.055 * np.power(linear, 1 / 2.4) - 0.055
    )
    gray: NDArray[np.uint8] = np.clip(np.rint(encoded * 255.0), 0, 255).astype(np.uint8)
    return gray


def named_density_gray(value: str, paper: PaperResponse) -> int:
    """Gray level of Border/Empty Image Density: BLACK, WHITE or hundredths of OD."""
    text = value.strip().upper()
    if text in {"", "BLACK"}:
        return 0
    if text == "WHITE":
        return 255
    try:
        density = int(text) / 100.0
    except ValueError:
        raise ValueError(f"density {value!r} is not BLACK, WHITE or a number") from None
    return int(density_to_gray(np.array([density]), paper)[0])


def tone_table(
    bits_stored: int,
    dtype: np.dtype[np.generic],
    *,
    reverse: bool,
    lut: LutSpec | None,
    densities: Densities,
    paper: PaperResponse,
    notes: list[str],
) -> NDArray[np.uint8]:
    """The table from stored pixel value to paper gray level, indexed by the pixel itself.

    It covers every value of the pixel dtype (256 or 65536 entries); values above
    2^bits_stored - 1 print as the top value.
    """
    top = (1 << bits_stored) - 1
    values = np.arange(top + 1, dtype=np.float64)
    if reverse:
        values = top - values
    shape = (lut.shape or "").strip().upper() if lut is not None else ""
    if lut is not None and lut.data is not None and lut.descriptor is not None:
        p = _explicit_lut(values, top, lut, notes)
        density = _p_to_density(p, densities)
    elif shape == "LIN OD":
        fraction = values / top
        density = densities.max_density - (densities.max_density - densities.min_density) * fraction
    else:
        if shape not in {"", "IDENTITY"}:
            notes.append(f"Presentation LUT Shape {shape!r} is unknown; printed as IDENTITY")
        density = _p_to_density(values / top, densities)
    gray = density_to_gray(density, paper)
    size = 1 << (8 * dtype.itemsize)
    if size > gray.size:
        gray = np.concatenate([gray, np.full(size - gray.size, gray[-1], dtype=np.uint8)])
    return gray[:size]


def _explicit_lut(
    values: NDArray[np.float64], top: int, lut: LutSpec, notes: list[str]
) -> NDArray[np.float64]:
    """P-values (0..1) of an explicit Presentation LUT (PS3.3 C.11.4.1)."""
    assert lut.descriptor is not None and lut.data is not None
    entries, first, bits = lut.descriptor
    entries = entries or 65536
    data = np.asarray(lut.data, dtype=np.float64)
    if data.size == 0:
        raise ValueError("the Presentation LUT has no LUT Data")
    if data.size != entries:
        notes.append(f"Presentation LUT has {data.size} entries, its descriptor says {entries}")
        entries = data.size
    if entries == top + 1 and first == 0:
        index = values
    else:
        # A table made for another bit depth: stretch it over this image's range.
        notes.append(
            f"Presentation LUT of {entries} entries (first {first}) applied to "
            f"{top + 1}-value pixels by scaling"
        )
        index = np.rint(values * (entries - 1) / top)
    positions = np.clip(index, 0, entries - 1).astype(np.intp)
    out_top = float((1 << bits) - 1) if 1 <= bits <= 16 else float(data.max() or 1.0)
    result: NDArray[np.float64] = np.clip(data[positions] / out_top, 0.0, 1.0)
    return result


def _p_to_density(p: NDArray[np.float64], densities: Densities) -> NDArray[np.float64]:
    """PS3.14: P-values (0..1) spread evenly in JND between the print's darkest and brightest."""
    l0, la = densities.illumination, densities.ambient
    dark = gsdf_jnd(la + l0 * 10.0**-densities.max_density)
    bright = gsdf_jnd(la + l0 * 10.0**-densities.min_density)
    luminance = gsdf_luminance(dark + p * (bright - dark))
    reflected = np.maximum(luminance - la, 1e-12) / l0
    density: NDArray[np.float64] = np.clip(
        -np.log10(reflected), densities.min_density, densities.max_density
    )
    return density
