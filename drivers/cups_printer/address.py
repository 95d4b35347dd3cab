"""Where a paper printer is, as written in the config, and opening it.

    cups:QUEUE                  a queue of this machine's CUPS (libcups's default server:
                                the local socket /run/cups/cups.sock, or CUPS_SERVER)
    cups://HOST[:PORT]/QUEUE    a queue of the CUPS at HOST (port 631 by default)
    sim://QUEUE  (or sim:QUEUE) a virtual printer in Kiln's private cupsd (the simulator)

The simulator is chosen by the address only: `open_paper_printer` starts a private
cupsd for `sim:` and talks to it exactly as to a real CUPS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from drivers.cups_printer.driver import PaperOptions, PaperPrinter
from drivers.cups_printer.private_cupsd import DEFAULT_QUEUE, PrivateCupsd
from drivers.cups_printer.transport import DEFAULT_PORT, CupsServer, CupsTransport

# CUPS queue names: printable, no space, "/", "\\", "#", quotes; Kiln keeps to the safe set.
_QUEUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,126}")


class AddressKind(StrEnum):
    CUPS = "cups"
    SIM = "sim"


@dataclass(frozen=True)
class PaperAddress:
    kind: AddressKind
    queue: str
    server: CupsServer  # for SIM: filled in when the private cupsd starts

    def __str__(self) -> str:
        if self.kind is AddressKind.SIM:
            return f"sim://{self.queue}"
        if self.server.host is None:
            return f"cups:{self.queue}"
        return f"cups://{self.server.label}/{self.queue}"


class BadAddress(ValueError):
    """The address is not one of the forms above; the message says which part is wrong."""


def parse_address(text: str) -> PaperAddress:
    parts = urlsplit(text.strip())
    scheme = parts.scheme.lower()
    if scheme not in (AddressKind.CUPS, AddressKind.SIM):
        raise BadAddress(
            f"{text!r} is not a paper printer address: use cups:QUEUE, "
            "cups://HOST:PORT/QUEUE or sim://QUEUE"
        )
    if parts.query or parts.fragment:
        raise BadAddress(f"{text!r}: a paper printer address takes no ?query or #fragment")
    if scheme == AddressKind.SIM:
        queue = (parts.netloc or parts.path.strip("/")) or DEFAULT_QUEUE
        return PaperAddress(AddressKind.SIM, _queue(text, queue), CupsServer())
    if not parts.netloc:  # cups:QUEUE
        return PaperAddress(AddressKind.CUPS, _queue(text, parts.path), CupsServer())
    host = parts.hostname
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise BadAddress(f"{text!r}: the port is not a number from 1 to 65535") from None
    if not host:
        raise BadAddress(f"{text!r}: the host name is missing")
    queue = parts.path.strip("/")
    if queue.startswith("printers/"):  # also accept CUPS's own URI form
        queue = queue.removeprefix("printers/")
    return PaperAddress(AddressKind.CUPS, _queue(text, queue), CupsServer(host, port))


def _queue(text: str, queue: str) -> str:
    if not _QUEUE.fullmatch(queue):
        raise BadAddress(
            f"{text!r}: {queue!r} is not a queue name (letters, digits and _ . @ + -, at most 127)"
        )
    return queue


@dataclass
class OpenedPrinter:
    """A paper printer ready to use, and the private cupsd behind it for `sim:`."""

    address: PaperAddress
    printer: PaperPrinter
    simulator: PrivateCupsd | None = None

    def close(self) -> None:
        if self.simulator is not None:
            self.simulator.stop()


def open_paper_printer(
    address: str | PaperAddress,
    *,
    sim_root: Path,
    options: PaperOptions | None = None,
    timeout: float = 10.0,
) -> OpenedPrinter:
    """The printer at `address`. For `sim:` a private cupsd is started under
    `sim_root/<queue>` (kept between runs: its output folder shows what was printed)."""
    parsed = parse_address(address) if isinstance(address, str) else address
    if parsed.kind is AddressKind.SIM:
        simulator = PrivateCupsd(sim_root / parsed.queue, (parsed.queue,))
        simulator.start()
        transport = CupsTransport(simulator.server, timeout=timeout)
        return OpenedPrinter(parsed, PaperPrinter(transport, parsed.queue, options), simulator)
    transport = CupsTransport(parsed.server, timeout=timeout)
    return OpenedPrinter(parsed, PaperPrinter(transport, parsed.queue, options))
