"""`FilmPrinter`: ask a DICOM film printer for its status, and print a film session on it.

One association per call. `print_session` follows PS3.4 Annex H as a Print SCU:

    Printer N-GET (refuse to print on FAILURE)
    Presentation LUT N-CREATE (each distinct LUT, when the printer took the LUT context)
    Film Session N-CREATE
    per film: Film Box N-CREATE -> Referenced Image Box Sequence
              Image Box N-SET per position, Film Box N-ACTION (print), Film Box N-DELETE
    Film Session N-DELETE, Presentation LUT N-DELETE, release

Warnings (B6xx, 0001, 0107, 0116, a WARNING printer) are collected in the outcome. A
failure status raises: first the printer is asked again, and when it now reports FAILURE
(film ran out mid-session, printer went down) that is what is raised, with the films
printed so far; otherwise `PrintRefused` with the operation, the status and its meaning.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from pydicom.dataset import Dataset

from drivers.film_printer.errors import (
    FilmPrinterError,
    FilmPrinterFailure,
    FilmPrinterUnreachable,
    PrintRefused,
)
from drivers.film_printer.protocol import (
    BASIC_COLOR_IMAGE_BOX,
    BASIC_FILM_BOX,
    BASIC_FILM_SESSION,
    BASIC_GRAYSCALE_IMAGE_BOX,
    COLOR_META,
    GRAYSCALE_META,
    PRESENTATION_LUT,
    PRINT_ACTION,
    PRINTER,
    PRINTER_INSTANCE,
    PrinterState,
    PrinterStatus,
    StatusCategory,
    film_box_create,
    parse_printer,
    referenced_image_boxes,
    status_meaning,
)
from drivers.film_printer.transport import FilmPrinterTarget, PrintAssociation, Reply

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FilmToPrint:
    """One film: its Film Box attributes, its image boxes and its Presentation LUT."""

    film_box: Dataset  # protocol.film_box_attributes(...)
    image_boxes: Mapping[int, Dataset]  # position -> protocol.image_box_attributes(...)
    presentation_lut: Dataset | None = None  # protocol.presentation_lut_attributes(...)

    @property
    def color(self) -> bool:
        return any("BasicColorImageSequence" in box for box in self.image_boxes.values())


@dataclass(frozen=True)
class PrintWarning:
    operation: str
    status: int  # 0 for a warning that is not a status (a WARNING printer, no LUT context)
    meaning: str
    comment: str = ""

    def __str__(self) -> str:
        code = f" 0x{self.status:04X}" if self.status else ""
        said = f" ({self.comment})" if self.comment else ""
        return f"{self.operation}{code}: {self.meaning}{said}"


@dataclass(frozen=True)
class PrintOutcome:
    films_printed: int
    printer: PrinterState  # what Printer N-GET said before printing
    warnings: tuple[PrintWarning, ...] = ()
    print_jobs: tuple[str, ...] = ()  # Print Job SOP Instance UIDs the printer gave back


Connect = Callable[[FilmPrinterTarget], PrintAssociation]


@dataclass
class _Session:
    association: PrintAssociation
    meta: str
    printer: str
    warnings: list[PrintWarning] = field(default_factory=list)
    films_printed: int = 0


class FilmPrinter:
    """A film printer behind `target`; `connect` opens the association (tests swap it)."""

    def __init__(self, target: FilmPrinterTarget, connect: Connect = PrintAssociation) -> None:
        self.target = target
        self._connect = connect

    def status(self) -> PrinterState:
        """Printer N-GET on the well-known Printer instance."""
        with self._connect(self.target) as association:
            return self._printer(_Session(association, GRAYSCALE_META, self.target.label))

    def print_session(self, session: Dataset, films: Sequence[FilmToPrint]) -> PrintOutcome:
        """Print `films` in one film session; raises FilmPrinterError subclasses."""
        if not films:
            raise ValueError("a film session needs at least one film")
        color = any(film.color for film in films)
        meta = COLOR_META if color else GRAYSCALE_META
        with self._connect(self.target) as association:
            state = _Session(association, meta, self.target.label)
            if color and not association.accepted(COLOR_META):
                raise PrintRefused(
                    "the printer does not accept Basic Color Print Management",
                    printer=self.target.label,
                    operation="association",
                    status=0x0122,
                    meaning="color printing is not supported by this printer",
                )
            printer = self._printer(state)
            if printer.status is PrinterStatus.FAILURE:
                raise self._failure(printer, 0)
            if printer.status is PrinterStatus.WARNING:
                state.warnings.append(
                    PrintWarning(
                        "Printer N-GET", 0, f"printer WARNING: {printer.info}", printer.description
                    )
                )
            try:
                jobs = self._print(state, session, films, color)
            except PrintRefused as refused:
                raise self._explain(state, refused) from refused
            except FilmPrinterUnreachable as lost:
                lost.films_printed = state.films_printed
                raise
            log.info(
                "%s: %d film(s) printed, %d warning(s)",
                self.target.label,
                state.films_printed,
                len(state.warnings),
            )
            return PrintOutcome(state.films_printed, printer, tuple(state.warnings), jobs)

    # -- the sequence ------------------------------------------------------------------------

    def _print(
        self, state: _Session, session: Dataset, films: Sequence[FilmToPrint], color: bool
    ) -> tuple[str, ...]:
        lut_uids = self._create_luts(state, films)
        created = self._check(
            state,
            "Film Session N-CREATE",
            state.association.n_create(session, BASIC_FILM_SESSION, state.meta),
        )
        session_uid = created.affected_instance
        if not session_uid:
            raise self._refused(
                state, "Film Session N-CREATE", 0x0110, "the printer gave back no film session UID"
            )
        jobs: list[str] = []
        try:
            for number, film in enumerate(films):
                lut_uid = lut_uids.get(number)
                jobs.extend(self._print_film(state, film, session_uid, lut_uid, color))
        finally:
            self._quietly(state, "Film Session N-DELETE", BASIC_FILM_SESSION, session_uid)
            for uid in sorted(set(lut_uids.values())):
                self._quietly(state, "Presentation LUT N-DELETE", PRESENTATION_LUT, uid, None)
        return tuple(jobs)

    def _create_luts(self, state: _Session, films: Sequence[FilmToPrint]) -> dict[int, str]:
        wanted = [(n, f.presentation_lut) for n, f in enumerate(films) if f.presentation_lut]
        if not wanted:
            return {}
        if not state.association.accepted(PRESENTATION_LUT):
            state.warnings.append(
                PrintWarning(
                    "association",
                    0,
                    "the printer does not support Presentation "
                    "LUTs; the films are printed with its own",
                )
            )
            return {}
        made: list[tuple[Dataset, str]] = []
        uids: dict[int, str] = {}
        for number, lut in wanted:
            assert lut is not None
            same = next((uid for ds, uid in made if ds == lut), None)
            if same is None:
                reply = self._check(
                    state,
                    "Presentation LUT N-CREATE",
                    state.association.n_create(lut, PRESENTATION_LUT, None),
                )
                same = reply.affected_instance
                made.append((lut, same))
            uids[number] = same
        return uids

    def _print_film(
        self,
        state: _Session,
        film: FilmToPrint,
        session_uid: str,
        lut_uid: str | None,
        color: bool,
    ) -> list[str]:
        association = state.association
        box = film_box_create(film.film_box, session_uid, lut_uid)
        created = self._check(
            state, "Film Box N-CREATE", association.n_create(box, BASIC_FILM_BOX, state.meta)
        )
        film_uid = created.affected_instance
        references = referenced_image_boxes(created.dataset)
        image_class = BASIC_COLOR_IMAGE_BOX if color else BASIC_GRAYSCALE_IMAGE_BOX
        for position in sorted(film.image_boxes):
            if not 1 <= position <= len(references):
                raise self._refused(
                    state,
                    "Image Box N-SET",
                    0x0106,
                    f"the film box has {len(references)} image boxes, not a position {position}",
                )
            class_uid, instance_uid = references[position - 1]
            image = Dataset()
            image.update(film.image_boxes[position])
            image.ImageBoxPosition = position
            self._check(
                state,
                f"Image Box N-SET (position {position})",
                association.n_set(image, class_uid or image_class, instance_uid, state.meta),
            )
        printed = self._check(
            state,
            "Film Box N-ACTION",
            association.n_action(PRINT_ACTION, BASIC_FILM_BOX, film_uid, state.meta),
        )
        state.films_printed += 1
        self._quietly(state, "Film Box N-DELETE", BASIC_FILM_BOX, film_uid)
        answer = printed.dataset
        if answer is None or "ReferencedPrintJobSequence" not in answer:
            return []
        return [str(item.ReferencedSOPInstanceUID) for item in answer.ReferencedPrintJobSequence]

    # -- answers -----------------------------------------------------------------------------

    def _printer(self, state: _Session) -> PrinterState:
        reply = state.association.n_get(PRINTER, PRINTER_INSTANCE, state.meta)
        self._check(state, "Printer N-GET", reply)
        return parse_printer(reply.dataset or Dataset())

    def _check(self, state: _Session, operation: str, reply: Reply) -> Reply:
        meaning = status_meaning(reply.status)
        if meaning.category is StatusCategory.SUCCESS:
            return reply
        if meaning.category is StatusCategory.WARNING:
            log.info("%s: %s warning 0x%04X", state.printer, operation, reply.status)
            state.warnings.append(
                PrintWarning(operation, reply.status, meaning.meaning, reply.comment)
            )
            return reply
        raise PrintRefused(
            f"{operation} failed with 0x{reply.status:04X}",
            printer=state.printer,
            operation=operation,
            status=reply.status,
            meaning=meaning.meaning,
            comment=reply.comment,
            transient=meaning.transient,
            films_printed=state.films_printed,
        )

    def _refused(self, state: _Session, operation: str, status: int, why: str) -> PrintRefused:
        return PrintRefused(
            f"{operation}: {why}",
            printer=state.printer,
            operation=operation,
            status=status,
            meaning=why,
            films_printed=state.films_printed,
        )

    def _explain(self, state: _Session, refused: PrintRefused) -> FilmPrinterError:
        """A refusal while the printer reports FAILURE is that failure (e.g. film ran out)."""
        try:
            printer = self._printer(state)
        except FilmPrinterError:
            return refused
        if printer.status is PrinterStatus.FAILURE:
            return self._failure(printer, state.films_printed)
        return refused

    def _failure(self, printer: PrinterState, films_printed: int) -> FilmPrinterFailure:
        return FilmPrinterFailure(
            f"printer status FAILURE: {printer.info}",
            printer=self.target.label,
            status_info=printer.info,
            description=printer.description,
            films_printed=films_printed,
        )

    def _quietly(
        self,
        state: _Session,
        operation: str,
        class_uid: str,
        instance_uid: str,
        meta: str | None = "",
    ) -> None:
        """A delete whose failure is only worth a warning: the films are printed."""
        try:
            reply = state.association.n_delete(
                class_uid, instance_uid, state.meta if meta == "" else meta
            )
        except FilmPrinterUnreachable:
            return
        if status_meaning(reply.status).category is StatusCategory.FAILURE:
            state.warnings.append(
                PrintWarning(
                    operation, reply.status, status_meaning(reply.status).meaning, reply.comment
                )
            )
