"""The image of an Image Box N-SET: Basic Grayscale / Color Image Sequence (PS3.3 C.13.5.1).

Accepted, as the seeds send them: MONOCHROME2 with 8 bits (allocated 8, stored 8, high
bit 7) or 12 bits (allocated 16, stored 12, high bit 11), and RGB with 8 bits in either
planar configuration. Everything else is refused with 0x0106 naming the attribute:
MONOCHROME1 (PS3.3 allows it, but neither seed sends it and inverting it here would hide
a modality misconfiguration), 16 stored bits, signed pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset

from appliance.dicom.command import Status
from appliance.printing.scp import values
from appliance.printing.scp.refused import PrintStatus, Refused

MAX_SIDE = 16384  # rows or columns; larger images are refused with C605

# (Bits Allocated, Bits Stored, High Bit) accepted per kind.
_GRAYSCALE_BITS = {(8, 8, 7), (16, 12, 11)}
_COLOR_BITS = {(8, 8, 7)}


class Image:
    """Pixels ready for an ImageBoxSpec."""

    def __init__(
        self, pixels: NDArray[Any], bits_stored: int, aspect: tuple[int, int] | None
    ) -> None:
        self.pixels = pixels
        self.bits_stored = bits_stored
        self.aspect = aspect

    @property
    def rows(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def columns(self) -> int:
        return int(self.pixels.shape[1])


def read_image(ds: Dataset, *, color: bool, little_endian: bool) -> Image:
    keyword = "BasicColorImageSequence" if color else "BasicGrayscaleImageSequence"
    if keyword not in ds:
        raise Refused(Status.MISSING_ATTRIBUTE, f"{values.name(keyword)} missing")
    items = ds[keyword].value or []
    if len(items) != 1:
        raise Refused(Status.INVALID_ATTRIBUTE_VALUE, f"{values.name(keyword)} needs one item")
    item: Dataset = items[0]
    samples = _required_int(item, "SamplesPerPixel")
    photometric = (values.text(item, "PhotometricInterpretation") or "").upper()
    expected = ("RGB", 3) if color else ("MONOCHROME2", 1)
    if photometric != expected[0]:
        raise Refused(
            Status.INVALID_ATTRIBUTE_VALUE,
            f"Photometric Interpretation {photometric[:16]!r} not supported ({expected[0]})",
        )
    if samples != expected[1]:
        raise Refused(
            Status.INVALID_ATTRIBUTE_VALUE, f"Samples per Pixel {samples} not {expected[1]}"
        )
    rows = _required_int(item, "Rows")
    columns = _required_int(item, "Columns")
    if rows < 1 or columns < 1:
        raise Refused(Status.INVALID_ATTRIBUTE_VALUE, f"image of {rows} x {columns} pixels")
    if rows > MAX_SIDE or columns > MAX_SIDE:
        raise Refused(
            PrintStatus.INSUFFICIENT_MEMORY, f"{rows} x {columns} pixels: over {MAX_SIDE} a side"
        )
    bits = (
        _required_int(item, "BitsAllocated"),
        _required_int(item, "BitsStored"),
        _required_int(item, "HighBit"),
    )
    if bits not in (_COLOR_BITS if color else _GRAYSCALE_BITS):
        accepted = "8" if color else "8 or 12"
        raise Refused(
            Status.INVALID_ATTRIBUTE_VALUE,
            f"Bits Stored {bits[1]} (allocated {bits[0]}) not supported: {accepted}",
        )
    if _required_int(item, "PixelRepresentation") != 0:
        raise Refused(Status.INVALID_ATTRIBUTE_VALUE, "Pixel Representation: signed not supported")
    planar = 0
    if color:
        planar = values.integer(item, "PlanarConfiguration", 0, 1) or 0
    aspect = _aspect(item)
    data = item.get("PixelData")
    if not data:
        raise Refused(Status.MISSING_ATTRIBUTE, "Pixel Data (7FE0,0010) missing")
    raw = bytes(data)
    per_sample = bits[0] // 8
    needed = rows * columns * samples * per_sample
    if not needed <= len(raw) <= needed + 1:  # one pad byte keeps 8-bit data even
        raise Refused(
            Status.INVALID_ATTRIBUTE_VALUE,
            f"Pixel Data has {len(raw)} bytes, {rows}x{columns} needs {needed}",
        )
    if per_sample == 1:
        flat: NDArray[Any] = np.frombuffer(raw, dtype=np.uint8, count=needed // per_sample)
    else:
        dtype = np.dtype("<u2" if little_endian else ">u2")
        # Bits above the High Bit carry nothing (PS3.5 8.1.1): masked off.
        flat = (np.frombuffer(raw, dtype=dtype, count=needed // 2) & 0x0FFF).astype(np.uint16)
    pixels: NDArray[Any]
    if not color:
        pixels = flat.reshape(rows, columns).copy()
    elif planar == 1:
        pixels = np.ascontiguousarray(flat.reshape(3, rows, columns).transpose(1, 2, 0))
    else:
        pixels = flat.reshape(rows, columns, 3).copy()
    return Image(pixels, bits[1], aspect)


def _required_int(item: Dataset, keyword: str) -> int:
    value = values.text(item, keyword)
    if value is None:
        raise Refused(Status.MISSING_ATTRIBUTE, f"{values.name(keyword)} missing")
    if not value:
        raise Refused(Status.MISSING_ATTRIBUTE_VALUE, f"{values.name(keyword)} empty")
    number = values.integer(item, keyword, 0, 65535)
    assert number is not None
    return number


def _aspect(item: Dataset) -> tuple[int, int] | None:
    value = values.text(item, "PixelAspectRatio")
    if not value:
        return None
    parts = value.split("\\")
    try:
        row, column = (int(float(p)) for p in parts)
    except ValueError:
        raise Refused(
            Status.INVALID_ATTRIBUTE_VALUE, f"Pixel Aspect Ratio {value[:16]!r} not row\\column"
        ) from None
    if row < 1 or column < 1:
        raise Refused(Status.INVALID_ATTRIBUTE_VALUE, f"Pixel Aspect Ratio {value[:16]!r}")
    return row, column
