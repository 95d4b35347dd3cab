"""Association acceptance policy and presentation-context negotiation."""

from __future__ import annotations

from pydicom.uid import UID
from pynetdicom.pdu_primitives import A_ASSOCIATE, SCP_SCU_RoleSelectionNegotiation
from pynetdicom.presentation import PresentationContext

from appliance.config.schema import DicomSection
from appliance.dicom.negotiation import Policy, RejectReason

CT = "1.2.840.10008.5.1.4.1.1.2"
IMPLICIT, EXPLICIT, J2K = "1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.4.90"


def request(
    calling: str = "MOD", called: str = "KILN", contexts: list[tuple[str, list[str]]] | None = None
) -> A_ASSOCIATE:
    rq = A_ASSOCIATE()
    rq.application_context_name = "1.2.840.10008.3.1.1.1"
    rq.calling_ae_title = calling
    rq.called_ae_title = called
    items = []
    for i, (abstract, syntaxes) in enumerate(contexts or [(CT, [J2K, EXPLICIT])]):
        cx = PresentationContext()
        cx.context_id = 2 * i + 1
        cx.abstract_syntax = abstract
        cx.transfer_syntax = list[str | bytes | UID](syntaxes)
        items.append(cx)
    rq.presentation_context_definition_list = items
    return rq


def policy(**changes: object) -> Policy:
    dicom = DicomSection.model_validate(changes)
    return Policy(dicom, {CT: (IMPLICIT, EXPLICIT, J2K)})


def test_called_ae_must_match() -> None:
    rejection = policy().check(request(called="OTHER"), "127.0.0.1")
    assert rejection is not None
    assert (rejection.result, rejection.source, rejection.reason) == (
        1,
        1,
        RejectReason.CALLED_AE_NOT_RECOGNIZED,
    )
    assert policy(accept_any_called_ae=True).check(request(called="OTHER"), "127.0.0.1") is None


def test_any_of_several_titles() -> None:
    p = policy(ae_titles=["KILN", "KILN_CD"])
    assert p.check(request(called="KILN_CD"), "127.0.0.1") is None


def test_calling_allow_list() -> None:
    p = policy(calling_ae_allow=["MR1"])
    rejected = p.check(request(calling="CT9"), "127.0.0.1")
    assert rejected is not None and rejected.reason == RejectReason.CALLING_AE_NOT_RECOGNIZED
    assert p.check(request(calling="MR1"), "127.0.0.1") is None


def test_host_allow_list_including_mapped_ipv6() -> None:
    p = policy(host_allow=["192.168.10.0/24"])
    assert p.check(request(), "192.168.10.7") is None
    assert p.check(request(), "::ffff:192.168.10.7") is None
    rejected = p.check(request(), "10.1.1.1")
    assert rejected is not None and rejected.result == 1


def test_application_context() -> None:
    rq = request()
    rq.application_context_name = "1.2.3"
    rejected = policy().check(rq, "127.0.0.1")
    assert (
        rejected is not None and rejected.reason == RejectReason.APPLICATION_CONTEXT_NOT_SUPPORTED
    )


def test_scu_order_of_transfer_syntaxes_wins() -> None:
    results, accepted, _ = policy().negotiate(request())
    assert [a.transfer_syntax for a in accepted] == [J2K]
    assert results[0].result == 0


def test_unsupported_abstract_and_transfer_syntaxes() -> None:
    rq = request(contexts=[("1.2.3.4", [EXPLICIT]), (CT, ["1.2.840.10008.1.2.4.50"])])
    results, accepted, _ = policy().negotiate(rq)
    assert [r.result for r in results] == [0x03, 0x04]
    assert accepted == []


def test_role_selection_reply() -> None:
    rq = request()
    role = SCP_SCU_RoleSelectionNegotiation()
    role.sop_class_uid = CT
    role.scu_role = True
    role.scp_role = True
    rq.user_information = [role]
    _, accepted, roles = policy().negotiate(rq)
    assert len(accepted) == 1
    assert (roles[0].scu_role, roles[0].scp_role) == (True, False)
