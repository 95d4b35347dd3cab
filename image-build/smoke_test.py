"""Boot a Kiln image in QEMU and check the box from the host (docs/image-build.md).

    sudo .venv/bin/python image-build/smoke_test.py [IMAGE] [--keep]

IMAGE defaults to the newest image-build/out/kiln-*.img. The image is copied (sparse),
grown to 4 GiB and given a kiln-setup.conf on its EFI partition (AE title, admin user,
root SSH key), so the first boot's set-up is tested too. QEMU runs with KVM when
/dev/kvm is usable, TCG otherwise, and forwards the guest's DICOM (104), web (8080) and
SSH (22) ports to free ports on 127.0.0.1. From the host:

1. C-ECHO answered (DCMTK echoscu, TCP_NODELAY=1), to the AE title the seed set;
2. a study stored (storescu) and listed by GET /api/studies;
3. the status page served (GET /) and GET /api/status: every role up, the data
   partition grown past the image's 256 MiB;
4. over SSH: the units active, none failed, the first-boot settings in force;
5. the update path: the build's update bundle, renamed as a new release, installed with
   kiln-update (new venv, symlink swap, restart, health check), then rolled back;
6. a reboot keeps the study (the data partition is mounted again).

Every wait is bounded; QEMU is killed by its PID at the end. The result is written to
image-build/out/smoke-test.json and printed.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")
ESP_OFFSET = 1024 * 1024  # the ESP is the image's first partition, at 1 MiB
AE_TITLE = "SMOKE_KILN"
DISK_BYTES = 4 * 1024**3
IMAGE_DATA_BYTES = 256 * 1024**2


class SmokeFailed(Exception):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def kvm_usable() -> bool:
    """/dev/kvm opens and a guest runs on it (nested KVM may exist and still fail)."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
    except OSError:
        return False
    os.close(fd)
    probe = subprocess.Popen(
        [
            "qemu-system-x86_64", "-machine", "q35,accel=kvm", "-cpu", "host", "-m", "128",
            "-display", "none", "-monitor", "none", "-serial", "none",
            "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        _, errors = probe.communicate(timeout=4)
    except subprocess.TimeoutExpired:
        probe.kill()
        _, errors = probe.communicate()
        return b"error" not in errors.lower()
    return False  # it ended by itself: an abort


def wait_for(
    what: str, check: Callable[[], bool], timeout: float, qemu: subprocess.Popen[bytes]
) -> float:
    """Poll `check` until it holds; the seconds it took. Bounded by `timeout`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if qemu.poll() is not None:
            raise SmokeFailed(f"QEMU exited ({qemu.returncode}) while waiting for {what}")
        if check():
            return time.monotonic() - start
        time.sleep(2)
    raise SmokeFailed(f"{what}: not within {timeout:.0f} s")


def run(
    cmd: list[str], timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )


def http_get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 (a loopback URL)
        return int(answer.status), bytes(answer.read())


def make_study(folder: Path) -> str:
    """A two-instance CT study (tests/dicomdata.py); its Study Instance UID."""
    sys.path.insert(0, str(HERE.parent))
    from tests.dicomdata import write_series

    paths = write_series(folder, 2, patient="Smoke^Test")
    import pydicom

    return str(pydicom.dcmread(paths[0], stop_before_pixels=True).StudyInstanceUID)


class Box:
    """The booted image: QEMU, its forwarded ports and an SSH key into it."""

    def __init__(self, image: Path, work: Path, accel: str) -> None:
        self.work = work
        self.disk = work / "disk.img"
        self.dicom, self.web, self.ssh_port = free_port(), free_port(), free_port()
        self.key = work / "id_ed25519"
        self.console = work / "console.log"
        self.accel = accel if accel != "auto" else ("kvm" if kvm_usable() else "tcg")
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.key)])
        subprocess.run(["cp", "--sparse=always", str(image), str(self.disk)], check=True)
        os.truncate(self.disk, DISK_BYTES)
        seed = work / "kiln-setup.conf"
        seed.write_text(
            f"ae_title={AE_TITLE}\nbox_name=Kiln smoke test\nhostname=kiln-smoke\n"
            f"network=dhcp\nadmin_user=admin\nadmin_password={secrets.token_urlsafe(12)}\n"
            f"ssh_key={(work / 'id_ed25519.pub').read_text().strip()}\n"
        )
        subprocess.run(
            ["mcopy", "-o", "-i", f"{self.disk}@@{ESP_OFFSET}", str(seed), "::/kiln-setup.conf"],
            check=True,
        )
        shutil.copy(OVMF_VARS, work / "vars.fd")
        self.qemu: subprocess.Popen[bytes] | None = None

    def start(self) -> subprocess.Popen[bytes]:
        forwards = ",".join(
            f"hostfwd=tcp:127.0.0.1:{host}-:{guest}"
            for host, guest in ((self.dicom, 104), (self.web, 8080), (self.ssh_port, 22))
        )
        cmd = [
            "qemu-system-x86_64",
            "-machine", f"q35,accel={self.accel}",
            "-cpu", "host" if self.accel == "kvm" else "max",
            "-smp", "2", "-m", "1536",
            "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
            "-drive", f"if=pflash,format=raw,unit=1,file={self.work / 'vars.fd'}",
            "-drive", f"if=virtio,format=raw,file={self.disk}",
            "-netdev", f"user,id=n0,{forwards}",
            "-device", "virtio-net-pci,netdev=n0",
            "-display", "none", "-monitor", "none",
            "-serial", f"file:{self.console}",
        ]  # fmt: skip
        log = (self.work / "qemu.log").open("ab")
        self.qemu = subprocess.Popen(cmd, stdout=log, stderr=log)
        return self.qemu

    def stop(self) -> None:
        if self.qemu is not None and self.qemu.poll() is None:
            self.qemu.kill()  # by its PID: the Popen we started
            self.qemu.wait(timeout=30)
        self.qemu = None

    def ssh(self, command: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return run(
            [
                "ssh", "-i", str(self.key), "-p", str(self.ssh_port),
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "ConnectTimeout=5", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
                "root@127.0.0.1", command,
            ],
            timeout=timeout,
        )  # fmt: skip

    def scp(self, source: Path, target: str) -> None:
        result = run(
            [
                "scp", "-q", "-i", str(self.key), "-P", str(self.ssh_port),
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", str(source), f"root@127.0.0.1:{target}",
            ],
            timeout=300,
        )  # fmt: skip
        if result.returncode:
            raise SmokeFailed(f"scp {source}: {result.stderr.strip()}")

    def echo(self) -> bool:
        env = {**os.environ, "TCP_NODELAY": "1"}
        cmd = ["echoscu", "-to", "5", "-ta", "5", "-td", "5", "-aec", AE_TITLE]
        try:
            return run([*cmd, "127.0.0.1", str(self.dicom)], timeout=30, env=env).returncode == 0
        except subprocess.TimeoutExpired:  # QEMU's forwarder accepts before the guest does
            return False

    def studies(self) -> list[dict[str, object]]:
        status, body = http_get(f"http://127.0.0.1:{self.web}/api/studies")
        listing: list[dict[str, object]] = json.loads(body) if status == 200 else []
        return listing

    def status(self) -> dict[str, object]:
        status, body = http_get(f"http://127.0.0.1:{self.web}/api/status")
        if status != 200:
            raise SmokeFailed(f"GET /api/status: {status}")
        report: dict[str, object] = json.loads(body)
        return report

    def roles_up(self) -> bool:
        try:
            roles = self.status()["roles"]
        except (OSError, SmokeFailed, ValueError):
            return False
        return isinstance(roles, dict) and all(
            isinstance(roles.get(r), dict) and roles[r].get("up")
            for r in ("dicom", "devices", "web")
        )


def check(results: dict[str, object], name: str, ok: bool, detail: str = "") -> None:
    results[name] = "passed" if ok else f"FAILED {detail}".strip()
    print(f"{'ok  ' if ok else 'FAIL'} {name} {detail}".rstrip(), flush=True)
    if not ok:
        raise SmokeFailed(f"{name}: {detail}")


def smoke(image: Path, work: Path, results: dict[str, object], accel: str) -> None:
    box = Box(image, work, accel)
    results["accel"] = box.accel
    boot_timeout = 300 if box.accel == "kvm" else 1200
    qemu = box.start()
    try:
        results["first_boot_to_echo_seconds"] = round(
            wait_for("C-ECHO", box.echo, boot_timeout, qemu), 1
        )
        check(results, "c_echo", True, f"to {AE_TITLE} (the seed's AE title)")

        folder = work / "study"
        study_uid = make_study(folder)
        store = run(
            [
                "storescu",
                "-to",
                "30",
                "-aec",
                AE_TITLE,
                "127.0.0.1",
                str(box.dicom),
                *map(str, sorted(folder.iterdir())),
            ],
            timeout=120,
            env={**os.environ, "TCP_NODELAY": "1"},
        )
        check(results, "c_store", store.returncode == 0, store.stderr.strip()[-300:])
        listed = [s for s in box.studies() if s.get("study_uid") == study_uid]
        check(
            results,
            "study_listed",
            len(listed) == 1 and listed[0].get("instances") == 2,
            f"{len(listed)} listed, instances {[s.get('instances') for s in listed]}",
        )

        wait_for("every role's heartbeat", box.roles_up, 120, qemu)
        page_status, page = http_get(f"http://127.0.0.1:{box.web}/")
        check(
            results,
            "status_page",
            page_status == 200 and b"<html" in page.lower(),
            f"GET / {page_status}",
        )
        report = box.status()
        disk = report["disk"]
        assert isinstance(disk, dict)
        check(
            results,
            "api_status",
            report.get("box") == "Kiln smoke test",
            f"box={report.get('box')!r}",
        )
        check(
            results, "data_partition_grown", int(disk["total"]) > 2 * IMAGE_DATA_BYTES,
            f"{int(disk['total']) // 2**20} MiB",
        )  # fmt: skip

        wait_for("SSH", lambda: box.ssh("true", timeout=20).returncode == 0, 120, qemu)
        units = box.ssh("systemctl is-active kiln.target kiln-dicom kiln-devices kiln-web")
        check(results, "units_active", units.returncode == 0, units.stdout.replace("\n", " "))
        failed = box.ssh("systemctl list-units --failed --no-legend --plain")
        check(results, "no_failed_units", failed.stdout.strip() == "", failed.stdout.strip())
        setup = box.ssh(
            "hostname; test -f /etc/kiln/firstboot.done"
            " && test -f /boot/efi/kiln-setup.conf.applied"
            " && ! grep -q change-me /etc/kiln/kiln.toml && echo applied"
        )
        check(
            results,
            "first_boot_settings",
            setup.stdout.split() == ["kiln-smoke", "applied"],
            (setup.stdout + setup.stderr).replace("\n", " "),
        )

        update_path(box, work, results)

        reboot = box.ssh("systemctl reboot", timeout=30)
        del reboot
        time.sleep(5)
        wait_for("C-ECHO after reboot", box.echo, boot_timeout, qemu)
        wait_for("the roles after reboot", box.roles_up, 120, qemu)
        kept = [s for s in box.studies() if s.get("study_uid") == study_uid]
        check(results, "study_kept_after_reboot", len(kept) == 1)
    finally:
        box.stop()


def update_path(box: Box, work: Path, results: dict[str, object]) -> None:
    """The build's bundle, renamed as a new release: install, health, rollback."""
    bundles = sorted(OUT.glob("kiln-*.update.tar"), key=lambda p: p.stat().st_mtime)
    if not bundles:
        check(results, "update_install", False, "no kiln-*.update.tar in image-build/out")
    current = box.ssh("readlink /opt/kiln/venv").stdout.strip()
    release = f"{bundles[-1].name.removeprefix('kiln-').removesuffix('.update.tar')}-smoke"
    unpacked = work / "bundle"
    with tarfile.open(bundles[-1]) as tar:
        tar.extractall(unpacked, filter="data")
    (unpacked / "release").write_text(release + "\n")
    bundle = work / "update.tar"
    with tarfile.open(bundle, "w") as tar:
        for name in ("release", "requirements.lock", "wheels"):
            tar.add(unpacked / name, arcname=name)
    box.scp(bundle, "/root/update.tar")
    started = time.monotonic()
    install = box.ssh("kiln-update install /root/update.tar", timeout=600)
    results["update_install_seconds"] = round(time.monotonic() - started, 1)
    now = box.ssh("readlink /opt/kiln/venv").stdout.strip()
    check(
        results, "update_install",
        install.returncode == 0 and now == f"releases/{release}/venv" and box.echo(),
        (install.stdout + install.stderr)[-400:],
    )  # fmt: skip
    rollback = box.ssh("kiln-update rollback", timeout=300)
    back = box.ssh("readlink /opt/kiln/venv").stdout.strip()
    check(
        results, "update_rollback", rollback.returncode == 0 and back == current and box.echo(),
        (rollback.stdout + rollback.stderr)[-400:],
    )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", nargs="?", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--accel", choices=("auto", "kvm", "tcg"), default="auto", help="QEMU accelerator"
    )
    args = parser.parse_args()
    images = sorted(OUT.glob("kiln-*.img"), key=lambda p: p.stat().st_mtime)
    image: Path | None = args.image or (images[-1] if images else None)
    if image is None or not image.is_file():
        print("smoke_test: no image (run image-build/build first)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="kiln-smoke.", dir="/var/tmp"))
    results: dict[str, object] = {
        "image": image.name,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    started = time.monotonic()
    ok = False
    try:
        smoke(image, work, results, args.accel)
        ok = True
    except (SmokeFailed, subprocess.TimeoutExpired, OSError) as error:
        results["error"] = str(error)
        print(f"smoke test FAILED: {error}\nconsole: {work / 'console.log'}", file=sys.stderr)
        tail = (work / "console.log").read_text(errors="replace").splitlines()[-40:]
        print("\n".join(tail), file=sys.stderr)
    finally:
        results["seconds"] = round(time.monotonic() - started, 1)
        results["result"] = "passed" if ok else "failed"
        OUT.mkdir(exist_ok=True)
        (OUT / "smoke-test.json").write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps(results, indent=2))
        if ok and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
