"""Certificate records: a certificate with its status and history, the one way a status moves
(through core/certificate_status.py, with its event), and the reads — one certificate as a caller
may see it, the lists an exporter and an agency see. `Certificates` (services/certificates.py)
builds on this with issuing, receiving and deciding."""

from __future__ import annotations

from collections.abc import Sequence

from core import access
from core import certificate_status as cs
from core.access import Claims
from core.arguments import page_size
from core.errors import NotFound
from core.ids import federation_of
from storage.certificates import CertificateRow
from storage.database import Database
from storage.engine import Tx
from swf.v1 import certificates_pb2 as cpb

__all__ = ["ISSUED", "RECEIVED", "CertificateRecords"]

ISSUED, RECEIVED = "issued", "received"


class CertificateRecords:
    def __init__(self, *, node_id: str, db: Database) -> None:
        self.node_id = node_id
        self.federation = federation_of(node_id)
        self._db = db

    # -- records -----------------------------------------------------------------------------

    async def record(self, row: CertificateRow) -> cpb.CertificateRecord:
        events = await self._db.certificates.events(row.issuing_country, row.number, row.side)
        return cpb.CertificateRecord(
            certificate=cpb.Certificate.FromString(row.certificate),
            status=row.status,
            side=row.side,
            replaced_by=row.replaced_by,
            import_declaration=row.import_declaration,
            history=[
                cpb.CertificateEvent(
                    status=e["status"],
                    actor=e["actor"],
                    node=e["node"],
                    note=e["note"],
                    at_unix_ms=e["at_unix_ms"],
                )
                for e in events
            ],
        )

    async def _move_txn(
        self,
        tx: Tx,
        row: CertificateRow,
        transition: str,
        *,
        actor: str,
        node: str,
        note: str,
        now_ms: int,
        replaced_by: str | None = None,
        import_declaration: str | None = None,
    ) -> cs.Status:
        status = cs.apply(cs.Status(row.status), transition)
        await self._db.certificates.set_status_txn(
            tx,
            row.issuing_country,
            row.number,
            row.side,
            status,
            now_ms,
            replaced_by=replaced_by,
            import_declaration=import_declaration,
        )
        await self._db.certificates.add_event_txn(
            tx,
            row.issuing_country,
            row.number,
            row.side,
            status=status,
            actor=actor,
            node=node,
            note=note,
            at_ms=now_ms,
        )
        return status

    def _is_agency(self, claims: Claims) -> bool:
        return access.is_local(claims, access.AGENCIES, self.node_id)

    # -- reading -----------------------------------------------------------------------------

    async def _get(self, issuing_country: str, number: str, side: str) -> CertificateRow:
        row = await self._db.certificates.get(issuing_country, number, side)
        if row is None:
            raise NotFound(
                "certificate.unknown", f"number: no certificate {number}", field="number"
            )
        return row

    async def get(self, claims: Claims, ref: cpb.CertificateRef) -> cpb.CertificateRecord:
        country = ref.issuing_country or self.federation
        for row in (
            await self._db.certificates.get(country, ref.number, ISSUED),
            await self._db.certificates.get(country, ref.number, RECEIVED),
        ):
            if row is not None and self._may_see(claims, row):
                return await self.record(row)
        raise NotFound(
            "certificate.unknown",
            f"number: no certificate {ref.number} from {country} visible to {claims.party}",
            field="number",
        )

    def _may_see(self, claims: Claims, row: CertificateRow) -> bool:
        if row.side == ISSUED:
            return row.exporter_uscc == claims.party or (
                self._is_agency(claims) and row.issuing_body == claims.party
            )
        return self._is_agency(claims)

    async def list_certificates(
        self, claims: Claims, req: cpb.ListCertificatesRequest
    ) -> cpb.ListCertificatesResponse:
        limit = page_size(req.limit, default=100, field="limit")
        rows: Sequence[CertificateRow]
        if self._is_agency(claims):
            rows = await self._db.certificates.listing(
                side=ISSUED,
                exporter_uscc=None,
                issuing_body=claims.party,
                status=req.status,
                limit=limit,
            )
            rows = list(rows) + await self._db.certificates.listing(
                side=RECEIVED, exporter_uscc=None, issuing_body=None, status=req.status, limit=limit
            )
        else:
            rows = await self._db.certificates.listing(
                side=ISSUED,
                exporter_uscc=claims.party,
                issuing_body=None,
                status=req.status,
                limit=limit,
            )
        return cpb.ListCertificatesResponse(certificates=[await self.record(r) for r in rows])
