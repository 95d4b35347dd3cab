"""MPPS SCP and MPPS relay against the running box.

The modality is pynetdicom: no third-party MPPS SCU is packaged in Debian (DCMTK has none),
so pynetdicom stands in for it, as the house rules allow. The instances the steps reference
are sent with DCMTK's storescu. The relay destination is `tests/mpps_peer.py`, a separate
pynetdicom MPPS SCP process that records every request it receives, byte for byte.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE, evt

from appliance.worklist.store import WorklistStore
from tests.conftest import ROOT, Box, free_port, wait_for, wait_port, write_config
from tests.dcmtk import storescu
from tests.dicomdata import write_series

MPPS = "1.2.840.10008.3.1.2.3.3"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
CT = "1.2.840.10008.5.1.4.1.1.2"

# Calling AE titles with a worklist check of their own (the module box's configuration).
CHECKS = {
    "CHK_UID": "study-instance-uid",
    "CHK_ACC": "accession-number",
    "CHK_SID": "study-id",
    "CHK_RPID": "requested-procedure-id",
}


# -- the modality (pynetdicom as MPPS SCU) --------------------------------------------------
@dataclass(frozen=True)
class Answer:
    status: int
    uid: str  # Affected SOP Instance UID of the response
    comment: str
    error_id: int | None


class Modality:
    """One association to the box carrying N-CREATE and N-SET requests."""

    def __init__(self, box: Box, aet: str = "MODALITY", syntax: str = IMPLICIT_LE) -> None:
        self.commands: list[Dataset] = []
        ae = AE(ae_title=aet)
        ae.add_requested_context(MPPS, [syntax])
        self.assoc = ae.associate(
            "127.0.0.1",
            box.port,
            ae_title=box.ae_title,
            evt_handlers=[(evt.EVT_DIMSE_RECV, self._received)],
        )
        assert self.assoc.is_established

    def _received(self, event: Any) -> None:
        self.commands.append(event.message.command_set)

    def _answer(self, status: Dataset) -> Answer:
        assert "Status" in status, "the box did not answer"
        command = self.commands[-1]
        return Answer(
            int(status.Status),
            str(command.get("AffectedSOPInstanceUID", "")),
            str(status.get("ErrorComment", "")),
            int(status.ErrorID) if "ErrorID" in status else None,
        )

    def create(self, ds: Dataset, uid: str | None) -> Answer:
        status, _ = self.assoc.send_n_create(ds, MPPS, uid)
        return self._answer(status)

    def set(self, uid: str, ds: Dataset) -> Answer:
        status, _ = self.assoc.send_n_set(ds, MPPS, uid)
        return self._answer(status)

    def close(self) -> None:
        self.assoc.release()


@pytest.fixture
def modality_factory() -> Iterator[Callable[..., Modality]]:
    opened: list[Modality] = []

    def make(box: Box, aet: str = "MODALITY", syntax: str = IMPLICIT_LE) -> Modality:
        modality = Modality(box, aet, syntax)
        opened.append(modality)
        return modality

    yield make
    for modality in opened:
        if modality.assoc.is_established:
            modality.close()


# -- attribute lists -----------------------------------------------------------------------
def create_ds(
    study_uid: str | None = None,
    *,
    accession: str = "",
    requested_procedure_id: str = "",
    study_id: str = "",
    status: str = "IN PROGRESS",
) -> Dataset:
    """An N-CREATE attribute list as syngo MR sends it (seed 004 table 36, PS3.4 F.7.2-1)."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    step = Dataset()
    step.StudyInstanceUID = study_uid or generate_uid()
    step.ReferencedStudySequence = []
    step.AccessionNumber = accession
    step.RequestedProcedureID = requested_procedure_id
    step.RequestedProcedureDescription = "MR Knee"
    step.ScheduledProcedureStepID = "SPS1"
    step.ScheduledProcedureStepDescription = "Knee"
    step.ScheduledProtocolCodeSequence = []
    ds.ScheduledStepAttributesSequence = [step]
    ds.PatientName = "Müller^Jörg"
    ds.PatientID = "PID-MPPS"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "M"
    ds.ReferencedPatientSequence = []
    ds.PerformedProcedureStepID = "PPS1"
    ds.PerformedStationAETitle = "MR_SKYRA"
    ds.PerformedStationName = "SKYRA"
    ds.PerformedLocation = ""
    ds.PerformedProcedureStepStartDate = "20261202"
    ds.PerformedProcedureStepStartTime = "101500"
    ds.PerformedProcedureStepStatus = status
    ds.PerformedProcedureStepDescription = "Knee"
    ds.PerformedProcedureTypeDescription = ""
    ds.ProcedureCodeSequence = []
    ds.PerformedProcedureStepEndDate = ""
    ds.PerformedProcedureStepEndTime = ""
    ds.Modality = "MR"
    ds.StudyID = study_id
    ds.PerformedProtocolCodeSequence = []
    ds.PerformedSeriesSequence = []
    return ds


def set_ds(
    status: str | None = "COMPLETED",
    *,
    end: bool = True,
    series: list[tuple[str, list[tuple[str, str]]]] | None = None,
    description: str | None = None,
) -> Dataset:
    """An N-SET modification list; `series` is [(series uid, [(class, instance), ...])]."""
    ds = Dataset()
    if status is not None:
        ds.PerformedProcedureStepStatus = status
    if end:
        ds.PerformedProcedureStepEndDate = "20261202"
        ds.PerformedProcedureStepEndTime = "103000"
    if description is not None:
        ds.PerformedProcedureStepDescription = description
    if series is not None:
        items = []
        for series_uid, refs in series:
            item = Dataset()
            item.SeriesInstanceUID = series_uid
            item.PerformingPhysicianName = ""
            item.ProtocolName = "t1_tse"
            item.OperatorsName = ""
            item.SeriesDescription = "t1"
            item.RetrieveAETitle = ""
            images = []
            for sop_class, sop_instance in refs:
                image = Dataset()
                image.ReferencedSOPClassUID = sop_class
                image.ReferencedSOPInstanceUID = sop_instance
                images.append(image)
            item.ReferencedImageSequence = images
            item.ReferencedNonImageCompositeSOPInstanceSequence = []
            items.append(item)
        ds.PerformedSeriesSequence = items
    return ds


# -- looking at the box --------------------------------------------------------------------
def step(box: Box, uid: str) -> dict[str, Any] | None:
    with box.db() as conn:
        row = conn.execute("SELECT * FROM mpps WHERE sop_instance_uid = ?", (uid,)).fetchone()
        return dict(row) if row else None


def events(box: Box, uid: str) -> list[str]:
    with box.db() as conn:
        rows = conn.execute(
            "SELECT operation, state FROM mpps_events WHERE sop_instance_uid = ? ORDER BY id",
            (uid,),
        ).fetchall()
    return [f"{r[0]} {r[1]}" for r in rows]


def add_item(box: Box, **keys: str) -> int:
    """A worklist item stored the way every source stores one (WorklistStore)."""
    item = {
        "PatientID": "PID-MPPS",
        "PatientName": "Muller^Jorg",
        "ScheduledProcedureStepSequence": [
            {"Modality": "MR", "ScheduledProcedureStepStartDate": "20261202"}
        ],
        **keys,
    }
    with box.db() as conn:
        stored, _ = WorklistStore(conn).put(item, source="test")
    return stored.id


def item_status(box: Box, item_id: int) -> str:
    with box.db() as conn:
        stored = WorklistStore(conn).get(item_id)
    assert stored is not None
    return stored.status


def study_state(box: Box, study_uid: str) -> tuple[str, list[dict[str, Any]]]:
    with box.db() as conn:
        row = conn.execute("SELECT state FROM studies WHERE study_uid = ?", (study_uid,)).fetchone()
        details = [
            json.loads(r[0])
            for r in conn.execute(
                "SELECT detail FROM study_events WHERE study_uid = ? AND event = 'complete' "
                "ORDER BY id",
                (study_uid,),
            )
        ]
    return (row[0] if row else ""), details


# -- the module box (no relay) -------------------------------------------------------------
@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    """One box for the SCP tests: studies never go idle (3600 s), so only MPPS completes them."""
    root = tmp_path_factory.mktemp("mpps")
    port, web_port = free_port(), free_port()
    overrides: dict[str, dict[str, Any]] = {
        "storage": {"study_idle_seconds": 3600.0},
        "mpps": {"check_by_calling_ae": CHECKS},
    }
    shared = Box(root, port, web_port, write_config(root, port, web_port, overrides))
    shared.start()
    yield shared
    if shared.process is not None and shared.process.poll() is None:
        shared.stop(signal.SIGTERM, timeout=60)


# -- life cycle ----------------------------------------------------------------------------
def test_create_update_complete(box: Box, modality_factory: Callable[..., Modality]) -> None:
    modality = modality_factory(box)
    uid = generate_uid()
    created = modality.create(create_ds(), uid)
    assert (created.status, created.uid) == (0, uid)
    assert step(box, uid)["state"] == "IN PROGRESS"  # type: ignore[index]

    updated = modality.set(uid, set_ds(None, end=False, description="Knee, both sides"))
    assert updated.status == 0
    completed = modality.set(uid, set_ds("COMPLETED"))
    assert completed.status == 0

    row = step(box, uid)
    assert row is not None
    assert (row["state"], row["ended"], row["calling_ae"]) == (
        "COMPLETED",
        "20261202 103000",
        "MODALITY",
    )
    assert events(box, uid) == ["N-CREATE IN PROGRESS", "N-SET IN PROGRESS", "N-SET COMPLETED"]
    shown = json.loads(box.run_cli("mpps", "show", uid, "--json").stdout)
    attributes = shown["attributes"]
    assert attributes["00400254"]["Value"] == ["Knee, both sides"]  # the N-SET applied
    assert attributes["00100010"]["Value"] == [{"Alphabetic": "Müller^Jörg"}]  # N-CREATE kept
    listed = json.loads(box.run_cli("mpps", "ls", "--state", "completed", "--json").stdout)
    assert uid in [r["sop_instance_uid"] for r in listed]


@pytest.mark.parametrize("syntax", [EXPLICIT_LE, EXPLICIT_BE])
def test_every_uncompressed_syntax(
    box: Box, modality_factory: Callable[..., Modality], syntax: str
) -> None:
    modality = modality_factory(box, syntax=syntax)
    uid = generate_uid()
    assert modality.create(create_ds(), uid).status == 0
    assert modality.set(uid, set_ds("DISCONTINUED")).status == 0
    assert step(box, uid)["state"] == "DISCONTINUED"  # type: ignore[index]
    with box.db() as conn:
        syntaxes = {
            r[0]
            for r in conn.execute(
                "SELECT transfer_syntax FROM mpps_events WHERE sop_instance_uid = ?", (uid,)
            )
        }
    assert syntaxes == {syntax}


def test_scu_without_uid_gets_one(box: Box, modality_factory: Callable[..., Modality]) -> None:
    modality = modality_factory(box)
    created = modality.create(create_ds(), None)
    assert created.status == 0
    assert created.uid.startswith("2.25.")
    assert step(box, created.uid) is not None
    assert modality.set(created.uid, set_ds("COMPLETED")).status == 0
    assert step(box, created.uid)["state"] == "COMPLETED"  # type: ignore[index]


def test_duplicate_create(box: Box, modality_factory: Callable[..., Modality]) -> None:
    modality = modality_factory(box)
    uid = generate_uid()
    assert modality.create(create_ds(), uid).status == 0
    again = modality.create(create_ds(), uid)
    assert again.status == 0x0111
    assert events(box, uid) == ["N-CREATE IN PROGRESS"]


@pytest.mark.parametrize("final", ["COMPLETED", "DISCONTINUED"])
def test_no_update_after_a_final_state(
    box: Box, modality_factory: Callable[..., Modality], final: str
) -> None:
    modality = modality_factory(box)
    uid = generate_uid()
    assert modality.create(create_ds(), uid).status == 0
    assert modality.set(uid, set_ds(final)).status == 0
    for status in ("IN PROGRESS", "COMPLETED", "DISCONTINUED", None):
        refused = modality.set(uid, set_ds(status, description="late"))
        assert (refused.status, refused.error_id) == (0x0110, 0xA710)
        assert refused.comment == "Performed Procedure Step Object may no longer be updated"
    assert step(box, uid)["state"] == final  # type: ignore[index]
    assert events(box, uid) == ["N-CREATE IN PROGRESS", f"N-SET {final}"]


def test_unknown_instance(box: Box, modality_factory: Callable[..., Modality]) -> None:
    uid = generate_uid()
    refused = modality_factory(box).set(uid, set_ds("COMPLETED"))
    assert refused.status == 0x0112
    assert step(box, uid) is None


def _without(keyword: str) -> Dataset:
    ds = create_ds()
    delattr(ds, keyword)
    return ds


def _empty(keyword: str) -> Dataset:
    ds = create_ds()
    setattr(ds, keyword, "")
    return ds


def _step_without_study() -> Dataset:
    ds = create_ds()
    del ds.ScheduledStepAttributesSequence[0].StudyInstanceUID
    return ds


@pytest.mark.parametrize(
    ("ds", "status", "named"),
    [
        (_without("PerformedProcedureStepID"), 0x0120, "PerformedProcedureStepID"),
        (_without("PerformedStationAETitle"), 0x0120, "PerformedStationAETitle"),
        (_without("PerformedProcedureStepStartDate"), 0x0120, "PerformedProcedureStepStartDate"),
        (_empty("PerformedProcedureStepStartTime"), 0x0121, "PerformedProcedureStepStartTime"),
        (_without("PerformedProcedureStepStatus"), 0x0120, "PerformedProcedureStepStatus"),
        (_without("Modality"), 0x0120, "Modality"),
        (_without("ScheduledStepAttributesSequence"), 0x0120, "ScheduledStepAttributes"),
        (_step_without_study(), 0x0120, "StudyInstanceUID"),
    ],
    ids=[
        "pps-id",
        "station-ae",
        "start-date",
        "start-time-empty",
        "status",
        "modality",
        "ssa-sequence",
        "ssa-study-uid",
    ],
)
def test_missing_type1_attribute(
    box: Box, modality_factory: Callable[..., Modality], ds: Dataset, status: int, named: str
) -> None:
    uid = generate_uid()
    refused = modality_factory(box).create(ds, uid)
    assert refused.status == status
    assert named in refused.comment
    assert step(box, uid) is None


@pytest.mark.parametrize("status", ["COMPLETED", "DISCONTINUED", "SCHEDULED"])
def test_create_must_be_in_progress(
    box: Box, modality_factory: Callable[..., Modality], status: str
) -> None:
    uid = generate_uid()
    refused = modality_factory(box).create(create_ds(status=status), uid)
    assert refused.status == 0x0106
    assert status in refused.comment
    assert step(box, uid) is None


def test_final_state_needs_end_date_and_time(
    box: Box, modality_factory: Callable[..., Modality]
) -> None:
    modality = modality_factory(box)
    uid = generate_uid()
    assert modality.create(create_ds(), uid).status == 0
    refused = modality.set(uid, set_ds("COMPLETED", end=False))
    assert refused.status == 0x0121  # present in the N-CREATE, but empty
    assert "PerformedProcedureStepEndDate" in refused.comment
    assert step(box, uid)["state"] == "IN PROGRESS"  # type: ignore[index]
    assert modality.set(uid, set_ds("COMPLETED")).status == 0


def test_n_set_only_changes_settable_attributes(
    box: Box, modality_factory: Callable[..., Modality]
) -> None:
    modality = modality_factory(box)
    uid = generate_uid()
    assert modality.create(create_ds(), uid).status == 0
    change = set_ds(None, end=False)
    change.PatientName = "Other^Name"
    refused = modality.set(uid, change)
    assert refused.status == 0x0105
    assert "PatientName" in refused.comment
    assert events(box, uid) == ["N-CREATE IN PROGRESS"]


# -- the worklist --------------------------------------------------------------------------
def test_check_off_accepts_unknown_studies(
    box: Box, modality_factory: Callable[..., Modality]
) -> None:
    uid = generate_uid()
    assert modality_factory(box, "MODALITY").create(create_ds(), uid).status == 0


@pytest.mark.parametrize("aet", sorted(CHECKS))
def test_check_by_calling_ae(box: Box, modality_factory: Callable[..., Modality], aet: str) -> None:
    study_uid = generate_uid()
    accession = f"A{generate_uid()[-12:]}"
    rpid = f"R{generate_uid()[-12:]}"
    item = add_item(
        box, StudyInstanceUID=study_uid, AccessionNumber=accession, RequestedProcedureID=rpid
    )
    modality = modality_factory(box, aet)
    known = create_ds(study_uid, accession=accession, requested_procedure_id=rpid, study_id=rpid)
    unknown = create_ds(
        generate_uid(), accession="NOPE", requested_procedure_id="NOPE", study_id="NOPE"
    )

    refused_uid = generate_uid()
    refused = modality.create(unknown, refused_uid)
    assert refused.status == 0x0112
    assert "not on the worklist" in refused.comment
    assert step(box, refused_uid) is None

    uid = generate_uid()
    assert modality.create(known, uid).status == 0
    assert item_status(box, item) == "STARTED"


def test_worklist_item_follows_the_step(
    box: Box, modality_factory: Callable[..., Modality]
) -> None:
    study_completed, study_discontinued = generate_uid(), generate_uid()
    done = add_item(box, StudyInstanceUID=study_completed)
    stopped = add_item(box, StudyInstanceUID=study_discontinued)
    modality = modality_factory(box)  # check off: linked by Study Instance UID
    first, second = generate_uid(), generate_uid()
    assert modality.create(create_ds(study_completed), first).status == 0
    assert modality.create(create_ds(study_discontinued), second).status == 0
    assert (item_status(box, done), item_status(box, stopped)) == ("STARTED", "STARTED")

    assert modality.set(first, set_ds("COMPLETED")).status == 0
    assert modality.set(second, set_ds("DISCONTINUED")).status == 0
    assert (item_status(box, done), item_status(box, stopped)) == ("COMPLETED", "DISCONTINUED")
    with box.db() as conn:
        open_items = {i.id for i in WorklistStore(conn).list(limit=100000)}
    assert done not in open_items
    assert stopped not in open_items


# -- study completion ----------------------------------------------------------------------
def _send(box: Box, files: list[Path]) -> None:
    result = storescu(box.port, files, aet="MR_SKYRA")
    assert result.returncode == 0, result.output
    assert set(result.statuses) == {0}


def _references(files: list[Path]) -> list[tuple[str, list[tuple[str, str]]]]:
    from pydicom import dcmread

    by_series: dict[str, list[tuple[str, str]]] = {}
    for path in files:
        ds = dcmread(path, stop_before_pixels=True)
        by_series.setdefault(str(ds.SeriesInstanceUID), []).append(
            (str(ds.SOPClassUID), str(ds.SOPInstanceUID))
        )
    return list(by_series.items())


def test_study_completes_at_once_when_all_instances_are_here(
    box: Box, modality_factory: Callable[..., Modality], tmp_path: Path
) -> None:
    study_uid = generate_uid()
    files = write_series(tmp_path / "s", 3, study_uid=study_uid)
    modality = modality_factory(box)
    uid = generate_uid()
    assert modality.create(create_ds(study_uid), uid).status == 0
    _send(box, files)
    assert study_state(box, study_uid) == ("receiving", [])

    assert modality.set(uid, set_ds("COMPLETED", series=_references(files))).status == 0
    # No waiting: the N-SET's own transaction completed the study.
    state, details = study_state(box, study_uid)
    assert state == "complete"
    assert details == [{"instances": 3, "rule": "mpps", "mpps": uid}]
    assert step(box, uid)["completion"] == "done"  # type: ignore[index]


def test_study_completes_when_the_last_instance_arrives(
    box: Box, modality_factory: Callable[..., Modality], tmp_path: Path
) -> None:
    study_uid = generate_uid()
    files = write_series(tmp_path / "s", 3, study_uid=study_uid)
    modality = modality_factory(box)
    uid = generate_uid()
    assert modality.create(create_ds(study_uid), uid).status == 0
    _send(box, files[:2])
    assert modality.set(uid, set_ds("COMPLETED", series=_references(files))).status == 0
    assert study_state(box, study_uid) == ("receiving", [])
    assert step(box, uid)["completion"] == "waiting"  # type: ignore[index]

    _send(box, files[2:])
    assert wait_for(lambda: study_state(box, study_uid)[0] == "complete", 10)
    assert study_state(box, study_uid)[1] == [{"instances": 3, "rule": "mpps", "mpps": uid}]


def test_discontinued_step_does_not_complete_the_study(
    box: Box, modality_factory: Callable[..., Modality], tmp_path: Path
) -> None:
    study_uid = generate_uid()
    files = write_series(tmp_path / "s", 2, study_uid=study_uid)
    modality = modality_factory(box)
    uid = generate_uid()
    assert modality.create(create_ds(study_uid), uid).status == 0
    _send(box, files)
    assert modality.set(uid, set_ds("DISCONTINUED", series=_references(files))).status == 0
    assert study_state(box, study_uid) == ("receiving", [])


# -- the relay -----------------------------------------------------------------------------
class Peer:
    """tests/mpps_peer.py as a subprocess: the RIS the box relays to."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.out = root / "peer.jsonl"
        self.log = root / "peer.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *options: str) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.mpps_peer",
                    "--port",
                    str(self.port),
                    "--out",
                    str(self.out),
                    *options,
                ],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_port(self.port)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(30)
        self.process = None

    def records(self) -> list[dict[str, Any]]:
        if not self.out.exists():
            return []
        return [json.loads(line) for line in self.out.read_text().splitlines() if line]

    def accepted(self) -> list[tuple[str, str]]:
        """(operation, uid) of every request it took (status 0), in arrival order."""
        return [(r["operation"], r["uid"]) for r in self.records() if r["status"] == 0]


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[Peer]:
    made = Peer(tmp_path)
    yield made
    if made.process is not None:
        made.kill()


def relay_box(box_factory: Callable[..., Box], peer: Peer, **mpps: Any) -> Box:
    relay = {"RIS": {"ae_title": "RIS", "host": "127.0.0.1", "port": peer.port}}
    settings = {"relay": relay, "retry_initial_seconds": 1.0, "retry_max_seconds": 2.0, **mpps}
    return box_factory({"mpps": settings, "dicom": {"dimse_timeout": 5.0}})


def outbox_states(box: Box) -> list[str]:
    with box.db() as conn:
        rows = conn.execute(
            "SELECT state FROM outbox WHERE kind = 'mpps-relay' ORDER BY id"
        ).fetchall()
    return [r[0] for r in rows]


def workload(box: Box, modality: Modality, steps: int) -> list[tuple[str, str]]:
    """Interleaved steps: every create, then progress and completion; returns what was sent."""
    sent: list[tuple[str, str]] = []
    uids = []
    for _ in range(steps):
        created = modality.create(create_ds(), None)
        assert created.status == 0
        uids.append(created.uid)
        sent.append(("N-CREATE", created.uid))
    for uid in uids:
        assert modality.set(uid, set_ds(None, end=False, description="more")).status == 0
        sent.append(("N-SET", uid))
    for uid in uids:
        assert modality.set(uid, set_ds("COMPLETED")).status == 0
        sent.append(("N-SET", uid))
    return sent


def test_relay_in_order_and_unmodified(
    box_factory: Callable[..., Box], peer: Peer, modality_factory: Callable[..., Modality]
) -> None:
    peer.start()
    box = relay_box(box_factory, peer)
    sent = workload(box, modality_factory(box), 3)
    assert wait_for(lambda: len(peer.accepted()) >= len(sent), 30), box.log()
    assert peer.accepted() == sent
    assert outbox_states(box) == ["sent"] * len(sent)

    # Byte for byte what the modality sent, in the syntax it used, from the box's AE title.
    with box.db() as conn:
        received = [
            (r[0], bytes(r[1]).hex())
            for r in conn.execute("SELECT transfer_syntax, dataset FROM mpps_events ORDER BY id")
        ]
    relayed = [(r["transfer_syntax"], r["dataset"]) for r in peer.records()]
    assert relayed == received
    assert {r["calling_ae"] for r in peer.records()} == {"KILN"}


def test_destination_down_at_first(
    box_factory: Callable[..., Box], peer: Peer, modality_factory: Callable[..., Modality]
) -> None:
    box = relay_box(box_factory, peer)
    sent = workload(box, modality_factory(box), 2)
    with box.db() as conn:
        assert wait_for(
            lambda: (
                conn.execute(
                    "SELECT last_error FROM outbox WHERE kind = 'mpps-relay' ORDER BY id LIMIT 1"
                )
                .fetchone()[0]
                .startswith("nothing listens")
            ),
            15,
        )
    assert "sent" not in outbox_states(box)
    peer.start()
    assert wait_for(lambda: outbox_states(box) == ["sent"] * len(sent), 30), box.log()
    assert peer.accepted() == sent


def test_destination_killed_mid_stream(
    box_factory: Callable[..., Box], peer: Peer, modality_factory: Callable[..., Modality]
) -> None:
    peer.start("--delay", "0.3")
    box = relay_box(box_factory, peer)
    sent = workload(box, modality_factory(box), 4)
    assert wait_for(lambda: len(peer.records()) >= 3, 30)
    peer.kill()
    taken = len(peer.accepted())
    assert taken < len(sent), "the peer took everything before it was killed"
    peer.start()
    assert wait_for(lambda: outbox_states(box) == ["sent"] * len(sent), 60), box.log()

    # Nothing lost, nothing reordered; a request in flight at the kill may come twice.
    accepted = peer.accepted()
    deduplicated = [r for i, r in enumerate(accepted) if i == 0 or accepted[i - 1] != r]
    assert deduplicated == sent
    for record in peer.records():
        assert record["status"] in (0, 0x0111)  # a re-sent N-CREATE is a duplicate


def test_box_killed_after_acknowledging(
    box_factory: Callable[..., Box], peer: Peer, modality_factory: Callable[..., Modality]
) -> None:
    box = relay_box(box_factory, peer)
    modality = modality_factory(box)
    sent = workload(box, modality, 3)
    modality.close()
    box.stop(signal.SIGKILL)
    peer.start()
    box.start()
    assert wait_for(lambda: outbox_states(box) == ["sent"] * len(sent), 30), box.log()
    assert peer.accepted() == sent


def test_outbox_cli_lists_and_retries(
    box_factory: Callable[..., Box], peer: Peer, modality_factory: Callable[..., Modality]
) -> None:
    peer.start("--refuse", "0x0106")  # a RIS that refuses every request
    box = relay_box(box_factory, peer)
    modality = modality_factory(box)
    uid = modality.create(create_ds(), None).uid
    assert modality.set(uid, set_ds("COMPLETED")).status == 0
    assert wait_for(lambda: outbox_states(box) == ["failed", "failed"], 30), box.log()

    listed = json.loads(box.run_cli("outbox", "ls", "--state", "failed", "--json").stdout)
    assert [(m["kind"], m["about"]) for m in reversed(listed)] == [
        ("mpps-relay", f"N-CREATE {uid}"),
        ("mpps-relay", f"N-SET {uid}"),
    ]
    assert "0x0106" in listed[0]["last_error"]
    shown = box.run_cli("mpps", "show", uid).stdout
    assert "relay N-CREATE to RIS: failed" in shown

    peer.kill()
    peer.start()
    retried = box.run_cli("outbox", "retry", "--all-failed")
    assert "2 message(s) due now" in retried.stdout
    assert wait_for(lambda: outbox_states(box) == ["sent", "sent"], 30), box.log()
    assert peer.accepted() == [("N-CREATE", uid), ("N-SET", uid)]

    missing = box.run_cli("outbox", "retry", "999999", check=False)
    assert missing.returncode == 1
    assert "no outbox message 999999" in missing.stderr
    sent_id = str(listed[0]["id"])
    again = box.run_cli("outbox", "retry", sent_id, check=False)
    assert again.returncode == 1
    assert "only failed or pending" in again.stderr
    usage = box.run_cli("outbox", "retry", check=False)
    assert usage.returncode == 2


def test_outbox_retry_makes_a_waiting_message_due_now(
    box_factory: Callable[..., Box], peer: Peer, modality_factory: Callable[..., Modality]
) -> None:
    box = relay_box(box_factory, peer, retry_initial_seconds=600.0, retry_max_seconds=600.0)
    uid = modality_factory(box).create(create_ds(), None).uid
    with box.db() as conn:
        assert wait_for(
            lambda: (
                conn.execute("SELECT attempts FROM outbox WHERE kind = 'mpps-relay'").fetchone()[0]
                >= 1
            ),
            15,
        )
        message_id = conn.execute("SELECT id FROM outbox WHERE kind = 'mpps-relay'").fetchone()[0]
    assert outbox_states(box) == ["pending"]
    peer.start()
    # Left alone it would wait ten minutes; the retry makes it go now.
    box.run_cli("outbox", "retry", str(message_id))
    assert wait_for(lambda: outbox_states(box) == ["sent"], 15), box.log()
    assert peer.accepted() == [("N-CREATE", uid)]
