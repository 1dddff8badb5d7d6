"""Login sessions: who logged in, and the hash of the refresh secret, which is single use."""

from __future__ import annotations

from storage.engine import Engine, Row

__all__ = ["SessionStore"]


class SessionStore:
    def __init__(self, engine: Engine) -> None:
        self._db = engine

    async def open(
        self,
        session_id: str,
        party_id: str,
        username: str,
        refresh_sha256: bytes,
        now_ms: int,
        expires_ms: int,
    ) -> None:
        await self._db.execute(
            "INSERT INTO sessions (session_id, party_id, username, refresh_sha256,"
            " created_at_unix_ms, expires_at_unix_ms) VALUES ($1, $2, $3, $4, $5, $6)",
            session_id,
            party_id,
            username,
            refresh_sha256,
            now_ms,
            expires_ms,
        )

    async def get(self, session_id: str) -> Row | None:
        return await self._db.fetchrow("SELECT * FROM sessions WHERE session_id = $1", session_id)

    async def rotate_refresh(self, session_id: str, old: bytes, new: bytes) -> bool:
        """Replace the refresh secret, only if `old` is still the current one (single use)."""
        return (
            await self._db.execute(
                "UPDATE sessions SET refresh_sha256 = $3 WHERE session_id = $1"
                " AND refresh_sha256 = $2 AND revoked_at_unix_ms IS NULL",
                session_id,
                old,
                new,
            )
            == 1
        )

    async def end(self, session_id: str, now_ms: int) -> None:
        await self._db.execute(
            "UPDATE sessions SET revoked_at_unix_ms = $2 WHERE session_id = $1"
            " AND revoked_at_unix_ms IS NULL",
            session_id,
            now_ms,
        )
