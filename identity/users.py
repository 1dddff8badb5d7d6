"""A party's users, managed by its administrators at the home node: add, disable, enable, list.

A party always keeps at least one enabled administrator (core/parties.py
`check_administrators_remain`): the rule is checked inside the transaction that changes the
user, with the party's users locked, so that two administrators disabling each other at once
cannot both succeed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from core.errors import FailedPrecondition, NotFound
from core.parties import (
    ADMIN,
    check_administrators_remain,
    subject,
    validate_password,
    validate_user_roles,
    validate_username,
)
from identity import tokens
from identity.passwords import hash_password
from storage.database import Database
from storage.users import UserRecord
from swf.v1 import identity_pb2 as ipb

__all__ = ["Users", "user_message"]


def user_message(u: UserRecord) -> ipb.User:
    return ipb.User(
        party=u.party_id,
        user=u.username,
        roles=list(u.roles),
        disabled=u.disabled,
        created_at_unix_ms=u.created_at_unix_ms,
    )


class Users:
    def __init__(
        self,
        *,
        node_id: str,
        db: Database,
        clock_ms: Callable[[], int],
        revoke: Callable[[str, str], Awaitable[None]],
    ) -> None:
        self.node_id = node_id
        self._db = db
        self._clock_ms = clock_ms
        self._revoke = revoke

    def _own_admin(self, claims: tokens.Claims) -> None:
        tokens.require_roles(claims, ADMIN)
        if claims.issuer != self.node_id:
            raise FailedPrecondition(
                "users.not_home",
                f"users of {claims.party} are managed at its home node {claims.issuer}",
            )

    async def add_user(self, claims: tokens.Claims, req: ipb.AddUserRequest) -> ipb.User:
        self._own_admin(claims)
        party = await self._db.parties.get(claims.party)
        assert party is not None
        username = validate_username(req.user)
        roles = validate_user_roles(req.roles, party.roles)
        password_hash = await hash_password(validate_password(req.password))
        async with self._db.transaction() as tx:
            await self._db.users.add_txn(
                tx, party.party_id, username, password_hash, roles, self._clock_ms()
            )
        return await self._user(party.party_id, username)

    async def _set_disabled(self, claims: tokens.Claims, user: str, disabled: bool) -> UserRecord:
        self._own_admin(claims)

        def check(users: list[UserRecord]) -> None:
            check_administrators_remain(claims.party, [(u.roles, u.disabled) for u in users])

        changed = await self._db.users.set_disabled(
            claims.party, user, disabled, self._clock_ms(), check=check
        )
        if changed is None:
            raise NotFound("user.unknown", f"user: no user {user} in {claims.party}", field="user")
        return changed

    async def disable_user(self, claims: tokens.Claims, req: ipb.DisableUserRequest) -> ipb.User:
        changed = await self._set_disabled(claims, req.user, True)
        await self._revoke("user", subject(claims.party, req.user))
        return user_message(changed)

    async def enable_user(self, claims: tokens.Claims, req: ipb.EnableUserRequest) -> ipb.User:
        """The user may log in again. Its tokens from before it was disabled stay refused (the
        revocation covers tokens issued until then); new logins get new tokens."""
        return user_message(await self._set_disabled(claims, req.user, False))

    async def list_users(self, claims: tokens.Claims) -> ipb.ListUsersResponse:
        self._own_admin(claims)
        return ipb.ListUsersResponse(
            users=[user_message(u) for u in await self._db.users.of_party(claims.party)]
        )

    async def _user(self, party_id: str, username: str) -> ipb.User:
        u = await self._db.users.get(party_id, username)
        assert u is not None
        return user_message(u)
