"""The parties of this node (enterprises registered here, agencies, logistics operators) and
their registration status."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from core.errors import AlreadyExists
from storage.columns import join_names, split_names
from storage.engine import Engine, Row, Tx

__all__ = ["Party", "PartyStore"]


@dataclass(frozen=True)
class Party:
    party_id: str
    kind: str
    name: str
    roles: tuple[str, ...]
    status: str
    address: str = ""
    contact: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    registered_at_node: str = ""
    created_at_unix_ms: int = 0
    updated_at_unix_ms: int = 0

    @classmethod
    def from_row(cls, r: Row) -> Party:
        return cls(
            party_id=r["party_id"],
            kind=r["kind"],
            name=r["name"],
            roles=split_names(r["roles"]),
            status=r["status"],
            address=r["address"],
            contact=json.loads(r["contact"]),
            reason=r["reason"],
            registered_at_node=r["registered_at_node"],
            created_at_unix_ms=r["created_at_unix_ms"],
            updated_at_unix_ms=r["updated_at_unix_ms"],
        )


class PartyStore:
    def __init__(self, engine: Engine) -> None:
        self._db = engine

    async def create_txn(self, tx: Tx, party: Party, now_ms: int) -> None:
        exists = await tx.fetchval("SELECT status FROM parties WHERE party_id = $1", party.party_id)
        if exists is not None:
            raise AlreadyExists(
                "party.exists",
                f"id: {party.party_id} is already a party of this node ({exists})",
                field="id",
            )
        await tx.execute(
            "INSERT INTO parties (party_id, kind, name, address, contact, roles, status,"
            " created_at_unix_ms, updated_at_unix_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
            party.party_id,
            party.kind,
            party.name,
            party.address,
            json.dumps(party.contact, sort_keys=True),
            join_names(party.roles),
            party.status,
            now_ms,
        )

    async def get(self, party_id: str) -> Party | None:
        row = await self._db.fetchrow("SELECT * FROM parties WHERE party_id = $1", party_id)
        return Party.from_row(row) if row else None

    async def of_kinds(self, kinds: tuple[str, ...], limit: int = 500) -> list[Party]:
        """This node's parties of these kinds, by id (the console's list of agencies and
        logistics operators)."""
        marks = ", ".join(f"${i + 2}" for i in range(len(kinds)))
        rows = await self._db.fetch(
            f"SELECT * FROM parties WHERE kind IN ({marks}) ORDER BY party_id LIMIT $1",
            limit,
            *kinds,
        )
        return [Party.from_row(r) for r in rows]

    async def pending(self, limit: int = 100) -> list[Party]:
        rows = await self._db.fetch(
            "SELECT * FROM parties WHERE status = 'pending' ORDER BY created_at_unix_ms LIMIT $1",
            limit,
        )
        return [Party.from_row(r) for r in rows]

    async def set_status(
        self,
        party_id: str,
        status: str,
        now_ms: int,
        *,
        reason: str = "",
        registered_at_node: str = "",
        only_if: str | None = None,
    ) -> bool:
        where = "party_id = $1" + (" AND status = $6" if only_if else "")
        args: list[object] = [party_id, status, reason, registered_at_node, now_ms]
        if only_if:
            args.append(only_if)
        changed = await self._db.execute(
            "UPDATE parties SET status = $2, reason = $3, registered_at_node = $4,"
            f" updated_at_unix_ms = $5 WHERE {where}",
            *args,
        )
        return changed > 0

    async def forget_party_txn(self, tx: Tx, party_id: str) -> None:
        """Remove a party and its users (a rejected registration, to be made again)."""
        await tx.execute("DELETE FROM users WHERE party_id = $1", party_id)
        await tx.execute("DELETE FROM parties WHERE party_id = $1", party_id)
