"""Token revocations this node holds, until the tokens they cover have expired. What a
revocation covers is decided by identity/revocations.py; this only records and forgets."""

from __future__ import annotations

from storage.engine import REVOCATION_CHANNEL, Engine, Row

__all__ = ["RevocationStore"]


class RevocationStore:
    def __init__(self, engine: Engine) -> None:
        self._db = engine

    async def revoke(self, kind: str, subject: str, not_before_ms: int, expires_ms: int) -> None:
        """Refuse `subject`'s tokens issued before `not_before_ms`; a later revocation of the
        same subject only ever moves both instants forward."""
        g = self._db.greatest
        await self._db.execute(
            "INSERT INTO token_revocations (kind, subject, not_before_unix_ms, expires_at_unix_ms)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (kind, subject) DO UPDATE SET"
            f" not_before_unix_ms = {g('token_revocations.not_before_unix_ms', '$3')},"
            f" expires_at_unix_ms = {g('token_revocations.expires_at_unix_ms', '$4')}",
            kind,
            subject,
            not_before_ms,
            expires_ms,
        )
        if self._db.dialect == "postgresql":  # the other replicas re-read at once
            await self._db.execute("SELECT pg_notify($1, '')", REVOCATION_CHANNEL)

    async def held(self, now_ms: int) -> list[Row]:
        """The revocations still in force: kind, subject and not before."""
        return await self._db.fetch(
            "SELECT kind, subject, not_before_unix_ms FROM token_revocations"
            " WHERE expires_at_unix_ms > $1",
            now_ms,
        )

    async def forget_expired(self, now_ms: int) -> int:
        return await self._db.execute(
            "DELETE FROM token_revocations WHERE expires_at_unix_ms <= $1", now_ms
        )
