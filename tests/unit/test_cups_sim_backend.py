"""The kilnsim backend run in-process (cupsd runs it the same way, as a program): what it
stores, what it tells cupsd on stderr, and its exit codes. Addresses of paper printers."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from drivers.cups_printer.address import AddressKind, BadAddress, parse_address
from drivers.cups_printer.sim_backend import (
    CUPS_BACKEND_CANCEL,
    CUPS_BACKEND_OK,
    CUPS_BACKEND_RETRY,
    CUPS_BACKEND_STOP,
    FAULTS_FILE,
    Faults,
    device_uri,
    output_folder,
    parse_options,
    read_faults,
    run,
    write_faults,
)
from drivers.cups_printer.transport import CupsServer

OPTIONS = "finishings=3 InputSlot=tray2 media=A4 job-uuid=urn:uuid:1 document-name-supplied=p.pdf"


def _run(folder: Path, document: Path, faults: Faults | None = None) -> tuple[int, str]:
    if faults is not None:
        write_faults(folder, faults)
    stderr = io.StringIO()
    env = {"DEVICE_URI": device_uri(folder), "CONTENT_TYPE": "application/pdf", "PRINTER": "p"}
    argv = [device_uri(folder), "12", "root", "Film 1", "2", OPTIONS, str(document)]
    code = run(argv, io.BytesIO(), stderr, env)
    return code, stderr.getvalue()


@pytest.fixture
def document(tmp_path: Path) -> Path:
    path = tmp_path / "d00012-001"
    path.write_bytes(b"%PDF-1.4 a page")
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    out = tmp_path / "out put"  # a space: the device URI quotes it
    out.mkdir()
    return out


def test_a_job_is_stored_with_its_options(folder: Path, document: Path) -> None:
    code, said = _run(folder, document)
    assert code == CUPS_BACKEND_OK
    assert (folder / "job-12.pdf").read_bytes() == b"%PDF-1.4 a page"
    record = json.loads((folder / "job-12.json").read_text())
    assert record["title"] == "Film 1"
    assert record["copies"] == 2
    assert record["options"]["media"] == "A4"
    assert record["options"]["InputSlot"] == "tray2"
    assert record["document_format"] == "application/pdf"
    assert "STATE: -media-empty-error" in said  # a past fault is taken back


def test_paper_out_stops_the_queue_and_stores_nothing(folder: Path, document: Path) -> None:
    code, said = _run(folder, document, Faults(paper_out=True))
    assert code == CUPS_BACKEND_STOP
    assert "STATE: +media-empty-error" in said
    assert not list(folder.glob("job-*"))


def test_toner_empty_stops_the_queue(folder: Path, document: Path) -> None:
    code, said = _run(folder, document, Faults(toner_empty=True))
    assert code == CUPS_BACKEND_STOP
    assert "toner-empty-error" in said


def test_offline_asks_to_retry_after_waiting(folder: Path, document: Path) -> None:
    code, said = _run(folder, document, Faults(offline=True, offline_wait=0.0))
    assert code == CUPS_BACKEND_RETRY
    assert "STATE: +offline-report" in said


def test_toner_low_prints_with_a_warning(folder: Path, document: Path) -> None:
    code, said = _run(folder, document, Faults(toner_low=True, toner_level=4))
    assert code == CUPS_BACKEND_OK
    assert "STATE: +toner-low-warning" in said
    assert "marker-levels=4" in said
    assert (folder / "job-12.json").exists()


def test_a_refused_document_cancels_the_job(folder: Path, document: Path) -> None:
    code, _ = _run(folder, document, Faults(fail_job=True))
    assert code == CUPS_BACKEND_CANCEL


def test_without_arguments_it_lists_its_device_kind() -> None:
    assert run(["kilnsim"], io.BytesIO(), io.StringIO(), {}) == CUPS_BACKEND_OK


def test_faults_file_is_read_leniently(folder: Path) -> None:
    assert read_faults(folder) == Faults()
    (folder / FAULTS_FILE).write_text("not json")
    assert read_faults(folder) == Faults()
    (folder / FAULTS_FILE).write_text(
        json.dumps({"paper_out": True, "slow": 2, "toner_level": 7, "jam": "yes", "x": 1})
    )
    assert read_faults(folder) == Faults(paper_out=True, slow=2.0, toner_level=7)


def test_options_and_uri() -> None:
    assert parse_options("media=A4 'job-name=a b' nocollate fit-to-page") == {
        "media": "A4",
        "job-name": "a b",
        "collate": "false",
        "fit-to-page": "true",
    }
    assert output_folder("kilnsim:///var/x%20y") == Path("/var/x y")
    with pytest.raises(ValueError):
        output_folder("usb://HP/LaserJet")


@pytest.mark.parametrize(
    ("text", "kind", "queue", "server"),
    [
        ("cups:office", AddressKind.CUPS, "office", CupsServer()),
        ("cups://printhost:8631/office", AddressKind.CUPS, "office", CupsServer("printhost", 8631)),
        ("cups://localhost/office", AddressKind.CUPS, "office", CupsServer("localhost", 631)),
        ("cups://localhost:631/printers/office", AddressKind.CUPS, "office", None),
        ("sim://paper-1", AddressKind.SIM, "paper-1", CupsServer()),
        ("sim:paper-1", AddressKind.SIM, "paper-1", CupsServer()),
        ("sim://", AddressKind.SIM, "kiln-paper", CupsServer()),
    ],
)
def test_addresses(text: str, kind: AddressKind, queue: str, server: CupsServer | None) -> None:
    address = parse_address(text)
    assert (address.kind, address.queue) == (kind, queue)
    if server is not None:
        assert address.server == server
    assert parse_address(str(address)) == address


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("ipp://host/printers/x", "not a paper printer address"),
        ("cups://host:99999/x", "port"),
        ("cups://host/bad name", "not a queue name"),
        ("cups:", "not a queue name"),
        ("cups://host/x?y=1", "no ?query"),
    ],
)
def test_bad_addresses(text: str, complaint: str) -> None:
    with pytest.raises(BadAddress, match=complaint.replace("?", r"\?")):
        parse_address(text)
