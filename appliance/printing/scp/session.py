"""One association's print session: the film session, its film boxes, image boxes and LUTs.

PS3.4 H.2: a film session and everything under it live for the association that made
them; when it ends (release or abort) the session is dropped. Only what N-ACTION hands
to the queue outlives it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum

from appliance.printing.backend import OutputRoute
from appliance.printing.compose.layout import Rect
from appliance.printing.film import FilmBoxSpec, FilmSessionSpec, ImageBoxSpec, LutSpec


class FilmBoxState(Enum):
    OPEN = "open"  # created, not printed yet
    PRINTED = "printed"  # an N-ACTION queued it (it may be printed again)


@dataclass
class ImageBox:
    uid: str
    sop_class: str  # Basic Grayscale or Basic Color Image Box
    position: int  # 1-based
    rect: Rect  # where it sits on the film, mm
    image: ImageBoxSpec | None = None

    @property
    def size_bytes(self) -> int:
        return int(self.image.pixels.nbytes) if self.image is not None else 0


@dataclass
class FilmBox:
    uid: str
    spec: FilmBoxSpec  # without image boxes; they are kept below
    image_boxes: list[ImageBox]
    state: FilmBoxState = FilmBoxState.OPEN

    def filled(self) -> FilmBoxSpec:
        """The film as printed: the boxes that hold an image, in position order."""
        images = tuple(box.image for box in self.image_boxes if box.image is not None)
        return replace(self.spec, image_boxes=images)

    @property
    def empty(self) -> bool:
        return all(box.image is None for box in self.image_boxes)


@dataclass
class FilmSession:
    uid: str
    spec: FilmSessionSpec
    presentation_lut: LutSpec | None = None  # the default for its film boxes
    film_boxes: dict[str, FilmBox] = field(default_factory=dict)  # in creation order


@dataclass
class PrintSession:
    """Everything the Print SCP holds for one association."""

    called_ae: str
    route: OutputRoute | None
    film_session: FilmSession | None = None
    luts: dict[str, LutSpec] = field(default_factory=dict)  # Presentation LUT instances
    jobs: list[str] = field(default_factory=list)  # Print Job UIDs queued on it

    def image_box(self, uid: str) -> tuple[FilmBox, ImageBox] | None:
        if self.film_session is None:
            return None
        for film_box in self.film_session.film_boxes.values():
            for box in film_box.image_boxes:
                if box.uid == uid:
                    return film_box, box
        return None

    def image_bytes(self) -> int:
        """Pixel bytes held (the memory the session may use is limited)."""
        if self.film_session is None:
            return 0
        return sum(
            box.size_bytes
            for film_box in self.film_session.film_boxes.values()
            for box in film_box.image_boxes
        )
