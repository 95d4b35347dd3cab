"""The paper printer: a CUPS queue, driven through pycups.

`transport.py` (IPP requests through pycups, one connection per call, bounded waits),
`protocol.py` (pure: CUPS attributes to `JobReport` / `PrinterReport`, state reasons and
the DICOM Printer Status pair), `driver.py` (`PaperPrinter`: submit, job, status,
resume, cancel; typed errors from `errors.py`), `address.py` (the config address:
`cups:QUEUE`, `cups://host:port/QUEUE`, `sim://QUEUE`). The simulator is a real cupsd:
`private_cupsd.py` runs one on loopback with virtual printers whose backend,
`sim_backend.py`, stores each job and takes faults (paper out, jam, toner, offline).
"""
