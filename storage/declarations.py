"""Declarations, their history of transitions, and the agencies' work items.

The statuses in the SQL are spelt from core/declaration_status.py's enums.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.declaration_status import Review, Status, WorkStatus
from storage.engine import Engine, Row, Tx
from storage.status_sql import listed, literal

_OPEN = literal(WorkStatus.OPEN)
_OPEN_REVIEW = literal(Review.OPEN)
_DECIDED = literal(WorkStatus.DECIDED)
_UNDECIDED = listed(WorkStatus.OPEN, WorkStatus.CLAIMED)
# The final statuses that grant what was asked: cleared goods, approved documents.
_GRANTED = listed(Status.CLEARED, Status.APPROVED)

__all__ = ["DeclarationRow", "DeclarationStore", "Event", "WorkRow"]


@dataclass(frozen=True)
class DeclarationRow:
    id: str
    party_id: str
    submitted_by: str
    document_type: str
    document: bytes
    status: str
    revision: int
    assessment: str
    payment_due: bool
    created_at_unix_ms: int
    updated_at_unix_ms: int
    decided_at_unix_ms: int | None
    # W3C traceparent of the submission (core/trace_context.py): decisions continue its trace.
    traceparent: str = ""

    @classmethod
    def from_row(cls, r: Row) -> DeclarationRow:
        return cls(
            id=r["id"],
            party_id=r["party_id"],
            submitted_by=r["submitted_by"],
            document_type=r["document_type"],
            document=bytes(r["document"]),
            status=r["status"],
            revision=r["revision"],
            assessment=r["assessment"],
            payment_due=bool(r["payment_due"]),
            created_at_unix_ms=r["created_at_unix_ms"],
            updated_at_unix_ms=r["updated_at_unix_ms"],
            decided_at_unix_ms=r["decided_at_unix_ms"],
            traceparent=r["traceparent"],
        )


@dataclass(frozen=True)
class Event:
    transition: str
    from_status: str
    to_status: str
    actor: str
    agency: str = ""
    note: str = ""


@dataclass(frozen=True)
class WorkRow:
    id: str
    declaration_id: str
    agency: str
    round: int
    status: str
    review: str
    claimed_by: str
    decided_by: str
    reason: str
    note: str
    created_at_unix_ms: int
    decided_at_unix_ms: int | None
    # W3C traceparent of the submission (core/trace_context.py): decisions continue its trace.
    traceparent: str = ""

    @classmethod
    def new(cls, work_id: str, declaration_id: str, agency: str, round_: int) -> WorkRow:
        """A work item as it is created: open, unclaimed, undecided (stored with its time)."""
        return cls(
            id=work_id,
            declaration_id=declaration_id,
            agency=agency,
            round=round_,
            status=WorkStatus.OPEN,
            review=Review.OPEN,
            claimed_by="",
            decided_by="",
            reason="",
            note="",
            created_at_unix_ms=0,
            decided_at_unix_ms=None,
        )

    @classmethod
    def from_row(cls, r: Row) -> WorkRow:
        return cls(
            id=r["id"],
            declaration_id=r["declaration_id"],
            agency=r["agency"],
            round=r["round"],
            status=r["status"],
            review=r["review"],
            claimed_by=r["claimed_by"],
            decided_by=r["decided_by"],
            reason=r["reason"],
            note=r["note"],
            created_at_unix_ms=r["created_at_unix_ms"],
            decided_at_unix_ms=r["decided_at_unix_ms"],
        )


class DeclarationStore:
    def __init__(self, engine: Engine) -> None:
        self._db = engine

    # -- declarations ------------------------------------------------------------------------

    async def insert_txn(self, tx: Tx, d: DeclarationRow) -> None:
        await tx.execute(
            "INSERT INTO declarations (id, party_id, submitted_by, document_type, document, status,"
            " revision, assessment, payment_due, created_at_unix_ms, updated_at_unix_ms,"
            " traceparent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)",
            d.id,
            d.party_id,
            d.submitted_by,
            d.document_type,
            d.document,
            d.status,
            d.revision,
            d.assessment,
            int(d.payment_due),
            d.created_at_unix_ms,
            d.traceparent,
        )

    async def get(self, declaration_id: str) -> DeclarationRow | None:
        row = await self._db.fetchrow("SELECT * FROM declarations WHERE id = $1", declaration_id)
        return DeclarationRow.from_row(row) if row else None

    async def lock_txn(self, tx: Tx, declaration_id: str) -> DeclarationRow | None:
        """The declaration, locked until `tx` ends (decisions on it are serialized)."""
        row = await tx.fetchrow(
            f"SELECT * FROM declarations WHERE id = $1{self._db.lock_row()}", declaration_id
        )
        return DeclarationRow.from_row(row) if row else None

    async def update_txn(
        self,
        tx: Tx,
        declaration_id: str,
        *,
        status: str,
        now_ms: int,
        document: bytes | None = None,
        revision: int | None = None,
        decided: bool = False,
    ) -> None:
        await tx.execute(
            "UPDATE declarations SET status = $2, updated_at_unix_ms = $3,"
            " document = COALESCE($4, document), revision = COALESCE($5, revision),"
            " decided_at_unix_ms = CASE WHEN $6 = 1 THEN $3 ELSE decided_at_unix_ms END"
            " WHERE id = $1",
            declaration_id,
            status,
            now_ms,
            document,
            revision,
            int(decided),
        )

    async def list_for_party(
        self,
        party_id: str,
        *,
        status: str,
        document_type: str,
        from_ms: int,
        to_ms: int,
        before: tuple[int, str] | None,
        limit: int,
    ) -> list[DeclarationRow]:
        """Newest first; `before` is the (created_at, id) of the last row of the previous page."""
        args: list[object] = [party_id, from_ms, to_ms, limit]
        where = ["party_id = $1", "created_at_unix_ms >= $2", "created_at_unix_ms < $3"]
        if status:
            args.append(status)
            where.append(f"status = ${len(args)}")
        if document_type:
            args.append(document_type)
            where.append(f"document_type = ${len(args)}")
        if before is not None:
            args += [before[0], before[1]]
            n = len(args)
            where.append(
                f"(created_at_unix_ms < ${n - 1} OR (created_at_unix_ms = ${n - 1} AND id < ${n}))"
            )
        rows = await self._db.fetch(
            f"SELECT * FROM declarations WHERE {' AND '.join(where)}"
            " ORDER BY created_at_unix_ms DESC, id DESC LIMIT $4",
            *args,
        )
        return [DeclarationRow.from_row(r) for r in rows]

    # -- history -----------------------------------------------------------------------------

    async def add_events_txn(
        self, tx: Tx, declaration_id: str, events: Sequence[Event], now_ms: int
    ) -> None:
        await tx.executemany(
            "INSERT INTO declaration_events (declaration_id, transition, from_status, to_status,"
            " actor, agency, note, at_unix_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            [
                (
                    declaration_id,
                    e.transition,
                    e.from_status,
                    e.to_status,
                    e.actor,
                    e.agency,
                    e.note,
                    now_ms,
                )
                for e in events
            ],
        )

    async def events(self, declaration_id: str, after_seq: int = 0) -> list[Row]:
        return await self._db.fetch(
            "SELECT * FROM declaration_events WHERE declaration_id = $1 AND seq > $2 ORDER BY seq",
            declaration_id,
            after_seq,
        )

    # -- work items --------------------------------------------------------------------------

    async def add_work_txn(self, tx: Tx, items: Sequence[WorkRow], now_ms: int) -> None:
        await tx.executemany(
            "INSERT INTO work_items (id, declaration_id, agency, round, status, review,"
            " created_at_unix_ms, updated_at_unix_ms)"
            f" VALUES ($1, $2, $3, $4, {_OPEN}, {_OPEN_REVIEW}, $5, $5)",
            [(w.id, w.declaration_id, w.agency, w.round, now_ms) for w in items],
        )

    async def work(self, work_id: str) -> WorkRow | None:
        row = await self._db.fetchrow("SELECT * FROM work_items WHERE id = $1", work_id)
        return WorkRow.from_row(row) if row else None

    async def work_txn(self, tx: Tx, work_id: str) -> WorkRow | None:
        row = await tx.fetchrow(
            f"SELECT * FROM work_items WHERE id = $1{self._db.lock_row()}", work_id
        )
        return WorkRow.from_row(row) if row else None

    async def work_for(self, declaration_id: str) -> list[WorkRow]:
        rows = await self._db.fetch(
            "SELECT * FROM work_items WHERE declaration_id = $1 ORDER BY round, agency",
            declaration_id,
        )
        return [WorkRow.from_row(r) for r in rows]

    async def round_txn(self, tx: Tx, declaration_id: str, round_: int) -> list[WorkRow]:
        """The latest review of each agency, as of round `round_`."""
        rows = await tx.fetch(
            "SELECT * FROM work_items WHERE declaration_id = $1 AND round <= $2 ORDER BY round",
            declaration_id,
            round_,
        )
        latest: dict[str, WorkRow] = {}
        for r in rows:
            latest[r["agency"]] = WorkRow.from_row(r)
        return list(latest.values())

    async def agency_work(self, agency: str, statuses: Sequence[str], limit: int) -> list[WorkRow]:
        marks = ", ".join(f"${i}" for i in range(3, 3 + len(statuses)))
        rows = await self._db.fetch(
            f"SELECT * FROM work_items WHERE agency = $1 AND status IN ({marks})"
            " ORDER BY created_at_unix_ms, id LIMIT $2",
            agency,
            limit,
            *statuses,
        )
        return [WorkRow.from_row(r) for r in rows]

    async def open_work(self, limit: int) -> list[WorkRow]:
        rows = await self._db.fetch(
            f"SELECT * FROM work_items WHERE status IN {_UNDECIDED}"
            " ORDER BY created_at_unix_ms, id LIMIT $1",
            limit,
        )
        return [WorkRow.from_row(r) for r in rows]

    async def update_work_txn(
        self,
        tx: Tx,
        work_id: str,
        *,
        status: str,
        review: str,
        now_ms: int,
        claimed_by: str | None = None,
        decided_by: str | None = None,
        reason: str | None = None,
        note: str | None = None,
    ) -> None:
        await tx.execute(
            "UPDATE work_items SET status = $2, review = $3, updated_at_unix_ms = $4,"
            " claimed_by = COALESCE($5, claimed_by), decided_by = COALESCE($6, decided_by),"
            " reason = COALESCE($7, reason), note = COALESCE($8, note),"
            f" decided_at_unix_ms = CASE WHEN $2 = {_DECIDED} THEN $4 ELSE decided_at_unix_ms END"
            " WHERE id = $1",
            work_id,
            status,
            review,
            now_ms,
            claimed_by,
            decided_by,
            reason,
            note,
        )

    # -- statistics --------------------------------------------------------------------------

    async def counts(self, from_ms: int, to_ms: int) -> list[Row]:
        return await self._db.fetch(
            "SELECT document_type, status, created_at_unix_ms / 86400000 AS day, COUNT(*) AS n"
            " FROM declarations WHERE created_at_unix_ms >= $1 AND created_at_unix_ms < $2"
            " GROUP BY document_type, status, created_at_unix_ms / 86400000",
            from_ms,
            to_ms,
        )

    async def decision_times(self, from_ms: int, to_ms: int) -> list[Row]:
        return await self._db.fetch(
            "SELECT document_type, decided_at_unix_ms - created_at_unix_ms AS took_ms"
            " FROM declarations WHERE created_at_unix_ms >= $1 AND created_at_unix_ms < $2"
            f" AND decided_at_unix_ms IS NOT NULL AND status IN {_GRANTED}",
            from_ms,
            to_ms,
        )
