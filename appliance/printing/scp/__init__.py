"""The Print SCP: Basic Grayscale/Color Print Management, Presentation LUT, Printer, Print Job.

PS3.4 Annex H. A film session and everything in it lives for its association
(`session.py`); each request is checked (`*_attributes.py`, `image.py`), applied to the
session, and printing hands a `PrintRequest` to the injected `PrintBackend`. Refusals
are turned into DIMSE statuses once, in `service.py`.
"""
