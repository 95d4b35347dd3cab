"""Association acceptance policy (PS3.8 7.1.1, seed 003 table 8) and context negotiation."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import IntEnum

from pynetdicom.pdu_primitives import A_ASSOCIATE, SCP_SCU_RoleSelectionNegotiation
from pynetdicom.presentation import PresentationContext

from appliance.config.schema import DicomSection
from appliance.dicom.syntaxes import APPLICATION_CONTEXT


class RejectReason(IntEnum):
    """(result, source, reason) triples used in A-ASSOCIATE-RJ, named for the log."""

    NO_REASON = 1
    APPLICATION_CONTEXT_NOT_SUPPORTED = 2
    CALLING_AE_NOT_RECOGNIZED = 3
    CALLED_AE_NOT_RECOGNIZED = 7


@dataclass(frozen=True)
class Rejection:
    result: int  # 1 permanent, 2 transient
    source: int  # 1 service user, 2 provider (ACSE), 3 provider (presentation)
    reason: int
    why: str


LOCAL_LIMIT_EXCEEDED = Rejection(2, 3, 2, "the maximum number of associations is reached")


@dataclass(frozen=True)
class AcceptedContext:
    context_id: int
    abstract_syntax: str
    transfer_syntax: str


class Policy:
    """Decides whether a requested association is accepted, and with which contexts."""

    def __init__(
        self,
        dicom: DicomSection,
        supported: dict[str, tuple[str, ...]],
        extra_titles: tuple[str, ...] = (),
    ) -> None:
        self.dicom = dicom
        self.supported = supported
        # The print outputs' AE titles ([print.outputs]) are called titles of the box too.
        self.titles = {t.strip() for t in (*dicom.ae_titles, *extra_titles)}
        self.calling_allow = {t.strip() for t in dicom.calling_ae_allow}
        self.networks = [ipaddress.ip_network(n, strict=False) for n in dicom.host_allow]

    def check(self, request: A_ASSOCIATE, peer_host: str) -> Rejection | None:
        if str(request.application_context_name) != APPLICATION_CONTEXT:
            return Rejection(
                1,
                1,
                RejectReason.APPLICATION_CONTEXT_NOT_SUPPORTED,
                f"application context {request.application_context_name} is not supported",
            )
        if self.networks and not self._host_allowed(peer_host):
            return Rejection(
                1, 1, RejectReason.NO_REASON, f"host {peer_host} is not in dicom.host_allow"
            )
        calling = str(request.calling_ae_title).strip()
        called = str(request.called_ae_title).strip()
        if self.calling_allow and calling not in self.calling_allow:
            return Rejection(
                1,
                1,
                RejectReason.CALLING_AE_NOT_RECOGNIZED,
                f"calling AE title {calling!r} is not in dicom.calling_ae_allow",
            )
        if not self.dicom.accept_any_called_ae and called not in self.titles:
            return Rejection(
                1,
                1,
                RejectReason.CALLED_AE_NOT_RECOGNIZED,
                f"called AE title {called!r} is not one of this box's titles",
            )
        return None

    def _host_allowed(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def negotiate(
        self, request: A_ASSOCIATE
    ) -> tuple[
        list[PresentationContext], list[AcceptedContext], list[SCP_SCU_RoleSelectionNegotiation]
    ]:
        """Results for every proposed context; the SCU's transfer-syntax order wins."""
        roles = {}
        for item in request.user_information:
            if isinstance(item, SCP_SCU_RoleSelectionNegotiation) and item.sop_class_uid:
                roles[str(item.sop_class_uid)] = item
        results: list[PresentationContext] = []
        accepted: list[AcceptedContext] = []
        role_replies: dict[str, SCP_SCU_RoleSelectionNegotiation] = {}
        for proposed in request.presentation_context_definition_list:
            abstract = str(proposed.abstract_syntax)
            offered = [str(ts) for ts in proposed.transfer_syntax]
            result = PresentationContext()
            result.context_id = proposed.context_id
            result.abstract_syntax = abstract
            ours = self.supported.get(abstract)
            chosen = next((ts for ts in offered if ours and ts in ours), None)
            role = roles.get(abstract)
            if ours is None:
                result.result, chosen = 0x03, offered[0] if offered else None
            elif chosen is None:
                result.result, chosen = 0x04, offered[0] if offered else None
            elif role is not None and role.scu_role is False:
                # The box only plays SCP for these classes; a peer that will not be SCU
                # has nothing to do here.
                result.result = 0x01
            else:
                result.result = 0x00
                accepted.append(AcceptedContext(int(proposed.context_id or 0), abstract, chosen))
                if role is not None:
                    reply = SCP_SCU_RoleSelectionNegotiation()
                    reply.sop_class_uid = abstract
                    reply.scu_role = True
                    reply.scp_role = False
                    role_replies[abstract] = reply
            if chosen is not None:
                result.transfer_syntax = [chosen]
            results.append(result)
        return results, accepted, list(role_replies.values())
