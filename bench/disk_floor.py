"""The floor under any receiver that makes each file durable the way Kiln does.

    .venv/bin/python -m bench.disk_floor [--data bench/data] [--tmp DIR]

Writes every file of a scenario with no network and no DICOM at all: create an unnamed
file, write the bytes, fsync it, link it into a directory, fsync the directory. The time
this takes is what the disk charges for Kiln's durability; storescp pays none of it.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import shutil
import tempfile
import time
from pathlib import Path

from bench.make_data import DEFAULT_DIR

_libc = ctypes.CDLL(None, use_errno=True)


def durable_copy(files: list[Path], target: Path, sync: bool) -> float:
    blobs = [f.read_bytes() for f in files]  # from memory, as a receiver has them
    target.mkdir()
    dir_fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
    started = time.perf_counter()
    for number, blob in enumerate(blobs):
        fd = os.open(target, os.O_TMPFILE | os.O_WRONLY, 0o640)
        os.write(fd, blob)
        if sync:
            os.fsync(fd)
        name = os.fsencode(target / f"{number}.dcm")
        if _libc.linkat(-100, f"/proc/self/fd/{fd}".encode(), -100, name, 0x400) != 0:
            raise OSError(ctypes.get_errno(), "linkat failed")
        os.close(fd)
        if sync:
            os.fsync(dir_fd)
    elapsed = time.perf_counter() - started
    os.close(dir_fd)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--tmp", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kiln-floor-", dir=args.tmp))
    try:
        for scenario in ("ct", "small"):
            files = sorted((args.data / scenario).rglob("*.dcm"))
            size = sum(f.stat().st_size for f in files)
            for sync in (True, False):
                runs = [
                    durable_copy(files, work / f"{scenario}-{sync}-{r}", sync)
                    for r in range(args.repeat)
                ]
                os.sync()
                best = sorted(runs)[len(runs) // 2]
                print(
                    f"{scenario:6} {'fsync' if sync else 'no fsync':9} {len(files)} files "
                    f"{size / 1e6:7.1f} MB  median {best:6.2f} s  {size / 1e6 / best:7.1f} MB/s "
                    f"{len(files) / best:7.0f} files/s  runs {', '.join(f'{r:.2f}' for r in runs)}"
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
