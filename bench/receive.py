"""C-STORE receive throughput: Kiln vs DCMTK storescp vs Orthanc, DCMTK storescu sending.

    .venv/bin/python -m bench.receive [--repeat N] [--receivers a,b] [--scenarios x,y] [--quick]

Every receiver gets the same files over 127.0.0.1. Results go to docs/performance.md
(--quick: bench/results/performance-quick.md) and raw JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.make_data import DEFAULT_DIR, ensure_all

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
# Absolute paths: the venv's bin/ has pynetdicom apps of the same names (storescu, echoscu...).
DCMTK_BIN = Path(os.environ.get("DCMTK_BIN", "/usr/bin"))
ORTHANC = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
APPLIANCE = REPO / ".venv" / "bin" / "appliance"
# DCMTK leaves Nagle on unless TCP_NODELAY is set; then each C-STORE stalls ~45 ms on loopback.
DCMTK_ENV = {**os.environ, "TCP_NODELAY": "1"}
PDU = "131072"
HOST = "127.0.0.1"
READY_TIMEOUT = 60.0
SEND_TIMEOUT = 900.0
SETTLE_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
RSS_INTERVAL = 0.05
SCENARIOS = ("ct", "small", "ct-x4")
RECEIVERS = ("storescp", "orthanc", "kiln", "kiln-nofsync", "pynetdicom")


def dcmtk(tool: str) -> str:
    return str(DCMTK_BIN / tool)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Receiver:
    proc: subprocess.Popen[bytes]
    port: int
    aet: str
    log: Path
    count: Callable[[], int]


def spawn(
    argv: list[str], work: Path, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], Path]:
    log = work / "receiver.log"
    with log.open("wb") as out:  # a file, not a pipe: a full pipe would stall the receiver
        proc = subprocess.Popen(
            argv,
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own session: see stop()
        )
    return proc, log


def storescp_argv(out: Path | str, port: int | str) -> list[str]:
    return [dcmtk("storescp"), "--max-pdu", PDU, "-od", str(out), str(port)]


def start_storescp(work: Path) -> Receiver:
    out = work / "out"
    out.mkdir()
    port = free_port()
    proc, log = spawn(storescp_argv(out, port), work, DCMTK_ENV)
    return Receiver(proc, port, "STORESCP", log, lambda: sum(1 for _ in out.iterdir()))


def orthanc_config(work: Path, port: int | str, http_port: int | str) -> dict[str, object]:
    # Everything else stays at Orthanc's defaults, notably SyncStorageArea=true (fsync per file).
    return {
        "Name": "kiln-bench",
        "StorageDirectory": str(work / "storage"),
        "IndexDirectory": str(work / "index"),
        "DicomAet": "ORTHANC",
        "DicomPort": port,
        "HttpPort": http_port,
        "RemoteAccessAllowed": False,
        "DicomCheckCalledAet": False,
        "StorageCompression": False,
    }


def start_orthanc(work: Path) -> Receiver:
    port, http_port = free_port(), free_port()
    config = work / "orthanc.json"
    config.write_text(json.dumps(orthanc_config(work, port, http_port), indent=2))
    # Orthanc speaks DICOM through libdcmnet, so TCP_NODELAY governs its sockets too.
    proc, log = spawn([ORTHANC, str(config)], work, DCMTK_ENV)
    # No proxy: an http_proxy in the environment must not intercept 127.0.0.1.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def count() -> int:
        with opener.open(f"http://{HOST}:{http_port}/statistics", timeout=10) as reply:
            return int(json.load(reply)["CountInstances"])

    return Receiver(proc, port, "ORTHANC", log, count)


def kiln_toml(work: Path, port: int | str, fsync: bool) -> str:
    text = (
        f"[box]\ndata_dir = {json.dumps(str(work / 'kiln-data'))}\n"
        f'[dicom]\nae_titles = ["KILN"]\nport = {port}\nbind = "{HOST}"\n'
    )
    return text if fsync else text + "[storage]\nfsync = false\n"


def start_kiln(work: Path, fsync: bool) -> Receiver:
    if not APPLIANCE.exists():
        raise RuntimeError(f"{APPLIANCE} not found; use --receivers storescp,orthanc")
    port = free_port()
    config = work / "kiln.toml"
    config.write_text(kiln_toml(work, port, fsync))
    proc, log = spawn([str(APPLIANCE), "--config", str(config), "run", "--role", "dicom"], work)
    dicom = work / "kiln-data" / "dicom"
    return Receiver(proc, port, "KILN", log, lambda: sum(1 for _ in dicom.rglob("*.dcm")))


def start_pynetdicom(work: Path) -> Receiver:
    """pynetdicom's own storage SCP app: the library Kiln's receive path departs from."""
    out = work / "out"
    out.mkdir()
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "pynetdicom",
        "storescp",
        "--max-pdu",
        PDU,
        "-od",
        str(out),
        str(port),
    ]
    proc, log = spawn(argv, work)
    return Receiver(proc, port, "PYNETDICOM", log, lambda: sum(1 for _ in out.iterdir()))


STARTERS: dict[str, Callable[[Path], Receiver]] = {
    "storescp": start_storescp,
    "orthanc": start_orthanc,
    "kiln": lambda work: start_kiln(work, fsync=True),
    "kiln-nofsync": lambda work: start_kiln(work, fsync=False),
    "pynetdicom": start_pynetdicom,
}


ANALYSIS_MARK = "<!-- analysis: written by hand, kept by bench/receive.py -->"
# bench/worklist.py writes its section between these markers, after the analysis.
WORKLIST_MARK = "<!-- worklist-bench: start -->"


def kept_analysis(out: Path) -> str:
    """The hand-written analysis and the worklist section at the end survive a new run."""
    if not out.exists():
        return ""
    text = out.read_text()
    found = [at for at in (text.find(ANALYSIS_MARK), text.find(WORKLIST_MARK)) if at >= 0]
    return "" if not found else "\n" + text[min(found) :]


def wait_ready(rx: Receiver) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if rx.proc.poll() is not None:
            raise RuntimeError(f"receiver exited with {rx.proc.returncode}:\n{tail(rx.log)}")
        try:
            socket.create_connection((HOST, rx.port), timeout=1).close()
            echo = subprocess.run(
                [dcmtk("echoscu"), "-aec", rx.aet, HOST, str(rx.port)],
                env=DCMTK_ENV,
                capture_output=True,
                timeout=10,
                check=False,
            )
            if echo.returncode == 0:
                return
        except (OSError, subprocess.TimeoutExpired):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"receiver not ready after {READY_TIMEOUT} s:\n{tail(rx.log)}")


def proc_stat(pid: str) -> list[str]:
    # Fields after "(comm)": state ppid pgrp session ... (comm may contain spaces).
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def session_pids(sid: int) -> list[int]:
    """The receiver and every descendant: all share the session it was started in."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(proc_stat(entry)[3]) == sid:
                    pids.append(int(entry))
            except (OSError, IndexError):
                pass  # exited meanwhile
    return pids


def status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class RssPoller(threading.Thread):
    """Peak of the summed VmRSS of a session, sampled every RSS_INTERVAL seconds."""

    def __init__(self, sid: int) -> None:
        super().__init__(daemon=True)
        self.sid = sid
        self.peak_kib = 0
        self.hwm_kib: dict[int, int] = {}  # per-process VmHWM, catches spikes between samples
        self.done = threading.Event()

    def run(self) -> None:
        while True:
            pids = session_pids(self.sid)
            self.peak_kib = max(self.peak_kib, sum(status_kib(p, "VmRSS") for p in pids))
            for p in pids:
                self.hwm_kib[p] = max(self.hwm_kib.get(p, 0), status_kib(p, "VmHWM"))
            if self.done.wait(RSS_INTERVAL):
                return

    def finish(self) -> tuple[float, float]:
        self.done.set()
        self.join(5)
        return self.peak_kib / 1024, sum(self.hwm_kib.values()) / 1024


def storescu_argv(aet: str, directory: Path | str, port: int | str) -> list[str]:
    # storescu wants "peer port files..."; +sd makes it scan the directory (no recursion).
    tool = dcmtk("storescu")
    return [tool, "-aec", aet, "--max-pdu", PDU, "+sd", HOST, str(port), str(directory)]


def send(rx: Receiver, dirs: list[Path], work: Path) -> float:
    """Run one storescu per directory in parallel; return the wall-clock seconds."""
    logs = [work / f"storescu-{n}.log" for n in range(len(dirs))]
    start = time.perf_counter()
    procs = []
    for d, log in zip(dirs, logs, strict=True):
        with log.open("wb") as out:
            procs.append(
                subprocess.Popen(
                    storescu_argv(rx.aet, d, rx.port),
                    env=DCMTK_ENV,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    try:
        for p in procs:
            p.wait(max(0.1, start + SEND_TIMEOUT - time.perf_counter()))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(STOP_TIMEOUT)
    elapsed = time.perf_counter() - start
    for p, log in zip(procs, logs, strict=True):
        if p.returncode != 0:
            raise RuntimeError(f"storescu exited with {p.returncode}:\n{tail(log)}")
    return elapsed


def wait_count(rx: Receiver, expected: int) -> float:
    """Confirm the receiver holds every instance; return the seconds it took after send."""
    start = time.monotonic()
    got = -1
    while time.monotonic() - start < SETTLE_TIMEOUT:
        try:
            got = rx.count()
        except OSError:
            got = -1
        if got == expected:
            return time.monotonic() - start
        time.sleep(0.2)
    raise RuntimeError(f"receiver holds {got} instances, expected {expected}:\n{tail(rx.log)}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, SIGKILL after STOP_TIMEOUT; then kill leftovers of the receiver's session."""
    sid = proc.pid
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT)
    for pid in session_pids(sid):  # only processes the receiver itself started
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def run_once(
    name: str, dirs: list[Path], expected: int, tmp_root: Path | None, leftovers: list[Path]
) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix=f"kiln-bench-{name}-", dir=tmp_root))
    rx = None
    try:
        rx = STARTERS[name](work)
        wait_ready(rx)
        poller = RssPoller(rx.proc.pid)
        poller.start()
        try:
            seconds = send(rx, dirs, work)
            settle = wait_count(rx, expected)
        finally:
            peak, hwm = poller.finish()
        return {
            "seconds": seconds,
            "settle_seconds": settle,
            "peak_rss_mib": peak,
            "sum_hwm_mib": hwm,
        }
    finally:
        if rx is not None:
            stop(rx.proc)
        # Removed only after the whole benchmark: ext4 skips inodes freed in the last minutes
        # when it allocates new ones (recently_deleted()), so deleting thousands of files
        # between runs makes the next receiver's file creation many times slower.
        leftovers.append(work)
        # Flush the dirty pages of this run now, so their writeback cannot slow the next one.
        os.sync()


def first_line(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return "unknown"


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def machine_facts(load_before: str, tools: dict[str, str] | None = None) -> dict[str, str]:
    """What the numbers were measured on; `tools` adds the versions a benchmark compares."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": cpu,
        "memory": f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') // 2**30} GiB",
        "kernel": platform.release(),
        "tmp filesystem": first_line(
            ["findmnt", "-n", "-o", "FSTYPE", "-T", tempfile.gettempdir()]
        ),
        **(tools or {}),
        "Python": platform.python_version(),
        # The machine is shared: the load says how much noise the numbers carry.
        "load average 1/5/15 min (start, end)": f"{load_before}; {loadavg()}",
        "Kiln commit": first_line(["git", "-C", str(REPO), "describe", "--always", "--dirty"]),
    }


@dataclass
class Row:
    scenario: str
    receiver: str
    median_seconds: float
    mb_per_s: float
    instances_per_s: float
    ratio_to_storescp: float | None  # receiver throughput / storescp throughput
    peak_rss_mib: float
    all_seconds: list[float]


def summarise(
    runs: dict[tuple[str, str], list[dict[str, float]]],
    payload: dict[str, int],
    counts: dict[str, int],
) -> list[Row]:
    rows = []
    for (scenario, name), results in runs.items():
        seconds = statistics.median(r["seconds"] for r in results)
        base = runs.get((scenario, "storescp"))
        rows.append(
            Row(
                scenario,
                name,
                seconds,
                payload[scenario] / 1e6 / seconds,
                counts[scenario] / seconds,
                statistics.median(r["seconds"] for r in base) / seconds if base else None,
                statistics.median(r["peak_rss_mib"] for r in results),
                [r["seconds"] for r in results],
            )
        )
    return rows


METHOD = """\
# Performance: C-STORE receive throughput

Kiln's DICOM receiver compared with DCMTK `storescp` and Orthanc, measured in one run on the
same files by `bench/receive.py` (data from `bench/make_data.py`, seeded, so identical on every
machine). DCMTK `storescu` sends over 127.0.0.1; each receiver is started fresh in its own
temporary directory, must answer C-ECHO before timing starts, and is stopped afterwards.

- **Time** is the wall clock of the sending phase: from starting `storescu` until every
  `storescu` process has exited (all C-STORE responses received). Input files are read once
  beforehand, so they come from the page cache; `sync` runs after each receiver is stopped.
  Receivers' directories are deleted only at the end: ext4 avoids reusing inodes freed in
  the last minutes, so deleting thousands of files between runs would slow the next
  receiver's file creation several-fold (seen in `perf`: `recently_deleted`).
- **Check**: after each run the harness counts the stored instances (storescp: files in its
  output directory; Orthanc: `/statistics`; Kiln: `*.dcm` under `data_dir/dicom`) and fails
  unless all arrived.
- **MB/s** = total size of the input files (10^6 bytes) / median time; **vs storescp** =
  receiver throughput / storescp throughput in the same scenario (above 1 = faster).
- **Peak RSS** = peak of the summed VmRSS of the receiver and all its descendants (every
  process in its session), sampled every 50 ms; median over the repetitions. Summing RSS
  counts shared pages (libraries, the interpreter) once per process, so a multi-process
  receiver (Kiln: main process, 2 workers, multiprocessing resource tracker) is overstated
  compared with a single-process one (storescp, Orthanc).
- Each (scenario, receiver) pair runs {repeat} times; the receivers are interleaved within each
  repetition (order rotated each time) so that machine noise hits all alike; medians reported.
- **All DCMTK processes run with `TCP_NODELAY=1`**: DCMTK disables Nagle's algorithm only when
  that variable is set; without it every C-STORE waits ~45 ms on loopback. This includes
  Orthanc, whose DICOM server is DCMTK's libdcmnet (its `TcpNoDelay` option covers HTTP only):
  without the variable Orthanc needed ~48 ms per instance (300 small files: 14.5 s instead
  of 1.2 s, measured on this machine when the harness was written).
- **pynetdicom** is pynetdicom's own storage SCP app (`python -m pynetdicom storescp`, no
  fsync): the library whose acceptor Kiln's receive path replaces (docs/architecture.md).
- **Durability differs**: storescp does not fsync. Orthanc fsyncs each file by default
  (`SyncStorageArea`, Orthanc >= 1.7.4) and commits its SQLite index. Kiln fsyncs each file
  by default (`kiln`); `kiln-nofsync` sets `[storage] fsync = false` for a like-for-like
  comparison with storescp.
- storescp runs single-process (its default), so in `ct-x4` it serves the 4 associations one
  after another while the other associations wait; Kiln and Orthanc serve them concurrently.
"""


def markdown(
    rows: list[Row],
    facts: dict[str, str],
    repeat: int,
    receivers: list[str],
    scenarios: dict[str, str],
    cmds: list[str],
) -> str:
    out = [
        METHOD.format(repeat=repeat),
        "## Results\n",
        "Scenarios: " + "; ".join(f"`{k}`: {v}" for k, v in scenarios.items()) + ".\n",
        "| Scenario | Receiver | Median s | MB/s | Instances/s | vs storescp | "
        "Peak RSS MiB | All runs (s) |",
        "|---|---|--:|--:|--:|--:|--:|---|",
    ]
    for r in rows:
        ratio = "n/a" if r.ratio_to_storescp is None else f"{r.ratio_to_storescp:.2f}"
        out.append(
            f"| {r.scenario} | {r.receiver} | {r.median_seconds:.2f} | {r.mb_per_s:.1f} | "
            f"{r.instances_per_s:.0f} | {ratio} | {r.peak_rss_mib:.1f} | "
            f"{', '.join(f'{x:.2f}' for x in r.all_seconds)} |"
        )
    missing = [n for n in RECEIVERS if n not in receivers]
    if missing:
        out.append(f"\nNot measured in this run: {', '.join(missing)}.")
    out.append("\n## Machine\n")
    out += [f"- {k}: {v}" for k, v in facts.items()]
    out.append("\n## Commands\n")
    out.append("```\n" + "\n".join(cmds) + "\n```")
    return "\n".join(out) + "\n"


def commands(argv: list[str]) -> list[str]:
    env = "TCP_NODELAY=1 "
    orthanc = json.dumps(orthanc_config(Path("<work>"), "<port>", "<http-port>"))
    kiln = "\n#   ".join(kiln_toml(Path("<work>"), "<port>", fsync=False).splitlines())
    return [
        "# whole benchmark",
        " ".join([".venv/bin/python -m bench.receive", *argv]),
        "# receivers (<work> is a fresh temporary directory per run)",
        env + " ".join(storescp_argv("<work>/out", "<port>")),
        f"{env}{ORTHANC} <work>/orthanc.json",
        f"#   orthanc.json: {orthanc}",
        f"{APPLIANCE} --config <work>/kiln.toml run --role dicom",
        f"#   kiln.toml (kiln-nofsync; kiln omits [storage]):\n#   {kiln}",
        "# readiness check, then the sender (one per directory, in parallel for ct-x4)",
        env + f"{dcmtk('echoscu')} -aec <AET> {HOST} <port>",
        env + " ".join(storescu_argv("<AET>", "<dir>", "<port>")),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per pair (default 3)")
    parser.add_argument(
        "--receivers",
        default=",".join(RECEIVERS),
        help=f"comma-separated subset of {','.join(RECEIVERS)}",
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated subset of {','.join(SCENARIOS)}",
    )
    parser.add_argument("--quick", action="store_true", help="smoke test: 60 ct / 300 small")
    parser.add_argument("--data", type=Path, default=DEFAULT_DIR, help="test data directory")
    parser.add_argument("--tmp", type=Path, default=None, help="parent of the receivers' dirs")
    parser.add_argument("--out", type=Path, default=None, help="markdown report path")
    args = parser.parse_args()
    receivers = args.receivers.split(",")
    scenarios = args.scenarios.split(",")
    for chosen, allowed in ((receivers, RECEIVERS), (scenarios, SCENARIOS)):
        for item in chosen:
            if item not in allowed:
                parser.error(f"unknown {item!r}; choose from {','.join(allowed)}")
    if any(r.startswith("kiln") for r in receivers) and not APPLIANCE.exists():
        parser.error(f"{APPLIANCE} not found; try --receivers storescp,orthanc")
    out = args.out or (
        RESULTS / "performance-quick.md" if args.quick else REPO / "docs" / "performance.md"
    )

    load_before = loadavg()
    data = ensure_all(args.data, args.quick)
    files = {s: sorted(f for d in data[s] for f in d.glob("*.dcm")) for s in scenarios}
    payload = {s: sum(f.stat().st_size for f in files[s]) for s in scenarios}
    counts = {s: len(files[s]) for s in scenarios}
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    leftovers: list[Path] = []
    for scenario in scenarios:
        for f in files[scenario]:  # warm the page cache: time the network and the receiver
            f.read_bytes()
        for rep in range(args.repeat):
            shift = rep % len(receivers)
            for name in receivers[shift:] + receivers[:shift]:
                try:
                    result = run_once(name, data[scenario], counts[scenario], args.tmp, leftovers)
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    sys.exit(f"FAILED {scenario} / {name} (run {rep + 1}): {exc}")
                print(
                    f"{scenario:6} {name:13} run {rep + 1}: {result['seconds']:7.2f} s, "
                    f"peak RSS {result['peak_rss_mib']:6.1f} MiB",
                    flush=True,
                )
                runs.setdefault((scenario, name), []).append(result)

    for work in leftovers:
        shutil.rmtree(work, ignore_errors=True)
    order = {(s, r): (scenarios.index(s), receivers.index(r)) for s, r in runs}
    runs = dict(sorted(runs.items(), key=lambda kv: order[kv[0]]))
    rows = summarise(runs, payload, counts)
    facts = machine_facts(
        load_before,
        {
            "DCMTK": first_line([dcmtk("storescp"), "--version"]).strip("$ "),
            "Orthanc": first_line([ORTHANC, "--version"]),
        },
    )
    described = {
        s: f"{counts[s]} files, {payload[s] / 1e6:.1f} MB, {len(data[s])} association(s)"
        for s in scenarios
    }
    cmds = commands(sys.argv[1:])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        markdown(rows, facts, args.repeat, receivers, described, cmds) + kept_analysis(out)
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    raw = RESULTS / f"receive-{stamp}{'-quick' if args.quick else ''}.json"
    raw.write_text(
        json.dumps(
            {
                "facts": facts,
                "repeat": args.repeat,
                "scenarios": described,
                "commands": cmds,
                "summary": [asdict(r) for r in rows],
                "runs": [
                    {"scenario": s, "receiver": r, "results": v} for (s, r), v in runs.items()
                ],
            },
            indent=2,
        )
    )
    print(f"wrote {out} and {raw}")


if __name__ == "__main__":
    main()
