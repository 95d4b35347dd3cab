"""Optical drives (CD, DVD, BD recorders) through xorriso.

Five parts (DESIGN.md): the transport is xorriso as a subprocess (`transport.py`, its
command an argv prefix from configuration); the protocol is `protocol.py` with the media
types in `media.py` (xorriso's text to typed values and typed errors, pure); the driver is
`driver.py` (typed errors in `errors.py`); the simulator is `simulator.py` (a drive's
state in a directory, faults) and `sim_xorriso.py`, the stand-in the driver runs instead
of xorriso, which has the real xorriso do the data work on a `stdio:` file. The state
machine is `statemachines/optical_drive.py`.
"""
