"""The box's processes: dicom, devices and web, and the supervisor that starts them."""
