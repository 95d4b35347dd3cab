"""One request as the print operations see it, and what they answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydicom.dataset import Dataset

from appliance.dicom import command as cmd
from appliance.dicom.negotiation import AcceptedContext
from appliance.dicom.services import Peer
from appliance.dicom.syntaxes import EXPLICIT_BE
from appliance.printing.backend import PrintBackend
from appliance.printing.scp import codec
from appliance.printing.scp.refused import Warnings
from appliance.printing.scp.session import PrintSession


@dataclass(frozen=True)
class Tools:
    """What the operations use besides the session: the backend, a clock, new UIDs."""

    backend: PrintBackend
    clock: Callable[[], float]
    new_uid: Callable[[], str]
    max_session_bytes: int  # pixel memory one association may hold (C605 beyond)


@dataclass
class Exchange:
    peer: Peer
    command: cmd.Command
    context: AcceptedContext
    data: bytes | None
    sop_class: str
    uid: str  # the SOP instance: given, or created by the box for an N-CREATE
    warnings: Warnings

    def dataset(self, *, required: bool = True) -> Dataset:
        return codec.decode(self.data, self.context.transfer_syntax, required=required)

    @property
    def little_endian(self) -> bool:
        return self.context.transfer_syntax != EXPLICIT_BE


@dataclass(frozen=True)
class Answer:
    """A successful (or warned) answer; refusals are raised as `Refused` instead."""

    dataset: Dataset | None = None


Operation = Callable[[PrintSession, Exchange, Tools], Answer]
