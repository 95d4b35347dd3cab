"""The Print Management protocol as pure functions: no network, no files.

* the SOP classes and the well-known Printer instance (PS3.4 Annex H);
* what a DIMSE status code means for a Print SCU (PS3.4 H.4, PS3.7 C) and whether the
  same request may succeed later (`transient`);
* the Printer Status Info defined terms (PS3.3 C.13.9.1) in words;
* the datasets a Print SCU sends: film session, film box, image box (with its Basic
  Grayscale or Basic Color Image Sequence item, PS3.3 C.13.5) and Presentation LUT, and
  reading back what the printer answers (Printer N-GET, the film box's Referenced Image
  Box Sequence) and the pixels of an image box.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

# -- SOP classes ---------------------------------------------------------------------------

BASIC_FILM_SESSION = "1.2.840.10008.5.1.1.1"
BASIC_FILM_BOX = "1.2.840.10008.5.1.1.2"
BASIC_GRAYSCALE_IMAGE_BOX = "1.2.840.10008.5.1.1.4"
BASIC_COLOR_IMAGE_BOX = "1.2.840.10008.5.1.1.4.1"
PRINTER = "1.2.840.10008.5.1.1.16"
PRINTER_INSTANCE = "1.2.840.10008.5.1.1.17"  # the well-known Printer SOP Instance
PRINT_JOB = "1.2.840.10008.5.1.1.14"
PRESENTATION_LUT = "1.2.840.10008.5.1.1.23"
GRAYSCALE_META = "1.2.840.10008.5.1.1.9"  # Basic Grayscale Print Management Meta
COLOR_META = "1.2.840.10008.5.1.1.18"  # Basic Color Print Management Meta

PRINT_ACTION = 1  # N-ACTION Action Type ID "print" (film session and film box)

# -- status codes ----------------------------------------------------------------------------


class StatusCategory(Enum):
    SUCCESS = "success"
    WARNING = "warning"
    FAILURE = "failure"


@dataclass(frozen=True)
class StatusMeaning:
    code: int
    category: StatusCategory
    meaning: str
    transient: bool = False  # a failure the same request may not meet again later


_W, _F = StatusCategory.WARNING, StatusCategory.FAILURE

# PS3.4 H.4 (Print Management specific) and PS3.7 C (general) statuses a printer answers.
STATUS_TABLE: dict[int, tuple[StatusCategory, str, bool]] = {
    0x0000: (StatusCategory.SUCCESS, "success", False),
    0x0001: (_W, "requested optional attributes are not supported", False),
    0x0107: (_W, "attribute list error", False),
    0x0116: (_W, "attribute value out of range", False),
    0xB600: (_W, "memory allocation not supported", False),
    0xB601: (_W, "film session printing (collation) is not supported", False),
    0xB602: (_W, "the film session contains no image boxes (empty page)", False),
    0xB603: (_W, "the film box contains no image boxes (empty page)", False),
    0xB604: (_W, "the image is larger than its image box and was demagnified", False),
    0xB605: (_W, "min or max density outside the printer's range; its own limit is used", False),
    0xB609: (_W, "the image is larger than its image box and was cropped", False),
    0xB60A: (_W, "the image is larger than its image box and was decimated", False),
    0xC600: (_F, "the film session contains no film boxes", False),
    0xC601: (_F, "the print job cannot be created: the print queue is full", True),
    0xC602: (_F, "the print job cannot be created: the print queue is full", True),
    0xC603: (_F, "the image is larger than its image box", False),
    0xC605: (_F, "the printer has not enough memory to store the image", True),
    0xC613: (_F, "the combined print image is larger than its image box", False),
    0xC616: (_F, "an earlier film box was not printed yet", False),
    0x0105: (_F, "no such attribute", False),
    0x0106: (_F, "invalid attribute value (not supported by this printer)", False),
    0x0110: (_F, "processing failure", False),
    0x0111: (_F, "duplicate SOP instance", False),
    0x0112: (_F, "no such SOP instance", False),
    0x0117: (_F, "invalid object instance", False),
    0x0118: (_F, "no such SOP class", False),
    0x0119: (_F, "class-instance conflict", False),
    0x0120: (_F, "missing attribute", False),
    0x0121: (_F, "missing attribute value", False),
    0x0122: (_F, "SOP class not supported", False),
    0x0123: (_F, "no such action", False),
    0x0124: (_F, "refused: not authorised", False),
    0x0210: (_F, "duplicate invocation", False),
    0x0211: (_F, "unrecognised operation", False),
    0x0212: (_F, "mistyped argument", False),
    0x0213: (_F, "resource limitation", True),
}
del _W, _F


def status_meaning(code: int) -> StatusMeaning:
    """What a status code means; unknown codes by their range (PS3.7 C)."""
    known = STATUS_TABLE.get(code)
    if known is not None:
        return StatusMeaning(code, *known)
    if code == 0x0000:
        return StatusMeaning(code, StatusCategory.SUCCESS, "success")
    if 0xB000 <= code <= 0xBFFF or code == 0x0001:
        return StatusMeaning(code, StatusCategory.WARNING, "warning")
    # A6xx / Cxxx / 01xx / 02xx and anything else: a failure we cannot say more about.
    return StatusMeaning(code, StatusCategory.FAILURE, "failure")


# -- Printer Status and Printer Status Info --------------------------------------------------


class PrinterStatus(Enum):
    """Printer Status (2110,0010), PS3.3 C.13.9."""

    NORMAL = "NORMAL"
    WARNING = "WARNING"
    FAILURE = "FAILURE"


# Printer Status Info (2110,0020) defined terms (PS3.3 C.13.9.1), in words.
STATUS_INFO: dict[str, str] = {
    "NORMAL": "the printer is ready",
    "BAD RECEIVE MGZ": "the receive magazine is faulty",
    "BAD SUPPLY MGZ": "the supply magazine is faulty",
    "CALIBRATING": "the printer is calibrating",
    "CALIBRATION ERR": "the calibration failed",
    "CHECK CHEMISTRY": "the processor chemistry needs checking",
    "CHECK SORTER": "the sorter needs checking",
    "CHEMICALS EMPTY": "the processor chemicals are empty",
    "CHEMICALS LOW": "the processor chemicals are low",
    "COVER OPEN": "a cover of the printer is open",
    "ELEC CONFIG ERR": "the printer's electronics are misconfigured",
    "ELEC DOWN": "the printer's electronics are down",
    "ELEC SW ERROR": "the printer's software failed",
    "EXPOSURE FAILURE": "the film exposure failed",
    "FILM JAM": "film is jammed in the printer",
    "FILM TRANSP ERR": "the film transport failed",
    "FINISHER EMPTY": "the finisher is empty",
    "FINISHER ERROR": "the finisher failed",
    "FINISHER LOW": "the finisher is running low",
    "NO RECEIVE MGZ": "the receive magazine is missing",
    "NO RIBBON": "the ribbon is missing",
    "NO SUPPLY MGZ": "the film supply magazine is missing",
    "CHECK PRINTER": "the printer needs checking",
    "CHECK PROC": "the processor needs checking",
    "PRINTER DOWN": "the printer is down",
    "PRINTER INIT": "the printer is starting up",
    "PRINTER OFFLINE": "the printer is offline",
    "PROC DOWN": "the processor is down",
    "PROC INIT": "the processor is starting up",
    "PROC OVERFLOW FL": "the processor overflowed (fluid)",
    "PROC OVERFLOW HI": "the processor overflowed (high)",
    "QUEUED": "the job is queued in the printer",
    "RECEIVER FULL": "the receive magazine is full",
    "REQ MED NOT INST": "the requested medium is not installed",
    "REQ MED NOT AVAI": "the requested medium is not available",
    "RIBBON ERROR": "the ribbon failed",
    "SUPPLY EMPTY": "the film supply is empty",
    "SUPPLY LOW": "the film supply is low",
    "UNKNOWN": "the printer does not say why",
}
_SIZED = re.compile(r"^(EMPTY|LOW) (\S+)(?: (BLUE|CLR|PAPR|TRANS))?$")
_MEDIA = {"BLUE": "blue film", "CLR": "clear film", "PAPR": "paper", "TRANS": "transparency"}


def describe_status_info(term: str) -> str:
    """A Printer Status Info term in words, e.g. EMPTY 14X17 -> no 14X17 film left."""
    term = term.strip().upper()
    known = STATUS_INFO.get(term)
    if known is not None:
        return known
    sized = _SIZED.match(term)
    if sized:
        kind, size, medium = sized.groups()
        what = f"{size} {_MEDIA.get(medium or '', 'film')}"
        return f"no {what} left" if kind == "EMPTY" else f"{what} is running low"
    return "a printer-specific condition" if term else "no reason given"


@dataclass(frozen=True)
class PrinterState:
    """What Printer N-GET answered."""

    status: PrinterStatus
    info: str = "NORMAL"  # Printer Status Info term(s) as sent
    name: str = ""
    manufacturer: str = ""
    model: str = ""
    serial_number: str = ""
    software_versions: str = ""

    @property
    def description(self) -> str:
        return describe_status_info(self.info)


def parse_printer(answer: Dataset) -> PrinterState:
    """A Printer N-GET answer; a status outside the enumerated values counts as FAILURE."""
    raw = str(answer.get("PrinterStatus", "") or "").strip().upper()
    try:
        status = PrinterStatus(raw)
    except ValueError:
        status = PrinterStatus.FAILURE
    info = answer.get("PrinterStatusInfo", "")
    software = answer.get("SoftwareVersions", "")
    return PrinterState(
        status=status,
        info=_text(info) or ("NORMAL" if status is PrinterStatus.NORMAL else "UNKNOWN"),
        name=_text(answer.get("PrinterName", "")),
        manufacturer=_text(answer.get("Manufacturer", "")),
        model=_text(answer.get("ManufacturerModelName", "")),
        serial_number=_text(answer.get("DeviceSerialNumber", "")),
        software_versions=_text(software),
    )


def printer_dataset(state: PrinterState) -> Dataset:
    """The Printer N-GET answer for `state` (the simulator's side)."""
    ds = Dataset()
    ds.PrinterStatus = state.status.value
    ds.PrinterStatusInfo = state.info
    ds.PrinterName = state.name
    ds.Manufacturer = state.manufacturer
    ds.ManufacturerModelName = state.model
    ds.DeviceSerialNumber = state.serial_number
    ds.SoftwareVersions = state.software_versions
    return ds


def _text(value: object) -> str:
    if isinstance(value, MultiValue | list | tuple):
        return "\\".join(str(v).strip() for v in value)
    return str(value or "").strip()


# -- datasets sent ---------------------------------------------------------------------------


def film_session_attributes(
    *,
    copies: int = 1,
    priority: str = "",
    medium: str = "",
    destination: str = "",
    label: str = "",
    memory_allocation: int | None = None,
    owner_id: str = "",
) -> Dataset:
    """Film Session N-CREATE attributes; empty values are left out (the printer's default)."""
    ds = Dataset()
    ds.NumberOfCopies = str(copies)
    _put(ds, "PrintPriority", priority)
    _put(ds, "MediumType", medium)
    _put(ds, "FilmDestination", destination)
    _put(ds, "FilmSessionLabel", label)
    if memory_allocation is not None:
        ds.MemoryAllocation = str(memory_allocation)
    _put(ds, "OwnerID", owner_id)
    return ds


def film_box_attributes(
    *,
    image_display_format: str,
    film_orientation: str = "",
    film_size_id: str = "",
    magnification_type: str = "",
    smoothing_type: str = "",
    border_density: str = "",
    empty_image_density: str = "",
    min_density: int | None = None,
    max_density: int | None = None,
    trim: str = "",
    configuration_information: str = "",
    requested_resolution_id: str = "",
    illumination: int | None = None,
    reflected_ambient_light: int | None = None,
) -> Dataset:
    """Film Box N-CREATE attributes without the references (the driver adds those)."""
    ds = Dataset()
    ds.ImageDisplayFormat = image_display_format
    _put(ds, "FilmOrientation", film_orientation)
    _put(ds, "FilmSizeID", film_size_id)
    _put(ds, "MagnificationType", magnification_type)
    _put(ds, "SmoothingType", smoothing_type)
    _put(ds, "BorderDensity", border_density)
    _put(ds, "EmptyImageDensity", empty_image_density)
    if min_density is not None:
        ds.MinDensity = min_density
    if max_density is not None:
        ds.MaxDensity = max_density
    _put(ds, "Trim", trim)
    _put(ds, "ConfigurationInformation", configuration_information)
    _put(ds, "RequestedResolutionID", requested_resolution_id)
    if illumination is not None:
        ds.Illumination = illumination
    if reflected_ambient_light is not None:
        ds.ReflectedAmbientLight = reflected_ambient_light
    return ds


def image_box_attributes(
    position: int,
    image: Dataset,
    *,
    color: bool = False,
    polarity: str = "",
    magnification_type: str = "",
    smoothing_type: str = "",
    requested_image_size: float | None = None,
    configuration_information: str = "",
) -> Dataset:
    """Image Box N-SET: the position, its presentation and the image item."""
    ds = Dataset()
    ds.ImageBoxPosition = position
    _put(ds, "Polarity", "" if color else polarity)  # Polarity is grayscale only
    _put(ds, "MagnificationType", magnification_type)
    _put(ds, "SmoothingType", smoothing_type)
    if requested_image_size is not None:
        ds.RequestedImageSize = f"{requested_image_size:.6g}"
    _put(ds, "ConfigurationInformation", configuration_information)
    if color:
        ds.BasicColorImageSequence = Sequence([image])
    else:
        ds.BasicGrayscaleImageSequence = Sequence([image])
    return ds


def grayscale_image_item(
    pixels: NDArray[Any], bits_stored: int, pixel_aspect_ratio: tuple[int, int] | None = None
) -> Dataset:
    """A Basic Grayscale Image Sequence item: MONOCHROME2, 8 bits in 8 or 12 bits in 16."""
    if pixels.ndim != 2:
        raise ValueError(f"a grayscale image is rows x columns, not {pixels.shape}")
    if bits_stored not in (8, 12):
        raise ValueError(f"bits stored must be 8 or 12, not {bits_stored}")
    if int(pixels.max(initial=0)) >= 1 << bits_stored or int(pixels.min(initial=0)) < 0:
        raise ValueError(f"pixel values outside 0..{(1 << bits_stored) - 1}")
    allocated = 8 if bits_stored == 8 else 16
    item = _image_item(pixels.shape[0], pixels.shape[1], pixel_aspect_ratio)
    item.SamplesPerPixel = 1
    item.PhotometricInterpretation = "MONOCHROME2"
    item.BitsAllocated = allocated
    item.BitsStored = bits_stored
    item.HighBit = bits_stored - 1
    item.PixelRepresentation = 0
    dtype = np.dtype("<u2") if allocated == 16 else np.dtype("u1")
    item.PixelData = _even(np.ascontiguousarray(pixels, dtype=dtype).tobytes())
    item["PixelData"].VR = "OW" if allocated == 16 else "OB"
    return item


def color_image_item(
    pixels: NDArray[Any], pixel_aspect_ratio: tuple[int, int] | None = None
) -> Dataset:
    """A Basic Color Image Sequence item: RGB, 8 bits, Planar Configuration 1 (C.13.5.1)."""
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"a color image is rows x columns x 3, not {pixels.shape}")
    item = _image_item(pixels.shape[0], pixels.shape[1], pixel_aspect_ratio)
    item.SamplesPerPixel = 3
    item.PhotometricInterpretation = "RGB"
    item.PlanarConfiguration = 1  # color-by-plane: all red, then green, then blue
    item.BitsAllocated = 8
    item.BitsStored = 8
    item.HighBit = 7
    item.PixelRepresentation = 0
    planes = np.ascontiguousarray(np.moveaxis(pixels.astype(np.uint8), 2, 0))
    item.PixelData = _even(planes.tobytes())
    item["PixelData"].VR = "OB"
    return item


def image_pixels(item: Dataset) -> NDArray[Any]:
    """The pixels of an image item: rows x columns (uint8/uint16) or rows x columns x 3."""
    rows, columns = int(item.Rows), int(item.Columns)
    samples = int(item.get("SamplesPerPixel", 1))
    dtype = np.dtype("<u2") if int(item.BitsAllocated) == 16 else np.dtype("u1")
    count = rows * columns * samples
    data = np.frombuffer(bytes(item.PixelData), dtype=dtype, count=count)
    if samples == 1:
        return data.reshape(rows, columns).astype(dtype.newbyteorder("="))
    if int(item.get("PlanarConfiguration", 0)) == 1:
        return np.moveaxis(data.reshape(samples, rows, columns), 0, 2).copy()
    return data.reshape(rows, columns, samples).copy()


def presentation_lut_attributes(
    *,
    shape: str | None = None,
    descriptor: tuple[int, int, int] | None = None,
    data: tuple[int, ...] | None = None,
    explanation: str = "",
) -> Dataset:
    """Presentation LUT N-CREATE: a Presentation LUT Shape or one explicit LUT (C.11.4)."""
    ds = Dataset()
    if shape:
        ds.PresentationLUTShape = shape
        return ds
    if descriptor is None or data is None:
        raise ValueError("a presentation LUT needs a shape or a descriptor and data")
    lut = Dataset()
    lut.LUTDescriptor = list(descriptor)
    if explanation:
        lut.LUTExplanation = explanation
    lut.LUTData = list(data)
    lut["LUTData"].VR = "US"
    ds.PresentationLUTSequence = Sequence([lut])
    return ds


def film_box_create(
    attributes: Dataset, film_session_uid: str, presentation_lut_uid: str | None
) -> Dataset:
    """The Film Box N-CREATE dataset: the attributes and the references to session and LUT."""
    ds = Dataset()
    ds.update(attributes)
    ds.ReferencedFilmSessionSequence = Sequence([_reference(BASIC_FILM_SESSION, film_session_uid)])
    if presentation_lut_uid:
        ds.ReferencedPresentationLUTSequence = Sequence(
            [_reference(PRESENTATION_LUT, presentation_lut_uid)]
        )
    elif "ReferencedPresentationLUTSequence" in ds:
        del ds.ReferencedPresentationLUTSequence
    return ds


def referenced_image_boxes(answer: Dataset | None) -> list[tuple[str, str]]:
    """(SOP Class UID, SOP Instance UID) of each image box, in Image Box Position order."""
    if answer is None or "ReferencedImageBoxSequence" not in answer:
        return []
    return [
        (str(item.ReferencedSOPClassUID), str(item.ReferencedSOPInstanceUID))
        for item in answer.ReferencedImageBoxSequence
    ]


def _reference(class_uid: str, instance_uid: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = class_uid
    item.ReferencedSOPInstanceUID = instance_uid
    return item


def _image_item(rows: int, columns: int, ratio: tuple[int, int] | None) -> Dataset:
    item = Dataset()
    item.Rows = rows
    item.Columns = columns
    if ratio is not None:
        item.PixelAspectRatio = [str(ratio[0]), str(ratio[1])]
    return item


def _even(data: bytes) -> bytes:
    return data + b"\0" if len(data) % 2 else data


def _put(ds: Dataset, keyword: str, value: str) -> None:
    if value:
        setattr(ds, keyword, value)


_OUT_OF_FILM = frozenset(
    {"SUPPLY EMPTY", "NO SUPPLY MGZ", "BAD SUPPLY MGZ", "REQ MED NOT INST", "REQ MED NOT AVAI"}
)


def is_out_of_film(status_info: str) -> bool:
    """Whether a Printer Status Info term means "load film" (any term of a multi-valued one)."""
    terms = [t.strip().upper() for t in status_info.split("\\")]
    return any(t in _OUT_OF_FILM or t.startswith("EMPTY ") for t in terms)
