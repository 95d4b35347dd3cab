"""WHAT a device may do next: one module per device, each a single transition table."""
