"""DCMTK as the Print SCU: dcmpsprt renders a stored print job, dcmprscu sends it.

dcmpsprt reads images and writes a Stored Print object and Hardcopy Grayscale images
into the database directory of a dcmpstat.cfg written per test; dcmprscu then runs the
whole Print Management exchange against the printer entry [KILN] of that file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

from tests.dcmtk import run_tool

SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"


def ramp_image(path: Path, bits: int, rows: int = 128, columns: int = 160) -> Path:
    """A MONOCHROME2 left-to-right ramp from 0 to the largest value of `bits`."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = UID(SECONDARY_CAPTURE)
    ds.SOPClassUID = SECONDARY_CAPTURE
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID, ds.Modality = "Print^Test", "PRINT1", "OT"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = rows, columns
    ramp = np.tile(np.linspace(0, (1 << bits) - 1, columns), (rows, 1))
    if bits == 8:
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
        ds.PixelData = ramp.astype(np.uint8).tobytes()
    else:
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
        ds.PixelData = ramp.astype(np.uint16).tobytes()
    ds.PixelRepresentation = 0
    ds.save_as(path, enforce_file_format=True)
    return path


@dataclass
class PrintClient:
    """A dcmpstat.cfg with one printer, [KILN], and the directories it names."""

    root: Path
    port: int
    called_ae: str
    twelve_bit: bool = True

    @property
    def config(self) -> Path:
        return self.root / "dcmpstat.cfg"

    def write(self, extra_luts: dict[str, str] | None = None) -> None:
        for name in ("db", "spool", "lut", "log"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        luts = "".join(
            f"[{key}]\ndescription = {key}\nfilename = {file}\n"
            for key, file in (extra_luts or {}).items()
        )
        self.config.write_text(
            f"""[[GENERAL]]
[DATABASE]
Directory = {self.root}/db
[PRINT]
Spooler = dcmprscu
Directory = {self.root}/spool
DetailedLog = false
MinPrintResolution = 64\\64
MaxPrintResolution = 8192\\8192
DefaultIllumination = 2000
DefaultReflection = 10
[LUT]
Directory = {self.root}/lut
[APPLICATION]
LogDirectory = {self.root}/log
LogFile = general.log
LogLevel = ERROR
[NETWORK]
aetitle = DCMPSPRT
[[COMMUNICATION]]
[KILN]
Aetitle = {self.called_ae}
Description = Kiln print server
Hostname = 127.0.0.1
Port = {self.port}
Type = PRINTER
MaxPDU = 32768
ImplicitOnly = false
DisableNewVRs = false
Supports12Bit = {"true" if self.twelve_bit else "false"}
SupportsPresentationLUT = true
PresentationLUTPreferSCPRendering = true
SupportsImageSize = true
SupportsDecimateCrop = true
SupportsTrim = true
DisplayFormat = 1,1\\2,2
FilmSizeID = 14INX17IN\\8INX10IN\\A4\\24CMX24CM
MediumType = BLUE FILM\\PAPER
MagnificationType = REPLICATE\\BILINEAR\\CUBIC\\NONE
BorderDensity = BLACK\\WHITE
EmptyImageDensity = BLACK\\WHITE
MaxDensity = 300
MinDensity = 20
[[LUT]]
{luts}"""
        )

    def render(self, images: list[Path], *options: str) -> list[Path]:
        """dcmpsprt: the Stored Print objects it wrote for these images."""
        before = set(self._stored())
        run_tool(
            "dcmpsprt",
            "-c",
            str(self.config),
            "-p",
            "KILN",
            *options,
            *map(str, images),
            check=True,
        )
        return sorted(set(self._stored()) - before)

    def send(self, stored: list[Path], *options: str) -> SentPrint:
        result = run_tool(
            "dcmprscu", "-d", "-c", str(self.config), "-p", "KILN", *options, *map(str, stored)
        )
        output = result.stdout + result.stderr
        return SentPrint(result.returncode, output, responses(output))

    def _stored(self) -> list[Path]:
        return [p for p in (self.root / "db").rglob("SP_*") if p.is_file()]


@dataclass(frozen=True)
class SentPrint:
    returncode: int
    output: str
    responses: list[tuple[str, str, int]]  # (message type, SOP class, status)

    def status_of(self, message: str, sop_class: str) -> int:
        found = [s for m, c, s in self.responses if m == message and c == sop_class]
        assert found, f"no {message} for {sop_class} in:\n{self.output[-4000:]}"
        return found[-1]


_MESSAGE = re.compile(
    r"Message Type\s+: (?P<type>[A-Z-]+ RSP).*?Affected SOP Class UID\s+: (?P<cls>\S+)"
    r".*?DIMSE Status\s+: 0x(?P<status>[0-9A-Fa-f]{4})",
    re.S,
)


def responses(output: str) -> list[tuple[str, str, int]]:
    """Every response dcmprscu logged in debug mode, in order."""
    found = []
    for block in output.split("INCOMING DIMSE MESSAGE")[1:]:
        match = _MESSAGE.search(block)
        if match:
            found.append((match["type"], match["cls"], int(match["status"], 16)))
    return found
