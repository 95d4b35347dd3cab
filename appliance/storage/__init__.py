"""Received DICOM files: where they live, how they are written, how they are indexed."""
