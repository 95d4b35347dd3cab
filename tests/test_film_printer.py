"""Tier 3: the film printer driver and the film relay against the simulated film printer."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from appliance.printing.backend import PrinterStatus as Reported
from appliance.printing.film import (
    FilmBoxSpec,
    FilmSessionSpec,
    ImageBoxSpec,
    LutSpec,
    PrintRequest,
)
from appliance.printing.film_relay import OFFLINE, Done, Failed, FilmRelay, RetryLater, relay
from drivers.film_printer.driver import FilmPrinter
from drivers.film_printer.errors import FilmPrinterUnreachable
from drivers.film_printer.protocol import PrinterStatus
from drivers.film_printer.simulator import Fault, FilmPrinterSimulator, load_printed
from drivers.film_printer.transport import FilmPrinterTarget
from statemachines.film_printer import FilmPrinterState

RNG = np.random.default_rng(6)


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[FilmPrinterSimulator]:
    sim = FilmPrinterSimulator(tmp_path / "films", films=10, low_mark=2)
    sim.start()
    yield sim
    sim.stop()


def _target(sim: FilmPrinterSimulator, **changes: object) -> FilmPrinterTarget:
    assert sim.target is not None
    return replace(sim.target, **{"timeout": 10.0, **changes})  # type: ignore[arg-type]


def _state(output: FilmRelay) -> FilmPrinterState:
    """The machine's state, read afresh (mypy would narrow a repeated `output.state`)."""
    return output.state


def _gray(position: int, bits: int = 8, shape: tuple[int, int] = (40, 30)) -> ImageBoxSpec:
    pixels = RNG.integers(0, 1 << bits, shape).astype(np.uint8 if bits == 8 else np.uint16)
    return ImageBoxSpec(position=position, pixels=pixels, bits_stored=bits)


def _film(display: str = "STANDARD\\2,2", boxes: int = 4, **film: object) -> FilmBoxSpec:
    return FilmBoxSpec(
        display,
        film_size_id="14INX17IN",
        image_boxes=tuple(_gray(n) for n in range(1, boxes + 1)),
        **film,  # type: ignore[arg-type]
    )


def _request(*films: FilmBoxSpec, **session: object) -> PrintRequest:
    return PrintRequest(
        job_uid="1.2.3.4",
        calling_ae="MODALITY",
        called_ae="KILN_FILM",
        session=FilmSessionSpec(medium_type="BLUE FILM", **session),  # type: ignore[arg-type]
        films=films,
    )


def test_printer_status_normal_warning_failure(simulator: FilmPrinterSimulator) -> None:
    printer = FilmPrinter(_target(simulator))
    normal = printer.status()
    assert (normal.status, normal.info) == (PrinterStatus.NORMAL, "NORMAL")
    assert normal.name == "Kiln simulated film printer"
    assert normal.manufacturer == "Kiln"
    simulator.inject(Fault.SUPPLY_LOW)
    warning = printer.status()
    assert (warning.status, warning.info) == (PrinterStatus.WARNING, "SUPPLY LOW")
    simulator.inject(Fault.PRINTER_DOWN)
    failure = printer.status()
    assert (failure.status, failure.info) == (PrinterStatus.FAILURE, "PRINTER DOWN")
    assert failure.description == "the printer is down"
    simulator.clear()
    assert printer.status().status is PrinterStatus.NORMAL


def test_a_2x2_film_is_printed_as_sent(simulator: FilmPrinterSimulator) -> None:
    film = _film(min_density=20, max_density=300, film_orientation="LANDSCAPE")
    result = relay(_request(film, film_session_label="MR knee"), FilmPrinter(_target(simulator)))
    assert isinstance(result, Done), result
    assert result.films_printed == 1
    assert result.warnings == ()
    assert "1 film(s) printed" in result.detail
    assert simulator.supply == 9 and simulator.received == 1
    (printed,) = load_printed(simulator.output)
    assert printed.film_box["20100010"]["Value"] == ["STANDARD\\2,2"]  # Image Display Format
    assert printed.film_box["20100050"]["Value"] == ["14INX17IN"]  # Film Size ID
    assert printed.film_box["20100040"]["Value"] == ["LANDSCAPE"]
    assert printed.session["20000030"]["Value"] == ["BLUE FILM"]  # Medium Type
    assert printed.session["20000050"]["Value"] == ["MR knee"]
    assert sorted(printed.pixels) == [1, 2, 3, 4]
    for box in film.image_boxes:
        assert np.array_equal(printed.pixels[box.position], box.pixels)


def test_a_12_bit_film_with_its_presentation_lut(simulator: FilmPrinterSimulator) -> None:
    lut = LutSpec(descriptor=(256, 0, 12), data=tuple(range(0, 4096, 16)))
    film = FilmBoxSpec(
        "STANDARD\\1,1",
        film_size_id="8INX10IN",
        presentation_lut=lut,
        illumination=2000,
        reflected_ambient_light=10,
        image_boxes=(_gray(1, bits=12, shape=(64, 48)),),
    )
    result = relay(_request(film), FilmPrinter(_target(simulator)))
    assert isinstance(result, Done), result
    (printed,) = simulator.printed
    assert printed.image_boxes[1]["20200110"]["Value"][0]["00280101"]["Value"] == [12]
    assert np.array_equal(printed.pixels[1], film.image_boxes[0].pixels)
    assert printed.presentation_lut is not None
    table = printed.presentation_lut["20500010"]["Value"][0]  # Presentation LUT Sequence
    assert table["00283002"]["Value"] == [256, 0, 12]
    assert printed.film_box["2010015E"]["Value"] == [2000]  # Illumination


def test_a_color_film(simulator: FilmPrinterSimulator) -> None:
    rgb = RNG.integers(0, 256, (30, 20, 3)).astype(np.uint8)
    film = FilmBoxSpec(
        "STANDARD\\1,1",
        film_size_id="10INX12IN",
        image_boxes=(ImageBoxSpec(position=1, pixels=rgb, bits_stored=8, color=True),),
    )
    result = relay(_request(film), FilmPrinter(_target(simulator, color=True)))
    assert isinstance(result, Done), result
    (printed,) = load_printed(simulator.output)
    item = printed.image_boxes[1]["20200111"]["Value"][0]  # Basic Color Image Sequence
    assert item["00280006"]["Value"] == [1]  # Planar Configuration
    assert item["00280004"]["Value"] == ["RGB"]
    assert np.array_equal(printed.pixels[1], rgb)


def test_color_needs_a_color_printer(tmp_path: Path) -> None:
    sim = FilmPrinterSimulator(tmp_path / "films", color=False)
    sim.start()
    try:
        rgb = np.zeros((4, 4, 3), np.uint8)
        film = FilmBoxSpec("STANDARD\\1,1", image_boxes=(ImageBoxSpec(1, rgb, 8, color=True),))
        result = relay(_request(film), FilmPrinter(_target(sim, color=True)))
        assert isinstance(result, Failed)
        assert "color" in result.sentence
    finally:
        sim.stop()


def test_film_out_mid_session_is_retried_where_it_stopped(
    simulator: FilmPrinterSimulator,
) -> None:
    simulator.supply = 2  # and the low mark is 2: a WARNING printer
    request = _request(_film(), _film(), _film())
    output = FilmRelay(_target(simulator), name="film")
    result = output.print_request(request)
    assert isinstance(result, RetryLater), result
    assert result.status_info == "SUPPLY EMPTY"
    assert result.films_done == 2
    assert "SUPPLY EMPTY" in result.sentence and "load film" in result.sentence
    assert "2 film(s) of this job were printed" in result.sentence
    assert _state(output) is FilmPrinterState.OUT_OF_FILM
    report = output.report()
    assert (report.status, report.status_info) == (Reported.FAILURE, "SUPPLY EMPTY")
    assert len(simulator.printed) == 2

    simulator.load_film(20)
    again = output.print_request(request, start_film=result.films_done)
    assert isinstance(again, Done), again
    assert again.films_printed == 3
    assert _state(output) is FilmPrinterState.IDLE
    assert len(load_printed(simulator.output)) == 3


def test_supply_low_prints_with_a_warning(simulator: FilmPrinterSimulator) -> None:
    simulator.inject(Fault.SUPPLY_LOW)
    output = FilmRelay(_target(simulator))
    result = output.print_request(_request(_film()))
    assert isinstance(result, Done), result
    assert any("SUPPLY LOW" in warning for warning in result.warnings)
    assert _state(output) is FilmPrinterState.WARNING
    assert output.report().status is Reported.WARNING


def test_a_printer_down_is_not_printed_on(simulator: FilmPrinterSimulator) -> None:
    simulator.inject(Fault.PRINTER_DOWN)
    output = FilmRelay(_target(simulator))
    result = output.print_request(_request(_film()))
    assert isinstance(result, RetryLater)
    assert result.status_info == "PRINTER DOWN"
    assert _state(output) is FilmPrinterState.FAILED
    assert simulator.printed == [] and simulator.supply == 10


def test_a_rejected_association(simulator: FilmPrinterSimulator) -> None:
    simulator.inject(Fault.REJECT)
    with pytest.raises(FilmPrinterUnreachable, match="rejected"):
        FilmPrinter(_target(simulator)).status()
    output = FilmRelay(_target(simulator))
    result = output.print_request(_request(_film()))
    assert isinstance(result, RetryLater)
    assert result.status_info == OFFLINE
    assert "cannot be reached" in result.sentence
    assert _state(output) is FilmPrinterState.UNREACHABLE
    assert output.report().status is Reported.FAILURE
    assert simulator.printed == []


def test_a_wrong_called_ae_title_is_rejected(simulator: FilmPrinterSimulator) -> None:
    result = relay(_request(_film()), FilmPrinter(_target(simulator, called_ae="NOT_IT")))
    assert isinstance(result, RetryLater)
    assert "Called AE title not recognised" in result.sentence


def test_an_unsupported_film_size_fails_the_job(simulator: FilmPrinterSimulator) -> None:
    film = FilmBoxSpec("STANDARD\\1,1", film_size_id="A3", image_boxes=(_gray(1),))
    output = FilmRelay(_target(simulator))
    result = output.print_request(_request(film))
    assert isinstance(result, Failed), result
    assert "Film Size ID A3 is not supported" in result.sentence
    assert "0x0106" in result.sentence
    assert _state(output) is FilmPrinterState.IDLE  # the printer is well; the job is not
    assert simulator.printed == []


def test_a_printer_slower_than_the_timeout_is_retried(simulator: FilmPrinterSimulator) -> None:
    simulator.slow_seconds = 3.0
    simulator.inject(Fault.SLOW)
    output = FilmRelay(_target(simulator, timeout=1.0))
    result = output.print_request(_request(_film()))
    assert isinstance(result, RetryLater)
    assert "no answer to N-ACTION" in result.sentence
    assert _state(output) is FilmPrinterState.UNREACHABLE


def test_poll_keeps_an_error_until_the_retry_time(simulator: FilmPrinterSimulator) -> None:
    now = [0.0]
    output = FilmRelay(_target(simulator), retry_seconds=30.0, clock=lambda: now[0])
    assert output.report().status_info == "UNKNOWN"
    assert output.poll().status is Reported.NORMAL
    assert _state(output) is FilmPrinterState.IDLE
    simulator.inject(Fault.FILM_OUT)
    assert output.poll().status_info == "SUPPLY EMPTY"
    assert _state(output) is FilmPrinterState.OUT_OF_FILM
    simulator.clear()
    now[0] = 29.0
    assert output.poll().status_info == "SUPPLY EMPTY"  # not asked again yet
    now[0] = 31.0
    assert output.poll().status is Reported.NORMAL
    assert _state(output) is FilmPrinterState.IDLE
    seen = []
    output.machine.subscribe(lambda t: seen.append(t.after))
    simulator.inject(Fault.REJECT)
    output.poll()
    assert seen == [FilmPrinterState.UNREACHABLE]
    assert output.report().status_info == OFFLINE


def test_copies_use_a_film_each(simulator: FilmPrinterSimulator) -> None:
    result = relay(_request(_film(), number_of_copies=1), FilmPrinter(_target(simulator)), copies=3)
    assert isinstance(result, Done)
    assert [p.copy for p in simulator.printed] == [1, 2, 3]
    assert simulator.supply == 7
