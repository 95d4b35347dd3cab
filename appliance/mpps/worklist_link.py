"""Which worklist items a step performs: the optional check, and the status that follows.

The check works as the Sectra CDS describes (5.3.2): per calling AE (else `[mpps] check`) one
key of the N-CREATE must name a worklist item, or the request is refused with 0112. Study ID
is compared with the Requested Procedure ID, which syngo MR takes as its default Study ID.
With the check off the box still links the step to an item when one key matches, so the
item's status follows the step either way.
"""

from __future__ import annotations

import sqlite3

from pydicom.dataset import Dataset

from appliance.config.schema import MppsCheck, MppsSection
from appliance.dicom.command import Status
from appliance.mpps.attributes import scheduled_keys, study_id
from appliance.mpps.refused import Refused
from appliance.worklist.store import WorklistStore
from statemachines.mpps import MppsState

# The Scheduled Procedure Step Status a worklist item takes when its step reaches a state.
SPS_STATUS = {
    MppsState.IN_PROGRESS: "STARTED",
    MppsState.COMPLETED: "COMPLETED",
    MppsState.DISCONTINUED: "DISCONTINUED",
}

_LABELS = {
    MppsCheck.STUDY_INSTANCE_UID: "Study Instance UID",
    MppsCheck.ACCESSION_NUMBER: "Accession Number",
    MppsCheck.STUDY_ID: "Study ID",
    MppsCheck.REQUESTED_PROCEDURE_ID: "Requested Procedure ID",
}


def check_for(section: MppsSection, calling_ae: str) -> MppsCheck:
    return section.check_by_calling_ae.get(calling_ae, section.check)


def _candidates(ds: Dataset, check: MppsCheck) -> list[tuple[str, str, str]]:
    """(worklist column, value, label) to look up: one per Scheduled Step Attributes item."""
    if check is MppsCheck.STUDY_ID:
        return [("requested_procedure_id", study_id(ds), _LABELS[check])]
    found = []
    for keys in scheduled_keys(ds):
        if check is MppsCheck.STUDY_INSTANCE_UID:
            found.append(("study_uid", keys.study_uid, _LABELS[check]))
        elif check is MppsCheck.ACCESSION_NUMBER:
            found.append(("accession_number", keys.accession_number, _LABELS[check]))
        else:
            found.append(("requested_procedure_id", keys.requested_procedure_id, _LABELS[check]))
    return found


def matched_items(conn: sqlite3.Connection, ds: Dataset, check: MppsCheck) -> list[int]:
    """The items the step performs; with a check, every scheduled step must find its item."""
    store = WorklistStore(conn)
    items: list[int] = []
    if check is MppsCheck.OFF:
        for keys in scheduled_keys(ds):
            for column, value in (
                ("study_uid", keys.study_uid),
                ("accession_number", keys.accession_number),
                ("requested_procedure_id", keys.requested_procedure_id),
            ):
                hit = store.find_by(column, value) if value else None
                if hit is not None:
                    items.append(hit.id)
                    break
        return sorted(set(items))
    for column, value, label in _candidates(ds, check):
        if not value:
            raise Refused(Status.NO_SUCH_OBJECT_INSTANCE, f"no {label} to check on the worklist")
        hit = store.find_by(column, value)
        if hit is None:
            raise Refused(Status.NO_SUCH_OBJECT_INSTANCE, f"{label} not on the worklist: {value}")
        items.append(hit.id)
    return sorted(set(items))


def follow(conn: sqlite3.Connection, item_ids: list[int], state: MppsState) -> None:
    """Set the items' SPS status inside the caller's transaction (the store joins it)."""
    store = WorklistStore(conn)
    for item_id in item_ids:
        store.set_status(item_id, SPS_STATUS[state])  # an item removed since is skipped
