"""The USB exporter's logic with a scripted udev watcher and a mounter that mounts nothing.

The "stick" is a plain directory, so the real write, fsync and read-back code runs without
root or umockdev; the faults are raised by the fakes exactly where the driver raises them.
"""

from __future__ import annotations

import errno
from collections import deque
from pathlib import Path

import pytest

from appliance.config.schema import KilnConfig, UsbSection
from appliance.media.usb_export import ExportPhase, UsbExporter
from drivers.usb_storage.copy import Plan, classify
from drivers.usb_storage.driver import UsbStorageDriver, space_needed
from drivers.usb_storage.errors import (
    MountFailed,
    StickFull,
    StickReadOnly,
    StickRemoved,
    UnsupportedFileSystem,
    WriteFailed,
)
from drivers.usb_storage.mount import mount_error
from drivers.usb_storage.stick import Stick, stick_from_udev
from drivers.usb_storage.udev import StickEvent, UdevAction
from statemachines.usb_export import UsbExportState

S = UsbExportState
PARTITION = "/sys/devices/usb1/1-1/host0/block/sdb/sdb1"


def usb_properties(**extra: str) -> dict[str, str]:
    return {
        "SUBSYSTEM": "block",
        "ID_BUS": "usb",
        "DEVTYPE": "partition",
        "DEVNAME": "/dev/sdb1",
        "ID_FS_TYPE": "vfat",
        "ID_FS_LABEL": "CLINIC",
        **extra,
    }


def _the_stick() -> Stick:
    stick = stick_from_udev(PARTITION, usb_properties(), {"size": "2048", "ro": "0"})
    assert stick is not None
    return stick


STICK = _the_stick()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeWatcher:
    def __init__(self, present: list[Stick], events: list[StickEvent | None]) -> None:
        self.clock = Clock()
        self.sticks = list(present)
        self.events: deque[StickEvent | None] = deque(events)
        self.gone: set[str] = set()

    def present(self) -> list[Stick]:
        return list(self.sticks)

    def is_present(self, sys_path: str) -> bool:
        return sys_path not in self.gone

    def next_event(self, timeout: float) -> StickEvent | None:
        if self.events:
            return self.events.popleft()
        self.clock.now += timeout  # as the real watcher, which waits the whole timeout
        return None

    def close(self) -> None:
        return None


class FakeMounter:
    """Mounting is a no-op: the target directory itself stands in for the stick."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.fail = fail
        self.mounts: list[bool] = []  # read_only of each mount
        self.unmounts = 0

    def mount(self, stick: Stick, target: Path, *, read_only: bool) -> None:
        if self.fail is not None:
            raise self.fail
        self.mounts.append(read_only)

    def unmount(self, target: Path, *, lazy: bool = False) -> None:
        self.unmounts += 1

    def close(self) -> None:
        return None


def make(
    tmp_path: Path,
    watcher: FakeWatcher,
    mounter: FakeMounter | None = None,
) -> tuple[UsbExporter, FakeMounter]:
    mounter = mounter or FakeMounter()
    config = KilnConfig(usb=UsbSection(wait_seconds=0.01, error_hold_seconds=30))
    driver = UsbStorageDriver(watcher, mounter, tmp_path / "mnt")
    return UsbExporter(config, driver, clock=watcher.clock), mounter


def state(exporter: UsbExporter) -> UsbExportState:
    """The state now (a call, so mypy does not carry a narrowed property across actions)."""
    return exporter.state


@pytest.fixture
def source(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    (root / "DICOM").mkdir(parents=True)
    (root / "DICOMDIR").write_bytes(b"D" * 3000)
    (root / "DICOM" / "IM000001").write_bytes(b"I" * 5000)
    return root


def test_export_writes_reads_back_from_a_read_only_mount_and_ends_safe(
    tmp_path: Path, source: Path
) -> None:
    exporter, mounter = make(tmp_path, FakeWatcher([STICK], []))
    seen: list[tuple[ExportPhase, int, int]] = []
    result = exporter.export(source, lambda p, d, t: seen.append((p, d, t)))
    assert result.ok and result.state is S.SAFE_TO_REMOVE
    assert (result.files, result.bytes, result.stick) == (2, 8000, "CLINIC")
    assert (tmp_path / "mnt" / "sdb1" / "DICOM" / "IM000001").read_bytes() == b"I" * 5000
    assert mounter.mounts == [False, True]  # written read-write, read back read-only
    assert mounter.unmounts == 2
    assert seen[-1] == (ExportPhase.VERIFY, 8000, 8000)
    assert (ExportPhase.WRITE, 8000, 8000) in seen


def test_no_stick_within_the_wait_says_so(tmp_path: Path, source: Path) -> None:
    exporter, _ = make(tmp_path, FakeWatcher([], []))
    result = exporter.export(source, wait_seconds=0.01)
    assert not result.ok and result.state is S.ABSENT
    assert "No USB stick was found" in result.message


def test_a_stick_arriving_by_uevent_is_waited_for(tmp_path: Path) -> None:
    event = StickEvent(UdevAction.ADDED, PARTITION, STICK)
    exporter, _ = make(tmp_path, FakeWatcher([], [None, event]))
    assert state(exporter) is S.ABSENT
    assert exporter.wait_for_stick(5.0) == STICK
    assert state(exporter) is S.DETECTED
    assert exporter.snapshot() == {"state": "detected", "stick": "CLINIC", "error": False}


def test_the_whole_disk_going_away_removes_its_partition(tmp_path: Path) -> None:
    disk = PARTITION.rsplit("/", 1)[0]
    exporter, _ = make(tmp_path, FakeWatcher([STICK], [StickEvent(UdevAction.REMOVED, disk, None)]))
    exporter.poll()
    assert exporter.state is S.ABSENT
    assert exporter.stick is None


def test_another_device_going_away_is_not_ours(tmp_path: Path) -> None:
    other = StickEvent(UdevAction.REMOVED, "/sys/devices/usb1/1-2/host1/block/sdc", None)
    exporter, _ = make(tmp_path, FakeWatcher([STICK], [other]))
    exporter.poll()
    assert exporter.state is S.DETECTED


@pytest.mark.parametrize(
    ("error", "state", "words"),
    [
        (StickReadOnly("locked"), S.READ_ONLY, "write-protected"),
        (UnsupportedFileSystem("hfsplus"), S.UNSUPPORTED_FS, "hfsplus"),
        (MountFailed("mount: bad superblock"), S.MOUNT_FAILED, "bad superblock"),
    ],
)
def test_mount_failures_write_nothing(
    tmp_path: Path, source: Path, error: Exception, state: UsbExportState, words: str
) -> None:
    exporter, _ = make(tmp_path, FakeWatcher([STICK], []), FakeMounter(fail=error))
    result = exporter.export(source)
    assert (result.ok, result.state, result.files) == (False, state, 0)
    assert words in result.message
    assert not any((tmp_path / "mnt" / "sdb1").rglob("*"))


def test_a_stick_gone_before_mounting_is_absent(tmp_path: Path, source: Path) -> None:
    exporter, _ = make(tmp_path, FakeWatcher([STICK], []), FakeMounter(fail=StickRemoved("gone")))
    result = exporter.export(source)
    assert (result.ok, result.state) == (False, S.ABSENT)
    assert "removed before anything was written" in result.message


def test_a_stick_pulled_between_files_is_removed_mid_write(tmp_path: Path, source: Path) -> None:
    watcher = FakeWatcher([STICK], [])
    exporter, _ = make(tmp_path, watcher)

    def pull(phase: ExportPhase, done: int, total: int) -> None:
        watcher.gone.add(PARTITION)

    result = exporter.export(source, pull)
    assert (result.ok, result.state, result.files) == (False, S.REMOVED_MID_WRITE, 0)
    assert exporter.stick is None


def test_an_error_clears_after_the_hold_time_and_a_new_export_resets_it(
    tmp_path: Path, source: Path
) -> None:
    watcher = FakeWatcher([STICK], [])
    clock = watcher.clock
    mounter = FakeMounter(fail=StickReadOnly("locked"))
    exporter, _ = make(tmp_path, watcher, mounter)
    assert exporter.export(source).state is S.READ_ONLY
    clock.now += 29
    exporter.poll()
    assert state(exporter) is S.READ_ONLY
    clock.now += 1
    exporter.poll()
    assert state(exporter) is S.DETECTED  # the timed way out
    mounter.fail = StickReadOnly("locked")
    assert exporter.export(source).state is S.READ_ONLY
    mounter.fail = None  # the operator slid the lock switch
    assert exporter.export(source).state is S.SAFE_TO_REMOVE  # RESET, then the export


def test_a_second_export_to_the_same_stick_starts_again(tmp_path: Path, source: Path) -> None:
    exporter, _ = make(tmp_path, FakeWatcher([STICK], []))
    assert exporter.export(source).ok
    again = exporter.export(source)
    assert again.ok and again.state is S.SAFE_TO_REMOVE


def test_a_source_that_is_not_a_directory_is_refused(tmp_path: Path) -> None:
    exporter, _ = make(tmp_path, FakeWatcher([STICK], []))
    with pytest.raises(NotADirectoryError):
        exporter.export(tmp_path / "missing")
    assert exporter.state is S.DETECTED


# --- the pure parts of the driver --------------------------------------------------------


def test_a_usb_partition_with_a_file_system_is_a_stick() -> None:
    stick = stick_from_udev(
        PARTITION, usb_properties(ID_VENDOR="SanDisk"), {"size": "2048", "ro": "1"}
    )
    assert stick is not None
    assert (stick.device_node, stick.fs_type, stick.size_bytes) == ("/dev/sdb1", "vfat", 1 << 20)
    assert stick.write_protected and stick.supported and stick.name == "CLINIC"


@pytest.mark.parametrize(
    ("changes", "is_stick"),
    [
        ({"ID_BUS": "ata"}, False),  # the box's own disk
        ({"SUBSYSTEM": "usb"}, False),
        ({"DEVTYPE": "disk", "ID_FS_TYPE": "", "ID_PART_TABLE_TYPE": "dos"}, False),  # container
        ({"DEVTYPE": "disk", "ID_FS_TYPE": "exfat"}, True),  # a stick without partitions
        ({"DEVTYPE": "disk", "ID_FS_TYPE": ""}, True),  # unformatted: told, not ignored
        ({"ID_FS_TYPE": ""}, False),  # an extended-partition container
        ({"DEVNAME": ""}, False),
    ],
)
def test_which_block_devices_are_sticks(changes: dict[str, str], is_stick: bool) -> None:
    properties = {k: v for k, v in usb_properties(**changes).items() if v}  # "": not there
    assert (stick_from_udev(PARTITION, properties, {}) is not None) is is_stick


def test_an_unformatted_stick_is_unsupported_and_named_by_its_model() -> None:
    properties = usb_properties(DEVTYPE="disk", ID_MODEL="Cruzer_Blade", ID_VENDOR="SanDisk")
    del properties["ID_FS_TYPE"], properties["ID_FS_LABEL"]
    stick = stick_from_udev(PARTITION, properties, {})
    assert stick is not None
    assert not stick.supported
    assert stick.name == "SanDisk Cruzer Blade"


@pytest.mark.parametrize(
    ("stderr", "kind"),
    [
        ("mount: /x: unknown filesystem type 'apfs'.", UnsupportedFileSystem),
        (
            "mount: /x: wrong fs type, bad option, bad superblock on /dev/sdb1",
            UnsupportedFileSystem,
        ),
        ("mount: /x: special device /dev/sdb1 does not exist.", StickRemoved),
        ("mount: /x: can't read superblock on /dev/sdb1.", MountFailed),
    ],
)
def test_mount_complaints_are_typed(stderr: str, kind: type[Exception]) -> None:
    assert STICK is not None
    assert isinstance(mount_error(STICK, stderr), kind)


@pytest.mark.parametrize(
    ("code", "present", "kind"),
    [
        (errno.ENOSPC, True, StickFull),
        (errno.EROFS, True, StickReadOnly),
        (errno.EIO, False, StickRemoved),
        (errno.ENODEV, False, StickRemoved),
        (errno.EFBIG, True, WriteFailed),
        (errno.EACCES, True, WriteFailed),
    ],
)
def test_os_errors_are_typed(code: int, present: bool, kind: type[Exception]) -> None:
    assert isinstance(classify(OSError(code, "x"), lambda: present, "f"), kind)


def test_an_io_error_on_a_stick_still_there_is_a_write_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("drivers.usb_storage.copy.REMOVAL_GRACE", 0.05)
    assert isinstance(classify(OSError(errno.EIO, "I/O"), lambda: True, "f"), WriteFailed)


def test_space_needed_rounds_every_file_and_directory_to_clusters() -> None:
    plan = Plan(directories=("DICOM",), files=(("DICOMDIR", 1), ("DICOM/IM1", 4097)))
    assert space_needed(plan, 4096) == 4096 + 8192 + 2 * 4096
