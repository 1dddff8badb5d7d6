"""The users of this node's parties: password hashes, roles, and whether each is disabled."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from core.errors import AlreadyExists
from storage.columns import join_names, split_names
from storage.engine import Engine, Row, Tx

__all__ = ["UserRecord", "UserStore", "UsersCheck"]


@dataclass(frozen=True)
class UserRecord:
    party_id: str
    username: str
    password_hash: str
    roles: tuple[str, ...]
    disabled: bool
    created_at_unix_ms: int

    @classmethod
    def from_row(cls, r: Row) -> UserRecord:
        return cls(
            r["party_id"],
            r["username"],
            r["password_hash"],
            split_names(r["roles"]),
            bool(r["disabled"]),
            r["created_at_unix_ms"],
        )


# Sees every user of a party as a change would leave them, and raises to refuse it.
UsersCheck = Callable[[list[UserRecord]], None]


class UserStore:
    def __init__(self, engine: Engine) -> None:
        self._db = engine

    async def add_txn(
        self,
        tx: Tx,
        party_id: str,
        username: str,
        password_hash: str,
        roles: Sequence[str],
        now_ms: int,
    ) -> None:
        exists = await tx.fetchval(
            "SELECT 1 FROM users WHERE party_id = $1 AND username = $2", party_id, username
        )
        if exists:
            raise AlreadyExists(
                "user.exists", f"user: {username} already exists in {party_id}", field="user"
            )
        await tx.execute(
            "INSERT INTO users (party_id, username, password_hash, roles, created_at_unix_ms)"
            " VALUES ($1, $2, $3, $4, $5)",
            party_id,
            username,
            password_hash,
            join_names(roles),
            now_ms,
        )

    async def get(self, party_id: str, username: str) -> UserRecord | None:
        row = await self._db.fetchrow(
            "SELECT * FROM users WHERE party_id = $1 AND username = $2", party_id, username
        )
        return UserRecord.from_row(row) if row else None

    async def of_party(self, party_id: str) -> list[UserRecord]:
        rows = await self._db.fetch(
            "SELECT * FROM users WHERE party_id = $1 ORDER BY username", party_id
        )
        return [UserRecord.from_row(r) for r in rows]

    async def set_disabled(
        self,
        party_id: str,
        username: str,
        disabled: bool,
        now_ms: int,
        *,
        check: UsersCheck | None = None,
    ) -> UserRecord | None:
        """Disable or enable a user; None if there is no such user. `check` sees every user of
        the party as it would be after the change, and may refuse it: the party's users are
        locked for the transaction, so that two changes made at once (two administrators
        disabling each other, on two replicas) are checked one after the other."""
        async with self._db.transaction() as tx:
            rows = await tx.fetch(
                "SELECT * FROM users WHERE party_id = $1 ORDER BY username" + self._db.lock_row(),
                party_id,
            )
            users = [UserRecord.from_row(r) for r in rows]
            if not any(u.username == username for u in users):
                return None
            if check is not None:
                check(
                    [replace(u, disabled=disabled) if u.username == username else u for u in users]
                )
            await tx.execute(
                "UPDATE users SET disabled = $3, disabled_at_unix_ms = $4"
                " WHERE party_id = $1 AND username = $2",
                party_id,
                username,
                1 if disabled else 0,
                now_ms if disabled else None,
            )
            row = await tx.fetchrow(
                "SELECT * FROM users WHERE party_id = $1 AND username = $2", party_id, username
            )
        assert row is not None
        return UserRecord.from_row(row)

    async def set_password_hash(self, party_id: str, username: str, password_hash: str) -> None:
        await self._db.execute(
            "UPDATE users SET password_hash = $3 WHERE party_id = $1 AND username = $2",
            party_id,
            username,
            password_hash,
        )
