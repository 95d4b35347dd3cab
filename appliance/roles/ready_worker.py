"""A receiving worker that tells the dicom role it is up, so READY=1 means served.

The worker process has imported the receive path and is about to accept when it sets
`ready`; connections that arrive meanwhile wait in the listening socket's backlog.
"""

from __future__ import annotations

import socket
from multiprocessing.sharedctypes import SynchronizedArray
from multiprocessing.synchronize import Event

from appliance.config.schema import KilnConfig
from appliance.dicom.worker import worker_main


def run_ready_worker(
    ready: Event,
    config: KilnConfig,
    listener: socket.socket,
    counts: SynchronizedArray[int],
    number: int,
) -> None:
    ready.set()
    worker_main(config, listener, counts, number)
