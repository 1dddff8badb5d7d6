"""Attempts per key, as instants in a sliding window: a source's failed logins, its
registrations. What counts and what is refused is decided by identity/lockout.py; this only
records, forgets and counts."""

from __future__ import annotations

from dataclasses import dataclass

from storage.engine import Engine

__all__ = ["AttemptStore", "Recorded"]


@dataclass(frozen=True)
class Recorded:
    attempt_id: int
    earlier_ms: tuple[int, ...]  # the key's other attempts still in the window, oldest first


class AttemptStore:
    def __init__(self, engine: Engine) -> None:
        self._db = engine

    async def record(self, key: str, now_ms: int, window_ms: int) -> Recorded:
        """Record an attempt of `key` at `now_ms`; return it with the attempts before it that
        are still in the window. Attempts of one key recorded at once (on any replica) each
        see all the others recorded before it."""
        async with self._db.transaction() as tx:
            # Inserting or updating the key's row locks it until the transaction ends.
            await tx.execute(
                "INSERT INTO attempt_keys (key, last_unix_ms) VALUES ($1, $2)"
                " ON CONFLICT (key) DO UPDATE SET last_unix_ms = excluded.last_unix_ms",
                key,
                now_ms,
            )
            await tx.execute(
                "DELETE FROM attempts WHERE key = $1 AND at_unix_ms <= $2", key, now_ms - window_ms
            )
            rows = await tx.fetch(
                "SELECT at_unix_ms FROM attempts WHERE key = $1 ORDER BY at_unix_ms, id", key
            )
            attempt_id = await tx.fetchval(
                "INSERT INTO attempts (key, at_unix_ms) VALUES ($1, $2) RETURNING id", key, now_ms
            )
        return Recorded(int(attempt_id), tuple(int(r["at_unix_ms"]) for r in rows))

    async def forget(self, attempt_id: int) -> None:
        """Take back one attempt (a login that succeeded, or one refused without a check)."""
        await self._db.execute("DELETE FROM attempts WHERE id = $1", attempt_id)

    async def recent(self, key: str, now_ms: int, window_ms: int) -> list[int]:
        rows = await self._db.fetch(
            "SELECT at_unix_ms FROM attempts WHERE key = $1 AND at_unix_ms > $2"
            " ORDER BY at_unix_ms, id",
            key,
            now_ms - window_ms,
        )
        return [int(r["at_unix_ms"]) for r in rows]

    async def forget_before(self, before_ms: int) -> int:
        """Forget every attempt made at or before `before_ms` (out of every window), and the
        keys that have had none since; return how many attempts were forgotten."""
        forgotten = await self._db.execute("DELETE FROM attempts WHERE at_unix_ms <= $1", before_ms)
        await self._db.execute("DELETE FROM attempt_keys WHERE last_unix_ms <= $1", before_ms)
        return forgotten
