"""A film printed end to end: DCMTK's print client sends a 14INX17IN STANDARD\\4,5 film of
20 512x512 12-bit images to the running box, which composes it and hands it to CUPS.

    .venv/bin/python -m bench.print_chain [--repeat N] [--out FILE]

One run, the same film every round, interleaved with the peer:

- kiln: `dcmprscu` sends the stored print (made once by `dcmpsprt`) to the box's paper AE
  title (`appliance run`, all roles, the default simulated paper printer: a private cupsd
  with Kiln's test backend). Measured: the print client's whole session (association,
  Printer N-GET, film session, film box, 20 image boxes, N-ACTION, deletes, release), and
  from the moment the box queued the film (the row written before the N-ACTION answer)
  to the moment CUPS accepted the PDF (its job id recorded) and to the moment the
  printer's backend had the whole document (the job done).
- dcmprscp: the same `dcmprscu` session against DCMTK's own Print SCP, which stores the
  film as DICOM objects (no layout, no printing). The session-time ratio is the figure
  the issue names a peer for; "N-ACTION to CUPS accepted" has no peer and is reported as
  an absolute time, with the target of the issue beside it.

Memory: the devices role's peak RSS (VmHWM) after the run (it composes the films) and the
dicom worker's. Results go between the print-chain-bench markers of docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.doc_block import replace_block
from bench.print_compose import make_images
from bench.receive import REPO, RESULTS, first_line, free_port, loadavg, machine_facts

DOC = REPO / "docs" / "performance.md"
START_MARK = "<!-- print-chain-bench: start -->"
END_MARK = "<!-- print-chain-bench: end -->"
APPLIANCE = str(REPO / ".venv" / "bin" / "appliance")
ENV = {**os.environ, "TCP_NODELAY": "1"}
PAPER_AE = "KILN_PAPER"
LOAD = "load average 1/5/15 min (start, end)"

CLIENT_CONFIG = """[[GENERAL]]
[DATABASE]
Directory = {root}/client-db
[PRINT]
Spooler = dcmprscu
Directory = {root}/client-spool
DetailedLog = false
MinPrintResolution = 64\\64
MaxPrintResolution = 8192\\8192
DefaultIllumination = 2000
DefaultReflection = 10
[LUT]
Directory = {root}/client-lut
[APPLICATION]
LogDirectory = {root}/client-log
LogFile = general.log
LogLevel = ERROR
[NETWORK]
aetitle = BENCH_SCU
[[COMMUNICATION]]
{printers}
[[LUT]]
"""

PRINTER = """[{name}]
Aetitle = {ae}
Description = {name}
Hostname = 127.0.0.1
Port = {port}
Type = PRINTER
MaxPDU = 65536
ImplicitOnly = false
DisableNewVRs = false
Supports12Bit = true
SupportsPresentationLUT = false
SupportsImageSize = true
SupportsDecimateCrop = false
SupportsTrim = true
DisplayFormat = 4,5
FilmSizeID = 14INX17IN
MediumType = PAPER
MagnificationType = REPLICATE\\BILINEAR\\CUBIC\\NONE
BorderDensity = BLACK\\WHITE
EmptyImageDensity = BLACK\\WHITE
MaxDensity = 300
MinDensity = 20
"""

PEER_CONFIG = """[[GENERAL]]
[DATABASE]
Directory = {root}/peer-db
[PRINT]
Directory = {root}/peer-spool
DetailedLog = false
BinaryLog = false
[LUT]
Directory = {root}/peer-lut
[[COMMUNICATION]]
[PEER]
Aetitle = DCMPRSCP
Description = DCMTK print SCP
Hostname = localhost
Port = {port}
Type = LOCALPRINTER
BorderDensity = BLACK\\WHITE
DisplayFormat = 4,5
EmptyImageDensity = BLACK\\WHITE
FilmDestination = MAGAZINE
FilmSizeID = 14INX17IN
ImplicitOnly = false
MagnificationType = REPLICATE\\BILINEAR\\CUBIC\\NONE
MaxDensity = 300
MaxPDU = 65536
MediumType = PAPER
MinDensity = 20
ResolutionID = STANDARD
SmoothingType = NONE
Supports12Bit = true
SupportsDecimateCrop = false
SupportsImageSize = true
SupportsPresentationLUT = false
SupportsTrim = true
"""

BOX_CONFIG = """[box]
data_dir = "{root}/box"
[dicom]
bind = "127.0.0.1"
port = {port}
[web]
bind = "127.0.0.1"
port = {web_port}
[hl7]
bind = "127.0.0.1"
port = {hl7_port}
[publishing]
stations = {{}}
[print.outputs.paper]
ae_title = "{ae}"
kind = "paper"
medium_types = ["PAPER"]
poll_seconds = 0.5
"""


def wait_port(port: int, timeout: float = 30.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


def send(config: Path, printer: str, stored: Path) -> float:
    started = time.perf_counter()
    run = subprocess.run(
        ["dcmprscu", "-c", str(config), "-p", printer, str(stored)],
        capture_output=True,
        text=True,
        env=ENV,
        check=False,
        timeout=120,
    )
    elapsed = time.perf_counter() - started
    if run.returncode != 0:
        raise RuntimeError(f"dcmprscu to {printer} failed:\n{run.stdout}{run.stderr}")
    return elapsed


def follow_job(db: Path, before: int, timeout: float = 60.0) -> dict[str, float]:
    """Poll the box's database: when the new job was queued, accepted by CUPS, done."""
    conn = sqlite3.connect(db, timeout=30)
    deadline = time.monotonic() + timeout
    accepted = None
    try:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT created_at, external_id, state, finished_at FROM print_jobs "
                "WHERE id > ? ORDER BY id LIMIT 1",
                (before,),
            ).fetchone()
            if row is not None:
                created, external, state, finished = row
                if external and accepted is None:
                    accepted = time.time()
                if state == "done":
                    return {
                        "queued_to_accepted": (accepted or finished) - created,
                        "queued_to_done": finished - created,
                    }
                if state == "failed":
                    raise RuntimeError(f"the print job failed: {row}")
            time.sleep(0.005)
    finally:
        conn.close()
    raise TimeoutError("the print job did not finish")


def last_job(db: Path) -> int:
    conn = sqlite3.connect(db, timeout=30)
    try:
        return int(conn.execute("SELECT coalesce(max(id), 0) FROM print_jobs").fetchone()[0])
    finally:
        conn.close()


def role_pids(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db, timeout=30)
    try:
        return {
            role: int(pid) for role, pid in conn.execute("SELECT role, pid FROM role_heartbeats")
        }
    finally:
        conn.close()


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    load_before = loadavg()
    root = Path(tempfile.mkdtemp(prefix="kiln-print-bench-"))
    for name in (
        "client-db",
        "client-spool",
        "client-lut",
        "client-log",
        "peer-db",
        "peer-spool",
        "peer-lut",
    ):
        (root / name).mkdir()
    kiln_port, peer_port = free_port(), free_port()
    (root / "kiln.toml").write_text(
        BOX_CONFIG.format(
            root=root, port=kiln_port, web_port=free_port(), hl7_port=free_port(), ae=PAPER_AE
        )
    )
    client = root / "client.cfg"
    client.write_text(
        CLIENT_CONFIG.format(
            root=root,
            printers=PRINTER.format(name="KILN", ae=PAPER_AE, port=kiln_port)
            + PRINTER.format(name="PEER", ae="DCMPRSCP", port=peer_port),
        )
    )
    (root / "peer.cfg").write_text(PEER_CONFIG.format(root=root, port=peer_port))
    images = make_images(root / "images")
    dicom_images = sorted((root / "images").glob("*.dcm"))
    subprocess.run(
        [
            "dcmpsprt",
            "-c",
            str(client),
            "-p",
            "KILN",
            "--layout",
            "4",
            "5",
            "--filmsize",
            "14INX17IN",
            *map(str, dicom_images),
        ],
        check=True,
        env=ENV,
        capture_output=True,
    )
    [stored] = sorted((root / "client-db").rglob("SP_*"))
    box = subprocess.Popen(
        [APPLIANCE, "--config", str(root / "kiln.toml"), "run"],
        stdout=(root / "box.log").open("wb"),
        stderr=subprocess.STDOUT,
        cwd=REPO,
    )
    peer = subprocess.Popen(
        ["dcmprscp", "-c", str(root / "peer.cfg"), "-p", "PEER"],
        stdout=(root / "peer.log").open("wb"),
        stderr=subprocess.STDOUT,
        cwd=root,
        env=ENV,
    )
    db = root / "box" / "kiln.db"
    rounds: list[dict[str, Any]] = []
    try:
        wait_port(kiln_port)
        wait_port(peer_port)
        time.sleep(3)  # the devices role up and its printers looked at
        for number in range(args.repeat):
            order = ("kiln", "peer") if number % 2 == 0 else ("peer", "kiln")
            result: dict[str, Any] = {}
            for side in order:
                if side == "kiln":
                    before = last_job(db)
                    result["kiln_session"] = send(client, "KILN", stored)
                    result.update(follow_job(db, before))
                else:
                    result["peer_session"] = send(client, "PEER", stored)
            rounds.append(result)
            print(json.dumps(result), flush=True)
        pids = role_pids(db)
        memory = {
            "devices_role_mib": peak_rss_mib(pids["devices"]),
            "dicom_workers_mib": max(
                (peak_rss_mib(pid) for pid in children(pids["dicom"])), default=0.0
            ),
        }
    finally:
        box.send_signal(signal.SIGTERM)
        peer.send_signal(signal.SIGTERM)
        box.wait(60)
        peer.wait(30)
    images_count = len(images)
    summary = summarise(rounds, memory, images_count)
    facts = machine_facts(load_before, {"dcmtk": first_line(["dcmprscu", "--version"])})
    document = markdown(summary, facts, args.repeat)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "print_chain.json").write_text(json.dumps({"rounds": rounds, **summary}, indent=1))
    if args.out:
        args.out.write_text(document)
    else:
        replace_section(document)
    print(document)
    return 0


def summarise(
    rounds: list[dict[str, Any]], memory: dict[str, float], images: int
) -> dict[str, Any]:
    def med(key: str) -> float:
        return float(statistics.median(r[key] for r in rounds))

    return {
        "images": images,
        "kiln_session_s": med("kiln_session"),
        "peer_session_s": med("peer_session"),
        "session_ratio": med("kiln_session") / med("peer_session"),
        "queued_to_accepted_s": med("queued_to_accepted"),
        "queued_to_accepted_max_s": max(r["queued_to_accepted"] for r in rounds),
        "queued_to_done_s": med("queued_to_done"),
        **memory,
    }


def markdown(summary: dict[str, Any], facts: dict[str, str], repeat: int) -> str:
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    kiln, peer, ratio = (summary[k] for k in ("kiln_session_s", "peer_session_s", "session_ratio"))
    accepted, top = summary["queued_to_accepted_s"], summary["queued_to_accepted_max_s"]
    done = summary["queued_to_done_s"]
    return f"""{START_MARK}
Measured {when} with `python -m bench.print_chain --repeat {repeat}` ({facts["cpu"]},
{facts["nproc"]} cores, load 1/5/15 min at start and end: {facts[LOAD]}; {facts["dcmtk"]};
Kiln {facts["Kiln commit"]}). The film: 14INX17IN STANDARD\\4,5, {summary["images"]} images
512x512 12-bit, sent by DCMTK `dcmprscu` from one stored print made by `dcmpsprt`, to the
box's default paper output (A4, 300 dpi) and to DCMTK `dcmprscp`; medians of {repeat}
interleaved rounds.

| | Kiln (whole box) | DCMTK dcmprscp | ratio |
|---|--:|--:|--:|
| print client session (association to release) | {kiln:.3f} s | {peer:.3f} s | {ratio:.2f} |

| Kiln, after the N-ACTION | median | max |
|---|--:|--:|
| queued → CUPS job accepted (composed, PDF written, submitted) | {accepted:.3f} s | {top:.3f} s |
| queued → printed (the printer's backend has the whole PDF) | {done:.3f} s | |

Peak RSS: devices role (composes the films, runs the disc and print runners)
{summary["devices_role_mib"]:.0f} MiB, largest dicom worker {summary["dicom_workers_mib"]:.0f} MiB.
dcmprscp keeps the film as DICOM objects; Kiln writes the film durably (synced) before it
answers the N-ACTION. "Queued" is the moment that write committed, just before the answer;
"accepted" is when CUPS gave the job its id (the box then follows it to the end).
{END_MARK}"""


def replace_section(document: str) -> None:
    if START_MARK not in DOC.read_text():
        DOC.write_text(DOC.read_text().rstrip() + "\n\n## Print: a film end to end\n")
    inner = document.removeprefix(START_MARK).removesuffix(END_MARK).strip("\n")
    replace_block(DOC, START_MARK, END_MARK, inner + "\n")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
