"""A user's failed logins in a row, and the lock they lead to. What the counts decide is
identity/lockout.py's; this only counts, locks and clears, atomically."""

from __future__ import annotations

from storage.engine import Engine

__all__ = ["LoginFailureStore"]


class LoginFailureStore:
    def __init__(self, engine: Engine) -> None:
        self._db = engine

    async def failures(self, key: str) -> tuple[int, int | None]:
        row = await self._db.fetchrow(
            "SELECT failures, locked_until_unix_ms FROM login_failures WHERE key = $1", key
        )
        return (row["failures"], row["locked_until_unix_ms"]) if row else (0, None)

    async def count(self, key: str, now_ms: int) -> int:
        """Add one failed (or not yet decided) login to `key`'s count, atomically, and return
        the new count: logins that run at once each get their own number."""
        count = await self._db.fetchval(
            "INSERT INTO login_failures (key, failures, last_failure_unix_ms)"
            " VALUES ($1, 1, $2) ON CONFLICT (key) DO UPDATE SET"
            " failures = login_failures.failures + 1,"
            " last_failure_unix_ms = excluded.last_failure_unix_ms"
            " RETURNING failures",
            key,
            now_ms,
        )
        return int(count)

    async def lock(self, key: str, until_ms: int, now_ms: int) -> bool:
        """Lock `key` until `until_ms`, unless a lock is already in force: True if this call
        set the lock (of logins that run at once, exactly one does)."""
        return (
            await self._db.execute(
                "UPDATE login_failures SET locked_until_unix_ms = $2 WHERE key = $1"
                " AND (locked_until_unix_ms IS NULL OR locked_until_unix_ms <= $3)",
                key,
                until_ms,
                now_ms,
            )
            > 0
        )

    async def clear(self, key: str) -> None:
        await self._db.execute("DELETE FROM login_failures WHERE key = $1", key)
