"""Put one stored instance into a file-set: copied as received, or rewritten for the profile.

A copy keeps the file byte for byte (its File Meta says the box received it). A rewrite —
re-encoding an uncompressed dataset to Explicit VR Little Endian, decoding compressed pixel
data the profile does not allow, or writing a de-identified dataset — gets a new File Meta:
Media Storage SOP Class/Instance from the dataset, the transfer syntax written, Kiln's
Implementation Class UID and version, and the box's AE title as Source AE. Decoding keeps
the SOP Instance UID: the decoded pixels are exactly what the compressed data holds (a
lossy original stays marked Lossy Image Compression "01"); nothing is ever recompressed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom import dcmread
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.filewriter import dcmwrite
from pydicom.pixels.decoders.base import get_decoder
from pydicom.uid import UID

from appliance import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
from appliance.media.errors import MediaError, MediaProblem
from appliance.media.profiles import EXPLICIT_BE, EXPLICIT_LE, Disposition, Profile

# A de-identifier (or any other rewrite) applied to each dataset of a copy.
Transform = Callable[[Dataset], Dataset]

_WORD_SIZES = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}


def decodable(transfer_syntax: str) -> bool:
    """Whether an installed pixel decoder (GDCM, pylibjpeg, pydicom's own) reads it."""
    try:
        return bool(get_decoder(UID(transfer_syntax)).is_available)
    except NotImplementedError:
        return False


@dataclass(frozen=True)
class Written:
    transfer_syntax: str
    size: int
    disposition: Disposition
    dataset: Dataset | None  # the dataset written, when it was read (never for a copy)


def _name(transfer_syntax: str) -> str:
    uid = UID(transfer_syntax)
    return f"{uid.name} ({transfer_syntax})" if uid.name != transfer_syntax else transfer_syntax


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _little_endian_words(ds: Dataset) -> None:
    """A dataset read from Explicit VR Big Endian, made right for Little Endian: numbers are
    re-encoded by pydicom, but OW/OF/OD/OL/OV values are raw bytes and must be swapped."""
    if "PixelData" in ds and ds.get("BitsAllocated", 8) > 8:
        ds.PixelData = (
            np.ascontiguousarray(ds.pixel_array)
            .astype(ds.pixel_array.dtype.newbyteorder("<"))
            .tobytes()
        )
        ds["PixelData"].VR = "OW"

    def swap(dataset: Dataset, element: DataElement) -> None:
        size = _WORD_SIZES.get(element.VR)
        if size and element.tag != 0x7FE00010 and isinstance(element.value, bytes):
            element.value = np.frombuffer(element.value, f">u{size}").astype(f"<u{size}").tobytes()

    ds.walk(swap)


def write_instance(
    source: Path,
    target: Path,
    sop_instance_uid: str,
    transfer_syntax: str,
    profile: Profile,
    source_ae_title: str,
    transform: Transform | None = None,
) -> Written:
    """Write the stored instance `source` to `target` as `profile` needs it (and fsync it)."""
    disposition = profile.disposition(transfer_syntax, decodable(transfer_syntax))
    if disposition is Disposition.REFUSE:
        raise MediaError(
            MediaProblem.UNDECODABLE,
            f"instance {sop_instance_uid} is stored in {_name(transfer_syntax)}, which "
            f"{profile.value} does not allow and Kiln cannot decode; choose a profile that "
            "allows it",
        )
    if disposition is Disposition.COPY and transform is None:
        try:
            shutil.copyfile(source, target)
        except FileNotFoundError:
            raise _missing(sop_instance_uid, source) from None
        _fsync(target)
        return Written(transfer_syntax, target.stat().st_size, disposition, None)
    try:
        ds: Dataset = dcmread(source)
    except FileNotFoundError:
        raise _missing(sop_instance_uid, source) from None
    except (InvalidDicomError, OSError, ValueError) as exc:
        raise MediaError(
            MediaProblem.MISSING_FILE,
            f"instance {sop_instance_uid} ({source}) cannot be read: {exc}",
        ) from None
    if transform is not None:
        ds = transform(ds)
    written_syntax = transfer_syntax
    if disposition is Disposition.DECODE:
        try:
            ds.decompress(generate_instance_uid=False)
        except Exception as exc:  # decoders raise anything from ValueError to RuntimeError
            raise MediaError(
                MediaProblem.UNDECODABLE,
                f"instance {sop_instance_uid} ({_name(transfer_syntax)}) cannot be decoded "
                f"for {profile.value}: {' '.join(str(exc).split())}",  # one line
            ) from None
        written_syntax = EXPLICIT_LE
    elif disposition is Disposition.REENCODE:
        if transfer_syntax == EXPLICIT_BE:
            _little_endian_words(ds)
        written_syntax = EXPLICIT_LE
    ds.file_meta = _meta(ds, written_syntax, source_ae_title)
    try:
        dcmwrite(target, ds, enforce_file_format=True)
    except (ValueError, TypeError, AttributeError) as exc:
        raise MediaError(
            MediaProblem.WRITE_FAILED, f"instance {sop_instance_uid} cannot be written: {exc}"
        ) from None
    _fsync(target)
    return Written(written_syntax, target.stat().st_size, disposition, ds)


def _meta(ds: Dataset, transfer_syntax: str, source_ae_title: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = UID(transfer_syntax)
    meta.ImplementationClassUID = UID(IMPLEMENTATION_CLASS_UID)
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    if source_ae_title:
        meta.SourceApplicationEntityTitle = source_ae_title
    return meta


def _missing(sop_instance_uid: str, source: Path) -> MediaError:
    return MediaError(
        MediaProblem.MISSING_FILE,
        f"instance {sop_instance_uid} is indexed but its file {source} is gone",
    )
