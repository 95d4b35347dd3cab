"""The upstream RIS cache, with DCMTK wlmscpfs as the RIS worklist SCP.

Kiln queries wlmscpfs on a schedule; findscu then queries Kiln. With wlmscpfs stopped,
Kiln keeps answering from its cache; a step removed upstream leaves the cache at the
next refresh.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from tests.conftest import Box, free_port, wait_for, wait_port
from tests.dcmtk import ENV
from tests.worklist_peer import findscu

RIS_AE = "RIS"


def _wl_file(path: Path, pid: str, name: str, modality: str, day: str) -> None:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientID = pid
    ds.PatientName = name
    ds.PatientBirthDate = "19750505"
    ds.PatientSex = "M"
    ds.AccessionNumber = f"A{pid}"
    ds.RequestedProcedureID = f"RP{pid}"
    ds.RequestedProcedureDescription = "Upstream procedure"
    ds.StudyInstanceUID = generate_uid()
    ds.ReferringPhysicianName = "WHO^DR"
    step = Dataset()
    step.Modality = modality
    step.ScheduledStationAETitle = "MR1"
    step.ScheduledProcedureStepStartDate = day
    step.ScheduledProcedureStepStartTime = "101500"
    step.ScheduledProcedureStepID = f"S{pid}"
    step.ScheduledProcedureStepDescription = "From the RIS"
    code = Dataset()
    code.CodeValue = "PX1"
    code.CodingSchemeDesignator = "RIS"
    code.CodeMeaning = "Protocol one"
    step.ScheduledProtocolCodeSequence = [code]
    ds.ScheduledProcedureStepSequence = [step]
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.save_as(path, enforce_file_format=False, implicit_vr=False, little_endian=True)


@pytest.fixture
def ris(tmp_path: Path) -> Iterator[tuple[Path, int, Callable[[], subprocess.Popen[bytes]]]]:
    root = tmp_path / "wl"
    (root / RIS_AE).mkdir(parents=True)
    (root / RIS_AE / "lockfile").touch()
    port = free_port()
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            ["/usr/bin/wlmscpfs", "-dfp", str(root), str(port)],
            env=ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        wait_port(port)
        return process

    yield root / RIS_AE, port, start
    for process in started:
        if process.poll() is None:
            process.terminate()
            process.wait(10)


def _ids(box: Box) -> list[str]:
    return sorted(
        str(r.PatientID) for r in findscu(box.port, ["PatientID", "PatientName"]).responses
    )


def test_upstream_items_are_cached_and_served_while_the_ris_is_down(
    box_factory: Callable[..., Box],
    ris: tuple[Path, int, Callable[[], subprocess.Popen[bytes]]],
) -> None:
    folder, port, start = ris
    today = date.today().strftime("%Y%m%d")
    _wl_file(folder / "one.wl", "U1", "NORDIC^ÅSA", "MR", today)
    _wl_file(folder / "two.wl", "U2", "SECOND^SAM", "MR", today)
    _wl_file(folder / "old.wl", "U3", "OLD^OLGA", "MR", "20000101")  # outside the window
    process = start()
    upstream = {"ae_title": RIS_AE, "host": "127.0.0.1", "port": port, "interval_seconds": 5}
    box = box_factory({"worklist": {"upstream": upstream}})
    assert wait_for(lambda: _ids(box) == ["U1", "U2"], 30)
    first = findscu(box.port, ["PatientID=U1", "PatientName", "ScheduledProcedureStepSequence"])
    answer = first.responses[0]
    assert str(answer.PatientName) == "NORDIC^ÅSA"
    step = answer.ScheduledProcedureStepSequence[0]
    assert step.ScheduledProtocolCodeSequence[0].CodeMeaning == "Protocol one"

    process.terminate()
    process.wait(10)
    assert wait_for(lambda: "upstream worklist not refreshed" in box.log(), 30)
    assert _ids(box) == ["U1", "U2"]  # the modality keeps its worklist
    assert wait_for(lambda: "last error: nothing listens" in box.run_cli("status").stdout, 15)

    (folder / "two.wl").unlink()
    start()
    assert wait_for(lambda: _ids(box) == ["U1"], 30)
    listed = box.run_cli("worklist", "ls").stdout
    assert "NORDIC^ÅSA" in listed and "SECOND" not in listed
