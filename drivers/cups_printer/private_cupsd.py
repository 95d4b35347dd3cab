"""A private cupsd on loopback with virtual printers: the paper printer's simulator (for
`sim://` addresses in the default box) and the test peer of the driver.

Everything lives under one directory (`root`):

    etc/     cupsd.conf, cups-files.conf, printers.conf (ServerRoot)
    spool/ cache/ state/ tmp/ log/ ssl/
    bin/     ServerBin: backend/kilnsim (sim_backend.py), daemon -> the system's
             cups-exec, an empty filter/
    output/<queue>/   what each virtual printer "printed" and its faults.json

cupsd runs in the foreground (`cupsd -f -c ... -s ...`) as a child of this process,
listening on 127.0.0.1:<port> only, with no browsing, sharing or web interface and no
authentication (loopback only). Each queue is a raw queue (no PPD, no filters: the
backend stores the PDF Kiln made) whose device URI is `kilnsim://<output folder>`.

Users: run as root (CI, the box), cupsd keeps root for itself and runs children as its
User (lp, else daemon or nobody); the backend is installed owner-only (0700), which
makes cupsd run it as root, so it can write the output folder. Run as anyone else (a
developer's box), cupsd and the backend run as that user and the directory is theirs.

Faults are injected by writing the queue's faults file (see sim_backend.py):
`inject("paper_out")`, `inject(slow=1.5)`, `clear_faults()`; `resume()` is the
operator's cupsenable. `stop()` sends SIGTERM to this cupsd's PID only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import grp
import json
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from drivers.cups_printer import sim_backend
from drivers.cups_printer.sim_backend import Faults
from drivers.cups_printer.transport import CupsServer, CupsTransport, CupsTransportError

log = logging.getLogger(__name__)

CUPSD_CANDIDATES = ("/usr/sbin/cupsd", "/usr/local/sbin/cupsd")
SERVERBIN_CANDIDATES = ("/usr/lib/cups", "/usr/libexec/cups", "/usr/local/lib/cups")
SYSTEM_PYTHONS = ("/usr/bin/python3", "/usr/local/bin/python3")
BACKEND_NAME = sim_backend.SCHEME
DEFAULT_QUEUE = "kiln-paper"


class CupsdNotAvailable(RuntimeError):
    """cupsd (package cups-daemon) is not installed here."""


class CupsdFailed(RuntimeError):
    """The private cupsd did not start or stopped answering; the message has its log."""


@dataclass(frozen=True)
class PrintedJob:
    """One job the simulated printer finished: its document and what it asked for."""

    job_id: int
    title: str
    copies: int
    options: dict[str, str]
    document: Path
    record: dict[str, Any]


def find_cupsd() -> Path:
    found = shutil.which("cupsd")
    for candidate in (found, *CUPSD_CANDIDATES):
        if candidate and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise CupsdNotAvailable("cupsd is not installed (Debian package cups-daemon)")


def find_serverbin() -> Path:
    for candidate in SERVERBIN_CANDIDATES:
        if (Path(candidate) / "daemon" / "cups-exec").exists():
            return Path(candidate)
    raise CupsdNotAvailable("CUPS's cups-exec helper was not found (package cups-daemon)")


def backend_interpreter() -> str:
    """The Python that runs the backend (standard library only): the system's, which
    every user may run, else this one (which may sit in a home only its owner enters)."""
    for candidate in SYSTEM_PYTHONS:
        if os.access(candidate, os.X_OK):
            return candidate
    return sys.executable


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateCupsd:
    def __init__(
        self,
        root: Path,
        queues: tuple[str, ...] = (DEFAULT_QUEUE,),
        *,
        port: int | None = None,
        retry_interval: int = 2,
        log_level: str = "warn",
        start_timeout: float = 15.0,
    ) -> None:
        self.root = root.resolve()
        self.queues = queues
        self.port = port
        self.retry_interval = retry_interval
        self.log_level = log_level
        self.start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._owns_root = False

    @classmethod
    @contextlib.contextmanager
    def temporary(cls, queues: tuple[str, ...] = (DEFAULT_QUEUE,), **kwargs: Any) -> Iterator[Self]:
        """A private cupsd in a new temporary directory, stopped and removed at the end."""
        root = Path(tempfile.mkdtemp(prefix="kiln-cupsd-"))
        cupsd = cls(root, queues, **kwargs)
        cupsd._owns_root = True
        try:
            cupsd.start()
            yield cupsd
        finally:
            cupsd.stop()

    # --- where things are ------------------------------------------------------------------

    @property
    def server(self) -> CupsServer:
        if self.port is None:
            raise CupsdFailed("the private cupsd has not been started")
        return CupsServer("127.0.0.1", self.port)

    def transport(self, timeout: float = 10.0) -> CupsTransport:
        return CupsTransport(self.server, timeout=timeout)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def output(self, queue: str | None = None) -> Path:
        return self.root / "output" / (queue or self.queues[0])

    def device_uri(self, queue: str | None = None) -> str:
        return sim_backend.device_uri(self.output(queue))

    @property
    def error_log(self) -> Path:
        return self.root / "log" / "error_log"

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        if self.running:
            return
        cupsd = find_cupsd()
        serverbin = find_serverbin()
        self._stop_leftover()
        self._lay_out(serverbin)
        fixed_port = self.port
        for _attempt in range(3):
            self.port = fixed_port or free_port()
            self._write_config()
            self._spawn(cupsd)
            if self._wait_ready():
                break
            self._terminate()
            if fixed_port:
                break
        else:
            self.port = None
        if not self.running:
            raise CupsdFailed(f"the private cupsd did not start:\n{self._log_tail()}")
        transport = self.transport()
        for queue in self.queues:
            self.add_queue(queue, transport)
        log.info("private cupsd %d on 127.0.0.1:%d, queues %s", self.pid, self.port, self.queues)

    def add_queue(self, queue: str, transport: CupsTransport | None = None) -> Path:
        """A virtual printer `queue` (raw, kilnsim backend), enabled and accepting jobs."""
        folder = self.output(queue)
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / sim_backend.FAULTS_FILE).exists():
            sim_backend.write_faults(folder, Faults())
        transport = transport or self.transport()
        transport.add_printer(queue, self.device_uri(queue), info="Kiln simulated paper printer")
        transport.enable(queue)
        transport.accept(queue)
        if queue not in self.queues:
            self.queues = (*self.queues, queue)
        return folder

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM to this cupsd (it ends its backends), SIGKILL if it lingers."""
        self._terminate(timeout)
        if self._owns_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- faults, and what was printed ------------------------------------------------------

    def faults(self, queue: str | None = None) -> Faults:
        return sim_backend.read_faults(self.output(queue))

    def set_faults(self, faults: Faults, queue: str | None = None) -> None:
        folder = self.output(queue)
        folder.mkdir(parents=True, exist_ok=True)
        sim_backend.write_faults(folder, faults)

    def inject(self, *flags: str, queue: str | None = None, **values: float | int | bool) -> Faults:
        """Add faults: `inject("paper_out")`, `inject("toner_low", slow=1.0)`."""
        changes: dict[str, Any] = {flag: True for flag in flags}
        changes.update(values)
        faults = dataclasses.replace(self.faults(queue), **changes)
        self.set_faults(faults, queue)
        return faults

    def clear_faults(self, queue: str | None = None) -> None:
        self.set_faults(Faults(), queue)

    def resume(self, queue: str | None = None) -> None:
        """The operator's cupsenable."""
        self.transport().enable(queue or self.queues[0])

    def printed(self, queue: str | None = None) -> list[PrintedJob]:
        """The jobs this queue's printer finished, oldest first."""
        jobs: list[PrintedJob] = []
        for path in self.output(queue).glob("job-*.json"):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            jobs.append(
                PrintedJob(
                    job_id=int(record["job_id"]),
                    title=str(record["title"]),
                    copies=int(record["copies"]),
                    options=dict(record["options"]),
                    document=path.with_name(str(record["file"])),
                    record=record,
                )
            )
        return sorted(jobs, key=lambda job: job.job_id)

    # --- internals -------------------------------------------------------------------------

    def _lay_out(self, serverbin: Path) -> None:
        for name in ("etc", "spool", "cache", "state", "tmp", "log", "ssl", "output"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)  # cupsd checks its directories are not writable by others
        bin_dir = self.root / "bin"
        for name in ("backend", "filter"):
            (bin_dir / name).mkdir(parents=True, exist_ok=True)
            (bin_dir / name).chmod(0o755)
        for name in ("daemon", "notifier"):
            link = bin_dir / name
            if not link.is_symlink():
                link.symlink_to(serverbin / name)
        # Owner-only: cupsd running as root runs a backend that others cannot execute as
        # root (see the module docstring); anyone else runs it as themselves.
        backend = bin_dir / "backend" / BACKEND_NAME
        source = Path(sim_backend.__file__).read_text(encoding="utf-8")
        temporary = backend.with_name(f".{BACKEND_NAME}.tmp")
        temporary.write_text(f"#!{backend_interpreter()} -I\n{source}", encoding="utf-8")
        temporary.chmod(0o700)
        os.replace(temporary, backend)

    def _write_config(self) -> None:
        root = self.root
        if os.geteuid() == 0:
            user, group, system_group = _service_user(), _service_group(), "root"
            users = f"User {user}\nGroup {group}\n"
        else:
            system_group = grp.getgrgid(os.getegid()).gr_name
            users = ""  # not root: cupsd and its children run as this user
        files = (
            f"ServerRoot {root}/etc\n"
            f"RequestRoot {root}/spool\n"
            f"CacheDir {root}/cache\n"
            f"StateDir {root}/state\n"
            f"TempDir {root}/tmp\n"  # noqa: S108 - our own directory, not /tmp
            f"ServerBin {root}/bin\n"
            f"ServerKeychain {root}/ssl\n"
            f"AccessLog {root}/log/access_log\n"
            f"ErrorLog {root}/log/error_log\n"
            f"PageLog {root}/log/page_log\n"
            f"Printcap {root}/state/printcap\n"
            f"{users}"
            f"SystemGroup {system_group}\n"
            "FileDevice No\n"
        )
        conf = (
            f"LogLevel {self.log_level}\n"
            "MaxLogSize 1m\n"
            f"Listen 127.0.0.1:{self.port}\n"
            "Browsing No\n"
            "BrowseLocalProtocols none\n"
            "DefaultShared No\n"
            "WebInterface No\n"
            f"JobRetryInterval {self.retry_interval}\n"
            "JobRetryLimit 100000\n"
            "PreserveJobHistory Yes\n"
            "PreserveJobFiles No\n"
            "DefaultAuthType None\n"
            "<Location />\n  Order allow,deny\n  Allow 127.0.0.1\n</Location>\n"
            "<Policy default>\n"
            "  JobPrivateAccess all\n  JobPrivateValues none\n"
            "  SubscriptionPrivateAccess all\n  SubscriptionPrivateValues none\n"
            "  <Limit All>\n    Order deny,allow\n  </Limit>\n"
            "</Policy>\n"
        )
        (root / "etc" / "cups-files.conf").write_text(files, encoding="ascii")
        (root / "etc" / "cupsd.conf").write_text(conf, encoding="ascii")

    def _spawn(self, cupsd: Path) -> None:
        etc = self.root / "etc"
        with open(self.root / "log" / "cupsd.out", "ab") as out:
            self._process = subprocess.Popen(
                [
                    str(cupsd),
                    "-f",
                    "-c",
                    str(etc / "cupsd.conf"),
                    "-s",
                    str(etc / "cups-files.conf"),
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a terminal's Ctrl-C is for Kiln, not for it
            )

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.start_timeout
        transport = CupsTransport(self.server, timeout=2.0)
        while time.monotonic() < deadline:
            if not self.running:
                return False
            try:
                transport.queues()
                return True
            except CupsTransportError:
                time.sleep(0.1)
        return False

    def _terminate(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("private cupsd %d ignored SIGTERM; killing it", process.pid)
            process.kill()
            process.wait(timeout)

    def _stop_leftover(self) -> None:
        """A cupsd left running on this directory by an earlier run of Kiln (a crash):
        recognised by its PID file and its command line naming our cupsd.conf."""
        pid_file = self.root / "state" / "cupsd.pid"
        try:
            pid = int(pid_file.read_text().strip())
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return
        ours = str(self.root / "etc" / "cupsd.conf").encode()
        if ours in command:
            log.warning("stopping the private cupsd %d left from an earlier run", pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 5.0
            while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                time.sleep(0.05)

    def _log_tail(self, lines: int = 20) -> str:
        text = ""
        for name in ("cupsd.out", "error_log"):
            with contextlib.suppress(OSError):
                text += (self.root / "log" / name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def _service_user() -> str:
    for name in ("lp", "daemon", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise CupsdNotAvailable("no lp, daemon or nobody user for cupsd's children")


def _service_group() -> str:
    for name in ("lp", "daemon", "nogroup", "nobody"):
        with contextlib.suppress(KeyError):
            grp.getgrnam(name)
            return name
    raise CupsdNotAvailable("no lp, daemon, nogroup or nobody group for cupsd's children")


def main(argv: list[str] | None = None) -> int:
    """`python -m drivers.cups_printer.private_cupsd ROOT [run|inject FAULT...|clear]`:
    run a private cupsd on ROOT until interrupted, or set the faults of its queue."""
    import argparse

    parser = argparse.ArgumentParser(description="Kiln's private cupsd (simulated printer).")
    parser.add_argument("root", type=Path, help="the cupsd's directory (kept)")
    parser.add_argument("--queue", default=DEFAULT_QUEUE)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start cupsd and wait for Ctrl-C or SIGTERM")
    run.add_argument("--port", type=int, default=None)
    inject = sub.add_parser("inject", help="add faults, e.g. paper_out or slow=2")
    inject.add_argument("faults", nargs="+")
    sub.add_parser("clear", help="clear every fault")
    args = parser.parse_args(argv)
    cupsd = PrivateCupsd(args.root, (args.queue,), port=getattr(args, "port", None))
    if args.command == "clear":
        cupsd.clear_faults()
        return 0
    if args.command == "inject":
        defaults = Faults()
        changes: dict[str, Any] = {}
        for word in args.faults:
            name, _, value = word.partition("=")
            if not hasattr(defaults, name):
                parser.error(f"no fault {name!r}: one of {', '.join(vars(defaults))}")
            kind = type(getattr(defaults, name))
            changes[name] = (
                value.lower() in ("", "1", "true", "yes") if kind is bool else kind(value)
            )
        faults = dataclasses.replace(cupsd.faults(), **changes)
        cupsd.set_faults(faults)
        print(faults)
        return 0
    stop = False

    def on_signal(number: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    cupsd.start()
    print(f"cupsd {cupsd.pid} on 127.0.0.1:{cupsd.port}; output in {cupsd.output()}")
    try:
        while not stop and cupsd.running:
            time.sleep(0.2)
    finally:
        cupsd.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
