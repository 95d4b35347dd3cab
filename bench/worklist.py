"""Modality Worklist C-FIND latency: Kiln vs DCMTK wlmscpfs on the same items, side by side.

    .venv/bin/python -m bench.worklist [--sizes 1000,10000,100000] [--repeat N]
                                       [--servers kiln,wlmscpfs] [--quick]

For each size both servers get the same items (bench/worklist_data.py): Kiln through
`appliance worklist import`, wlmscpfs as one .wl file per item (it is run only up to
worklist_data.WLM_MAX items). Three queries, the same return keys each (syngo MR table 35):
the syngo MR broad query (MR, any station, one day), an exact Patient ID and a Patient Name
wildcard. The client is a small DICOM upper-layer client in this file, one association per
server and query kind, queries interleaved between the servers. Results go between the
worklist markers of docs/performance.md (--quick: bench/results/performance-worklist-quick.md)
and raw JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset

from bench.doc_block import replace_block as replace_marked
from bench.receive import (
    APPLIANCE,
    DCMTK_ENV,
    HOST,
    dcmtk,
    first_line,
    free_port,
    loadavg,
    machine_facts,
    session_pids,
    spawn,
    status_kib,
    stop,
    tail,
)
from bench.worklist_data import CENTER, DEFAULT_DIR, WLM_AET, WLM_MAX, ensure

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
DOC = REPO / "docs" / "performance.md"
START_MARK = "<!-- worklist-bench: start -->"
END_MARK = "<!-- worklist-bench: end -->"
KILN_AET = "KILN"
CALLING_AET = "KILNBENCH"
SIZES = (1000, 10000, 100000)
KINDS = ("broad", "patient_id", "name")
SERVERS = ("kiln", "wlmscpfs")
WARMUP = 3
READY_TIMEOUT = 60.0
IO_TIMEOUT = 300.0
IMPORT_TIMEOUT = 900.0

MWL_FIND = "1.2.840.10008.5.1.4.31"
VERIFICATION = "1.2.840.10008.1.1"
IMPLICIT_LE = "1.2.840.10008.1.2"
APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"
IMPLEMENTATION_UID = "1.2.826.0.1.3680043.8.498.1"  # pydicom's: the client is built on it
MAX_PDU = 131072
FIND_CONTEXT, ECHO_CONTEXT = 1, 3
PENDING = (0xFF00, 0xFF01)
C_FIND_RQ, C_ECHO_RQ = 0x0020, 0x0030

# syngo MR table 35: every return key it asks for, at the top level and in the step.
RETURN_KEYS = [
    *("StudyDate", "StudyTime", "StudyInstanceUID", "RequestedProcedureDescription"),
    *("RequestedProcedureID", "ReasonForTheRequestedProcedure", "RequestedProcedurePriority"),
    *("PatientTransportArrangements", "ConfidentialityCode", "ReportingPriority"),
    *("NamesOfIntendedRecipientsOfResults", "RequestedProcedureComments", "AccessionNumber"),
    *("ReferringPhysicianName", "RequestingPhysician", "RequestingService"),
    *("IssueDateOfImagingServiceRequest", "IssueTimeOfImagingServiceRequest"),
    *("PlacerOrderNumberImagingServiceRequest", "FillerOrderNumberImagingServiceRequest"),
    *("OrderEnteredBy", "OrderEntererLocation", "OrderCallbackPhoneNumber"),
    *("ImagingServiceRequestComments", "AdmissionID", "IssuerOfAdmissionID"),
    *("CurrentPatientLocation", "AdmittingDiagnosesDescription", "AdmittingDate"),
    *("PatientName", "PatientID", "IssuerOfPatientID", "OtherPatientIDs", "OtherPatientNames"),
    *("PatientBirthName", "PatientBirthDate", "PatientBirthTime", "PatientSex", "PatientAge"),
    *("PatientSize", "PatientWeight", "PatientAddress", "MilitaryRank", "BranchOfService"),
    *("EthnicGroup", "PatientComments", "MedicalAlerts", "Allergies", "PregnancyStatus"),
    *("SmokingStatus", "LastMenstrualDate", "AdditionalPatientHistory", "SpecialNeeds"),
]
RETURN_SEQUENCES = [  # asked for empty: universal sequence matching, as table 35 says
    "ReferencedStudySequence",
    "RequestedProcedureCodeSequence",
    "PatientInsurancePlanCodeSequence",
]
STEP_KEYS = [
    *("Modality", "ScheduledStationAETitle", "ScheduledProcedureStepStartDate"),
    *("ScheduledProcedureStepStartTime", "ScheduledProcedureStepEndDate"),
    *("ScheduledProcedureStepEndTime", "ScheduledPerformingPhysicianName"),
    *("ScheduledProcedureStepDescription", "ScheduledProcedureStepID", "ScheduledStationName"),
    *("ScheduledProcedureStepLocation", "ScheduledProcedureStepStatus"),
    "CommentsOnTheScheduledProcedureStep",
]


# -- the client ---------------------------------------------------------------------------
class PeerError(RuntimeError):
    """The server refused, aborted or answered something this client does not expect."""


def _item(kind: int, body: bytes) -> bytes:
    return struct.pack(">BBH", kind, 0, len(body)) + body


def _element(number: int, value: bytes) -> bytes:
    return struct.pack("<HHI", 0, number, len(value)) + value


def _uid(uid: str) -> bytes:
    raw = uid.encode()
    return raw + b"\0" if len(raw) % 2 else raw


def command_set(field_: int, sop_class: str, message_id: int, has_dataset: bool) -> bytes:
    """A DIMSE request command set, Implicit VR Little Endian, group length first."""
    body = (
        _element(0x0002, _uid(sop_class))
        + _element(0x0100, struct.pack("<H", field_))
        + _element(0x0110, struct.pack("<H", message_id))
        + (_element(0x0700, struct.pack("<H", 0)) if field_ == C_FIND_RQ else b"")
        + _element(0x0800, struct.pack("<H", 0x0001 if has_dataset else 0x0101))
    )
    return _element(0x0000, struct.pack("<I", len(body))) + body


def parse_command(data: bytes) -> dict[int, bytes]:
    """Element number -> value of a group 0000 command set (Implicit VR Little Endian)."""
    out = {}
    at = 0
    while at + 8 <= len(data):
        _, number, length = struct.unpack_from("<HHI", data, at)
        out[number] = data[at + 8 : at + 8 + length]
        at += 8 + length
    return out


@dataclass
class Answer:
    status: int
    identifiers: list[bytes]
    pending: set[int] = field(default_factory=set)


class Client:
    """A minimal DICOM upper-layer client: one association, requests sent one at a time.

    Lean on purpose: a response is read into bytes and its command parsed for the status;
    identifiers are not decoded while a query is timed, so the client's own cost per
    response is a few microseconds (pynetdicom needed ~4 ms for a C-ECHO round trip here).
    """

    def __init__(self, port: int, called: str) -> None:
        self.sock = socket.create_connection((HOST, port), timeout=IO_TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.sock.makefile("rb", buffering=1 << 20)
        self.message_id = 0
        self.peer_max = 0
        self._associate(called)

    # PDUs
    def _read_pdu(self) -> tuple[int, bytes]:
        head = self.reader.read(6)
        if len(head) < 6:
            raise PeerError("connection closed by the server")
        kind, length = head[0], struct.unpack(">I", head[2:6])[0]
        body = self.reader.read(length)
        if len(body) < length:
            raise PeerError("connection closed in the middle of a PDU")
        if kind == 0x07:
            raise PeerError(f"A-ABORT from the server (source {body[2]}, reason {body[3]})")
        return kind, body

    def _associate(self, called: str) -> None:
        syntax = _item(0x40, IMPLICIT_LE.encode())  # the default every SCP must accept
        contexts = b"".join(
            _item(0x20, bytes([cid, 0, 0, 0]) + _item(0x30, sop.encode()) + syntax)
            for cid, sop in ((FIND_CONTEXT, MWL_FIND), (ECHO_CONTEXT, VERIFICATION))
        )
        user = _item(
            0x50,
            _item(0x51, struct.pack(">I", MAX_PDU))
            + _item(0x52, IMPLEMENTATION_UID.encode())
            + _item(0x55, b"KILN_BENCH"),
        )
        body = (
            struct.pack(">HH", 1, 0)
            + called.encode().ljust(16)
            + CALLING_AET.encode().ljust(16)
            + bytes(32)
            + _item(0x10, APPLICATION_CONTEXT.encode())
            + contexts
            + user
        )
        self.sock.sendall(struct.pack(">BBI", 0x01, 0, len(body)) + body)
        kind, reply = self._read_pdu()
        if kind != 0x02:
            raise PeerError(f"association not accepted (PDU type {kind:#x}: {reply[:4].hex()})")
        accepted = set()
        at = 68
        while at + 4 <= len(reply):
            item_kind, length = reply[at], struct.unpack(">H", reply[at + 2 : at + 4])[0]
            value = reply[at + 4 : at + 4 + length]
            if item_kind == 0x21 and value[2] == 0:
                accepted.add(value[0])
            elif item_kind == 0x50:
                sub = 0
                while sub + 4 <= len(value):
                    sub_len = struct.unpack(">H", value[sub + 2 : sub + 4])[0]
                    if value[sub] == 0x51:
                        self.peer_max = struct.unpack(">I", value[sub + 4 : sub + 8])[0]
                    sub += 4 + sub_len
            at += 4 + length
        if accepted != {FIND_CONTEXT, ECHO_CONTEXT}:
            raise PeerError(f"presentation contexts accepted: {sorted(accepted)}, want 1 and 3")

    def _pdata(self, cid: int, data: bytes, command: bool) -> bytes:
        """P-DATA-TF PDUs for one message part, fragmented to the server's maximum."""
        limit = self.peer_max - 6 if self.peer_max else len(data) or 1
        out = []
        for at in range(0, max(len(data), 1), limit):
            last = at + limit >= len(data)
            flags = (1 if command else 0) | (2 if last else 0)
            pdv = struct.pack(">IBB", len(data[at : at + limit]) + 2, cid, flags)
            pdv += data[at : at + limit]
            out.append(struct.pack(">BBI", 0x04, 0, len(pdv)) + pdv)
        return b"".join(out)

    def _receive(self) -> tuple[dict[int, bytes], bytes | None]:
        """One response: its command elements and, if it has one, its data set."""
        command = bytearray()
        data = bytearray()
        elements: dict[int, bytes] | None = None
        while True:
            kind, body = self._read_pdu()
            if kind != 0x04:
                raise PeerError(f"unexpected PDU type {kind:#x} while waiting for a response")
            at = 0
            while at < len(body):
                length = struct.unpack(">I", body[at : at + 4])[0]
                flags = body[at + 5]
                chunk = body[at + 6 : at + 4 + length]
                at += 4 + length
                if flags & 1:
                    command += chunk
                    if flags & 2:
                        elements = parse_command(bytes(command))
                        if elements.get(0x0800) == struct.pack("<H", 0x0101):
                            return elements, None
                else:
                    data += chunk
                    if flags & 2:
                        if elements is None:
                            raise PeerError("data set before its command")
                        return elements, bytes(data)

    def request(self, field_: int, cid: int, sop: str, identifier: bytes | None) -> Answer:
        self.message_id = self.message_id % 0xFFFF + 1
        out = self._pdata(cid, command_set(field_, sop, self.message_id, bool(identifier)), True)
        if identifier:
            out += self._pdata(cid, identifier, False)
        self.sock.sendall(out)
        answer = Answer(-1, [])
        while True:
            elements, data = self._receive()
            status = struct.unpack("<H", elements.get(0x0900, b"\xff\xff"))[0]
            if status in PENDING:
                answer.pending.add(status)
                answer.identifiers.append(data or b"")
                continue
            answer.status = status
            if status != 0:
                comment = elements.get(0x0902, b"").decode(errors="replace").strip("\0 ")
                raise PeerError(f"final status {status:#06x} {comment}".strip())
            return answer

    def find(self, identifier: bytes) -> Answer:
        return self.request(C_FIND_RQ, FIND_CONTEXT, MWL_FIND, identifier)

    def echo(self) -> None:
        self.request(C_ECHO_RQ, ECHO_CONTEXT, VERIFICATION, None)

    def release(self) -> None:
        try:
            self.sock.sendall(struct.pack(">BBI", 0x05, 0, 4) + bytes(4))
            self._read_pdu()
        except (OSError, PeerError):
            pass
        finally:
            self.reader.close()
            self.sock.close()


# -- queries ------------------------------------------------------------------------------
def identifier(kind: str, want: dict[str, Any]) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    for keyword in RETURN_KEYS:
        setattr(ds, keyword, None)
    for keyword in RETURN_SEQUENCES:
        setattr(ds, keyword, [])
    step = Dataset()
    for keyword in STEP_KEYS:
        setattr(step, keyword, None)
    step.ScheduledProtocolCodeSequence = []
    if kind == "broad":  # syngo MR table 34: configured modality, any station, one day
        step.Modality = want["modality"]
        step.ScheduledStationAETitle = "*"
        step.ScheduledProcedureStepStartDate = want["date"]
    elif kind == "patient_id":
        ds.PatientID = want["value"]
    else:
        ds.PatientName = want["value"]
    ds.ScheduledProcedureStepSequence = [step]
    return ds


def encode(ds: Dataset) -> bytes:
    fp = DicomBytesIO()
    fp.is_little_endian = True
    fp.is_implicit_VR = True
    write_dataset(fp, ds)
    return fp.getvalue()


def accessions(answer: Answer) -> list[str]:
    """Decoded after timing: the accession numbers the server returned."""
    out = []
    for raw in answer.identifiers:
        ds = read_dataset(BytesIO(raw), is_implicit_VR=True, is_little_endian=True)
        out.append(str(ds.get("AccessionNumber", "")))
    return sorted(out)


# -- servers ------------------------------------------------------------------------------
@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    aet: str
    log: Path
    loaded_seconds: float = 0.0
    loader: str = ""


def wlmscpfs_argv(data: Path | str, port: int | str) -> list[str]:
    # -csk: answers carry the files' Specific Character Set (ISO_IR 100), as Kiln's do.
    return [dcmtk("wlmscpfs"), "-dfp", str(data), "-csk", str(port)]


def kiln_toml(data_dir: Path | str, port: int | str) -> str:
    return (
        f"[box]\ndata_dir = {json.dumps(str(data_dir))}\n"
        f'[dicom]\nae_titles = ["{KILN_AET}"]\nport = {port}\nbind = "{HOST}"\n'
        # The benchmark sends no orders; no HL7 listener is needed on a shared machine.
        "[hl7]\nenabled = false\n"
    )


def wait_ready(server: Server) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.proc.returncode}:\n{tail(server.log)}"
            )
        try:
            client = Client(server.port, server.aet)
            client.echo()
            client.release()
            return
        except (OSError, PeerError):
            time.sleep(0.2)
    raise RuntimeError(f"{server.name} not ready after {READY_TIMEOUT} s:\n{tail(server.log)}")


def start_wlmscpfs(data: Path, work: Path) -> Server:
    port = free_port()
    proc, log = spawn(wlmscpfs_argv(data / "wlm", port), work, DCMTK_ENV)
    server = Server("wlmscpfs", proc, port, WLM_AET, log, loader="one .wl file per item")
    try:
        wait_ready(server)
    except BaseException:
        stop(proc)  # not yet in the caller's list of servers to stop
        raise
    return server


def import_kiln(config: Path, items: Path, work: Path) -> None:
    argv = [str(APPLIANCE), "--config", str(config), "worklist", "import", str(items.resolve())]
    done = subprocess.run(
        argv, cwd=work, capture_output=True, text=True, timeout=IMPORT_TIMEOUT, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"worklist import failed ({done.returncode}): {done.stderr.strip()}")


def start_kiln(data: Path, work: Path, config: Path) -> Server:
    if not APPLIANCE.exists():
        raise RuntimeError(f"{APPLIANCE} not found; use --servers wlmscpfs")
    port = free_port()
    config.write_text(kiln_toml(work / "kiln-data", port))
    proc, log = spawn([str(APPLIANCE), "--config", str(config), "run", "--role", "dicom"], work)
    server = Server("kiln", proc, port, KILN_AET, log, loader="appliance worklist import")
    try:
        wait_ready(server)  # the box has created and migrated its database
        start = time.perf_counter()
        import_kiln(config, data / "items.json", work)
        server.loaded_seconds = time.perf_counter() - start
    except BaseException:
        stop(proc)  # not yet in the caller's list of servers to stop
        raise
    return server


def memory(server: Server) -> dict[str, float]:
    """VmHWM of every process of the server (its session): largest and sum, in MiB."""
    hwm = [status_kib(pid, "VmHWM") for pid in session_pids(server.proc.pid)]
    return {
        "largest_hwm_mib": max(hwm, default=0) / 1024,
        "sum_hwm_mib": sum(hwm) / 1024,
        "processes": len(hwm),
    }


# -- measurement --------------------------------------------------------------------------
def p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def measure(
    servers: list[Server], queries: dict[str, bytes], repeat: int
) -> tuple[dict[str, dict[str, Any]], dict[str, list[float]]]:
    """Interleaved: each round runs every kind on every server, the order rotating."""
    links = {(s.name, k): Client(s.port, s.aet) for s in servers for k in KINDS}
    try:
        first: dict[tuple[str, str], Answer] = {}
        for (name, kind), link in links.items():
            for _ in range(WARMUP):  # page cache, SQLite cache, first-query set-up
                first[(name, kind)] = link.find(queries[kind])
        times: dict[tuple[str, str], list[float]] = {key: [] for key in links}
        counts: dict[tuple[str, str], set[int]] = {key: set() for key in links}
        pending: dict[tuple[str, str], set[int]] = {key: set() for key in links}
        echoes: dict[str, list[float]] = {s.name: [] for s in servers}
        for rnd in range(repeat):
            kinds = KINDS[rnd % len(KINDS) :] + KINDS[: rnd % len(KINDS)]
            order = servers if rnd % 2 == 0 else servers[::-1]
            for kind in kinds:
                for server in order:
                    link = links[(server.name, kind)]
                    start = time.perf_counter()
                    answer = link.find(queries[kind])
                    times[(server.name, kind)].append(time.perf_counter() - start)
                    counts[(server.name, kind)].add(len(answer.identifiers))
                    pending[(server.name, kind)] |= answer.pending
            for server in order:  # the round trip floor: C-ECHO on the same association
                start = time.perf_counter()
                links[(server.name, KINDS[0])].echo()
                echoes[server.name].append(time.perf_counter() - start)
        mem = {s.name: memory(s) for s in servers}  # before release: forked children live
    finally:
        for link in links.values():
            link.release()
    results: dict[str, dict[str, Any]] = {}
    for (name, kind), values in times.items():
        results.setdefault(name, {"memory": mem[name], "queries": {}})["queries"][kind] = {
            "median_ms": statistics.median(values) * 1000,
            "p95_ms": p95(values) * 1000,
            "min_ms": min(values) * 1000,
            "max_ms": max(values) * 1000,
            "matches": sorted(counts[(name, kind)]),
            "pending_statuses": [f"{s:04X}" for s in sorted(pending[(name, kind)])],
            "accessions": accessions(first[(name, kind)]),
            "all_ms": [round(v * 1000, 3) for v in values],
        }
    return results, {n: [v * 1000 for v in e] for n, e in echoes.items()}


def run_size(
    size: int, names: list[str], repeat: int, tmp_root: Path | None, stamp: str
) -> dict[str, Any]:
    data = ensure(size, DEFAULT_DIR)
    want = json.loads((data / "expected.json").read_text())
    queries = {kind: encode(identifier(kind, want[kind])) for kind in KINDS}
    names = [n for n in names if n != "wlmscpfs" or size <= WLM_MAX]
    for wl in (data / "wlm" / WLM_AET).glob("*.wl") if "wlmscpfs" in names else []:
        wl.read_bytes()  # into the page cache: time the server, not the disk
    servers: list[Server] = []
    with tempfile.TemporaryDirectory(prefix=f"kiln-wlbench-{size}-", dir=tmp_root) as tmp:
        try:
            for name in names:
                work = Path(tmp) / name
                work.mkdir()
                if name == "kiln":
                    config = RESULTS / f"worklist-kiln-{stamp}-{size}.toml"
                    servers.append(start_kiln(data, work, config))
                else:
                    servers.append(start_wlmscpfs(data, work))
            results, echoes = measure(servers, queries, repeat)
        except (OSError, PeerError, RuntimeError, subprocess.TimeoutExpired) as exc:
            logs = "\n".join(f"--- {s.name} log:\n{tail(s.log)}" for s in servers)
            raise RuntimeError(f"{size} items: {exc}\n{logs}") from exc
        finally:
            for server in servers:
                stop(server.proc)
    for server in servers:
        entry = results[server.name]
        entry["echo_median_ms"] = statistics.median(echoes[server.name])
        entry["loaded_seconds"] = server.loaded_seconds
        entry["loader"] = server.loader
        for kind in KINDS:
            q = entry["queries"][kind]
            q["expected_matches"] = len(want[kind]["accessions"])
            q["same_items_as_expected"] = q["accessions"] == want[kind]["accessions"]
    return {
        "size": size,
        "queries": {k: {**want[k], "accessions": None} for k in KINDS},
        "servers": results,
    }


# -- report -------------------------------------------------------------------------------
QUERY_LABEL = {
    "broad": "broad: MR, station `*`, one day",
    "patient_id": "exact Patient ID",
    "name": "Patient Name `SMI*`",
}

METHOD = """\
## Modality Worklist: C-FIND latency, Kiln vs DCMTK `wlmscpfs`

Measured by `bench/worklist.py` on items from `bench/worklist_data.py` (seeded, identical on
every machine): 365 days of schedule around {center}, half of the items within a month of
it, weekdays busier than weekends, ten modalities (CT 25 %, MR 20 %, CR 18 %, US 15 %, MG,
DX, XA, NM, PT, RF) on 17 scheduled stations, ~2.5 steps per patient, names with Latin-1
letters (MÜLLER, SJÖSTRÖM, NÚÑEZ...). Every step is SCHEDULED. Kiln gets the items as one
JSON file through `appliance worklist import`; `wlmscpfs` as one `.wl` DICOM file per item
(Explicit VR Little Endian, ISO_IR 100, as `dump2dcm` writes them), read into the page cache
before timing. `wlmscpfs` runs at 1,000 and 10,000 items; 100,000 is Kiln alone.

- **Queries**, each with all return keys of syngo MR table 35 (so the answers are complete
  worklist entries): *broad* is syngo MR's broad query (table 34): Scheduled Procedure Step
  Sequence with Modality `MR`, Scheduled Station AE Title `*` and SPS Start Date = one day
  ({center}); *exact Patient ID*: the patient with most steps; *Patient Name `SMI*`*.
- **Client**: a minimal DICOM upper-layer client in `bench/worklist.py` (raw sockets,
  `TCP_NODELAY`, Implicit VR Little Endian, max PDU 128 KiB). It reads each response and
  parses only its command (status); identifiers are decoded after timing, to check them.
  pynetdicom was measured and rejected: ~4 ms per C-ECHO round trip on a kept association,
  which would swamp Kiln's times; `findscu` opens an association per query.
- **Time** = from sending the C-FIND request until its final (Success) response has been
  read, on one association per server and query kind kept open for the whole run. After
  {warmup} untimed queries per association, {repeat} rounds; each round runs all three
  kinds on both servers, the kinds' order rotating and the servers alternating first, so
  the noise of this shared 2-core machine falls on both alike. Median and p95 (inclusive
  quantiles) over the rounds; **x faster** = wlmscpfs / Kiln for the same figure.
- **Echo** = median C-ECHO round trip on the same association: the floor under every
  figure (network, DIMSE framing, the client).
- **Check**: both servers' match counts (every round) are shown side by side with the
  count expected from the items; the accession numbers of each server's last warm-up answer
  are compared with those expected.
- **Memory** = VmHWM (peak resident set) of the server's processes, read from /proc at the
  end of the run, before the associations close: the largest single process and the sum
  over the process family. `wlmscpfs` forks a child per association (3 here) that reads the
  files itself; Kiln's `dicom` role is a parent, two association workers and the
  multiprocessing resource tracker. Sums count shared pages once per process.
- `wlmscpfs` and every DCMTK tool run with `TCP_NODELAY=1`.
"""


def fmt(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def markdown(
    runs: list[dict[str, Any]], facts: dict[str, str], repeat: int, cmds: list[str], center: str
) -> str:
    out = [METHOD.format(center=center, warmup=WARMUP, repeat=repeat), "### Results\n"]
    out.append(
        "| Items | Query | Matches (expected / Kiln / wlmscpfs) | Kiln median ms | Kiln p95 ms "
        "| wlmscpfs median ms | wlmscpfs p95 ms | x faster (median) | x faster (p95) |"
    )
    out.append("|--:|---|---|--:|--:|--:|--:|--:|--:|")
    for run in runs:
        servers = run["servers"]
        for kind in KINDS:
            k = servers.get("kiln", {}).get("queries", {}).get(kind)
            w = servers.get("wlmscpfs", {}).get("queries", {}).get(kind)
            expected = (k or w or {}).get("expected_matches", "?")

            def count(q: dict[str, Any] | None) -> str:
                if q is None:
                    return "-"
                mark = "" if q["same_items_as_expected"] else " (differs!)"
                return "/".join(map(str, q["matches"])) + mark

            cells = [
                f"{run['size']:,}",
                QUERY_LABEL[kind],
                f"{expected} / {count(k)} / {count(w)}",
                fmt(k["median_ms"]) if k else "-",
                fmt(k["p95_ms"]) if k else "-",
                fmt(w["median_ms"]) if w else "-",
                fmt(w["p95_ms"]) if w else "-",
                f"{w['median_ms'] / k['median_ms']:.0f}x" if k and w else "-",
                f"{w['p95_ms'] / k['p95_ms']:.0f}x" if k and w else "-",
            ]
            out.append("| " + " | ".join(cells) + " |")
    out += checks(runs)
    out.append(
        "\n| Items | Server | Echo ms | Loaded in s | Largest VmHWM MiB "
        "| Sum of VmHWM MiB (processes) |"
    )
    out.append("|--:|---|--:|--:|--:|--:|")
    for run in runs:
        for name, entry in run["servers"].items():
            mem = entry["memory"]
            loaded = f"{entry['loaded_seconds']:.1f}" if name == "kiln" else "-"
            out.append(
                f"| {run['size']:,} | {name} | {entry['echo_median_ms']:.2f} | {loaded} | "
                f"{mem['largest_hwm_mib']:.1f} | {mem['sum_hwm_mib']:.1f} ({mem['processes']}) |"
            )
    out.append("\n### Targets (issue 3)\n")
    out += verdicts(runs)
    out.append("\n### Machine\n")
    out += [f"- {k}: {v}" for k, v in facts.items()]
    out.append("\n### Commands\n")
    out.append("```\n" + "\n".join(cmds) + "\n```")
    return "\n".join(out) + "\n"


def checks(runs: list[dict[str, Any]]) -> list[str]:
    """Whether every answer held exactly the expected steps, and the pending statuses."""
    wrong = [
        f"{run['size']:,} {name} {QUERY_LABEL[kind]}"
        for run in runs
        for name, entry in run["servers"].items()
        for kind, q in entry["queries"].items()
        if not q["same_items_as_expected"] or q["matches"] != [q["expected_matches"]]
    ]
    statuses: dict[str, set[str]] = {}
    for run in runs:
        for name, entry in run["servers"].items():
            for q in entry["queries"].values():
                statuses.setdefault(name, set()).update(q["pending_statuses"])
    out = [
        "\n"
        + (
            "Both servers returned the expected number of steps in every round, and exactly "
            "the expected steps (accession numbers compared, last warm-up answer)."
            if not wrong
            else "**Answers that differ from the expected steps:** " + "; ".join(wrong) + "."
        )
        + " Pending statuses seen: "
        + ", ".join(f"{n} {'/'.join(sorted(v))}" for n, v in statuses.items())
        + "."
    ]
    return out


def verdicts(runs: list[dict[str, Any]]) -> list[str]:
    out = []
    for run in runs:
        servers = run["servers"]
        if run["size"] == 10000 and {"kiln", "wlmscpfs"} <= servers.keys():
            ratios = {
                kind: servers["wlmscpfs"]["queries"][kind]["median_ms"]
                / servers["kiln"]["queries"][kind]["median_ms"]
                for kind in KINDS
            }
            met = min(ratios.values()) >= 20
            out.append(
                f"- At least 20x faster than wlmscpfs at 10,000 items (median): "
                f"**{'met' if met else 'not met'}** ("
                + ", ".join(f"{QUERY_LABEL[k].split(':')[0]} {r:.0f}x" for k, r in ratios.items())
                + ")."
            )
        if run["size"] == 100000 and "kiln" in servers:
            worst = {k: servers["kiln"]["queries"][k]["p95_ms"] for k in KINDS}
            met = max(worst.values()) < 50
            out.append(
                f"- p95 under 50 ms at 100,000 items: **{'met' if met else 'not met'}** ("
                + ", ".join(f"{QUERY_LABEL[k].split(':')[0]} {v:.1f} ms" for k, v in worst.items())
                + ")."
            )
    return out or [
        "- Not measured in this run (needs 10,000 items with both servers, or 100,000 with Kiln)."
    ]


def commands(argv: list[str]) -> list[str]:
    toml = "\n#   ".join(kiln_toml("<tmp>/kiln-data", "<port>").splitlines())
    return [
        "# whole benchmark",
        " ".join([".venv/bin/python -m bench.worklist", *argv]),
        "# data (bench/data/worklist/<N>/: items.json, wlm/WLMSCPFS/*.wl, expected.json)",
        ".venv/bin/python -m bench.worklist_data --sizes <N>",
        "# servers (<tmp> is a fresh temporary directory per size)",
        "TCP_NODELAY=1 " + " ".join(wlmscpfs_argv("bench/data/worklist/<N>/wlm", "<port>")),
        f"{APPLIANCE} --config <config> run --role dicom",
        f"#   <config> (bench/results/worklist-kiln-<stamp>-<N>.toml):\n#   {toml}",
        f"{APPLIANCE} --config <config> worklist import bench/data/worklist/<N>/items.json",
    ]


def replace_block(doc: Path, block: str) -> None:
    replace_marked(doc, START_MARK, END_MARK, block)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=None, help="comma-separated item counts")
    parser.add_argument("--repeat", type=int, default=None, help="rounds per size (30)")
    parser.add_argument("--servers", default=",".join(SERVERS), help="subset of kiln,wlmscpfs")
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: 1,000 and 10,000, 5 rounds"
    )
    parser.add_argument("--tmp", type=Path, default=None, help="parent of the servers' dirs")
    parser.add_argument("--out", type=Path, default=None, help="markdown file for the block")
    args = parser.parse_args()
    names = args.servers.split(",")
    for name in names:
        if name not in SERVERS:
            parser.error(f"unknown server {name!r}; choose from {','.join(SERVERS)}")
    sizes = [int(s) for s in (args.sizes or ("1000,10000" if args.quick else "")).split(",") if s]
    sizes = sizes or list(SIZES)
    repeat = args.repeat or (5 if args.quick else 30)
    out = args.out or (RESULTS / "performance-worklist-quick.md" if args.quick else DOC)

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    load_before = loadavg()
    runs = []
    for size in sizes:
        try:
            run = run_size(size, names, repeat, args.tmp, stamp)
        except RuntimeError as exc:
            sys.exit(f"FAILED: {exc}")
        runs.append(run)
        for kind in KINDS:
            line = [f"{size:7d} {kind:10}"]
            for name, entry in run["servers"].items():
                q = entry["queries"][kind]
                line.append(
                    f"{name} {q['median_ms']:8.1f} ms (p95 {q['p95_ms']:8.1f}) "
                    f"matches {q['matches']}/{q['expected_matches']}"
                    f"{'' if q['same_items_as_expected'] else ' DIFFERENT ITEMS'}"
                )
            print("  ".join(line), flush=True)
    facts = machine_facts(
        load_before, {"DCMTK": first_line([dcmtk("wlmscpfs"), "--version"]).strip("$ ")}
    )
    cmds = commands(sys.argv[1:])
    block = markdown(runs, facts, repeat, cmds, CENTER.isoformat())
    replace_block(out, block)
    raw = RESULTS / f"worklist-{stamp}{'-quick' if args.quick else ''}.json"
    raw.write_text(
        json.dumps(
            {"facts": facts, "repeat": repeat, "commands": cmds, "runs": runs},
            indent=2,
            ensure_ascii=False,
        )
    )
    print(f"wrote {out} and {raw}")


if __name__ == "__main__":
    main()
