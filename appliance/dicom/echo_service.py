"""Verification SCP: C-ECHO answers Success."""

from __future__ import annotations

from appliance.dicom import command as cmd
from appliance.dicom.negotiation import AcceptedContext
from appliance.dicom.services import Outgoing, Peer, Reply


class EchoService:
    def handle(
        self, peer: Peer, command: cmd.Command, context: AcceptedContext, dataset: bytes | None
    ) -> tuple[list[Reply], list[Outgoing]]:
        return [Reply(cmd.response(command, cmd.CommandField.C_ECHO_RSP, cmd.Status.SUCCESS))], []

    def response_received(self, peer: Peer, key: int, command: cmd.Command) -> None:
        """C-ECHO sends no requests of its own."""

    def association_ended(self, peer: Peer, undelivered: list[int]) -> None:
        """Nothing to hand over."""
