"""Routes DIMSE-N requests to the service that owns the command's SOP class.

Several services share a Command Field (N-CREATE: MPPS and Print; N-ACTION: storage
commitment and Print; N-SET: MPPS and Print), so the association hands every N-request
to one router, which picks the service by the Affected/Requested SOP Class UID. A class
nobody serves is answered 0x0118 No Such SOP Class; a served class asked for an
operation it does not have is answered 0x0211 Unrecognized Operation (PS3.7 C.4).

Services number their outgoing requests (N-EVENT-REPORT) themselves, so two services
may use the same key: the router gives each outgoing request a key of its own and
hands the service's key back when the response arrives. Requests a service sends on a
quiet association (IdleAware) pass through the router the same way.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from appliance.dicom import command as cmd
from appliance.dicom.command import CommandField, Status
from appliance.dicom.negotiation import AcceptedContext
from appliance.dicom.services import IdleAware, MessageService, Outgoing, Peer, Reply

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Route:
    service: MessageService
    operations: frozenset[CommandField]  # the request Command Fields the class answers


class SopClassRouter:
    """A MessageService that dispatches on the command's SOP Class UID."""

    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self._keys: dict[int, tuple[MessageService, int]] = {}  # router key -> (svc, key)
        self._next_key = itertools.count(1)
        self._lock = threading.Lock()  # associations run in threads and share the router

    @property
    def fields(self) -> frozenset[CommandField]:
        """Every request Command Field some route answers (register the router for these)."""
        return frozenset(op for route in self.routes.values() for op in route.operations)

    def handle(
        self, peer: Peer, command: cmd.Command, context: AcceptedContext, dataset: bytes | None
    ) -> tuple[Iterable[Reply], list[Outgoing]]:
        sop_class = command.get_str(cmd.AFFECTED_SOP_CLASS) or command.get_str(
            cmd.REQUESTED_SOP_CLASS
        )
        route = self.routes.get(sop_class)
        if route is None:
            log.warning(
                "0x%04X from %s for SOP class %r: no service for that class",
                command.field,
                peer.calling_ae,
                sop_class,
            )
            return [_refusal(command, Status.NO_SUCH_SOP_CLASS, "SOP class not served")], []
        if command.field not in route.operations:
            log.warning(
                "0x%04X from %s: not an operation of SOP class %s",
                command.field,
                peer.calling_ae,
                sop_class,
            )
            comment = "operation not supported for this SOP class"
            return [_refusal(command, Status.UNRECOGNIZED_OPERATION, comment)], []
        replies, outgoing = route.service.handle(peer, command, context, dataset)
        return replies, [self._renumber(route.service, item) for item in outgoing]

    def idle(self, peer: Peer) -> list[Outgoing]:
        """What the routed services that speak on a quiet association have to send."""
        outgoing: list[Outgoing] = []
        for service in dict.fromkeys(route.service for route in self.routes.values()):
            if isinstance(service, IdleAware):
                outgoing += [self._renumber(service, item) for item in service.idle(peer)]
        return outgoing

    def _renumber(self, service: MessageService, item: Outgoing) -> Outgoing:
        with self._lock:
            key = next(self._next_key)
            self._keys[key] = (service, item.key)
        return Outgoing(context_id=item.context_id, build=item.build, key=key)

    def response_received(self, peer: Peer, key: int, command: cmd.Command) -> None:
        with self._lock:
            found = self._keys.pop(key, None)
        if found is not None:
            service, own_key = found
            service.response_received(peer, own_key, command)

    def association_ended(self, peer: Peer, undelivered: list[int]) -> None:
        """Every routed service hears of it, with its own undelivered keys."""
        ended: dict[MessageService, list[int]] = {}
        for route in self.routes.values():
            ended.setdefault(route.service, [])
        with self._lock:
            for key in undelivered:
                found = self._keys.pop(key, None)
                if found is not None:
                    ended.setdefault(found[0], []).append(found[1])
        for service, keys in ended.items():
            service.association_ended(peer, keys)


def _refusal(request: cmd.Command, status: int, comment: str) -> Reply:
    """The response for the request's Command Field, echoing its class and instance."""
    answer = CommandField(request.field | 0x8000)
    return Reply(cmd.response(request, answer, status, comment=comment))
