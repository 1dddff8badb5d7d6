"""Logging in, and refreshing the tokens of a login (IDENTITY.md).

Only the home node holds a party's password hashes. A login at another node is forwarded to the
home node over the peer port (at most once); the tokens are always signed by the home node's
token key. Every login opens a session whose refresh secret is single use: a refresh token used
twice ends the session. Failed logins are counted and answered as identity/guards.py says.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import NoReturn

from core.algorithms import SigningKey
from core.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from core.ids import federation_of
from core.parties import subject, validate_uscc
from federation.registry_client import RegistryClient
from identity import tokens
from identity.guards import Attempt, LoginGuard, user_key
from identity.national_registry import NationalRegistry
from identity.passwords import check_password
from storage.database import Database
from storage.parties import Party
from swf.v1 import identity_pb2 as ipb

__all__ = ["SESSION_LIFETIME_MS", "LoginSessions"]

log = logging.getLogger("swnode.identity")

SESSION_LIFETIME_MS = 12 * 3600 * 1000


class LoginSessions:
    def __init__(
        self,
        *,
        node_id: str,
        db: Database,
        clock_ms: Callable[[], int],
        token_key: SigningKey,
        token_key_id: str,
        token_lifetime_s: int,
        guard: LoginGuard,
        registry: NationalRegistry,
        client: RegistryClient,
        revoke: Callable[[str, str], Awaitable[None]],
    ) -> None:
        self.node_id = node_id
        self._db = db
        self._clock_ms = clock_ms
        self._token_key = token_key
        self._token_key_id = token_key_id
        self._token_lifetime_s = token_lifetime_s
        self._guard = guard
        self._registry = registry
        self._client = client
        self._revoke = revoke

    def use_token_key(self, token_key: SigningKey, token_key_id: str) -> None:
        """Issue tokens with `token_key` from now on (a key rotation, PROTOCOL.md §2.9); tokens
        the old key issued stay valid while the directory lists it unretired."""
        self._token_key = token_key
        self._token_key_id = token_key_id

    async def login(self, req: ipb.LoginRequest, source: str) -> ipb.Tokens:
        if not req.party or not req.user:
            raise InvalidArgument("login.incomplete", "party and user are required", field="party")
        source = req.source or source
        party_id = req.party
        with contextlib.suppress(InvalidArgument):  # a USCC as registered: compact, upper case
            party_id = validate_uscc(req.party, field="party")
        # Counted as a failure of the source until it is known not to be one.
        attempt = await self._guard.admit_source(source)
        try:
            issued = await self._login(party_id, req, source, attempt)
        except Unauthenticated as exc:
            if exc.reason != "login.failed":
                await self._guard.take_back(attempt)
            raise
        except BaseException:
            await self._guard.take_back(attempt)
            raise
        await self._guard.take_back(attempt)
        return issued

    async def _login(
        self, party_id: str, req: ipb.LoginRequest, source: str, attempt: Attempt
    ) -> ipb.Tokens:
        party = await self._db.parties.get(party_id)
        if party is not None and party.status != "rejected":
            return await self._login_here(party, req, attempt)
        home = await self._home_of(party_id)
        if home is None or home == self.node_id or req.via_node:  # never forward twice
            await self._login_unknown(party_id, req, attempt)
        forwarded = ipb.LoginRequest(
            party=party_id,
            user=req.user,
            password=req.password,
            via_node=self.node_id,
            source=source,
        )
        return await self._client.login(home, forwarded)

    async def _home_of(self, party_id: str) -> str | None:
        """Where a party that is not local lives (enterprises, from the national registry), if
        it lives in this federation at all."""
        try:
            profile = await self._registry.lookup(validate_uscc(party_id, field="party"))
        except (InvalidArgument, NotFound):
            return None
        if federation_of(profile.home_node) != federation_of(self.node_id):
            return None
        return profile.home_node

    async def _login_unknown(
        self, party_id: str, req: ipb.LoginRequest, attempt: Attempt
    ) -> NoReturn:
        """A party nobody here knows: refused as a wrong password is, at the same cost, after
        the same delay, and counted the same, so that the answer tells nothing."""
        failures = await self._guard.admit_user(user_key(party_id, req.user))
        await check_password(None, req.password)
        await self._guard.failed(attempt, failures)

    async def _login_here(
        self, party: Party, req: ipb.LoginRequest, attempt: Attempt
    ) -> ipb.Tokens:
        now_ms = self._clock_ms()
        key = user_key(party.party_id, req.user)
        failures = await self._guard.admit_user(key)
        user = await self._db.users.get(party.party_id, req.user)
        ok = await check_password(user.password_hash if user else None, req.password)
        if not ok or user is None:
            await self._guard.failed(attempt, failures)
        await self._guard.succeeded(key)
        if user.disabled:
            raise PermissionDenied("login.disabled", f"user {req.user} is disabled")
        if party.status != "active":
            raise FailedPrecondition(
                "party.not_active",
                f"{party.party_id} is {party.status}"
                + (f": {party.reason}" if party.reason else ""),
            )
        session_id = secrets.token_urlsafe(12)
        refresh_secret = secrets.token_urlsafe(32)
        await self._db.sessions.open(
            session_id,
            party.party_id,
            user.username,
            hashlib.sha256(refresh_secret.encode()).digest(),
            now_ms,
            now_ms + SESSION_LIFETIME_MS,
        )
        log.info(
            "login %s via %s", subject(party.party_id, user.username), req.via_node or self.node_id
        )
        return self._tokens(party, user.roles, user.username, session_id, refresh_secret, now_ms)

    def _tokens(
        self,
        party: Party,
        roles: tuple[str, ...],
        username: str,
        session_id: str,
        refresh_secret: str,
        now_ms: int,
    ) -> ipb.Tokens:
        access, claims = tokens.issue(
            key=self._token_key,
            key_id=self._token_key_id,
            issuer=self.node_id,
            party=party.party_id,
            party_kind=party.kind,
            user=username,
            roles=roles,
            party_roles=party.roles,
            session_id=session_id,
            now_ms=now_ms,
            lifetime_s=self._token_lifetime_s,
        )
        return ipb.Tokens(
            access_token=access,
            refresh_token=f"{session_id}.{refresh_secret}",
            expires_in_s=(claims.expires_at_ms - now_ms) // 1000,
            token_type="Bearer",  # noqa: S106 (the token scheme, not a secret)
            issuer=self.node_id,
            subject=claims.subject,
        )

    async def refresh(self, refresh_token: str) -> ipb.Tokens:
        session_id, _, secret = refresh_token.partition(".")
        row = await self._db.sessions.get(session_id) if secret else None
        if row is None:
            raise Unauthenticated(
                "refresh.unknown",
                f"this refresh token was not issued by {self.node_id}; refresh at the home node",
            )
        now_ms = self._clock_ms()
        if row["revoked_at_unix_ms"] is not None or now_ms >= row["expires_at_unix_ms"]:
            raise Unauthenticated("refresh.ended", "the session has ended; log in again")
        party = await self._db.parties.get(row["party_id"])
        user = await self._db.users.get(row["party_id"], row["username"])
        if party is None or user is None or user.disabled or party.status != "active":
            raise Unauthenticated("refresh.ended", "the account can no longer log in")
        new_secret = secrets.token_urlsafe(32)
        if not await self._db.sessions.rotate_refresh(
            session_id,
            hashlib.sha256(secret.encode()).digest(),
            hashlib.sha256(new_secret.encode()).digest(),
        ):
            # A refresh token used twice: someone else holds a copy. End the session.
            await self._revoke("session", session_id)
            raise Unauthenticated("refresh.reused", "this refresh token was already used")
        return self._tokens(party, user.roles, user.username, session_id, new_secret, now_ms)
