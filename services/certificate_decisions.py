"""The importing window's decisions on a certificate it received: its agencies accept it,
reject it with a reason, or record its use against an import declaration, and each answer
travels back to the issuing node; `verify` says whether a received certificate is authentic,
with its status and history.
"""

from __future__ import annotations

from core.access import Claims
from core.certificate_checks import check_envelope
from core.errors import InvalidArgument, NotFound, PermissionDenied
from services.certificate_messages import CertificateMessages
from services.certificate_records import RECEIVED
from swf.v1 import certificates_pb2 as cpb

__all__ = ["CertificateDecisions"]


class CertificateDecisions(CertificateMessages):
    """Accept, reject, use and verify, by the agencies of the importing window."""

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
