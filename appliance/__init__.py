"""Kiln application layer: decides what to do (DICOM services, store, jobs, web, CLI)."""

__version__ = "0.1.0"
IMPLEMENTATION_CLASS_UID = "2.25.113498759335209554478306810198229128007"
IMPLEMENTATION_VERSION_NAME = "KILN_0_1"
