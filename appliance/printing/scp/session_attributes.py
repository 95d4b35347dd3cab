"""Basic Film Session attributes (PS3.3 C.13.1; seed 004 table 45, seed 002 table 3.4)."""

from __future__ import annotations

import re
from dataclasses import replace

from pydicom.dataset import Dataset

from appliance.dicom.command import Status
from appliance.printing.backend import OutputKind, OutputRoute
from appliance.printing.film import FilmSessionSpec, LutSpec
from appliance.printing.scp import values
from appliance.printing.scp.refused import PrintStatus, Refused, Warnings
from appliance.printing.scp.uids import PRESENTATION_LUT

SESSION_KEYS = frozenset(
    {
        "NumberOfCopies",
        "PrintPriority",
        "MediumType",
        "FilmDestination",
        "FilmSessionLabel",
        "MemoryAllocation",
        "OwnerID",
        "ReferencedPresentationLUTSequence",
    }
)
PRIORITIES = ("HIGH", "MED", "LOW")
MAX_COPIES = 100  # DCMTK's print client offers 1..100
_DESTINATION = re.compile(r"^(MAGAZINE|PROCESSOR|BIN_[0-9]{1,2})$")


def defaults(route: OutputRoute) -> FilmSessionSpec:
    """What a film session is when the SCU says nothing (PS3.3 leaves it to the printer)."""
    media = route.medium_types
    medium = "BLUE FILM" if route.kind is OutputKind.FILM and "BLUE FILM" in media else media[0]
    return FilmSessionSpec(medium_type=medium)


def apply(
    ds: Dataset,
    base: FilmSessionSpec,
    route: OutputRoute,
    luts: dict[str, LutSpec],
    warnings: Warnings,
) -> tuple[FilmSessionSpec, LutSpec | None]:
    """The session with the attributes `ds` carries applied (N-CREATE and N-SET alike).

    Returns the new spec and the Presentation LUT the session references, if any.
    """
    values.unknown(ds, SESSION_KEYS, warnings)
    copies = values.integer(ds, "NumberOfCopies", 1, MAX_COPIES)
    priority = values.code(ds, "PrintPriority", PRIORITIES, base.print_priority)
    medium = values.code(ds, "MediumType", route.medium_types, base.medium_type)
    destination = values.text(ds, "FilmDestination") or base.film_destination
    destination = destination.upper()
    if not _DESTINATION.match(destination):
        raise Refused(
            Status.INVALID_ATTRIBUTE_VALUE,
            f"{values.name('FilmDestination')} {destination[:16]!r} not supported",
        )
    memory = values.integer(ds, "MemoryAllocation", 0, 2**31 - 1)
    if memory is not None:
        # The box keeps images in its own memory; there is nothing to pre-allocate.
        warnings.add(PrintStatus.MEMORY_ALLOCATION_NOT_SUPPORTED, "Memory Allocation ignored")
    label = values.text(ds, "FilmSessionLabel")
    owner = values.text(ds, "OwnerID")
    lut: LutSpec | None = None
    lut_uid = values.reference(ds, "ReferencedPresentationLUTSequence", PRESENTATION_LUT)
    if lut_uid is not None:
        found = luts.get(lut_uid)
        if found is None:
            raise Refused(
                Status.INVALID_ATTRIBUTE_VALUE, "Referenced Presentation LUT does not exist"
            )
        lut = found
    spec = replace(
        base,
        number_of_copies=copies if copies is not None else base.number_of_copies,
        print_priority=priority,
        medium_type=medium,
        film_destination=destination,
        film_session_label=label[:64] if label is not None else base.film_session_label,
        memory_allocation=memory if memory is not None else base.memory_allocation,
        owner_id=owner[:16] if owner is not None else base.owner_id,
    )
    return spec, lut


def attributes(spec: FilmSessionSpec) -> Dataset:
    """The film session as the box will print it (N-CREATE-RSP attribute list)."""
    ds = Dataset()
    ds.NumberOfCopies = spec.number_of_copies
    ds.PrintPriority = spec.print_priority
    ds.MediumType = spec.medium_type
    ds.FilmDestination = spec.film_destination
    if spec.film_session_label:
        ds.FilmSessionLabel = spec.film_session_label
    if spec.owner_id:
        ds.OwnerID = spec.owner_id
    return ds
