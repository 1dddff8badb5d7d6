"""The data sharing pool at this node: datasets held here, access requests and the grants they
became, the access log, and the nonces of signed peer queries already answered."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from core.sharing import GrantStatus
from storage.engine import Engine, Row, Tx

__all__ = ["AccessRow", "DatasetRow", "GrantRow", "SharingStore"]


@dataclass(frozen=True)
class DatasetRow:
    id: str
    owner: str  # the local party id
    name: str
    kind: str
    description: str
    fields: tuple[str, ...]
    policy: str
    published_by: str
    created_at_unix_ms: int = 0
    updated_at_unix_ms: int = 0

    @classmethod
    def from_row(cls, r: Row) -> DatasetRow:
        return cls(
            id=r["id"],
            owner=r["owner"],
            name=r["name"],
            kind=r["kind"],
            description=r["description"],
            fields=tuple(json.loads(r["fields"])),
            policy=r["policy"],
            published_by=r["published_by"],
            created_at_unix_ms=r["created_at_unix_ms"],
            updated_at_unix_ms=r["updated_at_unix_ms"],
        )


@dataclass(frozen=True)
class GrantRow:
    id: str
    dataset_id: str
    owner: str
    requester: str
    requester_kind: str
    requested_by: str
    via_node: str
    purpose: str
    valid_from_unix_ms: int
    valid_until_unix_ms: int
    status: str
    decided_by: str = ""
    reason: str = ""
    created_at_unix_ms: int = 0
    decided_at_unix_ms: int = 0
    revoked_at_unix_ms: int = 0

    @classmethod
    def from_row(cls, r: Row) -> GrantRow:
        return cls(**{name: r[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class AccessRow:
    at_unix_ms: int
    dataset_id: str
    owner: str
    party: str
    party_kind: str
    user_name: str
    via_node: str
    action: str
    query_key: str
    purpose: str
    allowed: bool
    reason: str
    detail: str
    rows_given: int
    nonce: str
    seq: int = 0

    @classmethod
    def from_row(cls, r: Row) -> AccessRow:
        values = {name: r[name] for name in cls.__dataclass_fields__}
        values["allowed"] = bool(values["allowed"])
        return cls(**values)


async def _put_dataset(on: Tx, d: DatasetRow, now_ms: int, on_conflict: str) -> None:
    """Insert `d`; `on_conflict` says what happens to a dataset of that id already there."""
    await on.execute(
        "INSERT INTO datasets (id, owner, name, kind, description, fields, policy,"
        " published_by, created_at_unix_ms, updated_at_unix_ms)"
        f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT (id) {on_conflict}",
        d.id,
        d.owner,
        d.name,
        d.kind,
        d.description,
        json.dumps(list(d.fields)),
        d.policy,
        d.published_by,
        now_ms,
    )


class SharingStore:
    def __init__(self, engine: Engine) -> None:
        self._db = engine

    # -- datasets ----------------------------------------------------------------------------

    async def ensure_dataset_txn(self, tx: Tx, d: DatasetRow, now_ms: int) -> None:
        """Create the dataset unless it exists (an operator's events dataset, published by the
        node on the operator's first report)."""
        await _put_dataset(tx, d, now_ms, "DO NOTHING")

    async def ensure_dataset(self, d: DatasetRow, now_ms: int) -> None:
        async with self._db.transaction() as tx:
            await self.ensure_dataset_txn(tx, d, now_ms)

    async def publish(self, d: DatasetRow, now_ms: int) -> None:
        """Create the dataset, or change its description, fields and policy (not its kind)."""
        await _put_dataset(
            self._db,
            d,
            now_ms,
            "DO UPDATE SET description = excluded.description, fields = excluded.fields,"
            " policy = excluded.policy, published_by = excluded.published_by,"
            " updated_at_unix_ms = excluded.updated_at_unix_ms",
        )

    async def dataset(self, dataset_id: str) -> DatasetRow | None:
        row = await self._db.fetchrow("SELECT * FROM datasets WHERE id = $1", dataset_id)
        return DatasetRow.from_row(row) if row else None

    async def datasets(self, limit: int = 1000) -> list[DatasetRow]:
        """The catalog of this node (it is small: a few datasets per party that publishes)."""
        rows = await self._db.fetch("SELECT * FROM datasets ORDER BY id LIMIT $1", limit)
        return [DatasetRow.from_row(r) for r in rows]

    # -- requests and grants -----------------------------------------------------------------

    async def add_request(self, g: GrantRow) -> None:
        await self._db.execute(
            "INSERT INTO sharing_grants (id, dataset_id, owner, requester, requester_kind,"
            " requested_by, via_node, purpose, valid_from_unix_ms, valid_until_unix_ms, status,"
            " created_at_unix_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            g.id,
            g.dataset_id,
            g.owner,
            g.requester,
            g.requester_kind,
            g.requested_by,
            g.via_node,
            g.purpose,
            g.valid_from_unix_ms,
            g.valid_until_unix_ms,
            g.status,
            g.created_at_unix_ms,
        )

    async def request(self, request_id: str) -> GrantRow | None:
        row = await self._db.fetchrow("SELECT * FROM sharing_grants WHERE id = $1", request_id)
        return GrantRow.from_row(row) if row else None

    async def request_txn(self, tx: Tx, request_id: str) -> GrantRow | None:
        """The request, locked until `tx` ends (the owner's decisions on it are serialized)."""
        row = await tx.fetchrow(
            f"SELECT * FROM sharing_grants WHERE id = $1{self._db.lock_row()}", request_id
        )
        return GrantRow.from_row(row) if row else None

    async def decide_txn(
        self,
        tx: Tx,
        request_id: str,
        *,
        status: str,
        by: str,
        reason: str,
        now_ms: int,
        valid_until_ms: int | None = None,
    ) -> None:
        """Record the owner's decision: granted or refused (decided_at), revoked (revoked_at)."""
        revoked = status == GrantStatus.REVOKED
        await tx.execute(
            "UPDATE sharing_grants SET status = $2, decided_by = $3, reason = $4,"
            " decided_at_unix_ms = CASE WHEN $5 = 1 THEN decided_at_unix_ms ELSE $6 END,"
            " revoked_at_unix_ms = CASE WHEN $5 = 1 THEN $6 ELSE revoked_at_unix_ms END,"
            " valid_until_unix_ms = COALESCE($7, valid_until_unix_ms)"
            " WHERE id = $1",
            request_id,
            status,
            by,
            reason,
            int(revoked),
            now_ms,
            valid_until_ms,
        )

    async def grants_for(self, dataset_id: str, requester: str) -> list[GrantRow]:
        """Every request of one party for one dataset: what each query is checked against."""
        rows = await self._db.fetch(
            "SELECT * FROM sharing_grants WHERE dataset_id = $1 AND requester = $2",
            dataset_id,
            requester,
        )
        return [GrantRow.from_row(r) for r in rows]

    async def incoming(self, owner: str, dataset_id: str = "", limit: int = 500) -> list[GrantRow]:
        """Requests made to an owner's datasets, newest first."""
        rows = await self._db.fetch(
            "SELECT * FROM sharing_grants WHERE owner = $1 AND ($2 = '' OR dataset_id = $2)"
            " ORDER BY created_at_unix_ms DESC, id DESC LIMIT $3",
            owner,
            dataset_id,
            limit,
        )
        return [GrantRow.from_row(r) for r in rows]

    async def requested_by(
        self, requester: str, dataset_id: str = "", limit: int = 500
    ) -> list[GrantRow]:
        """A party's own requests held here, newest first."""
        rows = await self._db.fetch(
            "SELECT * FROM sharing_grants WHERE requester = $1 AND ($2 = '' OR dataset_id = $2)"
            " ORDER BY created_at_unix_ms DESC, id DESC LIMIT $3",
            requester,
            dataset_id,
            limit,
        )
        return [GrantRow.from_row(r) for r in rows]

    # -- the access log ----------------------------------------------------------------------

    async def log(self, entries: Sequence[AccessRow]) -> None:
        if not entries:
            return
        await self._db.executemany(
            "INSERT INTO sharing_access_log (at_unix_ms, dataset_id, owner, party, party_kind,"
            " user_name, via_node, action, query_key, purpose, allowed, reason, detail,"
            " rows_given, nonce)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            [
                (
                    e.at_unix_ms,
                    e.dataset_id,
                    e.owner,
                    e.party,
                    e.party_kind,
                    e.user_name,
                    e.via_node,
                    e.action,
                    e.query_key,
                    e.purpose,
                    int(e.allowed),
                    e.reason,
                    e.detail,
                    e.rows_given,
                    e.nonce,
                )
                for e in entries
            ],
        )

    async def access_log(
        self, owner: str, *, dataset_id: str = "", before_seq: int = 0, limit: int = 100
    ) -> list[AccessRow]:
        """An owner's access log, newest first, before `before_seq` (0: from the newest)."""
        args: list[object] = [owner, limit]
        where = ["owner = $1"]
        if dataset_id:
            args.append(dataset_id)
            where.append(f"dataset_id = ${len(args)}")
        if before_seq:
            args.append(before_seq)
            where.append(f"seq < ${len(args)}")
        rows = await self._db.fetch(
            f"SELECT * FROM sharing_access_log WHERE {' AND '.join(where)}"
            " ORDER BY seq DESC LIMIT $2",
            *args,
        )
        return [AccessRow.from_row(r) for r in rows]

    # -- nonces of signed peer queries -------------------------------------------------------

    async def use_nonce(self, node: str, nonce: bytes, expires_at_ms: int, now_ms: int) -> bool:
        """Record a query's nonce; False if `node` used it before (a replay). Nonces whose
        queries are too old to be answered anyway are forgotten."""
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM sharing_nonces WHERE expires_at_unix_ms < $1", now_ms)
            added = await tx.execute(
                "INSERT INTO sharing_nonces (node, nonce, expires_at_unix_ms) VALUES ($1, $2, $3)"
                " ON CONFLICT (node, nonce) DO NOTHING",
                node,
                nonce,
                expires_at_ms,
            )
        return bool(added)
