"""A thin binding of libumockdev's testbed (its C API, through ctypes).

umockdev fakes /sys, the udev database and the uevent socket for a process that runs with
its preload library (`umockdev-run -- CMD`, or LD_PRELOAD=libumockdev-preload.so.0); libudev,
and so pyudev, then see the devices added here. The GObject-introspection binding is not
installed on the box, and four C functions are all the simulator needs.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

from drivers.usb_storage.errors import SimulatorUnavailable

PRELOAD = "libumockdev-preload.so.0"
_PRELOAD_STEM = "libumockdev-preload"


class _GError(ctypes.Structure):
    _fields_ = (
        ("domain", ctypes.c_uint32),
        ("code", ctypes.c_int),
        ("message", ctypes.c_char_p),
    )


def preloaded() -> bool:
    """True when this process runs with umockdev's preload library."""
    try:
        return _PRELOAD_STEM in Path("/proc/self/maps").read_text()
    except OSError:
        return False


class Testbed:
    """One umockdev testbed for this process (it sets $UMOCKDEV_DIR while it lives)."""

    def __init__(self) -> None:
        if not preloaded():
            raise SimulatorUnavailable(
                "the USB simulator needs umockdev's preload library in this process: "
                f"run it under `umockdev-run -- ...` or with LD_PRELOAD={PRELOAD}"
            )
        try:
            lib = ctypes.CDLL("libumockdev.so.0")
            gobject = ctypes.CDLL("libgobject-2.0.so.0")
        except OSError as error:
            raise SimulatorUnavailable(f"libumockdev is not installed: {error}") from error
        lib.umockdev_testbed_new.restype = ctypes.c_void_p
        lib.umockdev_testbed_new.argtypes = []
        lib.umockdev_testbed_get_root_dir.restype = ctypes.c_char_p
        lib.umockdev_testbed_get_root_dir.argtypes = [ctypes.c_void_p]
        lib.umockdev_testbed_add_from_string.restype = ctypes.c_int
        lib.umockdev_testbed_add_from_string.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.POINTER(ctypes.POINTER(_GError)),
        ]
        lib.umockdev_testbed_uevent.restype = None
        lib.umockdev_testbed_uevent.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
        lib.umockdev_testbed_remove_device.restype = None
        lib.umockdev_testbed_remove_device.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        gobject.g_object_unref.restype = None
        gobject.g_object_unref.argtypes = [ctypes.c_void_p]
        self._lib = lib
        self._gobject = gobject
        self._handle: int | None = lib.umockdev_testbed_new()
        root = lib.umockdev_testbed_get_root_dir(self._handle)
        self.root = Path(root.decode()) if root else Path()

    def _tb(self) -> int:
        if self._handle is None:
            raise SimulatorUnavailable("the umockdev testbed is closed")
        return self._handle

    def add(self, description: str) -> None:
        """Add devices from umockdev-record text; umockdev sends their `add` uevents."""
        error = ctypes.POINTER(_GError)()
        if not self._lib.umockdev_testbed_add_from_string(
            self._tb(), description.encode(), ctypes.byref(error)
        ):
            message = error.contents.message.decode() if error else "unknown error"
            raise SimulatorUnavailable(f"umockdev refused the device description: {message}")

    def uevent(self, sys_path: str, action: str) -> None:
        self._lib.umockdev_testbed_uevent(self._tb(), sys_path.encode(), action.encode())

    def remove(self, sys_path: str) -> None:
        """Remove a device and its children from /sys (no uevent: send `remove` first)."""
        self._lib.umockdev_testbed_remove_device(self._tb(), sys_path.encode())
        # umockdev leaves the /sys/block and /sys/class/block links behind; a stick
        # plugged in again under the same name needs them gone.
        for folder in ("sys/block", "sys/class/block"):
            for link in (self.root / folder).glob("*"):
                if link.is_symlink() and not link.exists():
                    link.unlink()

    def close(self) -> None:
        if self._handle is not None:
            self._gobject.g_object_unref(self._handle)  # removes the testbed's directory
            self._handle = None
