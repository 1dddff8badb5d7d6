"""Certificates across the border: certificates of origin and phytosanitary certificates.

Issuing side. When the issuing body (an agency of this node) approves an application, the
certificate is issued in the same transaction: numbered, stored, and sealed in an envelope to the
importing country's window (its central node), which the outbox delivers through this
federation's central. Its status is `pending_delivery` until the end-to-end delivery receipt
comes back (`delivered`), or the outbox gives up (`delivery_failed`). The issuing body may cancel
a certificate or replace it with a corrected one that names the one it supersedes.

Importing side. A certificate arrives as an envelope whose signature chains, through the anchor
this federation pinned, to the issuing node's key; it is checked, stored with the envelope, and
offered to the window's agencies, which accept it, reject it with a reason, or record its use
against an import declaration. Each answer travels back to the issuing node; a cancellation or a
replacement travels the other way. Both ends follow the state machine of
core/certificate_status.py, so both show the same status.

The checks on what arrives are pure, in core/certificate_checks.py; records and reads are in
services/certificate_records.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from google.protobuf.message import DecodeError

from core import certificate_status as cs
from core.access import Claims
from core.certificate_checks import (
    AGREEMENT_PREFIX,
    APPLICATION_KINDS,
    KIND_TYPES,
    check_envelope,
    kind_name,
    not_senders,
    refusals,
)
from core.envelope import Draft, Sealed
from core.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from core.ids import federation_of
from core.trust import TrustView
from core.validation import refused, validate
from federation.dispatch import Received
from federation.outbox import Outbox
from services.certificate_records import ISSUED, RECEIVED, CertificateRecords
from storage.certificates import CertificateRow
from storage.database import Database
from storage.declarations import DeclarationRow
from storage.engine import Tx
from swf.v1 import certificates_pb2 as cpb
from swf.v1 import declarations_pb2 as dpb

log = logging.getLogger("swnode.certificates")

STATUS_TYPE = "certificate.status"


class Certificates(CertificateRecords):
    """Issuing, cancelling and replacing at the exporting window; receiving, deciding and
    verifying at the importing one; the status messages between them."""

    def __init__(
        self,
        *,
        node_id: str,
        db: Database,
        outbox: Outbox,
        trust: Callable[[], TrustView],
        clock_ms: Callable[[], int],
    ) -> None:
        super().__init__(node_id=node_id, db=db)
        self._outbox = outbox
        self._trust = trust
        self._clock_ms = clock_ms

    def _seal(self, recipient: str, document_type: str, payload: bytes) -> Sealed:
        (sealed,) = self._outbox.seal([Draft(recipient, document_type, payload)], self._clock_ms())
        return sealed

    # -- issuing -----------------------------------------------------------------------------

    async def issue_txn(self, tx: Tx, application: DeclarationRow, agency: str, actor: str) -> None:
        """Issue, in the name of `agency`, the certificate an approved application asks for
        (in the approval's transaction)."""
        kind = APPLICATION_KINDS.get(application.document_type)
        if kind is None:
            return
        document = dpb.Document.FromString(application.document)
        await self._issue_txn(tx, kind, document, application.id, agency, actor, supersedes="")

    async def _issue_txn(
        self,
        tx: Tx,
        kind: cpb.CertificateKind.ValueType,
        document: dpb.Document,
        application_id: str,
        agency: str,
        actor: str,
        *,
        supersedes: str,
    ) -> cpb.Certificate:
        now_ms = self._clock_ms()
        issued_on = datetime.fromtimestamp(now_ms / 1000, tz=UTC).date()
        certificate = cpb.Certificate(
            kind=kind,
            issuing_country=self.federation,
            issuing_node=self.node_id,
            issuing_body=agency,
            issued_on=issued_on.isoformat(),
            supersedes=supersedes,
            application_id=application_id,
        )
        if kind == cpb.CERTIFICATE_KIND_ORIGIN:
            certificate.origin.CopyFrom(document.certificate_of_origin_application)
            content = certificate.origin
            prefix = AGREEMENT_PREFIX.get(content.agreement, "CO")
        else:
            certificate.phytosanitary.CopyFrom(document.phytosanitary_certificate_application)
            content = certificate.phytosanitary  # type: ignore[assignment]
            prefix = "EPHYTO"
        certificate.importing_country = content.importing_country
        certificate.exporter_uscc = content.exporter.uscc
        serial = await self._db.certificates.next_number_txn(
            tx, f"{prefix}-{self.node_id}-{issued_on.year}"
        )
        certificate.number = f"{prefix}-{self.node_id}-{issued_on.year}-{serial:06d}"
        status, note, message_id = cs.Status.PENDING_DELIVERY, "", ""
        window = certificate.importing_country
        trust = self._trust()
        if trust.node(window) is None or not trust.is_active(window):
            status = cs.Status.DELIVERY_FAILED
            note = f"{window} is not the window of a federation this node trusts"
        else:
            sealed = self._seal(window, KIND_TYPES[kind], certificate.SerializeToString())
            await self._outbox.queue_txn(tx, [sealed], now_ms)
            message_id = sealed.message_id
        await self._db.certificates.insert_txn(
            tx,
            CertificateRow(
                issuing_country=self.federation,
                number=certificate.number,
                side=ISSUED,
                kind=kind_name(kind),
                status=status,
                certificate=certificate.SerializeToString(),
                envelope=None,
                exporter_uscc=certificate.exporter_uscc,
                issuing_body=certificate.issuing_body,
                importing_country=window,
                message_id=message_id,
                replaced_by="",
                import_declaration="",
            ),
            now_ms,
        )
        await self._db.certificates.add_event_txn(
            tx,
            self.federation,
            certificate.number,
            ISSUED,
            status="issued",
            actor=actor,
            node=self.node_id,
            note=f"for application {application_id}"
            + (f", replacing {supersedes}" if supersedes else ""),
            at_ms=now_ms,
        )
        if status is cs.Status.DELIVERY_FAILED:
            await self._db.certificates.add_event_txn(
                tx,
                self.federation,
                certificate.number,
                ISSUED,
                status=status,
                actor="node",
                node=self.node_id,
                note=note,
                at_ms=now_ms,
            )
        log.info("issued %s for %s, to %s", certificate.number, application_id, window)
        return certificate

    async def reconcile(self) -> None:
        """Certificates on their way: delivered once the end-to-end receipt is in; failed if
        the outbox gave up on them."""
        for settled in await self._db.certificates.settled():
            row = settled.row
            transition = "deliver" if settled.outcome == "delivered" else "fail_delivery"
            note = "" if transition == "deliver" else settled.error
            async with self._db.transaction() as tx:
                current = await self._db.certificates.lock_txn(
                    tx, row.issuing_country, row.number, ISSUED
                )
                if current is None or current.status != cs.Status.PENDING_DELIVERY:
                    continue
                await self._move_txn(
                    tx,
                    current,
                    transition,
                    actor="node",
                    node=self.node_id,
                    note=note or f"end-to-end receipt from {row.importing_country}",
                    now_ms=self._clock_ms(),
                )

    def _own_issued(
        self, claims: Claims, row: CertificateRow | None, number: str
    ) -> CertificateRow:
        if row is None or not self._is_agency(claims) or row.issuing_body != claims.party:
            raise NotFound(
                "certificate.unknown",
                f"number: no certificate {number} issued by {claims.party} here",
                field="number",
            )
        return row

    async def cancel(
        self, claims: Claims, req: cpb.CancelCertificateRequest
    ) -> cpb.CertificateRecord:
        if not req.reason.strip():
            raise InvalidArgument(
                "certificate.reason_required", "reason: required to cancel", field="reason"
            )
        now_ms = self._clock_ms()
        async with self._db.transaction() as tx:
            row = self._own_issued(
                claims,
                await self._db.certificates.lock_txn(tx, self.federation, req.number, ISSUED),
                req.number,
            )
            await self._move_txn(
                tx,
                row,
                "cancel",
                actor=claims.actor,
                node=self.node_id,
                note=req.reason,
                now_ms=now_ms,
            )
            sealed = await self._tell_txn(
                tx, row.importing_country, row, "cancelled", claims.actor, req.reason
            )
        self._outbox.wake(sealed)
        return await self.record(await self._get(self.federation, req.number, ISSUED))

    async def replace(
        self, claims: Claims, req: cpb.ReplaceCertificateRequest
    ) -> cpb.CertificateRecord:
        old = self._own_issued(
            claims, await self._db.certificates.get(self.federation, req.number, ISSUED), req.number
        )
        certificate = cpb.Certificate.FromString(old.certificate)
        if certificate.kind == cpb.CERTIFICATE_KIND_ORIGIN:
            if not req.HasField("origin"):
                raise InvalidArgument(
                    "certificate.content", "origin: the corrected application", field="origin"
                )
            document = dpb.Document(certificate_of_origin_application=req.origin)
            content: object = req.origin
        else:
            if not req.HasField("phytosanitary"):
                raise InvalidArgument(
                    "certificate.content",
                    "phytosanitary: the corrected application",
                    field="phytosanitary",
                )
            document = dpb.Document(phytosanitary_certificate_application=req.phytosanitary)
            content = req.phytosanitary
        problems = validate(content)  # type: ignore[arg-type]
        if problems:
            raise refused(problems)
        if (
            content.importing_country != old.importing_country  # type: ignore[attr-defined]
            or content.exporter.uscc != old.exporter_uscc  # type: ignore[attr-defined]
        ):
            raise InvalidArgument(
                "certificate.other_parties",
                "a replacement goes to the same importing country for the same exporter",
                field="importing_country",
            )
        now_ms = self._clock_ms()
        async with self._db.transaction() as tx:
            locked = await self._db.certificates.lock_txn(tx, self.federation, req.number, ISSUED)
            assert locked is not None
            new = await self._issue_txn(
                tx,
                certificate.kind,
                document,
                certificate.application_id,
                claims.party,
                claims.actor,
                supersedes=old.number,
            )
            await self._move_txn(
                tx,
                locked,
                "replace",
                actor=claims.actor,
                node=self.node_id,
                note=req.reason or f"replaced by {new.number}",
                now_ms=now_ms,
                replaced_by=new.number,
            )
        return await self.record(await self._get(self.federation, new.number, ISSUED))

    # -- messages between the windows --------------------------------------------------------

    async def _tell_txn(
        self,
        tx: Tx,
        recipient: str,
        row: CertificateRow | cpb.Certificate,
        status: str,
        actor: str,
        reason: str,
        import_declaration: str = "",
    ) -> list[Sealed]:
        trust = self._trust()
        if trust.node(recipient) is None or not trust.is_active(recipient):
            log.warning(
                "cannot tell %s that %s is %s: not reachable", recipient, row.number, status
            )
            return []
        update = cpb.CertificateStatusUpdate(
            number=row.number,
            issuing_country=row.issuing_country,
            status=status,
            reason=reason,
            actor=actor,
            import_declaration=import_declaration,
            at_unix_ms=self._clock_ms(),
        )
        sealed = self._seal(recipient, STATUS_TYPE, update.SerializeToString())
        await self._outbox.queue_txn(tx, [sealed], self._clock_ms())
        return [sealed]

    async def receive(self, message: Received) -> None:
        """A certificate arrived from another federation's issuing node."""
        try:
            certificate = cpb.Certificate.FromString(message.payload)
        except DecodeError:
            log.warning(
                "a %s from %s does not parse; dropped", message.document_type, message.origin
            )
            return
        not_its_own = not_senders(certificate, message.origin, self.federation)
        if not_its_own:
            await self._refuse_unstored(certificate, message, "; ".join(not_its_own))
            return
        problems = refusals(certificate, message.document_type)
        now_ms = self._clock_ms()
        async with self._db.transaction() as tx:
            stored = await self._db.certificates.insert_txn(
                tx,
                CertificateRow(
                    issuing_country=certificate.issuing_country,
                    number=certificate.number,
                    side=RECEIVED,
                    kind=kind_name(certificate.kind),
                    status=cs.Status.DELIVERED,
                    certificate=message.payload,
                    envelope=message.envelope,
                    exporter_uscc=certificate.exporter_uscc,
                    issuing_body=certificate.issuing_body,
                    importing_country=certificate.importing_country,
                    message_id=message.message_id,
                    replaced_by="",
                    import_declaration="",
                ),
                now_ms,
            )
            if not stored:
                return  # the same number again: the first one stands
            await self._db.certificates.add_event_txn(
                tx,
                certificate.issuing_country,
                certificate.number,
                RECEIVED,
                status=cs.Status.DELIVERED,
                actor=certificate.issuing_body,
                node=message.origin,
                note=f"signed by {message.origin}",
                at_ms=now_ms,
            )
            sealed: list[Sealed] = []
            if problems:
                row = await self._db.certificates.lock_txn(
                    tx, certificate.issuing_country, certificate.number, RECEIVED
                )
                assert row is not None
                reason = "; ".join(problems)
                await self._move_txn(
                    tx, row, "reject", actor="node", node=self.node_id, note=reason, now_ms=now_ms
                )
                sealed = await self._tell_txn(tx, message.origin, row, "rejected", "node", reason)
            if certificate.supersedes:
                old = await self._db.certificates.lock_txn(
                    tx, certificate.issuing_country, certificate.supersedes, RECEIVED
                )
                if old is not None and old.status not in (
                    cs.Status.REPLACED,
                    cs.Status.CANCELLED,
                    cs.Status.USED,
                ):
                    await self._move_txn(
                        tx,
                        old,
                        "replace",
                        actor=certificate.issuing_body,
                        node=message.origin,
                        note=f"replaced by {certificate.number}",
                        now_ms=now_ms,
                        replaced_by=certificate.number,
                    )
        self._outbox.wake(sealed)

    async def _refuse_unstored(
        self, certificate: cpb.Certificate, message: Received, reason: str
    ) -> None:
        """Tell the sender its certificate was rejected, keeping nothing of it but a log line."""
        log.warning(
            "certificate %r from %s rejected and not stored: %s",
            certificate.number,
            message.origin,
            reason,
        )
        async with self._db.transaction() as tx:
            sealed = await self._tell_txn(
                tx, message.origin, certificate, cs.Status.REJECTED, "node", reason
            )
        self._outbox.wake(sealed)

    async def on_status(self, message: Received) -> None:
        """A status change from the other end of a certificate."""
        try:
            update = cpb.CertificateStatusUpdate.FromString(message.payload)
            reported = cs.Status(update.status)
        except (DecodeError, ValueError):
            log.warning("a certificate status from %s does not parse; dropped", message.origin)
            return
        side = ISSUED if update.issuing_country == self.federation else RECEIVED
        now_ms = self._clock_ms()
        async with self._db.transaction() as tx:
            row = await self._db.certificates.lock_txn(
                tx, update.issuing_country, update.number, side
            )
            if row is None:
                log.warning(
                    "status of unknown certificate %s from %s", update.number, message.origin
                )
                return
            allowed = (
                federation_of(message.origin) == row.importing_country
                if side == ISSUED
                else message.origin == cpb.Certificate.FromString(row.certificate).issuing_node
            )
            if not allowed:
                log.warning("%s may not change certificate %s; ignored", message.origin, row.number)
                return
            for transition in cs.catch_up(cs.Status(row.status), reported):
                try:
                    cs.apply(cs.Status(row.status), transition)
                except FailedPrecondition as exc:
                    log.warning(
                        "certificate %s: %s from %s ignored: %s",
                        row.number,
                        transition,
                        message.origin,
                        exc,
                    )
                    return
                await self._move_txn(
                    tx,
                    row,
                    transition,
                    actor=update.actor,
                    node=message.origin,
                    note=update.reason
                    or (
                        f"against {update.import_declaration}" if update.import_declaration else ""
                    ),
                    now_ms=now_ms,
                    import_declaration=update.import_declaration or None,
                )
                refreshed = await self._db.certificates.lock_txn(
                    tx, row.issuing_country, row.number, side
                )
                assert refreshed is not None
                row = refreshed

    # -- importing side ----------------------------------------------------------------------

    def _agency(self, claims: Claims) -> str:
        if not self._is_agency(claims):
            raise PermissionDenied(
                "certificate.not_agency", "only the window's agencies decide on certificates"
            )
        return claims.party

    async def decide(
        self, claims: Claims, req: cpb.DecideCertificateRequest
    ) -> cpb.CertificateRecord:
        self._agency(claims)
        ref = req.certificate
        transition = {
            cpb.CERTIFICATE_DECISION_ACCEPT: "accept",
            cpb.CERTIFICATE_DECISION_REJECT: "reject",
            cpb.CERTIFICATE_DECISION_USE: "use",
        }.get(req.decision)
        if transition is None:
            raise InvalidArgument(
                "certificate.bad_decision", "decision: required", field="decision"
            )
        if transition == "reject" and not req.reason.strip():
            raise InvalidArgument(
                "certificate.reason_required", "reason: required to reject", field="reason"
            )
        if transition == "use" and not req.import_declaration.strip():
            raise InvalidArgument(
                "certificate.declaration_required",
                "import_declaration: the import declaration it is used against",
                field="import_declaration",
            )
        now_ms = self._clock_ms()
        async with self._db.transaction() as tx:
            row = await self._db.certificates.lock_txn(
                tx, ref.issuing_country, ref.number, RECEIVED
            )
            if row is None:
                raise NotFound(
                    "certificate.unknown",
                    f"number: no certificate {ref.number} from {ref.issuing_country} "
                    "was received here",
                    field="number",
                )
            status = await self._move_txn(
                tx,
                row,
                transition,
                actor=claims.actor,
                node=self.node_id,
                note=req.reason or req.import_declaration,
                now_ms=now_ms,
                import_declaration=req.import_declaration or None,
            )
            issuer = cpb.Certificate.FromString(row.certificate).issuing_node
            sealed = await self._tell_txn(
                tx, issuer, row, status, claims.actor, req.reason, req.import_declaration
            )
        self._outbox.wake(sealed)
        return await self.record(await self._get(ref.issuing_country, ref.number, RECEIVED))

    async def verify(self, claims: Claims, ref: cpb.CertificateRef) -> cpb.Verification:
        """Authentic or not, current status and full history, at the importing window."""
        self._agency(claims)
        row = await self._db.certificates.get(ref.issuing_country, ref.number, RECEIVED)
        if row is None or row.envelope is None:
            return cpb.Verification(
                authentic=False,
                reason=f"no certificate {ref.number} from {ref.issuing_country} was received here",
            )
        record = await self.record(row)
        certificate = record.certificate
        why, key = check_envelope(self._trust(), row.envelope, row.certificate, certificate)
        return cpb.Verification(
            authentic=why is None,
            reason=why or "the issuing node's signature verifies and the content is unchanged",
            status=row.status,
            record=record,
            signed_by=certificate.issuing_node if why is None else "",
            key_id=key,
        )
