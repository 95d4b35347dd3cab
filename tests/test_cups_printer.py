"""The paper printer driver against a real cupsd: Kiln's private cupsd on loopback, its
virtual printers backed by the fault-injecting kilnsim backend (tier 3: a driver against
its simulator, which here is the real CUPS scheduler).

One cupsd serves the module; each test gets a queue of its own, so a fault or a stopped
queue never leaks into the next test.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from drivers.cups_printer.address import open_paper_printer
from drivers.cups_printer.driver import PaperOptions, PaperPrinter
from drivers.cups_printer.errors import JobRefused, PrinterUnreachable, QueueMissing
from drivers.cups_printer.private_cupsd import PrivateCupsd, find_cupsd
from drivers.cups_printer.protocol import (
    FAILURE,
    NORMAL,
    WARNING,
    DicomPrinterStatus,
    JobReport,
    JobState,
    PrinterState,
    Reason,
)
from drivers.cups_printer.transport import CupsServer, CupsTransport
from statemachines.paper_printer import (
    PaperPrinterEvent,
    PaperPrinterMachine,
    PaperPrinterState,
    event_for_error,
    event_for_job,
    event_for_status,
)

E, S = PaperPrinterEvent, PaperPrinterState
JOB_TIMEOUT = 20.0  # a job through cupsd takes well under a second; retries take seconds


@pytest.fixture(scope="module")
def cupsd() -> Iterator[PrivateCupsd]:
    find_cupsd()  # cupsd is installed by scripts/test (cups-daemon): fail, never skip
    with PrivateCupsd.temporary(queues=("first",), retry_interval=1) as server:
        yield server


_numbers = itertools.count(1)


@pytest.fixture
def queue(cupsd: PrivateCupsd) -> str:
    name = f"paper-{next(_numbers)}"
    cupsd.add_queue(name)
    return name


@pytest.fixture
def printer(cupsd: PrivateCupsd, queue: str) -> PaperPrinter:
    return PaperPrinter(cupsd.transport(timeout=5.0), queue, PaperOptions({"media": "A4"}))


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-page PDF, as the film composition makes them."""
    path = tmp_path_factory.mktemp("page") / "film.pdf"
    image = Image.new("L", (595, 842), 255)
    ImageDraw.Draw(image).rectangle((50, 50, 545, 792), outline=0, width=4)
    image.save(path, "PDF", resolution=72.0)
    return path


def wait_for(what: str, check: Callable[[], bool], timeout: float = JOB_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.05)


def finished(printer: PaperPrinter, job_id: int) -> JobReport:
    return printer.wait(job_id, lambda r: r.finished, JOB_TIMEOUT, interval=0.05)


def test_a_page_prints_with_its_options(
    cupsd: PrivateCupsd, queue: str, printer: PaperPrinter, page: Path
) -> None:
    machine = PaperPrinterMachine(queue)
    machine.fire(event_for_status(printer.status()))
    assert machine.state is S.IDLE

    job_id = printer.submit(page, "CT 4x5 film 1", {"copies": "2", "InputSlot": "tray2"})
    machine.fire(E.JOB_SUBMITTED)
    report = finished(printer, job_id)
    assert report.state is JobState.COMPLETED
    event = event_for_job(report)
    assert event is E.JOB_DONE
    machine.fire(event)
    assert machine.state is S.IDLE

    [printed] = cupsd.printed(queue)
    assert printed.job_id == job_id
    assert printed.title == "CT 4x5 film 1"
    assert printed.copies == 2
    assert printed.options["media"] == "A4"
    assert printed.options["InputSlot"] == "tray2"
    assert printed.record["document_format"] == "application/pdf"
    assert printed.document.read_bytes() == page.read_bytes()
    assert printer.dicom_status() == DicomPrinterStatus(NORMAL, "NORMAL")


def test_paper_out_stops_the_queue_until_paper_is_loaded_and_it_is_resumed(
    cupsd: PrivateCupsd, queue: str, printer: PaperPrinter, page: Path
) -> None:
    machine = PaperPrinterMachine(queue, S.IDLE)
    cupsd.inject("paper_out", queue=queue)
    job_id = printer.submit(page, "film")
    machine.fire(E.JOB_SUBMITTED)

    job = printer.wait(job_id, lambda r: r.waiting_for_printer, JOB_TIMEOUT, interval=0.05)
    assert job.state is JobState.PENDING
    assert "printer-stopped" in job.reasons
    status = printer.status()
    assert status.state is PrinterState.STOPPED
    assert Reason.MEDIA_EMPTY in {r.reason for r in status.blocking}
    assert printer.dicom_status() == DicomPrinterStatus(FAILURE, "EMPTY A4 PAPR")
    assert machine.fire(event_for_status(status, job)) is S.STOPPED
    assert cupsd.printed(queue) == []

    # Paper loaded; after the hold time the owner resumes the queue and looks again.
    cupsd.clear_faults(queue)
    assert machine.fire(E.RETRY_TIMEOUT) is S.UNKNOWN
    printer.resume()
    report = finished(printer, job_id)
    assert report.state is JobState.COMPLETED
    assert machine.fire(event_for_status(printer.status(), report)) is S.IDLE
    assert [p.job_id for p in cupsd.printed(queue)] == [job_id]
    assert printer.dicom_status() == DicomPrinterStatus(NORMAL, "NORMAL")


def test_toner_low_is_a_warning_while_printing_goes_on(
    cupsd: PrivateCupsd, queue: str, printer: PaperPrinter, page: Path
) -> None:
    cupsd.inject("toner_low", queue=queue, slow=1.0, toner_level=4)
    job_id = printer.submit(page, "film")
    job = printer.wait(job_id, lambda r: r.state is JobState.PROCESSING, JOB_TIMEOUT, 0.05)
    wait_for("toner low reported", lambda: bool(printer.status().warnings))

    status = printer.status()
    assert [r.reason for r in status.warnings] == [Reason.TONER_LOW]
    assert status.blocking == ()
    assert status.marker_levels == (4,)
    assert event_for_status(status, job) is E.STATUS_BUSY
    assert printer.dicom_status() == DicomPrinterStatus(WARNING, "SUPPLY LOW")

    assert finished(printer, job_id).state is JobState.COMPLETED
    assert printer.dicom_status() == DicomPrinterStatus(WARNING, "SUPPLY LOW")  # still low
    assert event_for_status(printer.status()) is E.STATUS_READY


def test_an_offline_printer_holds_the_job_until_it_is_back(
    cupsd: PrivateCupsd, queue: str, printer: PaperPrinter, page: Path
) -> None:
    cupsd.inject("offline", queue=queue, offline_wait=60.0)
    job_id = printer.submit(page, "film")
    wait_for(
        "offline reported",
        lambda: Reason.OFFLINE in {r.reason for r in printer.status().reasons},
    )
    machine = PaperPrinterMachine(queue, S.PRINTING)
    machine.fire(event_for_status(printer.status(), printer.job(job_id)))
    assert machine.state is S.OFFLINE
    assert printer.dicom_status() == DicomPrinterStatus(FAILURE, "PRINTER DOWN")

    cupsd.clear_faults(queue)
    assert finished(printer, job_id).state is JobState.COMPLETED
    assert printer.dicom_status() == DicomPrinterStatus(NORMAL, "NORMAL")


def test_an_offline_printer_that_stays_away_is_retried_by_cups(
    cupsd: PrivateCupsd, queue: str, printer: PaperPrinter, page: Path
) -> None:
    """The backend gives up (CUPS_BACKEND_RETRY): cupsd holds the job and tries again
    after JobRetryInterval; the queue itself looks idle meanwhile."""
    cupsd.inject("offline", queue=queue, offline_wait=0.0)
    job_id = printer.submit(page, "film")
    job = printer.wait(job_id, lambda r: r.state is JobState.HELD, JOB_TIMEOUT, 0.05)
    assert "resources-are-not-ready" in job.reasons
    assert job.waiting_for_printer
    assert event_for_status(printer.status(), job) is E.STATUS_OFFLINE

    cupsd.clear_faults(queue)
    assert finished(printer, job_id).state is JobState.COMPLETED
    assert len(cupsd.printed(queue)) == 1


def test_a_jam_holds_the_job_in_the_printer_until_cleared(
    cupsd: PrivateCupsd, queue: str, printer: PaperPrinter, page: Path
) -> None:
    cupsd.inject("jam", queue=queue)
    job_id = printer.submit(page, "film")
    wait_for(
        "jam reported",
        lambda: Reason.MEDIA_JAM in {r.reason for r in printer.status().blocking},
    )
    job = printer.job(job_id)
    assert job.state is JobState.PROCESSING
    assert event_for_status(printer.status(), job) is E.STATUS_STOPPED
    assert printer.dicom_status() == DicomPrinterStatus(FAILURE, "FILM JAM")

    cupsd.clear_faults(queue)
    assert finished(printer, job_id).state is JobState.COMPLETED
    assert printer.status().reasons == ()


def test_a_job_can_be_cancelled(
    cupsd: PrivateCupsd, queue: str, printer: PaperPrinter, page: Path
) -> None:
    cupsd.inject(queue=queue, slow=30.0)
    job_id = printer.submit(page, "film")
    printer.wait(job_id, lambda r: r.state is JobState.PROCESSING, JOB_TIMEOUT, 0.05)
    printer.cancel(job_id)
    report = finished(printer, job_id)
    assert report.state is JobState.CANCELED
    assert event_for_job(report) is E.JOB_FAILED
    printer.cancel(job_id)  # an ended job: nothing to do
    assert cupsd.printed(queue) == []


def test_a_document_the_printer_refuses_aborts_the_job(
    cupsd: PrivateCupsd, queue: str, printer: PaperPrinter, page: Path
) -> None:
    cupsd.inject("fail_job", queue=queue)
    job_id = printer.submit(page, "film")
    report = finished(printer, job_id)
    assert report.state in (JobState.CANCELED, JobState.ABORTED)
    assert event_for_job(report) is E.JOB_FAILED
    assert printer.status().state is not PrinterState.STOPPED  # the printer is fine


def test_a_rejecting_queue_refuses_jobs_and_reports_failure(
    cupsd: PrivateCupsd, queue: str, printer: PaperPrinter, page: Path
) -> None:
    cupsd.transport().reject(queue)
    with pytest.raises(JobRefused, match="not accepting jobs") as refused:
        printer.submit(page, "film")
    assert event_for_error(refused.value) is E.JOB_FAILED
    assert event_for_status(printer.status()) is E.STATUS_STOPPED
    assert printer.dicom_status() == DicomPrinterStatus(FAILURE, "PRINTER OFFLINE")


def test_an_unknown_queue_is_queue_missing(cupsd: PrivateCupsd, page: Path) -> None:
    printer = PaperPrinter(cupsd.transport(), "no-such-queue")
    with pytest.raises(QueueMissing, match="no printer queue named 'no-such-queue'") as missing:
        printer.status()
    assert event_for_error(missing.value) is E.UNREACHABLE
    with pytest.raises(QueueMissing):
        printer.submit(page, "film")
    with pytest.raises(QueueMissing):
        printer.resume()


def test_a_missing_document_is_refused_before_cups(printer: PaperPrinter, tmp_path: Path) -> None:
    with pytest.raises(JobRefused, match="does not exist or is unreadable"):
        printer.submit(tmp_path / "nothing.pdf", "film")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_no_cupsd_is_printer_unreachable(page: Path) -> None:
    transport = CupsTransport(CupsServer("127.0.0.1", _free_port()), timeout=5.0)
    printer = PaperPrinter(transport, "paper", PaperOptions(retry_pause=0.01))
    started = time.monotonic()
    with pytest.raises(PrinterUnreachable, match="does not answer") as unreachable:
        printer.status()
    assert time.monotonic() - started < 5.0
    assert event_for_error(unreachable.value) is E.UNREACHABLE
    with pytest.raises(PrinterUnreachable):
        printer.submit(page, "film")


def test_a_cupsd_that_never_answers_times_out() -> None:
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = int(silent.getsockname()[1])
        transport = CupsTransport(CupsServer("127.0.0.1", port), timeout=0.5)
        printer = PaperPrinter(transport, "paper", PaperOptions(read_retries=1, retry_pause=0))
        started = time.monotonic()
        with pytest.raises(PrinterUnreachable, match=r"within 0\.5 s"):
            printer.status()
        assert time.monotonic() - started < 3.0


def test_the_private_cupsd_stops_cleanly_and_the_address_selects_it(
    tmp_path: Path, page: Path
) -> None:
    opened = open_paper_printer("sim://lobby", sim_root=tmp_path)
    simulator = opened.simulator
    assert simulator is not None
    pid = simulator.pid
    assert pid is not None
    job_id = opened.printer.submit(page, "film")
    assert finished(opened.printer, job_id).state is JobState.COMPLETED
    assert (tmp_path / "lobby" / "output" / "lobby" / f"job-{job_id}.pdf").exists()
    opened.close()
    assert not simulator.running
    assert not Path(f"/proc/{pid}").exists()  # ended and reaped
    with pytest.raises(PrinterUnreachable):
        opened.printer.status()

    # Started again on the same folder, the queue and its history are still there.
    again = open_paper_printer("sim://lobby", sim_root=tmp_path)
    try:
        assert again.printer.job(job_id).state is JobState.COMPLETED
    finally:
        again.close()


def test_the_private_cupsd_runs_as_an_unprivileged_user(
    request: pytest.FixtureRequest, page: Path
) -> None:
    """A developer's box: cupsd, the backend and all files belong to an ordinary user.
    Run as root (CI), the child process is made `nobody` first."""
    home = Path(tempfile.mkdtemp(prefix="kiln-cupsd-user-"))  # pytest's tmp is root-only
    request.addfinalizer(lambda: shutil.rmtree(home, ignore_errors=True))
    (home / "film.pdf").write_bytes(page.read_bytes())
    become: list[str] = []
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        for path in (home, home / "film.pdf"):
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
        become = [
            "setpriv",
            f"--reuid={nobody.pw_uid}",
            f"--regid={nobody.pw_gid}",
            "--clear-groups",
        ]
    script = textwrap.dedent(
        f"""
        import os, sys
        from pathlib import Path
        from drivers.cups_printer.driver import PaperPrinter
        from drivers.cups_printer.private_cupsd import PrivateCupsd
        assert os.geteuid() != 0
        with PrivateCupsd.temporary() as cupsd:
            printer = PaperPrinter(cupsd.transport(), cupsd.queues[0])
            job = printer.submit(Path({str(home / "film.pdf")!r}), "film")
            report = printer.wait(job, lambda r: r.finished, 20.0, 0.05)
            [printed] = cupsd.printed()
            print(report.state.name, printed.document.stat().st_uid, os.geteuid())
        """
    )
    result = subprocess.run(
        [*become, sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[1],
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(home), "TMPDIR": str(home)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    state, owner, user = result.stdout.split()
    assert state == "COMPLETED"
    assert owner == user != "0"
