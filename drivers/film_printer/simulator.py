"""A behavioural DICOM film printer: a Print SCP on 127.0.0.1 with film magazines and faults.

What a `sim://` film output of the default box talks to, through the same driver as a
real printer. It answers Printer N-GET from its state, accepts the Basic Grayscale (and
Color) Print Management Meta SOP Classes and Presentation LUTs, and "prints" a film box
on N-ACTION: one film per copy leaves the supply magazine for the receive magazine, and
the film (session and film box attributes, each image box's attributes and pixels) is
written to the output folder as `film-NNNN/film.json` + `box-P.npy`.

State and what Printer N-GET says:

    films in supply = 0            FAILURE  SUPPLY EMPTY
    films in receiver = capacity   FAILURE  RECEIVER FULL
    fault PRINTER_DOWN             FAILURE  PRINTER DOWN
    films in supply <= low mark    WARNING  SUPPLY LOW      (or fault SUPPLY_LOW)
    otherwise                      NORMAL   NORMAL

A printer that cannot expose a film refuses the print: N-ACTION is answered 0x0110
(processing failure) with the Printer Status Info as Error Comment, nothing is queued
inside the printer, and Printer Status stays FAILURE until the fault is cleared. (Printers
that instead queue the job internally answer Success; for Kiln that job is then done.)
Film sizes and media outside the configured lists are refused 0x0106 naming the attribute.

Faults (`inject`): FILM_OUT (empties the supply magazine), PRINTER_DOWN, SUPPLY_LOW,
REJECT (every association is rejected), SLOW (each film takes `slow_seconds`).
`clear()` removes them all and reloads the supply magazine; `load_film(n)` adds film.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid
from pynetdicom import AE, evt
from pynetdicom.transport import ThreadedAssociationServer

from drivers.film_printer.protocol import (
    BASIC_COLOR_IMAGE_BOX,
    BASIC_FILM_BOX,
    BASIC_FILM_SESSION,
    BASIC_GRAYSCALE_IMAGE_BOX,
    COLOR_META,
    GRAYSCALE_META,
    PRESENTATION_LUT,
    PRINT_JOB,
    PRINTER,
    PrinterState,
    PrinterStatus,
    image_pixels,
    printer_dataset,
)
from drivers.film_printer.transport import FilmPrinterTarget

log = logging.getLogger(__name__)

TRANSFER_SYNTAXES = [ExplicitVRLittleEndian, ImplicitVRLittleEndian]
NOBODY = "KILN-SIM-REJECT"  # the only calling AE title accepted while REJECT is injected

DEFAULT_SIZES = (
    "8INX10IN",
    "10INX12IN",
    "10INX14IN",
    "11INX14IN",
    "14INX14IN",
    "14INX17IN",
    "24CMX24CM",
    "24CMX30CM",
)
DEFAULT_MEDIA = ("BLUE FILM", "CLEAR FILM", "MAMMO CLEAR FILM", "MAMMO BLUE FILM", "PAPER")


class Fault(Enum):
    FILM_OUT = "film out"
    PRINTER_DOWN = "printer down"
    SUPPLY_LOW = "supply low"
    REJECT = "reject associations"
    SLOW = "slow printing"


@dataclass(frozen=True)
class PrintedFilm:
    """One film that left the printer."""

    number: int  # 1, 2, ... since the simulator started
    session: dict[str, Any]  # film session attributes (DICOM JSON)
    film_box: dict[str, Any]  # film box attributes (DICOM JSON)
    image_boxes: dict[int, dict[str, Any]]  # position -> image box attributes, no pixels
    pixels: dict[int, NDArray[Any]]  # position -> rows x columns (x 3)
    copy: int = 1
    presentation_lut: dict[str, Any] | None = None  # the LUT the film box referenced


@dataclass
class _Box:
    uid: str
    position: int
    attributes: Dataset | None = None


@dataclass
class _FilmBox:
    uid: str
    session_uid: str
    attributes: Dataset
    boxes: list[_Box] = field(default_factory=list)


class FilmPrinterSimulator:
    """A simulated film printer; `start()` it, point a `FilmPrinter` at what it returns."""

    def __init__(
        self,
        output: Path,
        *,
        ae_title: str = "SIMFILM",
        films: int = 100,
        low_mark: int = 10,
        receive_capacity: int = 500,
        print_seconds: float = 0.0,
        slow_seconds: float = 5.0,
        film_sizes: tuple[str, ...] = DEFAULT_SIZES,
        media: tuple[str, ...] = DEFAULT_MEDIA,
        color: bool = True,
        min_density: int = 20,
        max_density: int = 320,
        name: str = "Kiln simulated film printer",
    ) -> None:
        self.output = output
        self.ae_title = ae_title
        self.capacity = films
        self.low_mark = low_mark
        self.receive_capacity = receive_capacity
        self.print_seconds = print_seconds
        self.slow_seconds = slow_seconds
        self.film_sizes = film_sizes
        self.media = media
        self.color = color
        self.min_density = min_density
        self.max_density = max_density
        self.name = name
        self.supply = films
        self.received = 0
        self.printed: list[PrintedFilm] = []
        self.faults: set[Fault] = set()
        self._lock = threading.RLock()
        self._sessions: dict[str, Dataset] = {}
        self._film_boxes: dict[str, _FilmBox] = {}
        self._image_boxes: dict[str, tuple[str, _Box]] = {}  # uid -> (film box uid, box)
        self._luts: dict[str, Dataset] = {}
        self._ae: AE | None = None
        self._server: ThreadedAssociationServer | None = None
        self.target: FilmPrinterTarget | None = None

    # -- life ------------------------------------------------------------------------------

    def start(self, port: int = 0, host: str = "127.0.0.1") -> FilmPrinterTarget:
        """Listen on host:port (0: any free port); returns where the printer is."""
        self.output.mkdir(parents=True, exist_ok=True)
        ae = AE(ae_title=self.ae_title)
        ae.require_called_aet = True
        for meta in (GRAYSCALE_META, COLOR_META) if self.color else (GRAYSCALE_META,):
            ae.add_supported_context(meta, TRANSFER_SYNTAXES)
        ae.add_supported_context(PRESENTATION_LUT, TRANSFER_SYNTAXES)
        ae.add_supported_context(PRINT_JOB, TRANSFER_SYNTAXES)
        handlers: list[Any] = [
            (evt.EVT_N_GET, self._on_get),
            (evt.EVT_N_CREATE, self._on_create),
            (evt.EVT_N_SET, self._on_set),
            (evt.EVT_N_ACTION, self._on_action),
            (evt.EVT_N_DELETE, self._on_delete),
        ]
        server = ae.start_server((host, port), block=False, evt_handlers=handlers)
        assert server is not None  # block=False always gives the server back
        self._ae, self._server = ae, server
        bound = int(server.server_address[1])
        self.target = FilmPrinterTarget(host, bound, self.ae_title, color=self.color)
        self._apply_reject()
        log.info("simulated film printer %s listening on %s:%d", self.ae_title, host, bound)
        return self.target

    @property
    def address(self) -> str:
        """dicom://AE@HOST:PORT, as an output's address would name a real printer."""
        if self.target is None:
            raise RuntimeError("the simulator is not started")
        return f"dicom://{self.ae_title}@{self.target.host}:{self.target.port}"

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()

    # -- faults and supplies -----------------------------------------------------------------

    def inject(self, fault: Fault | str) -> None:
        fault = Fault(fault)
        with self._lock:
            self.faults.add(fault)
            if fault is Fault.FILM_OUT:
                self.supply = 0
            self._apply_reject()
        log.info("simulated film printer %s: fault %s", self.ae_title, fault.value)

    def clear(self, fault: Fault | str | None = None) -> None:
        """Remove one fault, or all of them (and reload the supply, empty the receiver)."""
        with self._lock:
            if fault is None:
                self.faults.clear()
                self.supply = self.capacity
                self.received = 0
            else:
                gone = Fault(fault)
                self.faults.discard(gone)
                if gone is Fault.FILM_OUT:
                    self.supply = self.capacity
            self._apply_reject()

    def load_film(self, count: int) -> None:
        with self._lock:
            self.supply += count
            self.faults.discard(Fault.FILM_OUT)

    def empty_receiver(self) -> None:
        with self._lock:
            self.received = 0

    def state(self) -> PrinterState:
        """What Printer N-GET answers now."""
        with self._lock:
            status, info = self._condition()
        return PrinterState(
            status=status,
            info=info,
            name=self.name,
            manufacturer="Kiln",
            model="Simulated film printer",
            serial_number=self.ae_title,
            software_versions="1",
        )

    def _condition(self) -> tuple[PrinterStatus, str]:
        if Fault.PRINTER_DOWN in self.faults:
            return PrinterStatus.FAILURE, "PRINTER DOWN"
        if self.supply <= 0:
            return PrinterStatus.FAILURE, "SUPPLY EMPTY"
        if self.received >= self.receive_capacity:
            return PrinterStatus.FAILURE, "RECEIVER FULL"
        if Fault.SUPPLY_LOW in self.faults or self.supply <= self.low_mark:
            return PrinterStatus.WARNING, "SUPPLY LOW"
        return PrinterStatus.NORMAL, "NORMAL"

    def _apply_reject(self) -> None:
        if self._ae is not None:
            self._ae.require_calling_aet = [NOBODY] if Fault.REJECT in self.faults else []

    # -- DIMSE handlers ----------------------------------------------------------------------

    def _on_get(self, event: Any) -> tuple[Any, Dataset | None]:
        if str(event.request.RequestedSOPClassUID) != PRINTER:
            return 0x0112, None
        return 0x0000, printer_dataset(self.state())

    def _on_create(self, event: Any) -> tuple[Any, Dataset | None]:
        class_uid = str(event.request.AffectedSOPClassUID)
        uid = str(event.request.AffectedSOPInstanceUID or generate_uid())
        attributes: Dataset = event.attribute_list
        with self._lock:
            if class_uid == BASIC_FILM_SESSION:
                medium = str(attributes.get("MediumType", "") or "")
                if medium and medium not in self.media:
                    return _failure(0x0106, f"Medium Type {medium} is not supported"), None
                self._sessions[uid] = attributes
                return 0x0000, _created(attributes, uid)
            if class_uid == PRESENTATION_LUT:
                self._luts[uid] = attributes
                return 0x0000, _created(attributes, uid)
            if class_uid == BASIC_FILM_BOX:
                return self._create_film_box(uid, attributes, event.context.abstract_syntax)
        return 0x0118, None

    def _create_film_box(self, uid: str, attributes: Dataset, meta: str) -> tuple[Any, Dataset]:
        session = attributes.get("ReferencedFilmSessionSequence")
        session_uid = str(session[0].ReferencedSOPInstanceUID) if session else ""
        if session_uid not in self._sessions:
            return _failure(0x0106, "no such film session"), Dataset()
        size = str(attributes.get("FilmSizeID", "") or "")
        if size and size not in self.film_sizes:
            return _failure(0x0106, f"Film Size ID {size} is not supported"), Dataset()
        count = box_count(str(attributes.get("ImageDisplayFormat", "")))
        if count == 0:
            return _failure(0x0106, "Image Display Format is not supported"), Dataset()
        status = 0x0000
        low, high = attributes.get("MinDensity"), attributes.get("MaxDensity")
        if (low is not None and int(low) < self.min_density) or (
            high is not None and int(high) > self.max_density
        ):
            status = 0xB605
        image_class = BASIC_COLOR_IMAGE_BOX if meta == COLOR_META else BASIC_GRAYSCALE_IMAGE_BOX
        film = _FilmBox(uid, session_uid, attributes)
        references = []
        for position in range(1, count + 1):
            box = _Box(generate_uid(), position)
            film.boxes.append(box)
            self._image_boxes[box.uid] = (uid, box)
            item = Dataset()
            item.ReferencedSOPClassUID = image_class
            item.ReferencedSOPInstanceUID = box.uid
            references.append(item)
        self._film_boxes[uid] = film
        answer = _created(attributes, uid)
        answer.ReferencedImageBoxSequence = Sequence(references)
        return status, answer

    def _on_set(self, event: Any) -> tuple[Any, Dataset | None]:
        uid = str(event.request.RequestedSOPInstanceUID)
        changes: Dataset = event.modification_list
        with self._lock:
            found = self._image_boxes.get(uid)
            if found is not None:
                item_kind = (
                    "BasicColorImageSequence"
                    if str(event.request.RequestedSOPClassUID) == BASIC_COLOR_IMAGE_BOX
                    else "BasicGrayscaleImageSequence"
                )
                if item_kind not in changes:
                    return _failure(0x0120, f"{item_kind} is missing"), None
                found[1].attributes = changes
                return 0x0000, Dataset()  # not the pixels back again
            if uid in self._sessions:
                self._sessions[uid].update(changes)
                return 0x0000, Dataset()
            if uid in self._film_boxes:
                self._film_boxes[uid].attributes.update(changes)
                return 0x0000, Dataset()
        return 0x0112, None

    def _on_action(self, event: Any) -> tuple[Any, Dataset | None]:
        uid = str(event.request.RequestedSOPInstanceUID)
        with self._lock:
            if uid in self._film_boxes:
                films = [self._film_boxes[uid]]
            elif uid in self._sessions:
                films = [f for f in self._film_boxes.values() if f.session_uid == uid]
                if not films:
                    return 0xC600, None
            else:
                return 0x0112, None
        status = 0x0000
        for film in films:
            result = self._print(film)
            if result & 0xF000 != 0xB000 and result != 0:
                return _failure(result, self._condition()[1]), None
            status = status or result
        job = Dataset()
        item = Dataset()
        item.ReferencedSOPClassUID = PRINT_JOB
        item.ReferencedSOPInstanceUID = generate_uid()
        job.ReferencedPrintJobSequence = Sequence([item])
        return status, job

    def _print(self, film: _FilmBox) -> int:
        with self._lock:
            session = self._sessions.get(film.session_uid, Dataset())
            copies = max(1, int(session.get("NumberOfCopies", 1) or 1))
        status = 0x0000 if any(b.attributes for b in film.boxes) else 0xB603
        for copy in range(1, copies + 1):
            with self._lock:
                if self._condition()[0] is PrinterStatus.FAILURE:
                    return 0x0110
                slow = Fault.SLOW in self.faults
            time.sleep(self.slow_seconds if slow else self.print_seconds)
            with self._lock:
                if self._condition()[0] is PrinterStatus.FAILURE:
                    return 0x0110
                self.supply -= 1
                self.received += 1
                printed = self._record(session, film, copy)
                self.printed.append(printed)
            log.info(
                "simulated film printer %s: film %d printed (%d left)",
                self.ae_title,
                printed.number,
                self.supply,
            )
        return status

    def _record(self, session: Dataset, film: _FilmBox, copy: int) -> PrintedFilm:
        number = len(self.printed) + 1
        boxes: dict[int, dict[str, Any]] = {}
        pixels: dict[int, NDArray[Any]] = {}
        for box in film.boxes:
            if box.attributes is None:
                continue
            described = Dataset()
            described.update(box.attributes)
            for kind in ("BasicGrayscaleImageSequence", "BasicColorImageSequence"):
                if kind in described:
                    item = described[kind].value[0]
                    pixels[box.position] = image_pixels(item)
                    shown = Dataset()
                    shown.update(item)
                    del shown.PixelData
                    described[kind].value = Sequence([shown])
            boxes[box.position] = described.to_json_dict()
        lut_reference = film.attributes.get("ReferencedPresentationLUTSequence")
        lut = (
            self._luts.get(str(lut_reference[0].ReferencedSOPInstanceUID))
            if lut_reference
            else None
        )
        printed = PrintedFilm(
            number=number,
            session=session.to_json_dict(),
            film_box=_without_references(film.attributes).to_json_dict(),
            image_boxes=boxes,
            pixels=pixels,
            copy=copy,
            presentation_lut=lut.to_json_dict() if lut is not None else None,
        )
        folder = self.output / f"film-{number:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        for position, array in pixels.items():
            np.save(folder / f"box-{position}.npy", array, allow_pickle=False)
        document = {
            "number": number,
            "copy": copy,
            "session": printed.session,
            "film_box": printed.film_box,
            "image_boxes": {str(p): b for p, b in boxes.items()},
            "presentation_lut": printed.presentation_lut,
        }
        (folder / "film.json").write_text(json.dumps(document, indent=1), encoding="utf-8")
        return printed

    def _on_delete(self, event: Any) -> int:
        uid = str(event.request.RequestedSOPInstanceUID)
        with self._lock:
            if uid in self._film_boxes:
                for box in self._film_boxes.pop(uid).boxes:
                    self._image_boxes.pop(box.uid, None)
                return 0x0000
            if uid in self._sessions:
                del self._sessions[uid]
                for film_uid in [f.uid for f in self._film_boxes.values() if f.session_uid == uid]:
                    for box in self._film_boxes.pop(film_uid).boxes:
                        self._image_boxes.pop(box.uid, None)
                return 0x0000
            if uid in self._luts:
                del self._luts[uid]
                return 0x0000
        return 0x0112


def box_count(image_display_format: str) -> int:
    """Image boxes of STANDARD\\C,R, ROW\\n,m,... or COL\\n,m,...; 0 when not understood."""
    kind, _, rest = image_display_format.partition("\\")
    try:
        numbers = [int(n) for n in rest.split(",")]
    except ValueError:
        return 0
    if any(n < 1 for n in numbers):
        return 0
    if kind == "STANDARD" and len(numbers) == 2:
        return numbers[0] * numbers[1]
    if kind in ("ROW", "COL"):
        return sum(numbers)
    return 0


def load_printed(output: Path) -> list[PrintedFilm]:
    """The films a simulator wrote to `output`, in order."""
    films = []
    for folder in sorted(output.glob("film-*")):
        document = json.loads((folder / "film.json").read_text(encoding="utf-8"))
        boxes = {int(p): b for p, b in document["image_boxes"].items()}
        pixels = {p: np.load(folder / f"box-{p}.npy", allow_pickle=False) for p in boxes}
        films.append(
            PrintedFilm(
                number=document["number"],
                session=document["session"],
                film_box=document["film_box"],
                image_boxes=boxes,
                pixels=pixels,
                copy=document["copy"],
                presentation_lut=document["presentation_lut"],
            )
        )
    return films


def _created(attributes: Dataset, uid: str) -> Dataset:
    answer = Dataset()
    answer.update(attributes)
    answer.AffectedSOPInstanceUID = uid  # moved into the N-CREATE-RSP by pynetdicom
    return answer


def _failure(code: int, comment: str) -> Dataset:
    status = Dataset()
    status.Status = code
    status.ErrorComment = comment[:64]
    return status


def _without_references(attributes: Dataset) -> Dataset:
    shown = Dataset()
    shown.update(attributes)
    for keyword in ("ReferencedFilmSessionSequence", "ReferencedPresentationLUTSequence"):
        if keyword in shown:
            delattr(shown, keyword)
    return shown
