"""Issuing certificates, at the exporting window.

When the issuing body (an agency of this node) approves an application, the certificate is
issued in the same transaction: numbered, stored, and sealed in an envelope to the importing
country's window (its central node), which the outbox delivers through this federation's
central. Its status is `pending_delivery` until the end-to-end delivery receipt comes back
(`delivered`, `reconcile`), or the outbox gives up (`delivery_failed`). The issuing body may
cancel a certificate or replace it with a corrected one that names the one it supersedes.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from core import certificate_status as cs
from core import outbox_status
from core.access import Claims
from core.certificate_checks import AGREEMENT_PREFIX, APPLICATION_KINDS, KIND_TYPES, kind_name
from core.envelope import Sealed
from core.errors import InvalidArgument, NotFound
from core.validation import refused, validate
from services.certificate_messages import CertificateMessages
from services.certificate_records import ISSUED
from storage.certificates import CertificateRow
from storage.declarations import DeclarationRow
from storage.engine import Tx
from swf.v1 import certificates_pb2 as cpb
from swf.v1 import declarations_pb2 as dpb

__all__ = ["CertificateIssuing"]

log = logging.getLogger("swnode.certificates")


class CertificateIssuing(CertificateMessages):
    """Issuing, cancelling and replacing at the exporting window."""

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
        if self._reachable(window):
            sealed = self._seal(window, KIND_TYPES[kind], certificate.SerializeToString())
            await self._outbox.queue_txn(tx, [sealed], now_ms)
            self._queued.append(sealed)
            message_id = sealed.message_id
        elif self._directory_current():
            status = cs.Status.DELIVERY_FAILED
            note = _untrusted(window)
        else:
            # Held, unsealed (no message id), until a current directory judges the window.
            note = f"held until a current directory says whether {window} is trusted"
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
        if note:
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

    def _reachable(self, window: str) -> bool:
        trust = self._trust()
        return trust.node(window) is not None and trust.is_active(window)

    async def release_held(self) -> None:
        """Certificates held for want of a current directory: sealed to their window once the
        directory trusts it, failed once a current directory still does not."""
        for row in await self._db.certificates.held():
            window = row.importing_country
            if not self._reachable(window) and not self._directory_current():
                continue
            now_ms = self._clock_ms()
            sealed: list[Sealed] = []
            async with self._db.transaction() as tx:
                current = await self._db.certificates.lock_txn(
                    tx, row.issuing_country, row.number, ISSUED
                )
                if (
                    current is None
                    or current.status != cs.Status.PENDING_DELIVERY
                    or current.message_id
                ):
                    continue
                if not self._reachable(window):
                    await self._move_txn(
                        tx,
                        current,
                        "fail_delivery",
                        actor="node",
                        node=self.node_id,
                        note=_untrusted(window),
                        now_ms=now_ms,
                    )
                    continue
                kind = cpb.Certificate.FromString(current.certificate).kind
                sealed = [self._seal(window, KIND_TYPES[kind], current.certificate)]
                await self._outbox.queue_txn(tx, sealed, now_ms)
                await self._db.certificates.set_message_txn(
                    tx, row.issuing_country, row.number, sealed[0].message_id
                )
                await self._db.certificates.add_event_txn(
                    tx,
                    row.issuing_country,
                    row.number,
                    ISSUED,
                    status=cs.Status.PENDING_DELIVERY,
                    actor="node",
                    node=self.node_id,
                    note=f"sent to {window}, which the current directory trusts",
                    at_ms=now_ms,
                )
            self._outbox.wake(sealed)
            log.info("held certificate %s sent to %s", row.number, window)

    async def reconcile(self) -> None:
        """Certificates on their way: held ones sent (or failed) once a current directory
        judges their window; delivered once the end-to-end receipt is in; failed if the outbox
        gave up on them."""
        await self.release_held()
        for settled in await self._db.certificates.settled():
            row = settled.row
            delivered = settled.outcome == outbox_status.Status.DELIVERED
            transition = "deliver" if delivered else "fail_delivery"
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
                tx, row.importing_country, row, cs.Status.CANCELLED, claims.actor, req.reason
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
        self.wake_queued()  # the replacement, queued in that transaction, goes now
        return await self.record(await self._get(self.federation, new.number, ISSUED))


def _untrusted(window: str) -> str:
    return f"{window} is not the window of a federation this node trusts"
