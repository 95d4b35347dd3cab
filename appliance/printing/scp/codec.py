"""Request and response datasets in the presentation context's transfer syntax."""

from __future__ import annotations

from io import BytesIO

from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset

from appliance.dicom.command import Status
from appliance.dicom.syntaxes import EXPLICIT_BE, IMPLICIT_LE
from appliance.printing.scp.refused import Refused


def decode(data: bytes | None, transfer_syntax: str, *, required: bool = True) -> Dataset:
    """Every value decoded now, so a malformed dataset refuses the request and changes nothing."""
    if not data:
        if required:
            raise Refused(Status.MISSING_ATTRIBUTE, "the request has no attribute list")
        return Dataset()
    try:
        ds = read_dataset(
            BytesIO(data), transfer_syntax == IMPLICIT_LE, transfer_syntax != EXPLICIT_BE
        )
        for element in ds.iterall():
            _ = element.value
    except Exception as exc:  # malformed datasets raise many kinds
        raise Refused(
            Status.INVALID_ATTRIBUTE_VALUE, f"attribute list cannot be parsed: {exc}"
        ) from None
    return ds


def encode(ds: Dataset, transfer_syntax: str) -> bytes:
    fp = DicomBytesIO()
    fp.is_little_endian = transfer_syntax != EXPLICIT_BE
    fp.is_implicit_VR = transfer_syntax == IMPLICIT_LE
    write_dataset(fp, ds)
    return fp.getvalue()
