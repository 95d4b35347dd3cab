"""A private Orthanc (the Debian package's /usr/sbin/Orthanc) as a third-party DICOM peer.

Each instance gets its own configuration file, storage and index directories under a temp
directory, a free DICOM port and a free HTTP port. Remote HTTP access and authentication are
off (Orthanc 1.10 has no bind-address option: it listens on every interface, but refuses
HTTP clients that are not on the loopback). The Kiln box under test is known to Orthanc as
the modality ``kiln``. The process is stopped by its PID only.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import free_port

ORTHANC = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
AE_TITLE = "ORTHANC"


class OrthancError(Exception):
    """Orthanc did not start, or a REST call failed."""


@dataclass
class Orthanc:
    root: Path
    dicom_port: int
    http_port: int
    modalities: dict[str, list[Any]]
    ae_title: str = AE_TITLE
    extra: dict[str, Any] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def config_path(self) -> Path:
        return self.root / "orthanc.json"

    @property
    def log_path(self) -> Path:
        return self.root / "orthanc.log"

    def config(self) -> dict[str, Any]:
        return {
            "Name": "kiln-test-orthanc",
            "StorageDirectory": str(self.root / "storage"),
            "IndexDirectory": str(self.root / "index"),
            "Plugins": [],
            "HttpServerEnabled": True,
            "HttpPort": self.http_port,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "DicomServerEnabled": True,
            "DicomAet": self.ae_title,
            "DicomPort": self.dicom_port,
            "DicomCheckCalledAet": False,
            "DicomCheckModalityHost": False,
            "DicomModalities": self.modalities,
            # Orthanc keeps its SCU associations open for reuse (5 s by default); the tests
            # want each job's association closed when the job ends.
            "DicomAssociationCloseDelay": 0,
            "DicomScuTimeout": 30,
            "DicomScpTimeout": 30,
            "SaveJobs": False,
            "StableAge": 60,
            "HttpTimeout": 60,
            **self.extra,
        }

    def start(self, timeout: float = 60.0) -> None:
        (self.root / "storage").mkdir(parents=True, exist_ok=True)
        (self.root / "index").mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(self.config(), indent=2))
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [ORTHANC, "--verbose", str(self.config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.root,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise OrthancError(f"Orthanc exited with {self.process.returncode}:\n{self.log()}")
            try:
                response = httpx.get(f"{self.url}/system", timeout=2.0)
                if response.status_code == 200 and response.json().get("DicomAet") == self.ae_title:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise OrthancError(f"Orthanc did not answer GET /system within {timeout} s")

    def stop(self, timeout: float = 30.0) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # -- REST ---------------------------------------------------------------------------
    def _check(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise OrthancError(
                f"{response.request.method} {response.request.url.path}: "
                f"HTTP {response.status_code} {response.text}"
            )
        return response.json() if response.content else None

    def get(self, path: str, timeout: float = 60.0) -> Any:
        return self._check(httpx.get(f"{self.url}{path}", timeout=timeout))

    def post(
        self, path: str, body: Any = None, *, content: bytes | None = None, timeout: float = 120.0
    ) -> Any:
        if content is not None:
            response = httpx.post(
                f"{self.url}{path}",
                content=content,
                timeout=timeout,
                headers={"Content-Type": "application/dicom"},
            )
        else:
            response = httpx.post(f"{self.url}{path}", json=body, timeout=timeout)
        return self._check(response)

    def upload(self, data: bytes) -> dict[str, Any]:
        """POST /instances; returns Orthanc's answer (ID, ParentStudy, Status, ...)."""
        answer = self.post("/instances", content=data)
        assert isinstance(answer, dict)
        return answer

    def wait_job(self, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """Poll GET /jobs/{id} until it leaves Pending/Running; returns the job."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(f"/jobs/{job_id}")
            assert isinstance(job, dict)
            if job.get("State") not in ("Pending", "Running"):
                return job
            if time.monotonic() > deadline:
                raise OrthancError(f"job {job_id} still {job.get('State')} after {timeout} s")
            time.sleep(0.2)

    def wait_commitment(self, transaction_uid: str, timeout: float = 30.0) -> dict[str, Any]:
        """Poll GET /storage-commitment/{uid} until the report is no longer Pending."""
        deadline = time.monotonic() + timeout
        while True:
            report = self.get(f"/storage-commitment/{transaction_uid}")
            assert isinstance(report, dict)
            if report.get("Status") != "Pending":
                return report
            if time.monotonic() > deadline:
                raise OrthancError(
                    f"storage commitment {transaction_uid} still pending "
                    f"after {timeout} s: {report}"
                )
            time.sleep(0.2)


def kiln_modality(port: int, ae_title: str = "KILN") -> dict[str, list[Any]]:
    return {"kiln": [ae_title, "127.0.0.1", port]}


class OrthancFactory:
    """Makes private Orthancs under `root`; `close()` stops every one it made.

    A test module turns it into a fixture::

        @pytest.fixture
        def orthanc_factory(tmp_path: Path) -> Iterator[OrthancFactory]:
            with OrthancFactory(tmp_path) as factory:
                yield factory
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.made: list[Orthanc] = []

    def __call__(
        self,
        modalities: dict[str, list[Any]] | None = None,
        *,
        start: bool = True,
        dicom_port: int | None = None,
        **extra: Any,
    ) -> Orthanc:
        """A new Orthanc; with `start=False`, set `modalities` and call `start()` later."""
        root = self.root / f"orthanc{len(self.made)}"
        root.mkdir(parents=True)
        server = Orthanc(
            root, dicom_port or free_port(), free_port(), modalities or {}, extra=extra
        )
        self.made.append(server)
        if start:
            server.start()
        return server

    def close(self) -> None:
        for server in self.made:
            server.stop()

    def __enter__(self) -> OrthancFactory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
