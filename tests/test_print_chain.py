"""Tier 6: the whole box prints. DCMTK's print client (dcmpsprt + dcmprscu) sends films to
the running box (all roles); the devices role prints them on paper through a real cupsd
(the box's simulated paper printer: a private cupsd with a fault-injecting backend) and on
film through a simulated DICOM film printer this test runs and controls.

What is checked comes from outside the box: the PDF the CUPS backend received (read back
with pdfinfo/pdftoppm), the films the film printer recorded, dcmprscu's own log of the
Printer N-GET answer, and `appliance print ls --json`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from drivers.cups_printer.private_cupsd import PrivateCupsd
from drivers.film_printer.simulator import Fault, FilmPrinterSimulator, load_printed
from tests.conftest import Box, alive, children, wait_for
from tests.print_dcmtk import PrintClient, ramp_image

PAPER_AE, FILM_AE = "KILN_PAPER", "KILN_FILM"
PRINTER = "PrinterSOPClass"
FILM_BOX = "BasicFilmBoxSOPClass"


@pytest.fixture
def film_printer(tmp_path: Path) -> Iterator[FilmPrinterSimulator]:
    simulator = FilmPrinterSimulator(tmp_path / "film-printer", ae_title="FILMPRN")
    simulator.start()
    yield simulator
    simulator.stop()


def print_box(box_factory: Callable[..., Box], film_printer: FilmPrinterSimulator) -> Box:
    overrides: dict[str, dict[str, Any]] = {
        "print": {
            "retry_initial_seconds": 0.5,
            "retry_max_seconds": 2,
            "outputs": {
                "paper": {
                    "ae_title": PAPER_AE,
                    "kind": "paper",
                    "medium_types": ["PAPER"],
                    "poll_seconds": 0.3,
                    "retry_seconds": 1,
                    "dpi": 100,
                },
                "film": {
                    "ae_title": FILM_AE,
                    "kind": "film",
                    "address": film_printer.address,
                    "poll_seconds": 0.3,
                    "retry_seconds": 1,
                },
            },
        },
        "publishing": {"stations": {}},
    }
    return box_factory(overrides, role="all")


def power_cut(box: Box) -> None:
    """Every process of the box (roles, workers, its private cupsd) killed at once."""
    assert box.process is not None
    family = [box.process.pid, *children(box.process.pid)]
    for pid in family:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    box.process.wait(10)
    box.process = None
    assert wait_for(lambda: not any(alive(pid) for pid in family), 30)


def paper_printer(box: Box) -> PrivateCupsd:
    """The box's simulated paper printer, seen from outside: its fault file and output."""
    return PrivateCupsd(box.data_dir / "simulators" / "print-paper-cups" / "paper", ("paper",))


def jobs(box: Box) -> list[dict[str, Any]]:
    listed = json.loads(box.run_cli("print", "ls", "--json").stdout)
    assert isinstance(listed, list)
    return listed


def film_status(box: Box) -> tuple[str, str]:
    rows = json.loads(box.run_cli("printer", "status", "--json").stdout)
    row = next(row for row in rows if row["output"] == "film")
    return row["status"], row["status_info"]


def job_states(box: Box) -> list[str]:
    return [job["state"] for job in jobs(box)]


def client(tmp_path: Path, box: Box, called_ae: str) -> PrintClient:
    printer = PrintClient(tmp_path / f"dcmtk-{called_ae}", box.port, called_ae)
    printer.write()
    return printer


def send(printer: PrintClient, tmp_path: Path, layout: str, *options: str) -> Any:
    columns, rows = layout.split(",")
    images = [ramp_image(tmp_path / f"ramp-{layout}-{i}.dcm", 12) for i in range(2)]
    stored = printer.render(images, "--layout", columns, rows, "--filmsize", "8INX10IN")
    sent = printer.send(stored, *options)
    assert sent.returncode == 0, sent.output[-3000:]
    assert sent.status_of("N-ACTION RSP", FILM_BOX) == 0
    return sent


def printer_status_in(output: str) -> str:
    """The Printer Status (2110,0010) value in dcmprscu's dump of the Printer N-GET."""
    for line in output.splitlines():
        if "(2110,0010)" in line and "[" in line:
            return line.split("[", 1)[1].split("]", 1)[0]
    raise AssertionError(f"no Printer Status in:\n{output[-3000:]}")


def page_row(pdf: Path, tmp_path: Path) -> np.ndarray:
    """The middle row of the PDF's first page, rendered by poppler at 30 dpi."""
    stem = tmp_path / "page"
    subprocess.run(
        ["pdftoppm", "-r", "30", "-gray", "-png", "-singlefile", str(pdf), str(stem)], check=True
    )
    page = np.asarray(Image.open(stem.with_suffix(".png")).convert("L"))
    row: np.ndarray = page[page.shape[0] * 2 // 5]
    return row


def assert_ramp(pixels: np.ndarray) -> None:
    """A 12-bit ramp arrived whole: rows alike, rising left to right over the range."""
    assert (pixels == pixels[0]).all()
    assert np.all(np.diff(pixels[0].astype(int)) >= 0)
    assert pixels[0, 0] < 100 and pixels[0, -1] > 3900


def pdf_pages(pdf: Path) -> dict[str, str]:
    """pdfinfo's page count and page size."""
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    fields = dict(line.split(":", 1) for line in info.stdout.splitlines() if ":" in line)
    return {key: fields[key].strip() for key in ("Pages", "Page size")}


def test_films_from_dcmtk_arrive_on_paper_and_on_film(
    tmp_path: Path, box_factory: Callable[..., Box], film_printer: FilmPrinterSimulator
) -> None:
    box = print_box(box_factory, film_printer)
    paper = client(tmp_path, box, PAPER_AE)
    sent = send(paper, tmp_path, "2,1", "--medium-type", "PAPER", "--copies", "2")
    assert printer_status_in(sent.output) in ("NORMAL", "WARNING")
    assert wait_for(lambda: job_states(box) == ["done"], 60)
    [printed] = paper_printer(box).printed()
    assert printed.copies == 2 and printed.options["media"] == "A4"
    assert pdf_pages(printed.document) == {"Pages": "1", "Page size": "595.276 x 841.89 pts (A4)"}
    # The page holds the films' ramps: along the middle row, dark to light twice.
    row = page_row(printed.document, tmp_path)
    assert row.min() < 40 and row.max() > 215
    rises = np.flatnonzero(np.diff(row.astype(int)) < -100)  # light-to-dark edges
    assert len(rises) >= 1

    film = client(tmp_path, box, FILM_AE)
    send(film, tmp_path, "1,1", "--medium-type", "BLUE FILM")
    assert wait_for(lambda: job_states(box) == ["done", "done"], 60)
    [on_film] = load_printed(film_printer.output)
    assert on_film.session["20000030"]["Value"] == ["BLUE FILM"]
    assert on_film.film_box["20100010"]["Value"] == ["STANDARD\\1,1"]
    assert_ramp(on_film.pixels[1])
    shown = box.run_cli("print", "show", "2").stdout
    assert "done" in shown and "film" in shown


def test_paper_out_is_reported_to_the_modality_and_the_film_waits_until_paper_is_loaded(
    tmp_path: Path, box_factory: Callable[..., Box], film_printer: FilmPrinterSimulator
) -> None:
    box = print_box(box_factory, film_printer)
    cups = paper_printer(box)
    assert wait_for(lambda: cups.output().is_dir(), 30)
    cups.inject("paper_out")
    paper = client(tmp_path, box, PAPER_AE)
    send(paper, tmp_path, "1,1", "--medium-type", "PAPER")
    # Acknowledged, queued, and the printer's fault is what the next modality sees.
    assert wait_for(lambda: jobs(box)[0]["status_info"] not in ("QUEUED", "PRINTING", "NORMAL"), 60)
    status = json.loads(box.run_cli("printer", "status", "--json").stdout)
    paper_row = next(row for row in status if row["output"] == "paper")
    assert paper_row["status"] == "FAILURE", status
    again = send(paper, tmp_path, "1,1", "--medium-type", "PAPER")
    assert printer_status_in(again.output) == "FAILURE"
    assert cups.printed() == []
    alarms = box.run_cli("alarms", "ls").stdout
    assert "Printer paper" in alarms
    cups.clear_faults()  # paper loaded: the box enables the queue again by itself
    assert wait_for(lambda: job_states(box) == ["done", "done"], 90)
    assert len(cups.printed()) == 2  # each film once


def test_a_film_acknowledged_before_a_crash_is_printed_once_after_the_restart(
    tmp_path: Path, box_factory: Callable[..., Box], film_printer: FilmPrinterSimulator
) -> None:
    box = print_box(box_factory, film_printer)
    film_printer.inject(Fault.FILM_OUT)
    film = client(tmp_path, box, FILM_AE)
    send(film, tmp_path, "1,1", "--medium-type", "BLUE FILM")
    # Acknowledged, and waiting: the printer says it is out of film, so no film is sent.
    assert wait_for(lambda: film_status(box) == ("FAILURE", "SUPPLY EMPTY"), 60)
    assert job_states(box) == ["queued"]
    power_cut(box)
    film_printer.clear(Fault.FILM_OUT)
    box.start("all")
    assert wait_for(lambda: job_states(box) == ["done"], 90)
    [printed] = load_printed(film_printer.output)  # once, not once per attempt
    assert_ramp(printed.pixels[1])
