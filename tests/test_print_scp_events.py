"""Tier 4: Printer and Print Job N-EVENT-REPORTs to the Print SCUs that take them.

DCMTK's dcmprscu takes N-EVENT-REPORTs: it reads one that arrives while it waits for a
response, answers Success and, with -d, logs it. It is the peer for the Printer event.
It proposes no Print Job presentation context, so it can be sent no Print Job event,
and it always answers Success: pynetdicom stands in for the Print Job events and for
an SCU that answers an event with a failure, which no third-party SCU does.
"""

from __future__ import annotations

import queue
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE, evt
from pynetdicom.association import Association
from pynetdicom.dimse_primitives import N_EVENT_REPORT

from appliance.printing.backend import ExecutionStatus, PrinterReport, PrinterStatus
from appliance.printing.scp.uids import (
    FILM_BOX,
    FILM_SESSION,
    GRAYSCALE_IMAGE_BOX,
    GRAYSCALE_META,
    PRINT_JOB,
    PRINTER,
    PRINTER_INSTANCE,
)
from tests.print_acceptor import (
    FILM_AE,
    NORMAL_PRINTER,
    Acceptor,
    RecordingBackend,
    print_acceptor,
)
from tests.print_dcmtk import PrintClient, ramp_image

SCU_AE = "PYNETSCU"
DCMTK_AE = "DCMPSPRT"  # the calling AE title tests/print_dcmtk.py configures
OUT_OF_FILM = replace(NORMAL_PRINTER, status=PrinterStatus.FAILURE, status_info="SUPPLY EMPTY")


@dataclass(frozen=True)
class Heard:
    """An N-EVENT-REPORT the SCU received."""

    sop_class: str
    instance: str
    event_type: int
    information: Dataset


class Listener:
    """pynetdicom's side of the N-EVENT-REPORTs: keeps each and answers `status`."""

    def __init__(self, status: int = 0x0000) -> None:
        self.status = status
        self.heard: queue.Queue[Heard] = queue.Queue()

    def __call__(self, event: evt.Event) -> tuple[int, None]:
        request = event.request
        assert isinstance(request, N_EVENT_REPORT)
        self.heard.put(
            Heard(
                str(request.AffectedSOPClassUID),
                str(request.AffectedSOPInstanceUID),
                int(request.EventTypeID or 0),
                event.event_information,
            )
        )
        return self.status, None

    def next(self, timeout: float = 5.0) -> Heard:
        heard = self.heard.get(timeout=timeout)
        time.sleep(0.05)  # the answer leaves pynetdicom's reactor before the next request
        return heard

    def nothing(self, wait: float = 2.5) -> None:
        """No event within `wait` seconds (the box looks at least once a second)."""
        try:
            heard = self.heard.get(timeout=wait)
        except queue.Empty:
            return
        raise AssertionError(f"unexpected N-EVENT-REPORT {heard}")


@contextmanager
def associate(acceptor: Acceptor, listener: Listener) -> Iterator[Association]:
    ae = AE(ae_title=SCU_AE)
    for uid in (GRAYSCALE_META, PRINT_JOB, PRINTER):
        ae.add_requested_context(uid)
    assoc = ae.associate(
        "127.0.0.1",
        acceptor.port,
        ae_title=FILM_AE,
        evt_handlers=[(evt.EVT_N_EVENT_REPORT, listener)],
    )
    assert assoc.is_established
    try:
        yield assoc
    finally:
        assoc.release()


def film_session(assoc: Association, label: str = "KNEE") -> str:
    ds = Dataset()
    ds.NumberOfCopies = 1
    ds.MediumType = "BLUE FILM"
    ds.FilmSessionLabel = label
    uid = generate_uid()
    status, _ = assoc.send_n_create(ds, FILM_SESSION, uid, meta_uid=GRAYSCALE_META)
    assert status.Status == 0, status
    return uid


def film_box(assoc: Association, session_uid: str) -> str:
    """A STANDARD\\1,1 film box with its image set."""
    ds = Dataset()
    ds.ImageDisplayFormat = "STANDARD\\1,1"
    ds.FilmSizeID = "8INX10IN"
    reference = Dataset()
    reference.ReferencedSOPClassUID = FILM_SESSION
    reference.ReferencedSOPInstanceUID = session_uid
    ds.ReferencedFilmSessionSequence = [reference]
    uid = generate_uid()
    status, reply = assoc.send_n_create(ds, FILM_BOX, uid, meta_uid=GRAYSCALE_META)
    assert status.Status == 0, status
    assert reply is not None
    (box,) = reply.ReferencedImageBoxSequence
    image = Dataset()
    image.SamplesPerPixel = 1
    image.PhotometricInterpretation = "MONOCHROME2"
    image.Rows, image.Columns = 4, 6
    image.BitsAllocated, image.BitsStored, image.HighBit = 8, 8, 7
    image.PixelRepresentation = 0
    image.PixelData = bytes(range(24))
    ds = Dataset()
    ds.ImageBoxPosition = 1
    ds.BasicGrayscaleImageSequence = [image]
    status, _ = assoc.send_n_set(
        ds, GRAYSCALE_IMAGE_BOX, box.ReferencedSOPInstanceUID, meta_uid=GRAYSCALE_META
    )
    assert status.Status == 0, status
    return uid


def print_box(assoc: Association, box_uid: str) -> tuple[int, str]:
    """N-ACTION on the film box: its status and the Print Job UID it answered."""
    status, reply = assoc.send_n_action(None, 1, FILM_BOX, box_uid, meta_uid=GRAYSCALE_META)
    assert reply is not None
    return int(status.Status), str(reply[0x21000500].value[0].ReferencedSOPInstanceUID)


def printer_get(assoc: Association) -> None:
    status, _ = assoc.send_n_get([], PRINTER, PRINTER_INSTANCE, meta_uid=GRAYSCALE_META)
    assert status.Status == 0


# -- pynetdicom as the SCU ---------------------------------------------------------------
def test_listed_scu_hears_printer_failure_and_its_job(tmp_path: Path) -> None:
    backend = RecordingBackend(status=OUT_OF_FILM)
    listener = Listener()
    with (
        print_acceptor(tmp_path, backend, event_report_aes=(SCU_AE,)) as acceptor,
        associate(acceptor, listener) as assoc,
    ):
        printer_get(assoc)
        listener.nothing(0.5)  # nothing before a film session starts
        session = film_session(assoc)
        heard = listener.next()
        assert (heard.sop_class, heard.instance) == (PRINTER, PRINTER_INSTANCE)
        assert heard.event_type == 3  # FAILURE
        assert heard.information.PrinterStatusInfo == "SUPPLY EMPTY"
        assert heard.information.PrinterName == "film"

        status, job = print_box(assoc, film_box(assoc, session))
        assert status == 0x0000
        heard = listener.next()
        assert (heard.sop_class, heard.instance, heard.event_type) == (PRINT_JOB, job, 1)
        assert heard.information.ExecutionStatusInfo == "QUEUED"
        assert heard.information.FilmSessionLabel == "KNEE"
        assert heard.information.PrinterName == "film"

        # Changes while the association is quiet: no request needed.
        backend.status = NORMAL_PRINTER
        heard = listener.next()
        assert (heard.sop_class, heard.event_type) == (PRINTER, 1)
        assert "PrinterStatusInfo" not in heard.information
        with backend.lock:
            backend.job_states[job] = (ExecutionStatus.PRINTING, "NORMAL")
        heard = listener.next()
        assert (heard.instance, heard.event_type) == (job, 2)
        # ...and seen at the next request too.
        with backend.lock:
            backend.job_states[job] = (ExecutionStatus.DONE, "NORMAL")
        printer_get(assoc)
        heard = listener.next()
        assert (heard.instance, heard.event_type) == (job, 3)
        assert heard.information.ExecutionStatusInfo == "NORMAL"
        listener.nothing(1.5)  # a DONE job is not watched any more
    assert [r.job_uid for r in backend.enqueued] == [job]


def test_unlisted_scu_hears_nothing(tmp_path: Path) -> None:
    backend = RecordingBackend(status=OUT_OF_FILM)
    listener = Listener()
    with (
        print_acceptor(tmp_path, backend, event_report_aes=("OTHER",)) as acceptor,
        associate(acceptor, listener) as assoc,
    ):
        session = film_session(assoc)
        status, job = print_box(assoc, film_box(assoc, session))
        assert status == 0x0000
        backend.status = NORMAL_PRINTER
        with backend.lock:
            backend.job_states[job] = (ExecutionStatus.DONE, "NORMAL")
        listener.nothing(2.5)
    assert [r.job_uid for r in backend.enqueued] == [job]


def test_an_scu_refusing_the_event_keeps_its_print(tmp_path: Path) -> None:
    backend = RecordingBackend()
    listener = Listener(status=0x0110)  # Processing Failure for every event
    with (
        print_acceptor(tmp_path, backend, event_report_aes=(SCU_AE,)) as acceptor,
        associate(acceptor, listener) as assoc,
    ):
        session = film_session(assoc)
        listener.nothing(0.5)  # the printer is NORMAL: nothing to say
        status, job = print_box(assoc, film_box(assoc, session))
        assert status == 0x0000  # the N-ACTION's answer is not the event's
        heard = listener.next()
        assert (heard.instance, heard.event_type) == (job, 1)
        # The association goes on, and so do the reports.
        with backend.lock:
            backend.job_states[job] = (ExecutionStatus.FAILURE, "SUPPLY EMPTY")
        heard = listener.next()
        assert (heard.instance, heard.event_type) == (job, 4)
        assert heard.information.ExecutionStatusInfo == "SUPPLY EMPTY"
        printer_get(assoc)
    assert assoc.is_released
    assert [r.job_uid for r in backend.enqueued] == [job]


class BrokenPrinterBackend(RecordingBackend):
    def printer(self, called_ae: str) -> PrinterReport:
        raise RuntimeError("the status table is locked")


def test_a_failing_look_costs_the_scu_nothing(tmp_path: Path) -> None:
    """The printer's state cannot be read for the event: every answer still goes out."""
    backend = BrokenPrinterBackend()
    listener = Listener()
    with (
        print_acceptor(tmp_path, backend, event_report_aes=(SCU_AE,)) as acceptor,
        associate(acceptor, listener) as assoc,
    ):
        session = film_session(assoc)
        status, job = print_box(assoc, film_box(assoc, session))
        assert status == 0x0000
    assert assoc.is_released
    assert [r.job_uid for r in backend.enqueued] == [job]


# -- DCMTK's dcmprscu as the SCU ---------------------------------------------------------
_EVENT = re.compile(
    r"Message Type\s+: N-EVENT-REPORT RQ.*?Affected SOP Class UID\s+: (?P<cls>\S+)"
    r".*?Event Type ID\s+: (?P<type>\d+)",
    re.S,
)


def dcmprscu_events(output: str) -> list[tuple[str, int, str]]:
    """(SOP class, Event Type ID, the message's text) of each N-EVENT-REPORT it logged."""
    found = []
    for block in output.split("INCOMING DIMSE MESSAGE")[1:]:
        match = _EVENT.search(block)
        if match:
            found.append((match["cls"], int(match["type"]), block))
    return found


def dcmtk_print(tmp_path: Path, acceptor: Acceptor) -> tuple[int, str]:
    client = PrintClient(tmp_path / "dcmtk", acceptor.port, FILM_AE)
    client.write()
    stored = client.render([ramp_image(tmp_path / "ramp.dcm", 8)], "--layout", "1", "1")
    sent = client.send(stored, "--medium-type", "BLUE FILM")
    return sent.returncode, sent.output


def test_dcmprscu_listed_hears_printer_failure(tmp_path: Path) -> None:
    backend = RecordingBackend(status=OUT_OF_FILM)
    with print_acceptor(tmp_path, backend, event_report_aes=(DCMTK_AE,)) as acceptor:
        returncode, output = dcmtk_print(tmp_path, acceptor)
    assert returncode == 0, output[-3000:]
    events = dcmprscu_events(output)
    assert [(cls, kind) for cls, kind, _ in events] == [("PrinterSOPClass", 3)], output[-4000:]
    assert "SUPPLY EMPTY" in events[0][2]  # Printer Status Info (2110,0020)
    assert len(backend.enqueued) == 1  # printed all the same; no Print Job context, no job event


def test_dcmprscu_unlisted_hears_nothing(tmp_path: Path) -> None:
    backend = RecordingBackend(status=OUT_OF_FILM)
    with print_acceptor(tmp_path, backend) as acceptor:
        returncode, output = dcmtk_print(tmp_path, acceptor)
    assert returncode == 0, output[-3000:]
    assert "N-EVENT-REPORT" not in output
    assert len(backend.enqueued) == 1
