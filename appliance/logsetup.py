"""Logging: one logger per module, one format, the role name in every line."""

from __future__ import annotations

import logging
import sys


def configure_logging(level: str, role: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(f"%(asctime)s {role}[%(process)d] %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Device traffic has its own logger, off unless configured (DESIGN.md).
    logging.getLogger("kiln.traffic").setLevel(logging.WARNING)
    # pynetdicom logs every association's negotiation at INFO: that is device traffic too
    # (the film printer is polled every few seconds).
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)
