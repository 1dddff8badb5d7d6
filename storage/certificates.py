"""Certificates issued and received, their history, and certificate numbers.

The statuses in the SQL are spelt from core/certificate_status.py and core/outbox_status.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from core import certificate_status, outbox_status
from storage.engine import Engine, Row, Tx
from storage.status_sql import listed, literal

_PENDING_DELIVERY = literal(certificate_status.Status.PENDING_DELIVERY)
# Messages the outbox is done with: delivered, or given up on.
_SETTLED = listed(outbox_status.Status.DELIVERED, outbox_status.Status.DEAD)

__all__ = ["CertificateRow", "CertificateStore", "Settled"]


@dataclass(frozen=True)
class CertificateRow:
    issuing_country: str
    number: str
    side: str
    kind: str
    status: str
    certificate: bytes
    envelope: bytes | None
    exporter_uscc: str
    issuing_body: str
    importing_country: str
    message_id: str
    replaced_by: str
    import_declaration: str

    @classmethod
    def from_row(cls, r: Row) -> CertificateRow:
        return cls(
            issuing_country=r["issuing_country"],
            number=r["number"],
            side=r["side"],
            kind=r["kind"],
            status=r["status"],
            certificate=bytes(r["certificate"]),
            envelope=bytes(r["envelope"]) if r["envelope"] is not None else None,
            exporter_uscc=r["exporter_uscc"],
            issuing_body=r["issuing_body"],
            importing_country=r["importing_country"],
            message_id=r["message_id"],
            replaced_by=r["replaced_by"],
            import_declaration=r["import_declaration"],
        )


@dataclass(frozen=True)
class Settled:
    """An issued certificate whose message has an outcome: `delivered` or `dead`."""

    row: CertificateRow
    outcome: str
    error: str


class CertificateStore:
    def __init__(self, engine: Engine) -> None:
        self._db = engine

    async def next_number_txn(self, tx: Tx, prefix: str) -> int:
        return int(
            await tx.fetchval(
                "INSERT INTO certificate_counters (prefix, last) VALUES ($1, 1)"
                " ON CONFLICT (prefix) DO UPDATE SET last = certificate_counters.last + 1"
                " RETURNING last",
                prefix,
            )
        )

    async def insert_txn(self, tx: Tx, c: CertificateRow, now_ms: int) -> bool:
        """Store a certificate; False if this side already holds that number."""
        changed = await tx.execute(
            "INSERT INTO certificates (issuing_country, number, side, kind, status, certificate,"
            " envelope, exporter_uscc, issuing_body, importing_country, message_id,"
            " created_at_unix_ms, updated_at_unix_ms)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)"
            " ON CONFLICT (issuing_country, number, side) DO NOTHING",
            c.issuing_country,
            c.number,
            c.side,
            c.kind,
            c.status,
            c.certificate,
            c.envelope,
            c.exporter_uscc,
            c.issuing_body,
            c.importing_country,
            c.message_id,
            now_ms,
        )
        return changed == 1

    async def get(self, issuing_country: str, number: str, side: str) -> CertificateRow | None:
        row = await self._db.fetchrow(
            "SELECT * FROM certificates WHERE issuing_country = $1 AND number = $2 AND side = $3",
            issuing_country,
            number,
            side,
        )
        return CertificateRow.from_row(row) if row else None

    async def lock_txn(
        self, tx: Tx, issuing_country: str, number: str, side: str
    ) -> CertificateRow | None:
        row = await tx.fetchrow(
            "SELECT * FROM certificates WHERE issuing_country = $1 AND number = $2 AND side = $3"
            + self._db.lock_row(),
            issuing_country,
            number,
            side,
        )
        return CertificateRow.from_row(row) if row else None

    async def set_status_txn(
        self,
        tx: Tx,
        issuing_country: str,
        number: str,
        side: str,
        status: str,
        now_ms: int,
        *,
        replaced_by: str | None = None,
        import_declaration: str | None = None,
    ) -> None:
        await tx.execute(
            "UPDATE certificates SET status = $4, updated_at_unix_ms = $5,"
            " replaced_by = COALESCE($6, replaced_by),"
            " import_declaration = COALESCE($7, import_declaration)"
            " WHERE issuing_country = $1 AND number = $2 AND side = $3",
            issuing_country,
            number,
            side,
            status,
            now_ms,
            replaced_by,
            import_declaration,
        )

    async def add_event_txn(
        self,
        tx: Tx,
        issuing_country: str,
        number: str,
        side: str,
        *,
        status: str,
        actor: str,
        node: str,
        note: str,
        at_ms: int,
    ) -> None:
        await tx.execute(
            "INSERT INTO certificate_events (issuing_country, number, side, status, actor, node,"
            " note, at_unix_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            issuing_country,
            number,
            side,
            status,
            actor,
            node,
            note,
            at_ms,
        )

    async def events(self, issuing_country: str, number: str, side: str) -> list[Row]:
        return await self._db.fetch(
            "SELECT * FROM certificate_events WHERE issuing_country = $1 AND number = $2"
            " AND side = $3 ORDER BY seq",
            issuing_country,
            number,
            side,
        )

    async def settled(self, limit: int = 200) -> list[Settled]:
        """Issued certificates still pending delivery whose message the outbox has settled:
        delivered, or dead. Only those, so that a long backlog for a window that is down
        never hides a certificate whose receipt is in."""
        rows = await self._db.fetch(
            "SELECT c.*, o.status AS message_status, o.last_error AS message_error"
            " FROM certificates c JOIN outbox o ON o.message_id = c.message_id"
            f" WHERE c.status = {_PENDING_DELIVERY} AND c.side = 'issued'"
            f" AND o.status IN {_SETTLED}"
            " ORDER BY c.created_at_unix_ms, c.number LIMIT $1",
            limit,
        )
        return [
            Settled(CertificateRow.from_row(r), r["message_status"], r["message_error"] or "")
            for r in rows
        ]

    async def held(self, limit: int = 200) -> list[CertificateRow]:
        """Issued certificates pending delivery that were never sealed: held until a current
        directory says whether their importing window is trusted."""
        rows = await self._db.fetch(
            "SELECT * FROM certificates"
            f" WHERE status = {_PENDING_DELIVERY} AND side = 'issued' AND message_id = ''"
            " ORDER BY created_at_unix_ms, number LIMIT $1",
            limit,
        )
        return [CertificateRow.from_row(r) for r in rows]

    async def set_message_txn(
        self, tx: Tx, issuing_country: str, number: str, message_id: str
    ) -> None:
        """The message a held certificate was sealed in, once it was."""
        await tx.execute(
            "UPDATE certificates SET message_id = $3"
            " WHERE issuing_country = $1 AND number = $2 AND side = 'issued'",
            issuing_country,
            number,
            message_id,
        )

    async def listing(
        self,
        *,
        side: str,
        exporter_uscc: str | None,
        issuing_body: str | None,
        status: str,
        limit: int,
    ) -> list[CertificateRow]:
        args: list[object] = [side, limit]
        where = ["side = $1"]
        for column, value in (
            ("exporter_uscc", exporter_uscc),
            ("issuing_body", issuing_body),
            ("status", status or None),
        ):
            if value is not None:
                args.append(value)
                where.append(f"{column} = ${len(args)}")
        rows = await self._db.fetch(
            f"SELECT * FROM certificates WHERE {' AND '.join(where)}"
            " ORDER BY created_at_unix_ms DESC, issuing_country DESC, number DESC LIMIT $2",
            *args,
        )
        return [CertificateRow.from_row(r) for r in rows]
