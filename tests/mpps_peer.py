"""A recording MPPS SCP (pynetdicom) that stands in for the RIS the box relays to.

Run as a separate process: `python -m tests.mpps_peer --port P --out FILE [--ae RIS]
[--refuse 0xSTATUS] [--delay SECONDS]`. Every N-CREATE and N-SET it receives is appended to
FILE as one JSON line (operation, SOP Instance UID, transfer syntax, calling AE, the
attribute list as hex exactly as it arrived, and the status answered) and flushed before the
answer goes out, so a test that kills it knows what it had acknowledged. Like a real SCP it
answers 0111 to an N-CREATE for a UID it already holds (remembered across restarts through
FILE) and 0112 to an N-SET for one it does not.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom import AE, evt

MPPS = "1.2.840.10008.3.1.2.3.3"
UNCOMPRESSED = ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--ae", default="RIS")
    parser.add_argument("--refuse", type=lambda v: int(v, 0), default=None)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()

    known: set[str] = set()
    if args.out.exists():
        for line in args.out.read_text().splitlines():
            earlier = json.loads(line)
            if earlier["operation"] == "N-CREATE" and earlier["status"] == 0:
                known.add(earlier["uid"])
    out = args.out.open("a")

    def record(event: Any, operation: str, uid: str, status: int) -> None:
        data = event.request.AttributeList or event.request.ModificationList
        out.write(
            json.dumps(
                {
                    "operation": operation,
                    "uid": uid,
                    "transfer_syntax": str(event.context.transfer_syntax),
                    "calling_ae": str(event.assoc.requestor.ae_title).strip(),
                    "dataset": data.getvalue().hex() if data is not None else "",
                    "status": status,
                    "at": time.time(),
                }
            )
            + "\n"
        )
        out.flush()
        os.fsync(out.fileno())

    def on_create(event: Any) -> tuple[int, Dataset | None]:
        time.sleep(args.delay)
        uid = str(event.request.AffectedSOPInstanceUID or "")
        status = args.refuse if args.refuse is not None else (0x0111 if uid in known else 0)
        if status == 0:
            known.add(uid)
        record(event, "N-CREATE", uid, status)
        return status, (Dataset() if status == 0 else None)

    def on_set(event: Any) -> tuple[int, Dataset | None]:
        time.sleep(args.delay)
        uid = str(event.request.RequestedSOPInstanceUID or "")
        status = args.refuse if args.refuse is not None else (0 if uid in known else 0x0112)
        record(event, "N-SET", uid, status)
        return status, (Dataset() if status == 0 else None)

    ae = AE(ae_title=args.ae)
    ae.add_supported_context(MPPS, UNCOMPRESSED)
    ae.start_server(
        ("127.0.0.1", args.port),
        block=True,
        evt_handlers=[(evt.EVT_N_CREATE, on_create), (evt.EVT_N_SET, on_set)],
    )


if __name__ == "__main__":
    main()
