"""USB mass storage: find sticks (udev), mount them, write a tree, read it back, unmount.

Five parts (DESIGN.md): the transport is udev (`udev.py`, pyudev on /sys and the uevent
netlink socket) plus the mount helper (`mount.py`); the protocol is `stick.py` (udev
properties to a typed `Stick`, pure); the driver is `driver.py` with `copy.py` (typed
errors in `errors.py`); the simulator is `simulator.py`, a umockdev world (`umockdev.py`)
seen through the same udev transport, with loop-mounted images behind it.
"""
