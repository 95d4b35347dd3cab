"""A print request as the Print SCP accepted it: the film session, its films and images.

This is the one shape every part of the print server shares. The Print SCP builds it
from the SCU's N-CREATE/N-SET datasets when a film box or film session is printed
(N-ACTION); the print queue keeps it on disk (`save`/`load`) until the output is done;
composition lays it out as a page for paper; the film relay sends it on to a DICOM film
printer. Values stay as the SCU sent them (DICOM code strings, densities in hundredths
of optical density), checked once by the SCP; nothing here re-validates them.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

REQUEST_FILE = "request.json"


@dataclass(frozen=True)
class LutSpec:
    """A Presentation LUT: a shape (IDENTITY, LIN OD) or an explicit table, not both."""

    shape: str | None = None
    # (number of entries, first input value mapped, bits per entry), PS3.3 C.11.4
    descriptor: tuple[int, int, int] | None = None
    data: tuple[int, ...] | None = None
    explanation: str = ""


@dataclass(frozen=True)
class ImageBoxSpec:
    position: int  # 1-based Image Box Position
    # MONOCHROME2: rows x columns of uint8 or uint16 (bits_stored 8 or 12);
    # RGB: rows x columns x 3 of uint8.
    pixels: NDArray[Any]
    bits_stored: int
    color: bool = False
    polarity: str = "NORMAL"  # NORMAL or REVERSE
    magnification_type: str = ""  # "" = the film box's
    smoothing_type: str = ""
    requested_image_size: float | None = None  # mm, the width of the printed image
    configuration_information: str = ""
    pixel_aspect_ratio: tuple[int, int] | None = None  # (row, column), as sent


@dataclass(frozen=True)
class FilmBoxSpec:
    image_display_format: str  # e.g. STANDARD\2,2, ROW\2,3, COL\1,2
    film_orientation: str = "PORTRAIT"
    film_size_id: str = "14INX17IN"
    magnification_type: str = "CUBIC"
    smoothing_type: str = ""
    border_density: str = "BLACK"  # BLACK, WHITE or hundredths of OD as a number
    empty_image_density: str = "BLACK"
    min_density: int | None = None
    max_density: int | None = None
    trim: str = "NO"
    configuration_information: str = ""
    illumination: int | None = None  # cd/m2, used with LIN OD
    reflected_ambient_light: int | None = None
    requested_resolution_id: str = ""
    presentation_lut: LutSpec | None = None
    image_boxes: tuple[ImageBoxSpec, ...] = ()  # positions with an image; others empty


@dataclass(frozen=True)
class FilmSessionSpec:
    number_of_copies: int = 1
    print_priority: str = "MED"
    medium_type: str = "PAPER"
    film_destination: str = "MAGAZINE"
    film_session_label: str = ""
    memory_allocation: int | None = None
    owner_id: str = ""


@dataclass(frozen=True)
class PrintRequest:
    """What one N-ACTION printed: a film box, or every film box of the session."""

    job_uid: str  # the Print Job SOP Instance UID given back to the SCU
    calling_ae: str
    called_ae: str
    session: FilmSessionSpec
    films: tuple[FilmBoxSpec, ...]
    received_at: float = 0.0  # time.time() of the N-ACTION
    extra: dict[str, str] = field(default_factory=dict)  # e.g. the SCU's host, for the log


def save(request: PrintRequest, folder: Path) -> None:
    """Write the request to a new folder, synced, so a queued job survives a power cut.

    The pixels are .npy files beside a JSON file; the folder is written under a temporary
    name and renamed, so a reader never sees half a request.
    """
    temporary = folder.with_name(folder.name + ".part")
    temporary.mkdir(parents=True)
    films: list[dict[str, Any]] = []
    for film_number, film in enumerate(request.films):
        boxes: list[dict[str, Any]] = []
        for box in film.image_boxes:
            name = f"film{film_number}-box{box.position}.npy"
            with open(temporary / name, "wb") as out:
                np.save(out, box.pixels, allow_pickle=False)
                out.flush()
                os.fsync(out.fileno())
            described = {k: v for k, v in asdict(box).items() if k != "pixels"}
            boxes.append({**described, "pixels": name})
        described_film = {k: v for k, v in asdict(film).items() if k != "image_boxes"}
        films.append({**described_film, "image_boxes": boxes})
    document = {
        "job_uid": request.job_uid,
        "calling_ae": request.calling_ae,
        "called_ae": request.called_ae,
        "session": asdict(request.session),
        "films": films,
        "received_at": request.received_at,
        "extra": request.extra,
    }
    with open(temporary / REQUEST_FILE, "w", encoding="utf-8") as out:
        json.dump(document, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, folder)
    _sync_dir(folder.parent)


def load(folder: Path) -> PrintRequest:
    """Read a request written by `save`."""
    document = json.loads((folder / REQUEST_FILE).read_text(encoding="utf-8"))
    films = []
    for described in document["films"]:
        boxes = []
        for box in described.pop("image_boxes"):
            pixels = np.load(folder / box.pop("pixels"), allow_pickle=False)
            ratio = box.pop("pixel_aspect_ratio")
            boxes.append(
                ImageBoxSpec(
                    pixels=pixels,
                    pixel_aspect_ratio=tuple(ratio) if ratio else None,
                    **box,
                )
            )
        lut = described.pop("presentation_lut")
        films.append(FilmBoxSpec(image_boxes=tuple(boxes), presentation_lut=_lut(lut), **described))
    return PrintRequest(
        job_uid=document["job_uid"],
        calling_ae=document["calling_ae"],
        called_ae=document["called_ae"],
        session=FilmSessionSpec(**document["session"]),
        films=tuple(films),
        received_at=document["received_at"],
        extra=document["extra"],
    )


def _lut(described: dict[str, Any] | None) -> LutSpec | None:
    if described is None:
        return None
    descriptor = described["descriptor"]
    data = described["data"]
    return LutSpec(
        shape=described["shape"],
        descriptor=tuple(descriptor) if descriptor else None,
        data=tuple(data) if data is not None else None,
        explanation=described["explanation"],
    )


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
