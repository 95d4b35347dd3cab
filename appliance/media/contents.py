"""What goes on a medium, read from the index: studies, their series and instances.

One query per table for the whole selection; instances carry the DICOMDIR keys the receive
path captured (instances.media_keys), so nothing here opens a DICOM file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from appliance.media.errors import MediaError, MediaProblem


@dataclass(frozen=True)
class InstanceEntry:
    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax: str
    path: str  # relative to the data directory
    size: int
    instance_number: str
    keys: dict[str, Any] = field(default_factory=dict)  # media_keys (keyword -> value)


@dataclass(frozen=True)
class SeriesEntry:
    series_uid: str
    modality: str
    series_number: str
    series_description: str
    body_part: str
    instances: tuple[InstanceEntry, ...]


@dataclass(frozen=True)
class StudyEntry:
    study_uid: str
    patient_id: str
    patient_name: str
    patient_birth_date: str
    patient_sex: str
    study_date: str
    study_time: str
    accession_number: str
    study_id: str
    study_description: str
    referring_physician: str
    institution_name: str
    character_set: str
    received_at: float  # when the box first received the study
    series: tuple[SeriesEntry, ...]

    @property
    def instances(self) -> Iterator[InstanceEntry]:
        for series in self.series:
            yield from series.instances

    @property
    def modalities(self) -> list[str]:
        return sorted({s.modality for s in self.series if s.modality})

    def only(self, series_uids: Iterable[str]) -> StudyEntry:
        """This study with only the series named (for media that split a study)."""
        wanted = set(series_uids)
        return replace(self, series=tuple(s for s in self.series if s.series_uid in wanted))


def _number(text: str) -> tuple[int, str]:
    """Sort key for IS values: numerically, with non-numbers last in text order."""
    try:
        return (int(text.strip()), "")
    except ValueError:
        return (2**63 - 1, text)


def load_studies(conn: sqlite3.Connection, study_uids: Iterable[str]) -> list[StudyEntry]:
    """The studies named, in the order given (duplicates dropped); each series ordered by
    Series Number and each instance by Instance Number, as a reader expects to list them."""
    uids = list(dict.fromkeys(study_uids))
    if not uids:
        raise MediaError(MediaProblem.NOTHING_SELECTED, "no study was named")
    marks = ",".join("?" * len(uids))
    studies = {
        row["study_uid"]: row
        for row in conn.execute(f"SELECT * FROM studies WHERE study_uid IN ({marks})", uids)  # noqa: S608 - placeholders only
    }
    missing = [uid for uid in uids if uid not in studies]
    if missing:
        raise MediaError(
            MediaProblem.UNKNOWN_STUDY,
            f"the box holds no study {missing[0]}"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
        )
    series_rows: dict[str, list[sqlite3.Row]] = {uid: [] for uid in uids}
    for row in conn.execute(f"SELECT * FROM series WHERE study_uid IN ({marks})", uids):  # noqa: S608 - placeholders only
        series_rows[row["study_uid"]].append(row)
    # One entry per SOP Instance UID: of copies kept side by side (duplicates = "keep-both")
    # the newest goes on the medium; a file-set must not hold one UID twice.
    newest: dict[str, tuple[str, InstanceEntry]] = {}
    columns = (
        "series_uid, sop_instance_uid, sop_class_uid, transfer_syntax, path, size, "
        "instance_number, media_keys"
    )
    sql = f"SELECT {columns} FROM instances WHERE study_uid IN ({marks}) ORDER BY id"  # noqa: S608 - placeholders only
    for row in conn.execute(sql, uids):
        newest[row["sop_instance_uid"]] = (
            row["series_uid"],
            InstanceEntry(
                row["sop_instance_uid"],
                row["sop_class_uid"],
                row["transfer_syntax"],
                row["path"],
                row["size"],
                row["instance_number"],
                orjson.loads(row["media_keys"]) if row["media_keys"] != "{}" else {},
            ),
        )
    instances: dict[str, list[InstanceEntry]] = {}
    for series_uid, entry in newest.values():
        instances.setdefault(series_uid, []).append(entry)
    result = []
    for uid in uids:
        row = studies[uid]
        series = []
        for s in sorted(
            series_rows[uid], key=lambda r: (_number(r["series_number"]), r["series_uid"])
        ):
            members = sorted(
                instances.get(s["series_uid"], []), key=lambda i: _number(i.instance_number)
            )
            if members:
                series.append(
                    SeriesEntry(
                        s["series_uid"],
                        s["modality"],
                        s["series_number"],
                        s["series_description"],
                        s["body_part"],
                        tuple(members),
                    )
                )
        result.append(
            StudyEntry(
                uid,
                row["patient_id"],
                row["patient_name"],
                row["patient_birth_date"],
                row["patient_sex"],
                row["study_date"],
                row["study_time"],
                row["accession_number"],
                row["study_id"],
                row["study_description"],
                row["referring_physician"],
                row["institution_name"],
                row["character_set"],
                row["first_received"],
                tuple(series),
            )
        )
    return result
