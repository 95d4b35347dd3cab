"""Modality Performed Procedure Step: the SCP (N-CREATE, N-SET) and the relay to the RIS."""

MPPS_SOP_CLASS = "1.2.840.10008.3.1.2.3.3"
