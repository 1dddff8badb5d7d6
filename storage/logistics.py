"""Logistics events reported at this node, and the containers and bills of lading its
declarations name.

Every timeline lookup is one indexed search: events by (container, seq) or (bill_of_lading, seq),
declarations by (kind, value, party_id). `TIMELINE_SQL` is the statement a timeline runs per key,
exposed so that tests and the benchmark can show its query plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.engine import Engine, Row, Tx

__all__ = ["KEY_COLUMNS", "TIMELINE_SQL", "EventRow", "LogisticsStore"]

# The column a timeline key searches, by key kind.
KEY_COLUMNS = {"container": "container", "bill_of_lading": "bill_of_lading"}

# A timeline's events for one key, the newest first (read oldest-first by the caller), after a
# cursor (0 for all). {column} is container or bill_of_lading.
TIMELINE_SQL = (
    "SELECT * FROM logistics_events WHERE {column} = $1 AND seq > $2 ORDER BY seq DESC LIMIT $3"
)


@dataclass(frozen=True)
class EventRow:
    party_id: str
    event_id: str
    kind: str
    occurred_at_unix_ms: int
    place: str
    container: str
    bill_of_lading: str
    conveyance: str
    mode: str
    remarks: str
    reported_by: str
    recorded_at_unix_ms: int
    seq: int = 0

    @classmethod
    def from_row(cls, r: Row) -> EventRow:
        return cls(
            party_id=r["party_id"],
            event_id=r["event_id"],
            kind=r["kind"],
            occurred_at_unix_ms=r["occurred_at_unix_ms"],
            place=r["place"],
            container=r["container"],
            bill_of_lading=r["bill_of_lading"],
            conveyance=r["conveyance"],
            mode=r["mode"],
            remarks=r["remarks"],
            reported_by=r["reported_by"],
            recorded_at_unix_ms=r["recorded_at_unix_ms"],
            seq=r["seq"],
        )

    def values(self) -> tuple[object, ...]:
        return (
            self.party_id,
            self.event_id,
            self.kind,
            self.occurred_at_unix_ms,
            self.place,
            self.container,
            self.bill_of_lading,
            self.conveyance,
            self.mode,
            self.remarks,
            self.reported_by,
            self.recorded_at_unix_ms,
        )


_INSERT = (
    "INSERT INTO logistics_events (party_id, event_id, kind, occurred_at_unix_ms, place,"
    " container, bill_of_lading, conveyance, mode, remarks, reported_by, recorded_at_unix_ms)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
)


class LogisticsStore:
    def __init__(self, engine: Engine) -> None:
        self._db = engine

    # -- events ------------------------------------------------------------------------------

    async def insert_txn(self, tx: Tx, event: EventRow) -> EventRow | None:
        """Store a new event: None. An event id its operator reported before: the stored event
        (nothing is written)."""
        added = await tx.execute(
            _INSERT + " ON CONFLICT (party_id, event_id) DO NOTHING", *event.values()
        )
        if added:
            return None
        row = await tx.fetchrow(
            "SELECT * FROM logistics_events WHERE party_id = $1 AND event_id = $2",
            event.party_id,
            event.event_id,
        )
        assert row is not None
        return EventRow.from_row(row)

    async def bulk_load(self, events: Sequence[EventRow]) -> None:
        """Many new events in one transaction (the benchmark's loader; no duplicate check)."""
        await self._db.executemany(_INSERT, [e.values() for e in events])

    async def for_key(
        self, kind: str, value: str, *, after_seq: int = 0, limit: int = 5000
    ) -> list[EventRow]:
        """Events about one container or bill of lading stored after `after_seq`: the newest
        `limit`, oldest first."""
        rows = await self._db.fetch(
            TIMELINE_SQL.format(column=KEY_COLUMNS[kind]), value, after_seq, limit
        )
        return [EventRow.from_row(r) for r in reversed(rows)]

    async def reported_by(
        self,
        party_id: str,
        *,
        container: str = "",
        bill_of_lading: str = "",
        since_ms: int = 0,
        before_seq: int = 0,
        limit: int = 100,
    ) -> list[EventRow]:
        """An operator's own events, the newest stored first, before `before_seq` (0: from the
        newest); each filter given narrows the list."""
        args: list[object] = [party_id, limit]
        where = ["party_id = $1"]
        for column, value in (
            ("container = ", container),
            ("bill_of_lading = ", bill_of_lading),
            ("occurred_at_unix_ms >= ", since_ms),
            ("seq < ", before_seq),
        ):
            if value:
                args.append(value)
                where.append(f"{column}${len(args)}")
        rows = await self._db.fetch(
            f"SELECT * FROM logistics_events WHERE {' AND '.join(where)}"
            " ORDER BY seq DESC LIMIT $2",
            *args,
        )
        return [EventRow.from_row(r) for r in rows]

    async def last_seq(self) -> int:
        """The newest event's place in storage order (0 when none): a watch's cursor."""
        return int(await self._db.fetchval("SELECT COALESCE(MAX(seq), 0) FROM logistics_events"))

    async def operator_parties(self, kinds: Sequence[str]) -> list[str]:
        """Local parties of the given kinds (operators), read once at start-up."""
        marks = ", ".join(f"${i}" for i in range(1, len(kinds) + 1))
        rows = await self._db.fetch(
            f"SELECT party_id FROM parties WHERE kind IN ({marks}) ORDER BY party_id", *kinds
        )
        return [r["party_id"] for r in rows]

    # -- declarations and what they name -----------------------------------------------------

    async def index_declaration_txn(
        self, tx: Tx, declaration_id: str, party_id: str, refs: Sequence[tuple[str, str]]
    ) -> None:
        """Record (replacing any earlier record) the (kind, value) pairs a declaration names."""
        await tx.execute("DELETE FROM declaration_refs WHERE declaration_id = $1", declaration_id)
        if refs:
            await tx.executemany(
                "INSERT INTO declaration_refs (kind, value, party_id, declaration_id)"
                " VALUES ($1, $2, $3, $4)",
                [(kind, value, party_id, declaration_id) for kind, value in refs],
            )

    async def declarations_naming(
        self, kind: str, value: str, party_id: str, limit: int = 100
    ) -> list[str]:
        """Ids of the party's declarations that name a container or bill of lading."""
        rows = await self._db.fetch(
            "SELECT declaration_id FROM declaration_refs WHERE kind = $1 AND value = $2"
            " AND party_id = $3 ORDER BY declaration_id LIMIT $4",
            kind,
            value,
            party_id,
            limit,
        )
        return [r["declaration_id"] for r in rows]

    async def refs_of(self, declaration_id: str) -> list[tuple[str, str]]:
        rows = await self._db.fetch(
            "SELECT kind, value FROM declaration_refs WHERE declaration_id = $1"
            " ORDER BY kind, value",
            declaration_id,
        )
        return [(r["kind"], r["value"]) for r in rows]

    async def last_declaration_seq(self) -> int:
        return int(await self._db.fetchval("SELECT COALESCE(MAX(seq), 0) FROM declaration_events"))
