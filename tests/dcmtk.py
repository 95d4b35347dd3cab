"""Helpers for tier-4 tests with DCMTK as the third-party peer.

* `storescu` / `echoscu` / converters run the DCMTK tools (always with TCP_NODELAY=1) and
  parse the exact DIMSE statuses out of their `-d` (debug) or `-v` (verbose) logs.
* `RawAssociation` is a minimal upper-layer client on a raw socket. It exists for the
  cases no third-party tool can produce: DCMTK refuses to read (and so to send) a
  truncated or malformed dataset, always takes the command's SOP Class from the
  dataset, and cannot stop half-way through a dataset to abort or drop the connection.
  It is written from PS3.8 section 9 directly, so it shares no code with the box.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import struct
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

from tests.conftest import APPLIANCE, DCMTK_ENV, ROOT, Box, free_port, wait_for, write_config

ENV = DCMTK_ENV
KILN_IMPLEMENTATION_CLASS_UID = "2.25.113498759335209554478306810198229128007"

VERIFICATION = "1.2.840.10008.1.1"
APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
SC = "1.2.840.10008.5.1.4.1.1.7"

SUCCESS = 0x0000


# -- running the tools ---------------------------------------------------------------------


def run_tool(
    *args: str, timeout: float = 120.0, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run a DCMTK (or other) command line tool with TCP_NODELAY=1 in its environment."""
    result = subprocess.run(
        list(args), capture_output=True, text=True, env=ENV, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def convert(tool: str, src: Path, dst: Path, *options: str) -> Path:
    """dcmconv / dcmcjpeg / dcmcrle / dcmcjpls: `tool [options] src dst`."""
    run_tool(tool, *options, str(src), str(dst), check=True)
    return dst


@dataclass(frozen=True)
class StoreResponse:
    """One C-STORE-RSP as storescu logged it."""

    file: str
    sop_instance: str
    status: int
    comment: str


@dataclass
class ToolRun:
    returncode: int
    output: str  # stdout and stderr together (DCMTK logs to stderr)
    responses: list[StoreResponse] = field(default_factory=list)

    @property
    def statuses(self) -> list[int]:
        return [r.status for r in self.responses]


_STATUS = re.compile(r"DIMSE Status\s*:\s*0x([0-9a-fA-F]{4})")
_SOP_INSTANCE = re.compile(r"Affected SOP Instance UID\s*:\s*(\S*)")
_COMMENT = re.compile(r"\(0000,0902\) LO \[(.*)\]")
_SENDING = re.compile(r"Sending file: (.*)$")
_VERBOSE_RSP = re.compile(r"Received Store Response \((.*)\)")


def parse_debug(output: str) -> list[StoreResponse]:
    """C-STORE responses from a `storescu -d` log (numeric status, instance, comment)."""
    responses: list[StoreResponse] = []
    current_file = ""
    in_rsp = False
    instance = ""
    status: int | None = None
    for line in output.splitlines():
        sending = _SENDING.search(line)
        if sending:
            current_file = sending.group(1).strip()
            continue
        if "Message Type" in line:
            in_rsp = "C-STORE RSP" in line
            instance, status = "", None
            continue
        if not in_rsp:
            continue
        if (match := _SOP_INSTANCE.search(line)) is not None:
            instance = match.group(1)
        elif (match := _STATUS.search(line)) is not None:
            status = int(match.group(1), 16)
            responses.append(StoreResponse(current_file, instance, status, ""))
        elif (match := _COMMENT.search(line)) is not None and responses:
            last = responses[-1]
            responses[-1] = StoreResponse(
                last.file, last.sop_instance, last.status, match.group(1).rstrip()
            )
            in_rsp = False
    return responses


def parse_verbose(output: str) -> list[tuple[str, str]]:
    """(file, status text) per C-STORE response from a `storescu -v` log."""
    found: list[tuple[str, str]] = []
    current_file = ""
    for line in output.splitlines():
        if (match := _SENDING.search(line)) is not None:
            current_file = match.group(1).strip()
        elif (match := _VERBOSE_RSP.search(line)) is not None:
            found.append((current_file, match.group(1)))
    return found


def storescu(
    port: int,
    files: Iterable[Path],
    *options: str,
    aet: str = "STORESCU",
    aec: str = "KILN",
    log: str = "-d",
    timeout: float = 300.0,
) -> ToolRun:
    """Send `files` with DCMTK storescu; `log` is -d (parsed responses) or -v."""
    result = run_tool(
        "storescu",
        log,
        "-aet",
        aet,
        "-aec",
        aec,
        *options,
        "127.0.0.1",
        str(port),
        *map(str, files),
        timeout=timeout,
    )
    output = result.stdout + result.stderr
    responses = parse_debug(output) if log == "-d" else []
    return ToolRun(result.returncode, output, responses)


def start_storescu(box: Box, files: list[Path], aet: str) -> subprocess.Popen[str]:
    """storescu -v in the background (output merged into stdout), for tests that act while
    it sends."""
    return subprocess.Popen(
        [
            "storescu",
            "-v",
            "-aet",
            aet,
            "-aec",
            box.ae_title,
            "127.0.0.1",
            str(box.port),
            *map(str, files),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=ENV,
    )


def echoscu(port: int, *options: str, aet: str = "ECHOSCU", aec: str = "KILN") -> ToolRun:
    result = run_tool(
        "echoscu",
        "-v",
        "-to",
        "10",
        "-aet",
        aet,
        "-aec",
        aec,
        *options,
        "127.0.0.1",
        str(port),
        timeout=60,
    )
    return ToolRun(result.returncode, result.stdout + result.stderr)


# -- Part-10 files -------------------------------------------------------------------------


def split_part10(path: Path) -> tuple[bytes, bytes]:
    """(file meta group incl. preamble, dataset bytes) of a Part-10 file, split by hand."""
    data = path.read_bytes()
    assert data[128:132] == b"DICM", f"{path} is not a Part-10 file"
    assert data[132:136] == b"\x02\x00\x00\x00", "file meta does not start with its length"
    group_length = struct.unpack_from("<L", data, 140)[0]
    end = 144 + group_length
    return data[:end], data[end:]


def dataset_bytes(path: Path) -> bytes:
    return split_part10(path)[1]


def file_meta(path: Path) -> FileMetaDataset:
    return dcmread(path, stop_before_pixels=True).file_meta


def save(ds: Dataset, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


# -- datasets ------------------------------------------------------------------------------


def base_dataset(
    sop_class: str,
    *,
    modality: str,
    study_uid: str | None = None,
    series_uid: str | None = None,
    sop_uid: str | None = None,
    number: int = 1,
) -> Dataset:
    """Patient/study/series/instance attributes common to every test object."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = UID(sop_class)
    ds.SOPClassUID = UID(sop_class)
    ds.SOPInstanceUID = UID(sop_uid or generate_uid())
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyDate = "20261202"
    ds.StudyTime = "101500"
    ds.AccessionNumber = "ACC1"
    ds.Modality = modality
    ds.PatientName = "Dcmtk^Test"
    ds.PatientID = "PID-DCMTK"
    ds.StudyInstanceUID = UID(study_uid or generate_uid())
    ds.SeriesInstanceUID = UID(series_uid or generate_uid())
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = number
    return ds


def add_pixels(
    ds: Dataset, *, size: int = 64, bits: int = 16, rgb: bool = False, seed: int = 0
) -> Dataset:
    """A smooth image (compresses well) with a seed-dependent offset so copies differ."""
    y, x = np.mgrid[0:size, 0:size]
    if bits == 8:
        plane = ((x * 3 + y * 2 + seed * 17) % 256).astype(np.uint8)
    else:
        plane = ((x * 40 + y * 25 + seed * 97) % 4096).astype(np.uint16)
    ds.Rows = size
    ds.Columns = size
    ds.BitsAllocated = bits
    ds.BitsStored = 8 if bits == 8 else 12
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 0
    if rgb:
        ds.SamplesPerPixel = 3
        ds.PhotometricInterpretation = "RGB"
        ds.PlanarConfiguration = 0
        pixels = np.stack([plane, plane[::-1], plane.T], axis=-1)
    else:
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        pixels = plane
    ds.PixelData = pixels.tobytes()
    return ds


def image(
    sop_class: str = "1.2.840.10008.5.1.4.1.1.2",
    *,
    modality: str = "CT",
    size: int = 64,
    bits: int = 16,
    rgb: bool = False,
    seed: int = 0,
    study_uid: str | None = None,
    series_uid: str | None = None,
    sop_uid: str | None = None,
    number: int = 1,
) -> Dataset:
    ds = base_dataset(
        sop_class,
        modality=modality,
        study_uid=study_uid,
        series_uid=series_uid,
        sop_uid=sop_uid,
        number=number,
    )
    return add_pixels(ds, size=size, bits=bits, rgb=rgb, seed=seed)


def write_images(
    folder: Path,
    count: int,
    *,
    study_uid: str | None = None,
    size: int = 64,
    sop_class: str = "1.2.840.10008.5.1.4.1.1.2",
    modality: str = "CT",
) -> list[Path]:
    """`count` instances of one new series (of `study_uid` or a new study)."""
    study = study_uid or generate_uid()
    series = generate_uid()
    return [
        save(
            image(
                sop_class,
                modality=modality,
                size=size,
                study_uid=study,
                series_uid=series,
                number=i + 1,
            ),
            folder / f"img{i:05d}.dcm",
        )
        for i in range(count)
    ]


# -- a raw upper-layer client --------------------------------------------------------------


def _item(item_type: int, payload: bytes) -> bytes:
    return struct.pack(">BxH", item_type, len(payload)) + payload


def _uid_item(item_type: int, uid: str) -> bytes:
    return _item(item_type, uid.encode("ascii"))


def _pdu(pdu_type: int, body: bytes) -> bytes:
    return struct.pack(">BxL", pdu_type, len(body)) + body


def _element(tag: int, value: bytes) -> bytes:
    return struct.pack("<HHL", tag >> 16, tag & 0xFFFF, len(value)) + value


def _us(value: int) -> bytes:
    return struct.pack("<H", value)


def _ui(value: str) -> bytes:
    raw = value.encode("ascii")
    return raw + b"\x00" if len(raw) % 2 else raw


def command_set(elements: dict[int, bytes]) -> bytes:
    """An Implicit VR LE command set with its group length (PS3.7 E.1)."""
    body = b"".join(_element(tag, elements[tag]) for tag in sorted(elements))
    return _element(0x00000000, struct.pack("<L", len(body))) + body


def c_store_rq(sop_class: str, sop_instance: str, message_id: int = 1) -> bytes:
    return command_set(
        {
            0x00000002: _ui(sop_class),
            0x00000100: _us(0x0001),
            0x00000110: _us(message_id),
            0x00000700: _us(0x0000),
            0x00000800: _us(0x0000),
            0x00001000: _ui(sop_instance),
        }
    )


def c_echo_rq(message_id: int = 1) -> bytes:
    return command_set(
        {
            0x00000002: _ui(VERIFICATION),
            0x00000100: _us(0x0030),
            0x00000110: _us(message_id),
            0x00000800: _us(0x0101),
        }
    )


def parse_command(data: bytes) -> dict[int, bytes]:
    elements: dict[int, bytes] = {}
    offset = 0
    while offset + 8 <= len(data):
        group, elem, length = struct.unpack_from("<HHL", data, offset)
        offset += 8
        elements[(group << 16) | elem] = data[offset : offset + length]
        offset += length
    return elements


@dataclass(frozen=True)
class DimseResponse:
    command_field: int
    status: int
    comment: str


class AssociationRejected(Exception):
    def __init__(self, result: int, source: int, reason: int) -> None:
        super().__init__(f"A-ASSOCIATE-RJ result {result} source {source} reason {reason}")
        self.result, self.source, self.reason = result, source, reason


class RawAssociation:
    """A-ASSOCIATE, P-DATA, release and abort on a plain socket (PS3.8 9.3)."""

    def __init__(
        self,
        port: int,
        contexts: Sequence[tuple[int, str, Sequence[str]]],
        *,
        calling: str = "RAWSCU",
        called: str = "KILN",
        max_pdu: int = 16384,
        timeout: float = 30.0,
    ) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.accepted: dict[int, str] = {}
        self.peer_max_pdu = 0
        self.last_dataset = b""
        items = _uid_item(0x10, APPLICATION_CONTEXT)
        for context_id, abstract, syntaxes in contexts:
            sub = _uid_item(0x30, abstract) + b"".join(_uid_item(0x40, ts) for ts in syntaxes)
            items += _item(0x20, bytes([context_id, 0, 0, 0]) + sub)
        user = _item(0x51, struct.pack(">L", max_pdu)) + _uid_item(0x52, "1.2.3.4.5.6.7")
        items += _item(0x50, user)
        header = (
            struct.pack(">HH", 1, 0)
            + called.ljust(16).encode()
            + calling.ljust(16).encode()
            + bytes(32)
        )
        self.sock.sendall(_pdu(0x01, header + items))
        pdu_type, body = self.read_pdu()
        if pdu_type == 0x03:
            self.sock.close()
            raise AssociationRejected(body[1], body[2], body[3])
        assert pdu_type == 0x02, f"expected A-ASSOCIATE-AC, got PDU type {pdu_type}"
        self._parse_accept(body)

    def _parse_accept(self, body: bytes) -> None:
        offset = 68
        while offset + 4 <= len(body):
            item_type, length = struct.unpack_from(">BxH", body, offset)
            payload = body[offset + 4 : offset + 4 + length]
            if item_type == 0x21 and payload[2] == 0:
                ts_length = struct.unpack_from(">H", payload, 6)[0]
                self.accepted[payload[0]] = payload[8 : 8 + ts_length].decode().rstrip("\x00 ")
            elif item_type == 0x50:
                sub = 0
                while sub + 4 <= len(payload):
                    sub_type, sub_length = struct.unpack_from(">BxH", payload, sub)
                    if sub_type == 0x51:
                        self.peer_max_pdu = struct.unpack_from(">L", payload, sub + 4)[0]
                    sub += 4 + sub_length
            offset += 4 + length

    def _recv_exact(self, count: int) -> bytes:
        chunks = bytearray()
        while len(chunks) < count:
            chunk = self.sock.recv(count - len(chunks))
            if not chunk:
                raise ConnectionError("the box closed the connection")
            chunks += chunk
        return bytes(chunks)

    def read_pdu(self) -> tuple[int, bytes]:
        pdu_type, length = struct.unpack(">BxL", self._recv_exact(6))
        return pdu_type, self._recv_exact(length)

    def send_pdv(self, context_id: int, data: bytes, *, command: bool, last: bool) -> None:
        control = (0x01 if command else 0) | (0x02 if last else 0)
        item = struct.pack(">LBB", len(data) + 2, context_id, control) + data
        self.sock.sendall(_pdu(0x04, item))

    def fragment_size(self) -> int:
        return max(1024, (self.peer_max_pdu or 16384) - 6)

    def send_dataset(self, context_id: int, data: bytes, *, upto: int | None = None) -> None:
        """Send `data` as dataset PDVs; with `upto`, stop after that many bytes (no last)."""
        chunk = self.fragment_size()
        end = len(data) if upto is None else upto
        for start in range(0, end, chunk):
            part = data[start : min(start + chunk, end)]
            last = upto is None and start + chunk >= len(data)
            self.send_pdv(context_id, part, command=False, last=last)

    def read_response(self) -> DimseResponse:
        """Read one whole response from the box: its command, and its dataset if it has one
        (kept in `last_dataset`)."""
        command, dataset = bytearray(), bytearray()
        command_done, dataset_done = False, False
        while not (command_done and dataset_done):
            pdu_type, body = self.read_pdu()
            if pdu_type == 0x07:
                raise ConnectionAbortedError("the box aborted the association")
            assert pdu_type == 0x04, f"expected P-DATA-TF, got PDU type {pdu_type}"
            offset = 0
            while offset < len(body):
                length, _context, control = struct.unpack_from(">LBB", body, offset)
                value = body[offset + 6 : offset + 4 + length]
                if control & 0x01:
                    command += value
                    if control & 0x02:
                        command_done = True
                        kind = parse_command(bytes(command)).get(0x00000800, b"\x01\x01")
                        dataset_done = struct.unpack("<H", kind)[0] == 0x0101
                else:
                    assert command_done, "a dataset before its command"
                    dataset += value
                    dataset_done = bool(control & 0x02)
                offset += 4 + length
        self.last_dataset = bytes(dataset)
        elements = parse_command(bytes(command))
        status = struct.unpack("<H", elements[0x00000900])[0]
        comment = elements.get(0x00000902, b"").decode("ascii", "replace").rstrip("\x00 ")
        field_value = struct.unpack("<H", elements[0x00000100])[0]
        return DimseResponse(field_value, status, comment)

    def store(
        self, context_id: int, sop_class: str, sop_instance: str, data: bytes, message_id: int = 1
    ) -> DimseResponse:
        self.send_pdv(
            context_id, c_store_rq(sop_class, sop_instance, message_id), command=True, last=True
        )
        self.send_dataset(context_id, data)
        return self.read_response()

    def echo(self, context_id: int, message_id: int = 1) -> DimseResponse:
        self.send_pdv(context_id, c_echo_rq(message_id), command=True, last=True)
        return self.read_response()

    def release(self) -> None:
        self.sock.sendall(_pdu(0x05, bytes(4)))
        pdu_type, _ = self.read_pdu()
        assert pdu_type == 0x06, f"expected A-RELEASE-RP, got PDU type {pdu_type}"
        self.sock.close()

    def abort(self) -> None:
        self.sock.sendall(_pdu(0x07, bytes([0, 0, 0, 0])))
        self.sock.close()

    def close(self) -> None:
        self.sock.close()


# -- the box from the outside ----------------------------------------------------------------


def instance_path(data_dir: Path, ds: Dataset, copy: int = 0) -> Path:
    """Where the box files an instance: dicom/<study>/<series>/<sop>[.<copy>].dcm."""
    name = f"{ds.SOPInstanceUID}.dcm" if copy == 0 else f"{ds.SOPInstanceUID}.{copy}.dcm"
    return data_dir / "dicom" / str(ds.StudyInstanceUID) / str(ds.SeriesInstanceUID) / name


def tree(
    root: Path, *, ignore: Sequence[str] = ("kiln.db", "kiln.db-wal", "kiln.db-shm")
) -> set[str]:
    """Every file below `root` (relative paths), except the database and logs."""
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and p.name not in ignore and p.suffix != ".log"
    }


def start_without_probe(box: Box, workers: int = 2, timeout: float = 30.0) -> None:
    """Start the dicom role like `Box.start`, but wait for its workers' log lines instead of
    a C-ECHO: a box whose allow-lists reject echoscu's AE title or host never answers one."""
    box.log_path = box.root / "dicom.log"
    with box.log_path.open("ab") as log:
        box.process = subprocess.Popen(
            [*APPLIANCE, "--config", str(box.config_path), "run", "--role", "dicom"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            cwd=ROOT,
        )
    assert wait_for(lambda: box.log().count(") accepting") >= workers, timeout), box.log()


def module_box(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Box]:
    """A box shared by the tests of one module (starting one costs seconds; tests that
    share it use fresh UIDs and AE titles and compare before/after instead of totals)."""
    root = tmp_path_factory.mktemp(name)
    port, web_port = free_port(), free_port()
    box = Box(root, port, web_port, write_config(root, port, web_port))
    box.start()
    try:
        yield box
    finally:
        if box.process is not None and box.process.poll() is None:
            box.stop(signal.SIGTERM, timeout=60)


@dataclass(frozen=True)
class Contents:
    """What the box holds: compare before and after a request that must change nothing."""

    files: frozenset[Path]
    instances: int
    studies: int

    @classmethod
    def of(cls, box: Box) -> Contents:
        return cls(
            frozenset(box.files()),
            box.count("SELECT count(*) FROM instances"),
            box.count("SELECT count(*) FROM studies"),
        )
