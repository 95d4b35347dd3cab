"""What each copy type does to the instances: patient and physician copies carry them as
received (or as the profile needs them); an anonymised copy passes every dataset through
one de-identifier (appliance/media/deidentify.py), so UIDs are replaced consistently across
the whole file-set and the DICOMDIR is written from the de-identified values."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

from appliance.media.errors import MediaError, MediaProblem

if TYPE_CHECKING:  # keeps this module light for the CLI's start-up
    from pydicom.dataset import Dataset

    from appliance.media.transcode import Transform

DEFAULT_LEVEL = "full"


class CopyType(Enum):
    PATIENT = "patient"
    PHYSICIAN = "physician"
    ANONYMISED = "anonymised"


def transform_for(copy_type: CopyType, level: str = DEFAULT_LEVEL) -> Transform | None:
    """None for copies that keep the instances; a fresh de-identifier (one per file-set, so
    one UID map and one date shift) for an anonymised copy."""
    if copy_type is not CopyType.ANONYMISED:
        return None
    from appliance.media.deidentify import BurnedInAnnotation, Deidentifier, DeidLevel

    try:
        deidentifier = Deidentifier(DeidLevel(level))
    except ValueError:
        choices = ", ".join(item.value for item in DeidLevel)
        raise MediaError(
            MediaProblem.BAD_VALUE, f"{level!r} is not a de-identification level ({choices})"
        ) from None

    def apply(ds: Dataset) -> Dataset:
        try:
            return deidentifier.apply(ds)
        except BurnedInAnnotation as exc:
            # Pixels cannot be cleaned: the whole anonymised copy is refused, not one image.
            raise MediaError(MediaProblem.BURNED_IN, str(exc)) from None

    return apply
