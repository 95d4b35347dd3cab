"""The USB stick simulator: umockdev devices and uevents, loop-mounted images behind them.

The driver's udev transport sees the simulated stick appear and disappear exactly as a
real one (enumeration and `add`/`remove` uevents through umockdev's fake /sys and uevent
socket). Its file system is an ext4 image loop-mounted by `SimulatedMounter` (the kernel
this box is built for has no vfat or exfat module, so the image is ext4; ext4 is a
supported stick file system). Needs root (loop mounts) and umockdev's preload library.

Faults (set in config for the stick the simulator inserts, or passed to `insert`):
read-only (sysfs ro=1 and mounted ro, as the kernel does for a locked stick), full (a
2 MiB stick), unsupported-fs (udev says hfsplus), removed-mid-write (after some bytes
have been written the stick is pulled: remove uevents, gone from /sys, and its file
system shut down so every further system call fails with EIO), verify-mismatch (one
byte of a written file changes on the medium before it is read back).
"""

from __future__ import annotations

import fcntl
import logging
import os
import struct
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from drivers.usb_storage.errors import MountFailed, SimulatorUnavailable, StickRemoved
from drivers.usb_storage.mount import MOUNT_TYPES, mount_error, run_helper, unmount_path
from drivers.usb_storage.stick import Stick
from drivers.usb_storage.umockdev import Testbed

log = logging.getLogger(__name__)

FS_IOC_SHUTDOWN = 0x8004587D  # _IOR('X', 125, __u32)
SHUTDOWN_NOLOGFLUSH = 2  # stop all I/O at once, as a pulled stick does
FULL_STICK_MB = 2
POLL_SECONDS = 0.002
_LETTERS = "bcdefghijklmnopqrstuvwxyz"  # sda is the box's own disk


class SimFault(StrEnum):
    NONE = "none"
    READ_ONLY = "read-only"
    FULL = "full"
    UNSUPPORTED_FS = "unsupported-fs"
    REMOVED_MID_WRITE = "removed-mid-write"
    VERIFY_MISMATCH = "verify-mismatch"


@dataclass(frozen=True)
class SimulatorOptions:
    work_dir: Path  # the images live here
    image_mb: int = 64
    fault: SimFault = SimFault.NONE
    pull_after_bytes: int = 1 << 20
    insert_after_seconds: float | None = 0.0  # None: only `insert()` plugs a stick in
    label: str = "KILNSIM"
    keep_images: bool = False  # leave each stick's image behind to inspect what it received


@dataclass
class _SimStick:
    letter: str
    port: int
    image: Path
    fault: SimFault
    inserted: bool = True
    mounted_at: Path | None = None
    mounted_device: int = -1  # st_dev of the mounted image
    writable_mount: bool = False
    corrupted: bool = False

    @property
    def usb_path(self) -> str:
        return f"/sys/devices/pci0000:00/0000:00:14.0/usb1/1-{self.port}"

    @property
    def disk_path(self) -> str:
        host = 10 + self.port
        return (
            f"{self.usb_path}/1-{self.port}:1.0/host{host}/target{host}:0:0/{host}:0:0:0"
            f"/block/sd{self.letter}"
        )

    @property
    def partition_path(self) -> str:
        return f"{self.disk_path}/sd{self.letter}1"

    @property
    def node(self) -> str:
        return f"/dev/sd{self.letter}1"


def _description(stick: _SimStick, label: str, sectors: int) -> str:
    """umockdev-record text for a USB stick: partition, disk, SCSI device, USB device."""
    index = _LETTERS.index(stick.letter) + 1
    fs_type = "hfsplus" if stick.fault is SimFault.UNSUPPORTED_FS else "ext4"
    ro = "1" if stick.fault is SimFault.READ_ONLY else "0"
    common = [
        "E: SUBSYSTEM=block",
        "E: ID_BUS=usb",
        "E: ID_VENDOR=Kiln",
        "E: ID_MODEL=Simulated_Stick",
        f"E: ID_SERIAL_SHORT=KILNSIM{stick.port:04d}",
        "E: MAJOR=8",
    ]
    partition = [
        f"P: {stick.partition_path.removeprefix('/sys')}",
        f"N: sd{stick.letter}1",
        f"E: DEVNAME={stick.node}",
        "E: DEVTYPE=partition",
        *common,
        f"E: MINOR={16 * index + 1}",
        f"E: ID_FS_TYPE={fs_type}",
        "E: ID_FS_USAGE=filesystem",
        f"E: ID_FS_LABEL={label}",
        f"A: dev=8:{16 * index + 1}",
        "A: partition=1",
        f"A: size={sectors - 2048}",
        f"A: ro={ro}",
    ]
    disk = [
        f"P: {stick.disk_path.removeprefix('/sys')}",
        f"N: sd{stick.letter}",
        f"E: DEVNAME=/dev/sd{stick.letter}",
        "E: DEVTYPE=disk",
        *common,
        f"E: MINOR={16 * index}",
        "E: ID_PART_TABLE_TYPE=dos",
        f"A: dev=8:{16 * index}",
        "A: removable=1",
        f"A: size={sectors}",
        f"A: ro={ro}",
    ]
    scsi = [
        f"P: {stick.disk_path.removeprefix('/sys').rsplit('/block/', 1)[0]}",
        "E: SUBSYSTEM=scsi",
        "E: DEVTYPE=scsi_device",
        "E: DRIVER=sd",
    ]
    usb = [
        f"P: {stick.usb_path.removeprefix('/sys')}",
        "E: SUBSYSTEM=usb",
        "E: DEVTYPE=usb_device",
        "E: DRIVER=usb",
        "A: idVendor=1d6b",
        "A: idProduct=0104",
        "A: removable=removable",
    ]
    return "\n\n".join("\n".join(lines) for lines in (partition, disk, scsi, usb)) + "\n"


def _corrupt_one_byte(root: Path) -> str | None:
    """Flip one byte in the middle of the largest file under `root`; its path, or None."""
    files = [p for p in root.rglob("*") if p.is_file() and p.stat().st_size > 0]
    if not files:
        return None
    victim = max(files, key=lambda p: p.stat().st_size)
    with victim.open("r+b") as stream:
        middle = victim.stat().st_size // 2
        stream.seek(middle)
        byte = stream.read(1)
        stream.seek(middle)
        stream.write(bytes([byte[0] ^ 0xFF]))
        stream.flush()
        os.fsync(stream.fileno())
    return str(victim.relative_to(root))


class UsbSimulator:
    """Plugs simulated sticks in and pulls them out; owns their images."""

    def __init__(self, options: SimulatorOptions) -> None:
        if os.geteuid() != 0:
            raise SimulatorUnavailable("the USB simulator loop-mounts its images, which needs root")
        self._options = options
        self._testbed = Testbed()
        self._lock = threading.RLock()
        self._sticks: dict[str, _SimStick] = {}
        self._ports = 0
        self._closed = threading.Event()
        self._timer: threading.Timer | None = None
        self.mounter = SimulatedMounter(self)
        options.work_dir.mkdir(parents=True, exist_ok=True)
        delay = options.insert_after_seconds
        if delay == 0:
            self.insert()
        elif delay is not None:
            # Later, so a waiting exporter sees the stick arrive as a uevent.
            self._timer = threading.Timer(delay, self._insert_later)
            self._timer.daemon = True
            self._timer.start()

    def _insert_later(self) -> None:
        if not self._closed.is_set():
            self.insert()

    # --- fault-injection commands -------------------------------------------------------

    def insert(self, fault: SimFault | None = None) -> str:
        """Plug in a fresh stick (the configured fault unless one is given); its node."""
        fault = self._options.fault if fault is None else fault
        with self._lock:
            used = {s.letter for s in self._sticks.values() if s.inserted}
            letter = next(c for c in _LETTERS if c not in used)
            self._ports += 1
            size_mb = FULL_STICK_MB if fault is SimFault.FULL else self._options.image_mb
            image = self._options.work_dir / f"stick-{self._ports}.img"
            with image.open("wb") as stream:
                stream.truncate(size_mb << 20)
            result = run_helper(
                ["mkfs.ext4", "-q", "-F", "-m", "0", "-L", self._options.label, str(image)]
            )
            if result.returncode != 0:
                raise SimulatorUnavailable(f"mkfs.ext4 failed: {result.stderr.strip()}")
            stick = _SimStick(letter, self._ports, image, fault)
            self._testbed.add(_description(stick, self._options.label, (size_mb << 20) // 512))
            self._sticks[stick.node] = stick
        log.info("simulated stick %s inserted (fault: %s)", stick.node, fault)
        return stick.node

    def pull(self, node: str | None = None) -> None:
        """Pull a stick out, mounted or not, as a person does."""
        with self._lock:
            stick = self._inserted(node)
            if stick is None:
                return
            stick.inserted = False
            for path in (stick.partition_path, stick.disk_path):
                self._testbed.uevent(path, "remove")
            self._testbed.remove(stick.usb_path)
            if stick.mounted_at is not None:
                _shut_down(stick.mounted_at, stick.mounted_device)
        log.info("simulated stick %s pulled", stick.node)

    def _inserted(self, node: str | None) -> _SimStick | None:
        for stick in self._sticks.values():
            if stick.inserted and node in (None, stick.node):
                return stick
        return None

    # --- for the mounter ----------------------------------------------------------------

    def stick_at(self, node: str) -> _SimStick:
        with self._lock:
            stick = self._sticks.get(node)
            if stick is None or not stick.inserted:
                raise StickRemoved(f"{node} does not exist")
            return stick

    def stick_mounted_at(self, target: Path) -> _SimStick | None:
        with self._lock:
            for stick in self._sticks.values():
                if stick.mounted_at == target:
                    return stick
        return None

    def pull_after_writing(self, stick: _SimStick, target: Path) -> None:
        """The removed-mid-write fault: pull once `pull_after_bytes` have been written."""
        baseline = _used_bytes(target)

        def watch() -> None:
            while not self._closed.is_set() and stick.inserted and stick.mounted_at == target:
                try:
                    grown = _used_bytes(target) - baseline
                except OSError:
                    return
                if grown >= self._options.pull_after_bytes:
                    self.pull(stick.node)
                    return
                time.sleep(POLL_SECONDS)

        threading.Thread(target=watch, name="usb-sim-pull", daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            for stick in self._sticks.values():
                if stick.mounted_at is not None:
                    try:
                        unmount_path(stick.mounted_at, lazy=True)
                    except Exception as error:  # teardown: report, go on
                        log.warning("could not detach %s: %s", stick.mounted_at, error)
                if not self._options.keep_images:
                    stick.image.unlink(missing_ok=True)
            self._testbed.close()


def _shut_down(target: Path, device: int) -> None:
    """Stop all I/O on the image mounted at `target`. The open descriptor pins that file
    system, and its device number is checked first: never the box's own disk."""
    try:
        fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        if os.fstat(fd).st_dev == device:
            fcntl.ioctl(fd, FS_IOC_SHUTDOWN, struct.pack("I", SHUTDOWN_NOLOGFLUSH))
    finally:
        os.close(fd)


def _used_bytes(target: Path) -> int:
    status = os.statvfs(target)
    return (status.f_blocks - status.f_bfree) * status.f_frsize


class SimulatedMounter:
    """The `Mounter` of simulated sticks: the stick's device node stands for its image."""

    def __init__(self, simulator: UsbSimulator) -> None:
        self._simulator = simulator

    def mount(self, stick: Stick, target: Path, *, read_only: bool) -> None:
        sim = self._simulator.stick_at(stick.device_node)
        # A locked stick mounts read-only whatever is asked, as mount(8) does.
        writable = not read_only and sim.fault is not SimFault.READ_ONLY
        _, options = MOUNT_TYPES["ext4"]
        options = f"loop,{'rw' if writable else 'ro'},{options}"
        result = run_helper(["mount", "-t", "ext4", "-o", options, str(sim.image), str(target)])
        if result.returncode != 0:
            raise mount_error(stick, result.stderr)
        device = os.stat(target).st_dev
        if device == os.stat(target.parent).st_dev:
            raise MountFailed(f"{target} is not a mount point after mount")
        sim.mounted_at, sim.mounted_device, sim.writable_mount = target, device, writable
        if writable and sim.fault is SimFault.REMOVED_MID_WRITE:
            self._simulator.pull_after_writing(sim, target)

    def unmount(self, target: Path, *, lazy: bool = False) -> None:
        sim = self._simulator.stick_mounted_at(target)
        if (
            sim is not None
            and sim.fault is SimFault.VERIFY_MISMATCH
            and sim.writable_mount
            and not sim.corrupted
            and os.stat(target).st_dev == sim.mounted_device
        ):
            changed = _corrupt_one_byte(target)
            sim.corrupted = changed is not None
            log.info("simulated stick %s: one byte of %s changed", sim.node, changed)
        unmount_path(target, lazy=lazy)
        if sim is not None:
            sim.mounted_at, sim.mounted_device, sim.writable_mount = None, -1, False

    def close(self) -> None:
        self._simulator.close()
