"""Which SOP classes and transfer syntaxes the box accepts, from pydicom's registry and config."""

from __future__ import annotations

import pynetdicom  # noqa: F401 - registers the newest transfer syntaxes in pydicom's dictionary
from pydicom._uid_dict import UID_dictionary

VERIFICATION = "1.2.840.10008.1.1"
STORAGE_COMMITMENT_PUSH = "1.2.840.10008.1.20.1"
STORAGE_COMMITMENT_INSTANCE = "1.2.840.10008.1.20.1.1"
APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
DEFLATED_LE = "1.2.840.10008.1.2.1.99"

# The private storage classes the CDRobot3 statement (seed 003, section 8.5) accepts.
PRIVATE_STORAGE = {
    "1.3.12.2.1107.5.9.1": "Siemens CSA Non-Image Storage",
    "1.3.46.670589.11.0.0.12.1": "Philips Private Gyroscan MR Spectrum",
    "1.3.46.670589.11.0.0.12.2": "Philips Private Gyroscan MR Serie Data",
    "1.3.46.670589.11.0.0.12.4": "Philips Private MR Examcard Storage",
    "1.2.124.113532.3500.7": "Agfa Private Basic Attribute Presentation State",
}

MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"  # a DICOMDIR is media, never stored
UNCOMPRESSED = (IMPLICIT_LE, EXPLICIT_LE, EXPLICIT_BE)


def standard_storage_classes() -> dict[str, str]:
    """Every Storage SOP class pydicom knows (retired ones too: old modalities send them)."""
    found = {}
    for uid, entry in UID_dictionary.items():
        name, kind = entry[0], entry[1]
        if (
            kind == "SOP Class"
            and "Storage" in name
            and "Commitment" not in name
            and uid != MEDIA_STORAGE_DIRECTORY
        ):
            found[uid] = name
    return found


def storage_transfer_syntaxes() -> tuple[str, ...]:
    """Every transfer syntax pydicom knows: stored as received, decoded only for media."""
    ordered = [IMPLICIT_LE, EXPLICIT_LE, EXPLICIT_BE, DEFLATED_LE]
    for uid, entry in UID_dictionary.items():
        if entry[1] == "Transfer Syntax" and uid not in ordered and "Retired" not in entry[3]:
            ordered.append(uid)
    return tuple(ordered)


def storage_classes(extra: list[str]) -> dict[str, str]:
    classes = {**standard_storage_classes(), **PRIVATE_STORAGE}
    for uid in extra:
        classes.setdefault(uid, "Configured storage class")
    return classes
