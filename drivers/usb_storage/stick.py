"""The protocol part: udev properties and sysfs attributes of a block device -> `Stick`.

Pure functions, no I/O, so they are tested from plain dictionaries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# What we write. FAT and exFAT are what sticks come with; ext4 and NTFS are what
# workstations format them with. Anything else is refused rather than guessed at.
SUPPORTED_FS = frozenset({"vfat", "exfat", "ext4", "ntfs"})
SECTOR = 512  # sysfs `size` is always in 512-byte sectors


@dataclass(frozen=True)
class Stick:
    sys_path: str
    device_node: str
    fs_type: str  # "" for an unformatted stick
    label: str
    vendor: str
    model: str
    serial: str
    size_bytes: int
    write_protected: bool  # the sysfs `ro` flag (lock switch); the mount confirms it

    @property
    def supported(self) -> bool:
        return self.fs_type in SUPPORTED_FS

    @property
    def name(self) -> str:
        """A short description for logs and the operator: label, else vendor and model."""
        if self.label:
            return self.label
        words = " ".join(w for w in (self.vendor, self.model) if w).replace("_", " ")
        return words or self.device_node


def stick_from_udev(
    sys_path: str, properties: Mapping[str, str], attributes: Mapping[str, str]
) -> Stick | None:
    """The stick volume this block device is, or None when it is not one.

    A USB disk with a partition table is only the container: its partitions are the
    volumes. A USB disk with neither a table nor a file system is an unformatted stick
    (returned, with fs_type "", so the operator is told rather than nothing happening).
    """
    if properties.get("SUBSYSTEM") != "block" or properties.get("ID_BUS") != "usb":
        return None
    devtype = properties.get("DEVTYPE")
    fs_type = properties.get("ID_FS_TYPE", "")
    if devtype == "disk":
        if not fs_type and properties.get("ID_PART_TABLE_TYPE"):
            return None
    elif devtype == "partition":
        if not fs_type:
            return None  # an extended-partition container or an empty slot
    else:
        return None
    node = properties.get("DEVNAME", "")
    if not node:
        return None
    try:
        sectors = int(attributes.get("size", "0"))
    except ValueError:
        sectors = 0
    return Stick(
        sys_path=sys_path,
        device_node=node,
        fs_type=fs_type,
        label=properties.get("ID_FS_LABEL", ""),
        vendor=properties.get("ID_VENDOR", ""),
        model=properties.get("ID_MODEL", ""),
        serial=properties.get("ID_SERIAL_SHORT", properties.get("ID_SERIAL", "")),
        size_bytes=sectors * SECTOR,
        write_protected=attributes.get("ro", "0").strip() == "1",
    )
