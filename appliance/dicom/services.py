"""What a DIMSE service looks like to the association that carries it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from appliance.dicom.command import Command
from appliance.dicom.negotiation import AcceptedContext


@dataclass
class Peer:
    """Who is on the other end of an association, and what it has been told so far."""

    calling_ae: str
    called_ae: str
    host: str
    port: int
    association_id: int
    studies: set[str] = field(default_factory=set)  # linked to this association in the index
    series: set[str] = field(default_factory=set)  # indexed during this association
    # The accepted presentation contexts by abstract syntax (the first of each), so a
    # service can send a request on a context the peer has not used yet.
    contexts: dict[str, AcceptedContext] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    command: bytes
    dataset: bytes | None = None


@dataclass(frozen=True)
class Outgoing:
    """A request the box sends on the same association after its reply (N-EVENT-REPORT)."""

    context_id: int
    # Called after the replies are sent, so slow work (reading files back) never delays
    # the answer; returns the command without its Message ID, and the dataset.
    build: Callable[[], tuple[dict[int, str | int], bytes]]
    key: int  # the service's own reference, handed back with the response


class DatasetSink(Protocol):
    """Receives a request's dataset fragment by fragment as they arrive."""

    def feed(self, data: memoryview) -> None: ...
    def complete(self) -> Reply: ...
    def abort(self) -> None: ...


class StreamService(Protocol):
    """A service whose datasets are streamed (C-STORE)."""

    def begin(self, peer: Peer, command: Command, context: AcceptedContext) -> DatasetSink: ...


class MessageService(Protocol):
    """A service answering whole messages (C-ECHO, C-FIND, N-ACTION, N-CREATE, N-SET).

    Replies may be a lazy iterator (C-FIND): the association sends each as it comes and
    stops early when the peer sends a C-CANCEL for the request.
    """

    def handle(
        self, peer: Peer, command: Command, context: AcceptedContext, dataset: bytes | None
    ) -> tuple[Iterable[Reply], list[Outgoing]]: ...

    def response_received(self, peer: Peer, key: int, command: Command) -> None: ...

    def association_ended(self, peer: Peer, undelivered: list[int]) -> None: ...


@runtime_checkable
class IdleAware(Protocol):
    """A MessageService with something to send when the association falls quiet.

    The association asks it between messages, each time a read slice (up to 1 s) passes
    without data; what it returns is sent like the Outgoing of a reply. No thread of its
    own: a quiet association is the only other moment a service may speak.
    """

    def idle(self, peer: Peer) -> list[Outgoing]: ...
