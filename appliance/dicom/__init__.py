"""DICOM network services: the association acceptor, its services and the outbound SCU."""
