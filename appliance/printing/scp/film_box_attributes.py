"""Basic Film Box attributes (PS3.3 C.13.3; seed 004 table 47, seed 002 table 3.4).

N-CREATE sets the layout (Image Display Format, Film Orientation, Film Size ID,
Requested Resolution ID) once; N-SET may change only the presentation attributes, as
PS3.4 H.4.2.1.3 lists them.
"""

from __future__ import annotations

import re
from dataclasses import replace

from pydicom.dataset import Dataset

from appliance.dicom.command import Status
from appliance.printing.backend import OutputRoute
from appliance.printing.compose.layout import (
    DisplayFormat,
    Rect,
    box_rects_mm,
    film_size_mm,
    parse_display_format,
)
from appliance.printing.film import FilmBoxSpec, LutSpec
from appliance.printing.scp import values
from appliance.printing.scp.refused import PrintStatus, Refused, Warnings
from appliance.printing.scp.uids import FILM_SESSION, PRESENTATION_LUT

# Settable by N-SET as well as N-CREATE.
PRESENTATION_KEYS = frozenset(
    {
        "MagnificationType",
        "SmoothingType",
        "BorderDensity",
        "EmptyImageDensity",
        "MinDensity",
        "MaxDensity",
        "Trim",
        "ConfigurationInformation",
        "Illumination",
        "ReflectedAmbientLight",
        "ReferencedPresentationLUTSequence",
    }
)
CREATE_KEYS = PRESENTATION_KEYS | {
    "ImageDisplayFormat",
    "AnnotationDisplayFormatID",  # accepted and ignored: the box has no annotation boxes
    "FilmOrientation",
    "FilmSizeID",
    "RequestedResolutionID",
    "ReferencedFilmSessionSequence",
}
ORIENTATIONS = ("PORTRAIT", "LANDSCAPE")
MAGNIFICATIONS = ("REPLICATE", "BILINEAR", "CUBIC", "NONE")
RESOLUTIONS = ("STANDARD", "HIGH")
TRIMS = ("YES", "NO")
DEFAULT_FILM_SIZE = "14INX17IN"
_CODE = re.compile(r"^[A-Z0-9 _]{1,16}$")


def layout(ds: Dataset, route: OutputRoute) -> tuple[FilmBoxSpec, DisplayFormat, list[Rect]]:
    """The creation-only attributes: the film's format, orientation, size and its boxes."""
    text = values.text(ds, "ImageDisplayFormat")
    if text is None:
        raise Refused(Status.MISSING_ATTRIBUTE, f"{values.name('ImageDisplayFormat')} missing")
    if not text:
        raise Refused(Status.MISSING_ATTRIBUTE_VALUE, f"{values.name('ImageDisplayFormat')} empty")
    try:
        display_format = parse_display_format(text)
    except ValueError as exc:
        raise Refused(Status.INVALID_ATTRIBUTE_VALUE, str(exc)) from None
    orientation = values.code(ds, "FilmOrientation", ORIENTATIONS, "PORTRAIT")
    default_size = DEFAULT_FILM_SIZE if DEFAULT_FILM_SIZE in route.film_sizes else ""
    size = values.text(ds, "FilmSizeID") or default_size or route.film_sizes[0]
    size = size.upper()
    if size not in route.film_sizes:
        raise Refused(
            Status.INVALID_ATTRIBUTE_VALUE,
            f"{values.name('FilmSizeID')} {size[:16]!r} not offered here",
        )
    resolution = values.code(ds, "RequestedResolutionID", RESOLUTIONS, "")
    try:
        rects = box_rects_mm(display_format, *film_size_mm(size, orientation))
    except ValueError as exc:
        raise Refused(Status.INVALID_ATTRIBUTE_VALUE, str(exc)) from None
    spec = FilmBoxSpec(
        image_display_format=display_format.text,
        film_orientation=orientation,
        film_size_id=size,
        requested_resolution_id=resolution,
    )
    return spec, display_format, rects


def film_session_uid(ds: Dataset) -> str:
    uid = values.reference(ds, "ReferencedFilmSessionSequence", FILM_SESSION)
    if uid is None:
        raise Refused(
            Status.MISSING_ATTRIBUTE, f"{values.name('ReferencedFilmSessionSequence')} missing"
        )
    return uid


def apply(
    ds: Dataset,
    base: FilmBoxSpec,
    route: OutputRoute,
    luts: dict[str, LutSpec],
    warnings: Warnings,
    *,
    creating: bool,
) -> FilmBoxSpec:
    """The film box with the presentation attributes `ds` carries applied."""
    values.unknown(ds, CREATE_KEYS if creating else PRESENTATION_KEYS, warnings)
    magnification = values.code(ds, "MagnificationType", MAGNIFICATIONS, base.magnification_type)
    smoothing = values.text(ds, "SmoothingType")
    if smoothing:
        smoothing = smoothing.upper()
        if not _CODE.match(smoothing):
            raise Refused(
                Status.INVALID_ATTRIBUTE_VALUE,
                f"{values.name('SmoothingType')} {smoothing[:16]!r} not a code string",
            )
    border = values.density(ds, "BorderDensity", base.border_density)
    empty = values.density(ds, "EmptyImageDensity", base.empty_image_density)
    trim = values.code(ds, "Trim", TRIMS, base.trim)
    configuration = values.text(ds, "ConfigurationInformation")
    illumination = values.integer(ds, "Illumination", 0, 65535)
    reflected = values.integer(ds, "ReflectedAmbientLight", 0, 65535)
    low, high = densities(ds, base, route, warnings)
    lut = base.presentation_lut
    lut_uid = values.reference(ds, "ReferencedPresentationLUTSequence", PRESENTATION_LUT)
    if lut_uid is not None:
        found = luts.get(lut_uid)
        if found is None:
            raise Refused(
                Status.INVALID_ATTRIBUTE_VALUE, "Referenced Presentation LUT does not exist"
            )
        lut = found
    return replace(
        base,
        magnification_type=magnification,
        smoothing_type=smoothing if smoothing is not None else base.smoothing_type,
        border_density=border,
        empty_image_density=empty,
        min_density=low,
        max_density=high,
        trim=trim,
        configuration_information=(
            configuration if configuration is not None else base.configuration_information
        ),
        illumination=illumination if illumination is not None else base.illumination,
        reflected_ambient_light=reflected
        if reflected is not None
        else base.reflected_ambient_light,
        presentation_lut=lut,
    )


def densities(
    ds: Dataset, base: FilmBoxSpec, route: OutputRoute, warnings: Warnings
) -> tuple[int | None, int | None]:
    """Min/Max Density; outside the output's range they are clamped with warning B605."""
    low = values.integer(ds, "MinDensity", 0, 65535)
    high = values.integer(ds, "MaxDensity", 0, 65535)
    low = base.min_density if low is None else low
    high = base.max_density if high is None else high
    clamped: list[str] = []
    if low is not None and not route.min_density <= low <= route.max_density:
        clamped.append(f"Min Density {low}")
        low = min(max(low, route.min_density), route.max_density)
    if high is not None and not route.min_density <= high <= route.max_density:
        clamped.append(f"Max Density {high}")
        high = min(max(high, route.min_density), route.max_density)
    if low is not None and high is not None and low >= high:
        raise Refused(Status.INVALID_ATTRIBUTE_VALUE, f"Min Density {low} not below Max {high}")
    if clamped:
        warnings.add(
            PrintStatus.DENSITY_OUT_OF_RANGE,
            f"{' and '.join(clamped)} outside {route.min_density}..{route.max_density}",
        )
    return low, high


def attributes(spec: FilmBoxSpec) -> Dataset:
    """The film box as the box will print it (N-CREATE-RSP attribute list)."""
    ds = Dataset()
    ds.ImageDisplayFormat = spec.image_display_format
    ds.FilmOrientation = spec.film_orientation
    ds.FilmSizeID = spec.film_size_id
    ds.MagnificationType = spec.magnification_type
    if spec.smoothing_type:
        ds.SmoothingType = spec.smoothing_type
    ds.BorderDensity = spec.border_density
    ds.EmptyImageDensity = spec.empty_image_density
    if spec.min_density is not None:
        ds.MinDensity = spec.min_density
    if spec.max_density is not None:
        ds.MaxDensity = spec.max_density
    ds.Trim = spec.trim
    if spec.configuration_information:
        ds.ConfigurationInformation = spec.configuration_information
    if spec.illumination is not None:
        ds.Illumination = spec.illumination
    if spec.reflected_ambient_light is not None:
        ds.ReflectedAmbientLight = spec.reflected_ambient_light
    if spec.requested_resolution_id:
        ds.RequestedResolutionID = spec.requested_resolution_id
    return ds
