"""The national enterprise registry, held by the central node: one home node per USCC."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.columns import join_names, split_names
from storage.engine import Engine

__all__ = ["NationalRegistryStore", "RegistryRecord"]


@dataclass(frozen=True)
class RegistryRecord:
    uscc: str
    name: str
    home_node: str
    roles: tuple[str, ...]
    status: str
    registered_at_unix_ms: int


class NationalRegistryStore:
    def __init__(self, engine: Engine) -> None:
        self._db = engine

    async def register(
        self, uscc: str, name: str, home_node: str, roles: Sequence[str], now_ms: int
    ) -> RegistryRecord:
        """Register `uscc` for `home_node` unless it is already registered; return the record
        the registry holds either way. The primary key makes exactly one registration win."""
        await self._db.execute(
            "INSERT INTO national_registry (uscc, name, home_node, roles, status,"
            " registered_at_unix_ms, updated_at_unix_ms) VALUES ($1, $2, $3, $4, 'active', $5, $5)"
            " ON CONFLICT (uscc) DO NOTHING",
            uscc,
            name,
            home_node,
            join_names(roles),
            now_ms,
        )
        record = await self.get(uscc)
        assert record is not None
        return record

    async def get(self, uscc: str) -> RegistryRecord | None:
        r = await self._db.fetchrow("SELECT * FROM national_registry WHERE uscc = $1", uscc)
        if r is None:
            return None
        return RegistryRecord(
            r["uscc"],
            r["name"],
            r["home_node"],
            split_names(r["roles"]),
            r["status"],
            r["registered_at_unix_ms"],
        )

    async def set_status(self, uscc: str, home_node: str, status: str, now_ms: int) -> bool:
        return (
            await self._db.execute(
                "UPDATE national_registry SET status = $3, updated_at_unix_ms = $4"
                " WHERE uscc = $1 AND home_node = $2",
                uscc,
                home_node,
                status,
                now_ms,
            )
            > 0
        )
