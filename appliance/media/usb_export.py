"""USB export: copies a finished directory tree (a file-set) to a USB stick, safely.

It runs the USB export state machine (`statemachines/usb_export.py`) over the USB storage
driver (`drivers/usb_storage/`), and turns the driver's typed errors into one sentence
for the operator. Use from the CLI (one thread drives an exporter; it is not shared):

    try:
        driver = open_usb_driver(config)
    except UsbExportUnavailable as error:
        fail(str(error))
    with UsbExporter(config, driver) as exporter:
        result = exporter.export(fileset_dir, progress=lambda phase, done, total: ...)
    print(result.message)  # exit status from result.ok

`export` waits up to `[usb] wait_seconds` for a stick, mounts it, writes the tree to the
stick's root (fsync of every file and directory), unmounts, mounts it again read-only,
compares every file's SHA-256 with what was written, and unmounts: the stick is then safe
to remove. A long-running owner (the devices role) calls `poll()` regularly so sticks
coming and going and the timed clearing of errors show on the status page.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any

from appliance.config.schema import KilnConfig, UsbBackend
from drivers.usb_storage.copy import FileRecord
from drivers.usb_storage.driver import UsbStorageDriver, Volume
from drivers.usb_storage.errors import (
    StickFull,
    StickReadOnly,
    StickRemoved,
    UnsupportedFileSystem,
    UsbStorageError,
    VerifyMismatch,
)
from drivers.usb_storage.mount import SystemMounter
from drivers.usb_storage.simulator import SimulatorOptions, UsbSimulator
from drivers.usb_storage.stick import Stick
from drivers.usb_storage.udev import StickEvent, UdevAction, UdevWatcher
from drivers.usb_storage.umockdev import preloaded
from statemachines.usb_export import (
    ERROR_STATES,
    Listener,
    Transition,
    UsbExportEvent,
    UsbExportMachine,
    UsbExportState,
)

log = logging.getLogger(__name__)

E, S = UsbExportEvent, UsbExportState
MB = 1_000_000  # sticks are sold in decimal megabytes; the operator compares with the label


class ExportPhase(StrEnum):
    WRITE = "write"
    VERIFY = "verify"


ExportProgress = Callable[[ExportPhase, int, int], None]  # (phase, bytes done, bytes in all)


@dataclass(frozen=True)
class ExportResult:
    ok: bool
    state: UsbExportState
    message: str  # for the operator: what happened, what the box did, what to do
    stick: str = ""  # the stick's label or model; "" when there was none
    files: int = 0  # files written and read back correct (0 unless ok)
    bytes: int = 0


class UsbExportUnavailable(Exception):
    """USB export cannot start on this box; the message is the operator's sentence."""


# --- building the driver from config (the simulator is chosen here, by config only) -------


def mount_root(config: KilnConfig) -> Path:
    return config.data_dir / config.usb.mount_dir  # an absolute mount_dir wins the join


def _udev_driver(config: KilnConfig) -> UsbStorageDriver:
    return UsbStorageDriver(UdevWatcher(), SystemMounter(), mount_root(config))


def _simulated_driver(config: KilnConfig) -> UsbStorageDriver:
    sim = config.usb.simulator
    simulator = UsbSimulator(
        SimulatorOptions(
            work_dir=config.data_dir / "usb-simulator",
            image_mb=sim.image_mb,
            fault=sim.fault,
            pull_after_bytes=sim.pull_after_bytes,
            insert_after_seconds=sim.insert_after_seconds,
            keep_images=sim.keep_images,
        )
    )
    try:
        return UsbStorageDriver(UdevWatcher(), simulator.mounter, mount_root(config))
    except Exception:
        simulator.close()
        raise


BACKENDS: dict[UsbBackend, Callable[[KilnConfig], UsbStorageDriver]] = {
    UsbBackend.UDEV: _udev_driver,
    UsbBackend.SIMULATED: _simulated_driver,
}


def _simulator_wrapper() -> list[str]:
    # umockdev fakes /sys and the uevent socket only for a process started with its
    # preload library; a command that is already so started needs nothing.
    return [] if preloaded() else ["umockdev-run", "--"]


# How a process that drives the backend must be started (empty: as it is).
WRAPPERS: dict[UsbBackend, Callable[[], list[str]]] = {
    UsbBackend.UDEV: list,
    UsbBackend.SIMULATED: _simulator_wrapper,
}


def process_wrapper(config: KilnConfig) -> list[str]:
    """The command prefix (e.g. `umockdev-run --`) a process using the configured backend
    must be started under; [] when this process can use it as it is."""
    return WRAPPERS[config.usb.backend]()


def open_usb_driver(config: KilnConfig) -> UsbStorageDriver:
    try:
        return BACKENDS[config.usb.backend](config)
    except (UsbStorageError, OSError) as error:
        raise UsbExportUnavailable(
            f"USB export is not available ([usb] backend = {config.usb.backend.value!r}): "
            f"{error}. Nothing was written; see docs/usb-export.md."
        ) from error


# --- the operator's sentences, one per way an export ends --------------------------------


def _mb(value: int) -> str:
    return f"{value / MB:.1f} MB"


def _sentence(state: UsbExportState, stick: str, detail: str = "") -> str:
    sentences = {
        S.READ_ONLY: (
            f"The USB stick {stick} is write-protected: nothing was written. Slide its lock "
            "switch to unlocked, or use another stick, and export again."
        ),
        S.UNSUPPORTED_FS: (
            f"The USB stick {stick} has a file system the box does not write ({detail}): "
            "nothing was written. Use a stick formatted FAT32, exFAT, ext4 or NTFS."
        ),
        S.MOUNT_FAILED: (
            f"The USB stick {stick} could not be opened ({detail}): nothing was written. "
            "Try another stick, or reformat this one as FAT32 or exFAT on a computer."
        ),
        S.IO_ERROR: (
            f"The USB stick {stick} reported an error ({detail}): the copy on it is "
            "incomplete and was not verified; do not use it. Try another stick."
        ),
        S.REMOVED_MID_WRITE: (
            f"The USB stick {stick} was removed while it was being written: the copy on it "
            "is incomplete; do not use it. Insert the stick again and export again."
        ),
        S.VERIFY_FAILED: (
            f"The copy on the USB stick {stick} did not match when read back ({detail}): "
            "the stick may be failing; do not use this copy. Export again to another stick."
        ),
    }
    return sentences[state]


# --- the exporter ------------------------------------------------------------------------


class UsbExporter:
    """One stick at a time, through the USB export state machine."""

    def __init__(
        self,
        config: KilnConfig,
        driver: UsbStorageDriver,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._driver = driver
        self._clock = clock
        self._machine = UsbExportMachine()
        self._stick: Stick | None = None
        self._since = clock()
        self._machine.subscribe(self._entered)
        present = driver.present()
        if present:
            self._added(present[0])

    def __enter__(self) -> UsbExporter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- what the status page and the CLI read ------------------------------------------

    @property
    def state(self) -> UsbExportState:
        return self._machine.state

    @property
    def stick(self) -> Stick | None:
        return self._stick

    def subscribe(self, listener: Listener) -> None:
        """Call `listener` with every transition (status page, LEDs)."""
        self._machine.subscribe(listener)

    def snapshot(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "stick": self._stick.name if self._stick else None,
            "error": self.state in ERROR_STATES,
        }

    # --- sticks coming and going, and errors clearing -----------------------------------

    def poll(self, timeout: float = 0.0) -> None:
        """Take in the uevents that arrived (waiting up to `timeout` for the first), then
        clear an error that has been on show for `[usb] error_hold_seconds`."""
        event = self._driver.next_event(timeout)
        while event is not None:
            self._handle(event)
            event = self._driver.next_event(0.0)
        held = self._clock() - self._since
        if self.state in ERROR_STATES and held >= self._config.usb.error_hold_seconds:
            self._machine.fire(E.RETRY_TIMEOUT)

    def wait_for_stick(self, timeout: float) -> Stick | None:
        """The stick plugged in (waiting up to `timeout` seconds for one), else None."""
        deadline = self._clock() + timeout
        while self._stick is None:
            remaining = deadline - self._clock()
            if remaining <= 0:
                return None
            event = self._driver.next_event(remaining)
            if event is not None:
                self._handle(event)
        return self._stick

    def _handle(self, event: StickEvent) -> None:
        if event.action is UdevAction.ADDED and event.stick is not None:
            if self._stick is None and self.state in (S.ABSENT, S.REMOVED_MID_WRITE):
                self._added(event.stick)
            else:
                log.info("usb: %s ignored, one stick at a time", event.stick.device_node)
        elif event.action is UdevAction.REMOVED and self._is_ours(event.sys_path):
            self._stick = None
            self._machine.fire(E.DEVICE_REMOVED)

    def _is_ours(self, sys_path: str) -> bool:
        # The partition's or the whole disk's removal: either means the stick is gone.
        ours = self._stick.sys_path if self._stick else None
        return ours is not None and (sys_path == ours or ours.startswith(sys_path + "/"))

    def _added(self, stick: Stick) -> None:
        self._stick = stick
        log.info("usb: %s (%s, %s) plugged in", stick.name, stick.device_node, stick.fs_type)
        self._machine.fire(E.DEVICE_ADDED)

    def _entered(self, transition: Transition) -> None:
        self._since = self._clock()

    # --- the export ----------------------------------------------------------------------

    def export(
        self,
        source: Path,
        progress: ExportProgress | None = None,
        *,
        wait_seconds: float | None = None,
    ) -> ExportResult:
        """Copy everything under `source` to the root of the stick and read it back."""
        if not source.is_dir():
            raise NotADirectoryError(f"export source {source} is not a directory")
        self.poll()
        if self.state in ERROR_STATES or self.state is S.SAFE_TO_REMOVE:
            self._machine.fire(E.RESET)  # the operator is trying again
            if (
                self.state is S.DETECTED
                and self._stick
                and not self._driver.is_present(self._stick)
            ):
                self._stick = None
                self._machine.fire(E.DEVICE_REMOVED)
        wait = self._config.usb.wait_seconds if wait_seconds is None else wait_seconds
        stick = self.wait_for_stick(wait)
        if stick is None:
            return ExportResult(
                False,
                self.state,
                f"No USB stick was found within {wait:g} s: nothing was written. "
                "Insert a stick and export again.",
            )
        volume = self._mount(stick)
        if isinstance(volume, ExportResult):
            return volume
        mounted = [volume]
        try:
            return self._write_and_verify(stick, volume, source, progress, mounted)
        finally:
            if self.state is not S.SAFE_TO_REMOVE:
                for each in mounted:
                    self._driver.release(each)

    def _mount(self, stick: Stick) -> Volume | ExportResult:
        try:
            volume = self._driver.mount(stick)
        except UnsupportedFileSystem as error:
            return self._failed(E.MOUNT_FAILED_UNSUPPORTED_FS, stick, error.fs_type or "none")
        except StickReadOnly:
            return self._failed(E.MOUNT_FAILED_READ_ONLY, stick)
        except StickRemoved:
            self._stick = None
            self._machine.fire(E.DEVICE_REMOVED)
            return ExportResult(
                False,
                self.state,
                f"The USB stick {stick.name} was removed before anything was written. "
                "Insert it again and export again.",
            )
        except (UsbStorageError, OSError) as error:
            return self._failed(E.MOUNT_FAILED, stick, str(error))
        self._machine.fire(E.MOUNTED)
        return volume

    def _write_and_verify(
        self,
        stick: Stick,
        volume: Volume,
        source: Path,
        progress: ExportProgress | None,
        mounted: list[Volume],
    ) -> ExportResult:
        self._machine.fire(E.WRITE_STARTED)
        try:
            records = self._driver.write(volume, source, _phase(progress, ExportPhase.WRITE))
        except StickFull as error:
            self._machine.fire(E.NO_SPACE)
            return ExportResult(
                False,
                self.state,
                f"The USB stick {stick.name} is too full: the export needs {_mb(error.needed)} "
                f"and the stick has {_mb(error.free)} free. Nothing was left on the stick. "
                "Use a larger or emptier stick and export again.",
                stick.name,
            )
        except StickReadOnly:
            return self._failed(E.WRITE_FAILED_READ_ONLY, stick)
        except StickRemoved:
            return self._removed(stick)
        except UsbStorageError as error:
            return self._failed(E.IO_ERROR, stick, str(error))
        self._machine.fire(E.WRITE_DONE)
        try:
            again = self._driver.verify(volume, records, _phase(progress, ExportPhase.VERIFY))
        except VerifyMismatch as error:
            return self._failed(E.VERIFY_MISMATCH, stick, str(error))
        except StickRemoved:
            return self._removed(stick)
        except UsbStorageError as error:
            return self._failed(E.IO_ERROR, stick, str(error))
        mounted.append(again)
        self._machine.fire(E.VERIFY_OK)
        return self._unmount_verified(stick, again, records)

    def _unmount_verified(
        self, stick: Stick, volume: Volume, records: list[FileRecord]
    ) -> ExportResult:
        files, size = len(records), sum(r.size for r in records)
        try:
            self._driver.unmount(volume)
        except UsbStorageError as error:
            if self._driver.is_present(stick):
                return self._failed(E.IO_ERROR, stick, f"unmount: {error}")
            self._stick = None
            self._machine.fire(E.DEVICE_REMOVED)
            return ExportResult(
                True,
                self.state,
                f"{files} files ({_mb(size)}) were written to the USB stick {stick.name} and "
                "read back correct; it was removed before the box unmounted it, which is "
                "harmless (it was mounted read-only).",
                stick.name,
                files,
                size,
            )
        self._machine.fire(E.UNMOUNTED)
        return ExportResult(
            True,
            self.state,
            f"{files} files ({_mb(size)}) were written to the USB stick {stick.name} and read "
            "back correct. It is safe to remove.",
            stick.name,
            files,
            size,
        )

    def _failed(self, event: UsbExportEvent, stick: Stick, detail: str = "") -> ExportResult:
        state = self._machine.fire(event)
        log.warning("usb: export to %s failed: %s %s", stick.name, state.value, detail)
        return ExportResult(False, state, _sentence(state, stick.name, detail), stick.name)

    def _removed(self, stick: Stick) -> ExportResult:
        self._stick = None
        return self._failed(E.DEVICE_REMOVED, stick)

    def close(self) -> None:
        self._driver.close()


def _phase(progress: ExportProgress | None, phase: ExportPhase) -> Callable[[int, int], None]:
    def report(done: int, total: int) -> None:
        if progress is not None:
            progress(phase, done, total)

    return report
