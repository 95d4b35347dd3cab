"""Why an MPPS request is refused: the DIMSE status the SCP answers with, and a sentence."""

from __future__ import annotations

from statemachines.mpps import MppsRefused


class Refused(Exception):
    """Raised anywhere in the handling of one request; answered once, by the service."""

    def __init__(self, status: int, comment: str, error_id: int | None = None) -> None:
        super().__init__(comment)
        self.status = status
        self.comment = comment
        self.error_id = error_id

    @classmethod
    def from_table(cls, exc: MppsRefused) -> Refused:
        return cls(int(exc.refusal.status), exc.refusal.comment, exc.refusal.error_id)
