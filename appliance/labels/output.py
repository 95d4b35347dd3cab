"""Writing the artwork: PNG, PDF or BMP, atomically (temp file, fsync, rename).

PTBurn's PrintLabel takes JPEG or BMP, not PNG; BMP is lossless, so it is offered too.
A PDF page is exactly the disc's diameter square; formats without transparency get the
unprinted areas white, which a disc printer leaves without ink.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from enum import Enum
from pathlib import Path
from typing import IO

from PIL import Image

from appliance.labels.errors import LabelError, LabelProblem
from appliance.labels.geometry import MM_PER_INCH, DiscGeometry


class LabelFormat(Enum):
    PNG = "png"  # RGBA: transparent outside the printable ring
    PDF = "pdf"  # one page, the disc's diameter square
    BMP = "bmp"  # RGB on white, for PTBurn's PrintLabel


def flatten(artwork: Image.Image) -> Image.Image:
    white = Image.new("RGBA", artwork.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, artwork).convert("RGB")


def write_atomically(
    artwork: Image.Image, geometry: DiscGeometry, fmt: LabelFormat, out: Path
) -> Path:
    directory = out.parent
    try:
        fd, temp_name = tempfile.mkstemp(dir=directory, prefix=f".{out.name}.", suffix=".tmp")
    except OSError as exc:
        raise LabelError(
            LabelProblem.WRITE_FAILED, f"cannot write the label {str(out)!r}: {exc.strerror or exc}"
        ) from None
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as stream:
            _encode(artwork, geometry, fmt, stream)
            stream.flush()
            os.fsync(stream.fileno())
        temp.replace(out)
        _fsync_directory(directory)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            temp.unlink()
        if isinstance(exc, OSError):
            raise LabelError(
                LabelProblem.WRITE_FAILED,
                f"cannot write the label {str(out)!r}: {exc.strerror or exc}",
            ) from None
        raise
    return out


def _encode(
    artwork: Image.Image, geometry: DiscGeometry, fmt: LabelFormat, stream: IO[bytes]
) -> None:
    # The resolution makes the page (or the print size) exactly the disc's diameter.
    dpi = artwork.width / (geometry.outer_diameter_mm / MM_PER_INCH)
    if fmt is LabelFormat.PNG:
        artwork.save(stream, "PNG", dpi=(dpi, dpi))
    elif fmt is LabelFormat.PDF:
        flatten(artwork).save(stream, "PDF", resolution=dpi, title="Disc label")
    else:
        flatten(artwork).save(stream, "BMP")


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
