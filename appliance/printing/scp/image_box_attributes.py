"""Basic Grayscale / Color Image Box N-SET (PS3.3 C.13.5; seed 004 tables 49-52)."""

from __future__ import annotations

from dataclasses import replace

from pydicom.dataset import Dataset

from appliance.dicom.command import Status
from appliance.printing.film import ImageBoxSpec
from appliance.printing.scp import values
from appliance.printing.scp.film_box_attributes import MAGNIFICATIONS
from appliance.printing.scp.pixels import Image, read_image
from appliance.printing.scp.refused import PrintStatus, Refused, Warnings
from appliance.printing.scp.session import ImageBox

IMAGE_BOX_KEYS = frozenset(
    {
        "ImageBoxPosition",
        "Polarity",
        "MagnificationType",
        "SmoothingType",
        "ConfigurationInformation",
        "RequestedImageSize",
        "RequestedDecimateCropBehavior",
    }
)
POLARITIES = ("NORMAL", "REVERSE")
DECIMATE_CROP = ("DECIMATE", "CROP", "FAIL")
# An image larger than its box by less than this (mm) is rounding, not a request.
TOLERANCE_MM = 0.5


def apply(ds: Dataset, box: ImageBox, *, little_endian: bool, warnings: Warnings) -> ImageBoxSpec:
    """The image box's new content; the box itself is left unchanged."""
    color = box.sop_class.endswith(".4.1")
    sequence = "BasicColorImageSequence" if color else "BasicGrayscaleImageSequence"
    values.unknown(ds, IMAGE_BOX_KEYS | {sequence}, warnings)
    position = values.integer(ds, "ImageBoxPosition", 1, 65535)
    if position is not None and position != box.position:
        raise Refused(
            Status.INVALID_ATTRIBUTE_VALUE,
            f"Image Box Position {position} is not this box's ({box.position})",
        )
    image = read_image(ds, color=color, little_endian=little_endian)
    polarity = values.code(ds, "Polarity", POLARITIES, "NORMAL")
    magnification = values.code(ds, "MagnificationType", MAGNIFICATIONS, "")
    smoothing = (values.text(ds, "SmoothingType") or "").upper()[:16]
    configuration = values.text(ds, "ConfigurationInformation") or ""
    behaviour = values.code(ds, "RequestedDecimateCropBehavior", DECIMATE_CROP, "FAIL")
    size = values.decimal(ds, "RequestedImageSize", 0.1, 2000.0)
    spec = ImageBoxSpec(
        position=box.position,
        pixels=image.pixels,
        bits_stored=image.bits_stored,
        color=color,
        polarity=polarity,
        magnification_type=magnification,
        smoothing_type=smoothing,
        requested_image_size=size,
        configuration_information=configuration,
        pixel_aspect_ratio=image.aspect,
    )
    if size is not None and not fits(image, size, box):
        spec = _too_large(spec, behaviour, size, box, warnings)
    return spec


def fits(image: Image, width_mm: float, box: ImageBox) -> bool:
    """Whether the image printed `width_mm` wide fits its box (PS3.3 C.13.5.1)."""
    row, column = image.aspect or (1, 1)
    height_mm = width_mm * image.rows * row / (image.columns * column)
    return width_mm <= box.rect.w + TOLERANCE_MM and height_mm <= box.rect.h + TOLERANCE_MM


def _too_large(
    spec: ImageBoxSpec, behaviour: str, size: float, box: ImageBox, warnings: Warnings
) -> ImageBoxSpec:
    """Requested Decimate/Crop Behavior decides; without one the request fails (C603)."""
    where = f"{size:g} mm image in a {box.rect.w:.0f}x{box.rect.h:.0f} mm box"
    if behaviour == "DECIMATE":
        warnings.add(PrintStatus.IMAGE_DEMAGNIFIED, f"{where}: demagnified to fit")
        return replace(spec, requested_image_size=None)  # printed as large as the box allows
    if behaviour == "CROP":
        warnings.add(PrintStatus.IMAGE_CROPPED, f"{where}: cropped to fit")
        return spec  # composition centres it and cuts it at the box's edges
    raise Refused(PrintStatus.IMAGE_TOO_LARGE, f"{where}: larger than its box")
