"""The print outputs of `[print.outputs]`: devices opened, simulators started.

The address picks how a device is reached: `sim://` starts its simulator (a private
cupsd with a simulated printer for paper, a simulated DICOM film printer for film) and
hands the same driver the simulator's address; anything else is the real device. The
outputs use the same drivers either way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from appliance import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
from appliance.printing.backend import OutputKind
from appliance.printing.film_output import FilmOutput
from appliance.printing.film_relay import FilmRelay
from appliance.printing.output import PrintOutput
from appliance.printing.paper_output import PaperOutput
from appliance.printing.settings import DICOM_ADDRESS, SIMULATED, OutputSettings, PrintSettings
from drivers.cups_printer.address import open_paper_printer
from drivers.cups_printer.driver import PaperOptions
from drivers.film_printer.simulator import FilmPrinterSimulator
from drivers.film_printer.transport import FilmPrinterTarget

log = logging.getLogger(__name__)


@dataclass
class OpenedOutputs:
    outputs: dict[str, PrintOutput] = field(default_factory=dict)
    simulators: dict[str, object] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)  # output -> operator sentence
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for closer in reversed(self.closers):
            try:
                closer()
            except Exception as error:  # shutdown: report and go on
                log.warning("closing %r: %s", closer, error)


def open_outputs(settings: PrintSettings, data_dir: Path, max_pdu: int = 16382) -> OpenedOutputs:
    """The outputs; `max_pdu` is the largest PDU Kiln receives ([dicom] max_pdu)."""
    opened = OpenedOutputs()
    if not settings.enabled:
        return opened
    for name, output in settings.outputs.items():
        sim_dir = data_dir / "simulators" / f"print-{name}"
        try:
            if output.kind is OutputKind.PAPER:
                opened.outputs[name] = _paper(name, output, data_dir, sim_dir, opened)
            else:
                opened.outputs[name] = _film(name, output, sim_dir, opened, max_pdu)
        except Exception as error:  # one output that cannot open must not stop the others
            log.exception("print output %s could not be opened", name)
            opened.problems[name] = (
                f"The {name} print output ({output.address}) could not be opened: {error}. "
                "Its print jobs wait; check the address in [print.outputs] and the device."
            )
    return opened


def _paper(
    name: str, output: OutputSettings, data_dir: Path, sim_dir: Path, opened: OpenedOutputs
) -> PrintOutput:
    # A simulated queue is named after its output, so two paper outputs get two printers.
    address = f"sim://{name}" if output.address == SIMULATED else output.address
    options = PaperOptions(job_options={"media": output.paper_size.value})
    printer = open_paper_printer(
        address,
        sim_root=sim_dir.parent / f"{sim_dir.name}-cups",
        options=options,
        timeout=output.timeout_seconds,
    )
    opened.closers.append(printer.close)
    if printer.simulator is not None:
        opened.simulators[name] = printer.simulator
    return PaperOutput(name, output, printer.printer, data_dir)


def _film(
    name: str, output: OutputSettings, sim_dir: Path, opened: OpenedOutputs, max_pdu: int
) -> PrintOutput:
    if output.address == SIMULATED:
        simulator = FilmPrinterSimulator(
            sim_dir, print_seconds=output.sim_print_seconds, film_sizes=tuple(output.film_sizes)
        )
        started = simulator.start()
        opened.closers.append(simulator.stop)
        opened.simulators[name] = simulator
        host, port, called = started.host, started.port, started.called_ae
    else:
        match = DICOM_ADDRESS.match(output.address)
        assert match is not None  # checked by the settings
        host, port, called = match["host"], int(match["port"]), match["ae"]
    target = FilmPrinterTarget(
        host,
        port,
        called,
        output.calling_ae,
        output.timeout_seconds,
        output.color,
        implementation_class_uid=IMPLEMENTATION_CLASS_UID,
        implementation_version_name=IMPLEMENTATION_VERSION_NAME,
        max_pdu=max_pdu,
    )
    relay = FilmRelay(target, name=name, retry_seconds=output.retry_seconds)
    return FilmOutput(name, relay)
