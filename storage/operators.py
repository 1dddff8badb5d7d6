"""The console's operators and their sessions (migration 0012): a node's own, never federated."""

from __future__ import annotations

from dataclasses import dataclass

from core.local_secrets import SEALED_PREFIX
from storage.engine import Engine

__all__ = ["Operator", "OperatorStore"]


@dataclass(frozen=True)
class Operator:
    username: str
    password_hash: str
    totp_secret: str  # sealed with the node's local secret (core.local_secrets)
    totp_last_step: int
    must_change_password: bool
    created_at_unix_ms: int


class OperatorStore:
    def __init__(self, engine: Engine) -> None:
        self._db = engine

    async def add(self, operator: Operator) -> bool:
        """False if an operator of that name exists already."""
        if await self.get(operator.username) is not None:
            return False
        await self._db.execute(
            "INSERT INTO operators (username, password_hash, totp_secret, totp_last_step,"
            " must_change_password, created_at_unix_ms) VALUES ($1, $2, $3, $4, $5, $6)",
            operator.username,
            operator.password_hash,
            operator.totp_secret,
            operator.totp_last_step,
            1 if operator.must_change_password else 0,
            operator.created_at_unix_ms,
        )
        return True

    async def get(self, username: str) -> Operator | None:
        row = await self._db.fetchrow("SELECT * FROM operators WHERE username = $1", username)
        if row is None:
            return None
        return Operator(
            username=row["username"],
            password_hash=row["password_hash"],
            totp_secret=row["totp_secret"],
            totp_last_step=row["totp_last_step"],
            must_change_password=bool(row["must_change_password"]),
            created_at_unix_ms=row["created_at_unix_ms"],
        )

    async def use_step(self, username: str, step: int) -> bool:
        """Record the TOTP step just accepted; False if it (or a later one) was used already,
        by a login at the same moment on another replica."""
        return (
            await self._db.execute(
                "UPDATE operators SET totp_last_step = $2"
                " WHERE username = $1 AND totp_last_step < $2",
                username,
                step,
            )
            == 1
        )

    # -- TOTP secrets at rest (identity/local_secret.py) -------------------------------------

    async def sealed_totp_count(self) -> int:
        return int(
            await self._db.fetchval(
                "SELECT COUNT(*) FROM operators WHERE totp_secret LIKE $1", f"{SEALED_PREFIX}%"
            )
        )

    async def clear_totp(self) -> list[tuple[str, str]]:
        """(username, secret) of each operator whose TOTP secret an older release kept in clear."""
        rows = await self._db.fetch(
            "SELECT username, totp_secret FROM operators WHERE totp_secret NOT LIKE $1",
            f"{SEALED_PREFIX}%",
        )
        return [(r["username"], r["totp_secret"]) for r in rows]

    async def seal_totp(self, username: str, clear: str, sealed: str) -> None:
        """Replace the clear secret by its sealed form, unless it changed meanwhile."""
        await self._db.execute(
            "UPDATE operators SET totp_secret = $3 WHERE username = $1 AND totp_secret = $2",
            username,
            clear,
            sealed,
        )

    async def set_password(self, username: str, password_hash: str) -> None:
        await self._db.execute(
            "UPDATE operators SET password_hash = $2, must_change_password = 0 WHERE username = $1",
            username,
            password_hash,
        )

    async def reset(
        self, username: str, *, password_hash: str | None, totp_secret: str | None
    ) -> bool:
        """A new one-time password (changed at the next sign-in) and/or a new TOTP secret (its
        steps counted afresh), and the operator's sessions ended; False if there is no such
        operator. The secret is written as `add` writes it (sealed: identity/operators.py)."""
        sets: list[str] = []
        args: list[object] = [username]
        if password_hash is not None:
            args.append(password_hash)
            sets.append(f"password_hash = ${len(args)}, must_change_password = 1")
        if totp_secret is not None:
            args.append(totp_secret)
            sets.append(f"totp_secret = ${len(args)}, totp_last_step = 0")
        if not sets:
            raise ValueError("reset: nothing to reset")
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                f"UPDATE operators SET {', '.join(sets)} WHERE username = $1", *args
            )
            if changed != 1:
                return False
            await tx.execute("DELETE FROM console_sessions WHERE username = $1", username)
        return True

    async def remove(self, username: str) -> bool:
        """The operator and its sessions gone; False if there was no such operator."""
        async with self._db.transaction() as tx:
            removed = await tx.execute("DELETE FROM operators WHERE username = $1", username)
            await tx.execute("DELETE FROM console_sessions WHERE username = $1", username)
        return removed == 1

    # -- sessions ----------------------------------------------------------------------------

    async def open_session(
        self, id_sha256: bytes, username: str, now_ms: int, expires_at_ms: int
    ) -> None:
        await self._db.execute(
            "DELETE FROM console_sessions WHERE expires_at_unix_ms <= $1", now_ms
        )
        await self._db.execute(
            "INSERT INTO console_sessions (id_sha256, username, created_at_unix_ms,"
            " expires_at_unix_ms) VALUES ($1, $2, $3, $4)",
            id_sha256,
            username,
            now_ms,
            expires_at_ms,
        )

    async def session(self, id_sha256: bytes, now_ms: int) -> str | None:
        """The operator signed in under this session, unless it has expired."""
        value = await self._db.fetchval(
            "SELECT username FROM console_sessions WHERE id_sha256 = $1"
            " AND expires_at_unix_ms > $2",
            id_sha256,
            now_ms,
        )
        return str(value) if value is not None else None

    async def end_session(self, id_sha256: bytes) -> None:
        await self._db.execute("DELETE FROM console_sessions WHERE id_sha256 = $1", id_sha256)
