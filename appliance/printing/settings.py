"""`[print]`: the outputs the Print SCP prints to, each behind its own called AE title.

Like a Codonics Horizon, the called AE title picks the output: a modality configured
with KILN_PAPER prints on paper, with KILN_FILM on a DICOM film printer. Each output
says where its device is (`address`: `sim://` for the simulator, otherwise the real
device) and what it accepts; the Print SCP refuses film sizes and media an output
cannot print, naming the attribute. Every limit is stated here; errors name the key.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import Field, field_validator, model_validator

from appliance.printing.backend import OutputKind
from appliance.strict_model import Strict
from drivers.cups_printer.address import BadAddress, parse_address

AE_TITLE_PATTERN = r"^[\x20-\x5b\x5d-\x7e]{1,16}$"  # as appliance.config.schema
OUTPUT_NAME = r"^[a-z0-9][a-z0-9_-]{0,31}$"
SIMULATED = "sim://"
DICOM_ADDRESS = re.compile(r"^dicom://(?P<ae>[^@]{1,16})@(?P<host>[^:/@]+):(?P<port>\d{1,5})$")

FILM_SIZES = (
    "8INX10IN",
    "8_5INX11IN",
    "10INX12IN",
    "10INX14IN",
    "11INX14IN",
    "11INX17IN",
    "14INX14IN",
    "14INX17IN",
    "24CMX24CM",
    "24CMX30CM",
    "A4",
    "A3",
)
MEDIUM_TYPES = ("PAPER", "CLEAR FILM", "BLUE FILM", "MAMMO CLEAR FILM", "MAMMO BLUE FILM")


class PaperSize(StrEnum):
    A4 = "A4"
    A3 = "A3"
    LETTER = "LETTER"
    LEGAL = "LEGAL"
    TABLOID = "TABLOID"


class ArchiveKind(StrEnum):
    NONE = "none"
    PDF = "pdf"  # each printed job kept as a PDF (a page per film) under <data>/print-archive/


class OutputSettings(Strict):
    ae_title: str = Field(pattern=AE_TITLE_PATTERN)
    kind: OutputKind
    # paper: sim:// (a private cupsd with a simulated printer), cups:QUEUE (this machine's
    # CUPS) or cups://HOST[:PORT]/QUEUE; film: sim:// (a simulated film printer) or
    # dicom://AE@HOST:PORT.
    address: str = SIMULATED
    description: str = ""
    # What the output accepts; the SCP refuses others (0x0106, naming the attribute).
    film_sizes: list[str] = Field(default_factory=lambda: list(FILM_SIZES), min_length=1)
    medium_types: list[str] = Field(default_factory=lambda: list(MEDIUM_TYPES), min_length=1)
    min_density: int = Field(20, ge=0, le=400)  # hundredths of OD
    max_density: int = Field(300, ge=1, le=400)
    color: bool = True
    # 0: the copies the modality asks for; otherwise always this many.
    copies: int = Field(0, ge=0, le=99)
    max_queued: int = Field(100, ge=1, le=10_000)
    # paper
    paper_size: PaperSize = PaperSize.A4
    tray: str = Field("", max_length=64)  # CUPS InputSlot; "" = the queue's default
    dpi: int = Field(300, ge=72, le=600)  # composition resolution
    # film
    calling_ae: str = Field("KILN", pattern=AE_TITLE_PATTERN)  # Kiln's AE toward the printer
    timeout_seconds: float = Field(30.0, gt=0, le=600)
    # both
    # Printer status polling; default 2 s for paper (a local IPP call) and 10 s for film
    # (an association to the film printer each time).
    poll_seconds: float | None = Field(None, ge=0.1, le=300)
    # An output in an error state (a stopped CUPS queue, a film printer out of film) is
    # tried again this often.
    retry_seconds: float = Field(30.0, ge=1, le=3600)
    sim_print_seconds: float = Field(0.5, ge=0, le=60)  # the simulator's time per page/film

    @property
    def poll_period(self) -> float:
        if self.poll_seconds is not None:
            return self.poll_seconds
        return 2.0 if self.kind is OutputKind.PAPER else 10.0

    @field_validator("film_sizes")
    @classmethod
    def _known_sizes(cls, sizes: list[str]) -> list[str]:
        unknown = [s for s in sizes if s not in FILM_SIZES]
        if unknown:
            raise ValueError(f"unknown film size {unknown[0]!r}; known: {', '.join(FILM_SIZES)}")
        return sizes

    @field_validator("medium_types")
    @classmethod
    def _known_media(cls, media: list[str]) -> list[str]:
        unknown = [m for m in media if m not in MEDIUM_TYPES]
        if unknown:
            raise ValueError(
                f"unknown medium type {unknown[0]!r}; known: {', '.join(MEDIUM_TYPES)}"
            )
        return media

    @model_validator(mode="after")
    def _consistent(self) -> OutputSettings:
        if self.min_density >= self.max_density:
            raise ValueError("min_density must be below max_density")
        if self.kind is OutputKind.PAPER:
            try:
                parse_address(self.address)
            except BadAddress as error:
                raise ValueError(f"address: {error}") from None
        elif self.address != SIMULATED and not DICOM_ADDRESS.match(self.address):
            raise ValueError(f"address: {SIMULATED} or dicom://AE@HOST:PORT for a film output")
        return self


def _default_outputs() -> dict[str, OutputSettings]:
    return {
        "paper": OutputSettings(
            ae_title="KILN_PAPER",
            kind=OutputKind.PAPER,
            # Every medium: a modality set up for film (IDS5 sends BLUE FILM by default)
            # still prints here, on paper.
            description="Paper through CUPS",
        ),
        "film": OutputSettings(
            ae_title="KILN_FILM",
            kind=OutputKind.FILM,
            description="DICOM film printer",
            medium_types=["BLUE FILM", "CLEAR FILM", "MAMMO BLUE FILM", "MAMMO CLEAR FILM"],
        ),
    }


class PrintSettings(Strict):
    enabled: bool = True
    outputs: dict[str, OutputSettings] = Field(default_factory=_default_outputs)
    archive: ArchiveKind = ArchiveKind.NONE
    retry_initial_seconds: float = Field(5.0, gt=0, le=3600)
    retry_max_seconds: float = Field(300.0, gt=0, le=86_400)
    # Calling AE titles that accept N-EVENT-REPORTs on their print association (Printer
    # status changes, Print Job progress); others get none (syngo MR and IDS5 refuse them).
    event_report_aes: list[str] = Field(default_factory=list, max_length=64)
    # A job whose output stays down this long is failed with an operator sentence.
    give_up_hours: float = Field(24.0, gt=0, le=24 * 30)
    # Done and failed jobs' films are deleted after this many days (their rows stay).
    keep_days: float = Field(7.0, ge=0, le=365)

    @field_validator("outputs")
    @classmethod
    def _names_and_titles(cls, outputs: dict[str, OutputSettings]) -> dict[str, OutputSettings]:
        titles: dict[str, str] = {}
        for name, output in outputs.items():
            if not re.match(OUTPUT_NAME, name):
                raise ValueError(f"output name {name!r}: lower-case letters, digits, - and _")
            other = titles.get(output.ae_title.strip())
            if other is not None:
                raise ValueError(f"outputs {other} and {name} share the AE title {output.ae_title}")
            titles[output.ae_title.strip()] = name
        return outputs

    def by_ae_title(self, called_ae: str) -> tuple[str, OutputSettings] | None:
        for name, output in self.outputs.items():
            if output.ae_title.strip() == called_ae.strip():
                return name, output
        return None

    def ae_titles(self) -> list[str]:
        return [output.ae_title.strip() for output in self.outputs.values()] if self.enabled else []
