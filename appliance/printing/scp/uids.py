"""The Print Management SOP classes (PS3.4 Annex H) and which context carries which."""

from __future__ import annotations

GRAYSCALE_META = "1.2.840.10008.5.1.1.9"  # Basic Grayscale Print Management Meta
COLOR_META = "1.2.840.10008.5.1.1.18"  # Basic Color Print Management Meta
FILM_SESSION = "1.2.840.10008.5.1.1.1"
FILM_BOX = "1.2.840.10008.5.1.1.2"
GRAYSCALE_IMAGE_BOX = "1.2.840.10008.5.1.1.4"
COLOR_IMAGE_BOX = "1.2.840.10008.5.1.1.4.1"
PRINTER = "1.2.840.10008.5.1.1.16"
PRINTER_INSTANCE = "1.2.840.10008.5.1.1.17"  # the well-known Printer SOP Instance
PRINT_JOB = "1.2.840.10008.5.1.1.14"
PRESENTATION_LUT = "1.2.840.10008.5.1.1.23"

# The abstract syntaxes the box accepts for printing.
PRINT_CONTEXTS = (GRAYSCALE_META, COLOR_META, PRESENTATION_LUT, PRINTER, PRINT_JOB)

# The member classes a Meta SOP Class context carries (PS3.4 H.3).
_MEMBERS: dict[str, frozenset[str]] = {
    GRAYSCALE_META: frozenset({FILM_SESSION, FILM_BOX, GRAYSCALE_IMAGE_BOX, PRINTER}),
    COLOR_META: frozenset({FILM_SESSION, FILM_BOX, COLOR_IMAGE_BOX, PRINTER}),
    PRESENTATION_LUT: frozenset({PRESENTATION_LUT}),
    PRINTER: frozenset({PRINTER}),
    PRINT_JOB: frozenset({PRINT_JOB}),
}
# Classes that stand on their own: accepted on any print context too, because some
# SCUs send them on the meta context they print on rather than on their own.
_ANYWHERE = frozenset({PRESENTATION_LUT, PRINTER, PRINT_JOB})


def carried_by(sop_class: str, context: str) -> bool:
    """Whether a request for `sop_class` may arrive on a context for `context`."""
    if sop_class in _MEMBERS.get(context, frozenset()):
        return True
    return sop_class in _ANYWHERE and context in _MEMBERS


def image_box_class(context: str) -> str:
    """The Image Box class a film box created on this context gets."""
    return COLOR_IMAGE_BOX if context == COLOR_META else GRAYSCALE_IMAGE_BOX
