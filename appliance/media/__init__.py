"""Removable media: DICOM file-sets (PS3.10/11/12), disc images, label data, USB export."""
