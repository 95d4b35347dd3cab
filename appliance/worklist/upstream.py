"""The upstream RIS worklist: queried on a schedule, cached, served while the RIS is down."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

from appliance.config.schema import DicomSection, UpstreamWorklist
from appliance.db.database import connect
from appliance.dicom.scu import ScuError, Target, find
from appliance.storage.layout import DataLayout
from appliance.worklist.attributes import KEYWORDS, SEQUENCES, SPS, TOP_LEVEL, VRS
from appliance.worklist.find_service import MODALITY_WORKLIST_FIND
from appliance.worklist.item import Item, ItemError, normalise
from appliance.worklist.store import WorklistStore

log = logging.getLogger(__name__)
SOURCE = "upstream"


def broad_query(config: UpstreamWorklist, today: date) -> Dataset:
    """Every attribute the box keeps, for the configured window of days."""
    query = Dataset()
    query.SpecificCharacterSet = "ISO_IR 192"  # our own keys are ASCII; any answer set is fine
    for keyword in sorted(TOP_LEVEL):
        if VRS[keyword] == "SQ":
            setattr(query, keyword, [])
        else:
            setattr(query, keyword, None)
    step = Dataset()
    for keyword in sorted(SEQUENCES[SPS]):
        setattr(step, keyword, [] if VRS[keyword] == "SQ" else None)
    first = (today - timedelta(days=config.days_before)).strftime("%Y%m%d")
    last = (today + timedelta(days=config.days_after)).strftime("%Y%m%d")
    step.ScheduledProcedureStepStartDate = f"{first}-{last}"
    step.Modality = config.modality or None
    step.ScheduledStationAETitle = config.station_ae or None
    query.ScheduledProcedureStepSequence = [step]
    return query


def _value(element: Any) -> Any:
    if isinstance(element.value, Sequence):
        return [item_fields(entry, allowed_for(element.keyword)) for entry in element.value]
    value = element.value
    if isinstance(value, MultiValue):
        return "\\".join(str(v) for v in value)
    if isinstance(value, bytes):
        return None
    return value if isinstance(value, int) else str(value)


def allowed_for(keyword: str) -> frozenset[str]:
    return SEQUENCES.get(keyword, frozenset())


def item_fields(dataset: Dataset, allowed: frozenset[str]) -> Item:
    """The attributes the box keeps, decoded to Unicode; empty ones left out."""
    dataset.decode()
    item: Item = {}
    for element in dataset:
        keyword = KEYWORDS.get(int(element.tag))
        if keyword is None or keyword not in allowed or element.value in (None, "", b""):
            continue
        value = _value(element)
        if value not in (None, "", []):
            item[keyword] = value
    return item


def to_entries(found: list[Dataset]) -> list[tuple[Item, str | None]]:
    entries: list[tuple[Item, str | None]] = []
    for dataset in found:
        raw = item_fields(dataset, TOP_LEVEL)
        try:
            item = normalise(raw, generate=False)
        except ItemError as exc:
            # One bad item from the RIS must not stop the others being cached.
            log.warning("upstream worklist item skipped: %s", exc)
            continue
        step = item[SPS][0]
        key = "/".join(
            (
                "upstream",
                str(item.get("StudyInstanceUID", "")),
                str(item.get("AccessionNumber", "")),
                str(step.get("ScheduledProcedureStepID", "")),
            )
        )
        entries.append((item, key))
    return entries


@dataclass
class UpstreamState:
    last_success: float = 0.0
    last_error: str = ""
    items: int = 0


class UpstreamCache:
    """A thread that refreshes the cached worklist every `interval_seconds`."""

    def __init__(self, config: UpstreamWorklist, dicom: DicomSection, layout: DataLayout) -> None:
        self.config = config
        self.dicom = dicom
        self.layout = layout
        self.state = UpstreamState()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> int:
        target = Target(self.config.host, self.config.port, self.config.ae_title)
        query = broad_query(self.config, date.today())
        found = find(target, self.dicom.ae_titles[0], self.dicom, MODALITY_WORKLIST_FIND, query)
        entries = to_entries(found)
        conn = connect(self.layout.root)
        try:
            return WorklistStore(conn).replace_source(entries, source=SOURCE)
        finally:
            conn.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                count = self.refresh()
                self.state = UpstreamState(time.time(), "", count)
                log.info("upstream worklist refreshed: %d item(s)", count)
            except (ScuError, OSError) as exc:
                self.state.last_error = str(exc)
                log.warning(
                    "upstream worklist not refreshed (the cached items stay in service): %s", exc
                )
            except Exception as exc:
                self.state.last_error = f"internal error: {exc}"
                log.exception("upstream worklist refresh failed")
            self._stop.wait(self.config.interval_seconds)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="upstream-worklist", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.dicom.acse_timeout + self.dicom.dimse_timeout + 5)
