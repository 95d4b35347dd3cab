"""What each copy type does to the instances: patient and physician copies carry them as
received (or as the profile needs them); an anonymised copy passes every dataset through
one de-identifier (appliance/media/deidentify.py), so UIDs are replaced consistently across
the whole file-set and the DICOMDIR is written from the de-identified values."""

from __future__ import annotations

import importlib
from enum import Enum
from typing import TYPE_CHECKING, Any

from appliance.media.errors import MediaError, MediaProblem

if TYPE_CHECKING:  # keeps this module light for the CLI's start-up
    from appliance.media.transcode import Transform

DEFAULT_LEVEL = "full"
_MODULE = "appliance.media.deidentify"


class CopyType(Enum):
    PATIENT = "patient"
    PHYSICIAN = "physician"
    ANONYMISED = "anonymised"


def transform_for(copy_type: CopyType, level: str = DEFAULT_LEVEL) -> Transform | None:
    """None for copies that keep the instances; a fresh de-identifier (one per file-set)
    for an anonymised copy."""
    if copy_type is not CopyType.ANONYMISED:
        return None
    try:
        module: Any = importlib.import_module(_MODULE)
    except ImportError:
        raise MediaError(
            MediaProblem.DEIDENTIFY_UNAVAILABLE,
            "anonymised copies need the de-identification module, which this box lacks",
        ) from None
    try:
        deidentifier = module.Deidentifier(module.DeidLevel(level))
    except ValueError:
        choices = ", ".join(str(item.value) for item in module.DeidLevel)
        raise MediaError(
            MediaProblem.BAD_VALUE, f"{level!r} is not a de-identification level ({choices})"
        ) from None
    apply: Transform = deidentifier.apply
    return apply
