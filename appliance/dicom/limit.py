"""The association limit shared by the worker processes of the dicom role."""

from __future__ import annotations

from multiprocessing.sharedctypes import SynchronizedArray


class SharedLimit:
    """Per-worker counts in shared memory; a dead worker's count is simply reset."""

    def __init__(self, counts: SynchronizedArray[int], worker: int, maximum: int) -> None:
        self.counts = counts
        self.worker = worker
        self.maximum = maximum

    def acquire(self) -> bool:
        with self.counts.get_lock():
            if sum(self.counts[:]) >= self.maximum:
                return False
            self.counts[self.worker] += 1
            return True

    def release(self) -> None:
        with self.counts.get_lock():
            self.counts[self.worker] = max(0, self.counts[self.worker] - 1)

    @staticmethod
    def reset(counts: SynchronizedArray[int], worker: int) -> None:
        with counts.get_lock():
            counts[worker] = 0

    @staticmethod
    def total(counts: SynchronizedArray[int]) -> int:
        with counts.get_lock():
            return sum(counts[:])
