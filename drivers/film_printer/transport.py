"""One DICOM association to a film printer, through pynetdicom: requests out, replies in.

`PrintAssociation` proposes the Basic Grayscale Print Management Meta SOP Class (and the
Basic Color one when the target prints color) with the Presentation LUT SOP Class, and
sends N-GET / N-CREATE / N-SET / N-ACTION / N-DELETE, each answered as a `Reply`: the
status code, the Error Comment and the dataset. No answer at all (connection lost,
timeout, abort) raises `FilmPrinterUnreachable`; what a status means is the driver's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, evt
from pynetdicom.association import Association

from drivers.film_printer.errors import FilmPrinterUnreachable
from drivers.film_printer.protocol import COLOR_META, GRAYSCALE_META, PRESENTATION_LUT

log = logging.getLogger(__name__)
traffic = logging.getLogger("kiln.device.film_printer")  # device traffic, off by default

TRANSFER_SYNTAXES = [ExplicitVRLittleEndian, ImplicitVRLittleEndian]


@dataclass(frozen=True)
class FilmPrinterTarget:
    """Where the film printer is and how Kiln introduces itself. Times are seconds."""

    host: str
    port: int
    called_ae: str
    calling_ae: str = "KILN"
    timeout: float = 30.0  # association, each DIMSE answer and the network
    color: bool = False  # propose Basic Color Print Management as well
    # How Kiln names itself in the A-ASSOCIATE-RQ (the application's own identity, handed
    # in by whoever builds the target; empty: pynetdicom's).
    implementation_class_uid: str = ""
    implementation_version_name: str = ""
    max_pdu: int = 16382

    @property
    def label(self) -> str:
        return f"{self.called_ae}@{self.host}:{self.port}"


@dataclass(frozen=True)
class Reply:
    """One DIMSE answer."""

    status: int
    comment: str = ""
    dataset: Dataset | None = None  # attribute list / action reply, on success or warning
    affected_instance: str = ""  # N-CREATE-RSP's Affected SOP Instance UID


class PrintAssociation:
    """An open association with the printer; use as a context manager."""

    def __init__(self, target: FilmPrinterTarget) -> None:
        self.target = target
        self._assoc: Association | None = None
        self._last_affected = ""

    def __enter__(self) -> PrintAssociation:
        self.open()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close(abort=error is not None and not isinstance(error, FilmPrinterUnreachable))

    def open(self) -> None:
        target = self.target
        ae = AE(ae_title=target.calling_ae)
        if target.implementation_class_uid:
            ae.implementation_class_uid = target.implementation_class_uid
        if target.implementation_version_name:
            ae.implementation_version_name = target.implementation_version_name
        ae.maximum_pdu_size = target.max_pdu
        ae.acse_timeout = target.timeout
        ae.dimse_timeout = target.timeout
        ae.network_timeout = target.timeout
        ae.connection_timeout = target.timeout
        ae.add_requested_context(GRAYSCALE_META, TRANSFER_SYNTAXES)
        if target.color:
            ae.add_requested_context(COLOR_META, TRANSFER_SYNTAXES)
        ae.add_requested_context(PRESENTATION_LUT, TRANSFER_SYNTAXES)
        handlers: list[Any] = [(evt.EVT_DIMSE_RECV, self._received)]
        traffic.debug("associating with %s", target.label)
        try:
            assoc = ae.associate(
                target.host,
                target.port,
                ae_title=target.called_ae,
                evt_handlers=handlers,
            )
        except OSError as error:  # e.g. a host name that does not resolve
            raise FilmPrinterUnreachable(str(error), printer=target.label) from error
        if assoc.is_established:
            if not any(c.abstract_syntax == GRAYSCALE_META for c in assoc.accepted_contexts):
                assoc.release()
                raise FilmPrinterUnreachable(
                    "the printer accepted the association but not Basic Grayscale Print Management",
                    printer=target.label,
                )
            self._assoc = assoc
            return
        if assoc.is_rejected:
            reason = "the printer rejected the association"
            if assoc.acceptor.primitive is not None:
                result = assoc.acceptor.primitive.result_str
                diag = assoc.acceptor.primitive.reason_str
                reason += f" ({result}: {diag})"
            raise FilmPrinterUnreachable(reason, printer=target.label)
        if assoc.is_aborted:
            raise FilmPrinterUnreachable(
                "the printer aborted the association", printer=target.label
            )
        raise FilmPrinterUnreachable(
            "no association: connection refused or timed out", printer=target.label
        )

    def close(self, *, abort: bool = False) -> None:
        assoc, self._assoc = self._assoc, None
        if assoc is None or not assoc.is_established:
            return
        if abort:
            assoc.abort()
        else:
            assoc.release()

    def accepted(self, abstract_syntax: str) -> bool:
        """Whether the printer accepted a presentation context for this SOP class."""
        return any(c.abstract_syntax == abstract_syntax for c in self._open().accepted_contexts)

    # -- DIMSE-N ---------------------------------------------------------------------------

    def n_get(self, class_uid: str, instance_uid: str, meta_uid: str | None) -> Reply:
        # No Attribute Identifier List at all: every attribute (pynetdicom's type says a
        # list, but an empty list is sent as an empty element some peers log as an error).
        status, answer = self._open().send_n_get(
            None,  # type: ignore[arg-type]
            class_uid,
            instance_uid,
            meta_uid=meta_uid,
        )
        return self._reply("N-GET", status, answer)

    def n_create(self, dataset: Dataset | None, class_uid: str, meta_uid: str | None) -> Reply:
        self._last_affected = ""
        status, answer = self._open().send_n_create(dataset, class_uid, meta_uid=meta_uid)
        return self._reply("N-CREATE", status, answer)

    def n_set(
        self, dataset: Dataset, class_uid: str, instance_uid: str, meta_uid: str | None
    ) -> Reply:
        status, answer = self._open().send_n_set(
            dataset, class_uid, instance_uid, meta_uid=meta_uid
        )
        return self._reply("N-SET", status, answer)

    def n_action(
        self, action_type: int, class_uid: str, instance_uid: str, meta_uid: str | None
    ) -> Reply:
        status, answer = self._open().send_n_action(
            None, action_type, class_uid, instance_uid, meta_uid=meta_uid
        )
        return self._reply("N-ACTION", status, answer)

    def n_delete(self, class_uid: str, instance_uid: str, meta_uid: str | None) -> Reply:
        status = self._open().send_n_delete(class_uid, instance_uid, meta_uid=meta_uid)
        return self._reply("N-DELETE", status, None)

    # -- inside ----------------------------------------------------------------------------

    def _open(self) -> Association:
        if self._assoc is None or not self._assoc.is_established:
            raise FilmPrinterUnreachable("the association was lost", printer=self.target.label)
        return self._assoc

    def _received(self, event: Any) -> None:
        command = getattr(event.message, "command_set", None)
        if command is not None and "AffectedSOPInstanceUID" in command:
            self._last_affected = str(command.AffectedSOPInstanceUID)

    def _reply(self, operation: str, status: Dataset, answer: Dataset | None) -> Reply:
        if "Status" not in status:
            self.close(abort=True)
            raise FilmPrinterUnreachable(
                f"no answer to {operation} (timeout or connection lost)",
                printer=self.target.label,
            )
        code = int(status.Status)
        comment = str(status.get("ErrorComment", "") or "")
        traffic.debug("%s: %s -> 0x%04X %s", self.target.label, operation, code, comment)
        return Reply(code, comment, answer, self._last_affected)
