"""The portal's server-side sessions: a cookie id's hash, the tokens of the login behind it, and
when it was last used."""

from __future__ import annotations

from dataclasses import dataclass

from storage.engine import Engine

__all__ = ["WebSession", "WebSessionStore"]


@dataclass(frozen=True)
class WebSession:
    access_token: str
    refresh_token: str
    party_id: str
    username: str
    created_at_unix_ms: int
    expires_at_unix_ms: int
    last_seen_unix_ms: int = 0


class WebSessionStore:
    def __init__(self, engine: Engine) -> None:
        self._db = engine

    async def open(self, id_sha256: bytes, session: WebSession) -> None:
        await self._db.execute(
            "INSERT INTO web_sessions (id_sha256, access_token, refresh_token, party_id,"
            " username, created_at_unix_ms, expires_at_unix_ms, last_seen_unix_ms)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            id_sha256,
            session.access_token,
            session.refresh_token,
            session.party_id,
            session.username,
            session.created_at_unix_ms,
            session.expires_at_unix_ms,
            session.last_seen_unix_ms or session.created_at_unix_ms,
        )

    async def get(self, id_sha256: bytes, now_ms: int) -> WebSession | None:
        """The session, unless it has expired."""
        row = await self._db.fetchrow(
            "SELECT access_token, refresh_token, party_id, username, created_at_unix_ms,"
            " expires_at_unix_ms, last_seen_unix_ms FROM web_sessions WHERE id_sha256 = $1"
            " AND expires_at_unix_ms > $2",
            id_sha256,
            now_ms,
        )
        if row is None:
            return None
        return WebSession(
            access_token=row["access_token"],
            refresh_token=row["refresh_token"],
            party_id=row["party_id"],
            username=row["username"],
            created_at_unix_ms=row["created_at_unix_ms"],
            expires_at_unix_ms=row["expires_at_unix_ms"],
            last_seen_unix_ms=row["last_seen_unix_ms"],
        )

    async def touch(self, id_sha256: bytes, now_ms: int) -> None:
        """The session was used at `now_ms` (never moved back by a slower replica)."""
        await self._db.execute(
            "UPDATE web_sessions SET last_seen_unix_ms = $2"
            " WHERE id_sha256 = $1 AND last_seen_unix_ms < $2",
            id_sha256,
            now_ms,
        )

    async def renew(
        self,
        id_sha256: bytes,
        *,
        old_refresh_token: str,
        access_token: str,
        refresh_token: str,
    ) -> bool:
        """The tokens of a refreshed login, only if the session still holds `old_refresh_token`."""
        return (
            await self._db.execute(
                "UPDATE web_sessions SET access_token = $2, refresh_token = $3"
                " WHERE id_sha256 = $1 AND refresh_token = $4",
                id_sha256,
                access_token,
                refresh_token,
                old_refresh_token,
            )
            == 1
        )

    async def end(self, id_sha256: bytes) -> None:
        await self._db.execute("DELETE FROM web_sessions WHERE id_sha256 = $1", id_sha256)

    async def forget_expired(self, now_ms: int) -> int:
        return await self._db.execute(
            "DELETE FROM web_sessions WHERE expires_at_unix_ms <= $1", now_ms
        )
