"""Parties, their users and sessions, the national registry, token revocations and failed
logins."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from core.errors import AlreadyExists
from storage.engine import Engine, Row, Tx


def _csv(values: Sequence[str]) -> str:
    return ",".join(values)


def _list(text: str) -> tuple[str, ...]:
    return tuple(v for v in text.split(",") if v)


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
            roles=_list(r["roles"]),
            status=r["status"],
            address=r["address"],
            contact=json.loads(r["contact"]),
            reason=r["reason"],
            registered_at_node=r["registered_at_node"],
            created_at_unix_ms=r["created_at_unix_ms"],
            updated_at_unix_ms=r["updated_at_unix_ms"],
        )


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
            _list(r["roles"]),
            bool(r["disabled"]),
            r["created_at_unix_ms"],
        )


# Sees every user of a party as a change would leave them, and raises to refuse it.
UsersCheck = Callable[[list[UserRecord]], None]


@dataclass(frozen=True)
class RegistryRecord:
    uscc: str
    name: str
    home_node: str
    roles: tuple[str, ...]
    status: str
    registered_at_unix_ms: int


class PartyStore:
    def __init__(self, engine: Engine) -> None:
        self._db = engine

    # -- parties and users -------------------------------------------------------------------

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
            _csv(party.roles),
            party.status,
            now_ms,
        )

    async def get(self, party_id: str) -> Party | None:
        row = await self._db.fetchrow("SELECT * FROM parties WHERE party_id = $1", party_id)
        return Party.from_row(row) if row else None

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

    async def add_user_txn(
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
            _csv(roles),
            now_ms,
        )

    async def forget_party_txn(self, tx: Tx, party_id: str) -> None:
        """Remove a party and its users (a rejected registration, to be made again)."""
        await tx.execute("DELETE FROM users WHERE party_id = $1", party_id)
        await tx.execute("DELETE FROM parties WHERE party_id = $1", party_id)

    async def user(self, party_id: str, username: str) -> UserRecord | None:
        row = await self._db.fetchrow(
            "SELECT * FROM users WHERE party_id = $1 AND username = $2", party_id, username
        )
        return UserRecord.from_row(row) if row else None

    async def users(self, party_id: str) -> list[UserRecord]:
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

    # -- sessions ----------------------------------------------------------------------------

    async def open_session(
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

    async def session(self, session_id: str) -> Row | None:
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

    async def end_session(self, session_id: str, now_ms: int) -> None:
        await self._db.execute(
            "UPDATE sessions SET revoked_at_unix_ms = $2 WHERE session_id = $1"
            " AND revoked_at_unix_ms IS NULL",
            session_id,
            now_ms,
        )

    # -- the national registry (central node) ------------------------------------------------

    async def register_national(
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
            _csv(roles),
            now_ms,
        )
        record = await self.national(uscc)
        assert record is not None
        return record

    async def national(self, uscc: str) -> RegistryRecord | None:
        r = await self._db.fetchrow("SELECT * FROM national_registry WHERE uscc = $1", uscc)
        if r is None:
            return None
        return RegistryRecord(
            r["uscc"],
            r["name"],
            r["home_node"],
            _list(r["roles"]),
            r["status"],
            r["registered_at_unix_ms"],
        )

    async def set_national_status(
        self, uscc: str, home_node: str, status: str, now_ms: int
    ) -> bool:
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

    # -- token revocations -------------------------------------------------------------------

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

    async def revocations(self, now_ms: int) -> list[Row]:
        return await self._db.fetch(
            "SELECT kind, subject, not_before_unix_ms FROM token_revocations"
            " WHERE expires_at_unix_ms > $1",
            now_ms,
        )

    async def forget_revocations(self, now_ms: int) -> int:
        return await self._db.execute(
            "DELETE FROM token_revocations WHERE expires_at_unix_ms <= $1", now_ms
        )

    # -- failed logins -----------------------------------------------------------------------

    async def failures(self, key: str) -> tuple[int, int | None]:
        row = await self._db.fetchrow(
            "SELECT failures, locked_until_unix_ms FROM login_failures WHERE key = $1", key
        )
        return (row["failures"], row["locked_until_unix_ms"]) if row else (0, None)

    async def count_failure(self, key: str, now_ms: int) -> int:
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

    async def clear_failures(self, key: str) -> None:
        await self._db.execute("DELETE FROM login_failures WHERE key = $1", key)
