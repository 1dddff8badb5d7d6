"""Signed directories: those the central publishes, and the last good copy each node holds."""

from __future__ import annotations

from dataclasses import dataclass

from core.directory_chain import link_key
from core.key_lifetimes import next_directory_version
from storage.engine import Engine, Tx

__all__ = ["DirectoryStore", "HeldDirectory"]


@dataclass(frozen=True)
class HeldDirectory:
    federation: str
    version: int
    signed: bytes
    fetched_at_unix_ms: int


class DirectoryStore:
    def __init__(self, engine: Engine) -> None:
        self._db = engine

    async def next_version_txn(self, tx: Tx) -> int:
        """Reserve the next directory version: above every version published and every version
        a member reported holding (core.key_lifetimes.next_directory_version). The first UPDATE
        locks the row, so concurrent publishers are serialized here."""
        row = await tx.fetchrow(
            "UPDATE directory_state SET version = version WHERE id = 1"
            " RETURNING version, highest_seen"
        )
        assert row is not None
        version = next_directory_version(int(row["version"]), int(row["highest_seen"]))
        await tx.execute("UPDATE directory_state SET version = $1 WHERE id = 1", version)
        return version

    async def note_seen(self, version: int) -> bool:
        """Record that a member holds `version`; True if it is above every version known here
        (a central restored from an older backup)."""
        changed = await self._db.execute(
            "UPDATE directory_state SET highest_seen = $1"
            " WHERE id = 1 AND highest_seen < $1 AND version < $1",
            version,
        )
        return changed > 0

    async def publish_txn(
        self, tx: Tx, federation: str, version: int, signed: bytes, issued_ms: int, expires_ms: int
    ) -> None:
        await tx.execute(
            "INSERT INTO published_directories (version, signed, issued_at_unix_ms,"
            " expires_at_unix_ms) VALUES ($1, $2, $3, $4)",
            version,
            signed,
            issued_ms,
            expires_ms,
        )
        await self.hold_txn(tx, federation, version, signed, issued_ms)

    async def latest_published(self) -> bytes | None:
        row = await self._db.fetchrow(
            "SELECT signed FROM published_directories ORDER BY version DESC LIMIT 1"
        )
        return bytes(row["signed"]) if row else None

    async def hold(self, federation: str, version: int, signed: bytes, now_ms: int) -> None:
        async with self._db.transaction() as tx:
            await self.hold_txn(tx, federation, version, signed, now_ms)

    async def hold_txn(
        self, tx: Tx, federation: str, version: int, signed: bytes, now_ms: int
    ) -> None:
        """Keep `signed` as the copy of `federation`'s directory unless a newer one is held."""
        await tx.execute(
            "INSERT INTO held_directories (federation, version, signed, fetched_at_unix_ms)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (federation) DO UPDATE"
            " SET version = excluded.version, signed = excluded.signed,"
            " fetched_at_unix_ms = excluded.fetched_at_unix_ms"
            " WHERE held_directories.version <= excluded.version",
            federation,
            version,
            signed,
            now_ms,
        )
        key = link_key(signed)
        if key is not None:  # it announces the next directory key: a link of the chain
            await tx.execute(
                "INSERT INTO directory_links (federation, directory_key, version, signed)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (federation, directory_key) DO UPDATE"
                " SET version = excluded.version, signed = excluded.signed"
                " WHERE directory_links.version < excluded.version",
                federation,
                key,
                version,
                signed,
            )

    async def links(self) -> list[bytes]:
        """The links kept (`hold_txn`): signed directories that announced a next key."""
        rows = await self._db.fetch(
            "SELECT signed FROM directory_links ORDER BY federation, version"
        )
        return [bytes(r["signed"]) for r in rows]

    async def held(self) -> dict[str, HeldDirectory]:
        rows = await self._db.fetch("SELECT * FROM held_directories")
        return {
            r["federation"]: HeldDirectory(
                r["federation"], r["version"], bytes(r["signed"]), r["fetched_at_unix_ms"]
            )
            for r in rows
        }

    async def drop_held(self, federation: str) -> None:
        await self._db.execute("DELETE FROM held_directories WHERE federation = $1", federation)
