"""The udev transport: which USB volumes are present, and uevents as they come and go.

pyudev over libudev: enumeration reads /sys and the udev database, the monitor reads the
uevent netlink socket. Under the simulator the same calls read umockdev's fake /sys and
socket (its preload library redirects them), so this module does not know which it is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum
from typing import Any

import pyudev  # type: ignore[import-untyped]  # pyudev ships no type information

from drivers.usb_storage.stick import Stick, stick_from_udev

log = logging.getLogger(__name__)


class UdevAction(Enum):
    ADDED = "add"
    REMOVED = "remove"


@dataclass(frozen=True)
class StickEvent:
    action: UdevAction
    sys_path: str
    stick: Stick | None  # None for a removal (the device's properties are gone with it)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _stick(device: Any) -> Stick | None:
    properties = {str(k): _text(v) for k, v in device.properties.items()}
    attributes: dict[str, str] = {}
    for name in ("size", "ro"):
        value = device.attributes.get(name)
        if value is not None:
            attributes[name] = _text(value).strip()
    return stick_from_udev(str(device.sys_path), properties, attributes)


class UdevWatcher:
    """USB mass-storage volumes on subsystem `block`: listed, watched, looked up."""

    def __init__(self) -> None:
        self._context = pyudev.Context()
        self._monitor = pyudev.Monitor.from_netlink(self._context)
        self._monitor.filter_by("block")
        # Started at once, before anyone lists: a stick plugged in between the listing
        # and the first poll is then queued rather than missed.
        self._monitor.start()

    def present(self) -> list[Stick]:
        sticks = [
            s
            for s in (_stick(d) for d in self._context.list_devices(subsystem="block"))
            if s is not None
        ]
        return sorted(sticks, key=lambda s: s.device_node)

    def is_present(self, sys_path: str) -> bool:
        try:
            pyudev.Devices.from_sys_path(self._context, sys_path)
        except pyudev.DeviceNotFoundError:
            return False
        return True

    def next_event(self, timeout: float) -> StickEvent | None:
        """The next add/remove of a USB volume within `timeout` seconds, else None."""
        device = self._monitor.poll(timeout=max(timeout, 0.0))
        while device is not None:
            event = self._event(device)
            if event is not None:
                return event
            device = self._monitor.poll(timeout=0)
        return None

    def _event(self, device: Any) -> StickEvent | None:
        action = device.action
        if action == UdevAction.REMOVED.value:
            return StickEvent(UdevAction.REMOVED, str(device.sys_path), None)
        if action == UdevAction.ADDED.value:
            stick = _stick(device)
            if stick is not None:
                return StickEvent(UdevAction.ADDED, stick.sys_path, stick)
        return None  # change/move/bind events, and block devices that are not sticks

    def close(self) -> None:
        # pyudev closes the netlink socket when the monitor is collected; dropping our
        # reference is all there is to do.
        self._monitor = None
