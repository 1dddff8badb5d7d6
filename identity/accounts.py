"""Enterprise identity: register once at the home node, log in and be recognised everywhere.

`Accounts` wires a node's identity together, one job to a module:
- registration, the operator's parties and suspension (identity/registration.py), against the
  national registry (identity/national_registry.py);
- login and refresh (identity/login_sessions.py), failed logins counted (identity/guards.py);
- a party's users, managed by its administrators (identity/users.py);
- tokens checked at every node against the signed directory (identity/tokens.py), by a node
  that may speak for the party (identity/homes.py, core/access.py);
- revocation (logout, a disabled user, a suspended party), recorded at once where it is made
  and sent as an `identity.revocation` envelope to every other node of the federation, which
  refuse the tokens from the moment it arrives (identity/revocations.py holds them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from core import access
from core.algorithms import SigningKey
from core.trust import TrustView
from federation.registry_client import RegistryClient
from identity import tokens
from identity.guards import LoginGuard, RegistrationLimit, Sleep
from identity.homes import Homes
from identity.lockout import LockoutPolicy, RateLimit
from identity.login_sessions import LoginSessions
from identity.national_registry import NationalRegistry
from identity.registration import Registrations
from identity.revocations import REVOCATION_TTL_MS, Revocations
from identity.users import Users
from storage.database import Database
from swf.v1 import identity_pb2 as ipb

__all__ = ["PROPAGATION_BOUND", "PROPAGATION_BOUND_S", "AccountSettings", "Accounts"]


@dataclass(frozen=True)
class AccountSettings:
    registry_wait_s: float = 5.0
    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    # Registrations per source address (`registration.rate_limited` beyond).
    registrations: RateLimit = field(default_factory=lambda: RateLimit(limit=10, window_s=3600))
    token_lifetime_s: int = tokens.MAX_LIFETIME_S


class Accounts:
    def __init__(
        self,
        *,
        node_id: str,
        db: Database,
        token_key: SigningKey,
        token_key_id: str,
        trust: Callable[[], TrustView],
        clock_ms: Callable[[], int],
        registry: RegistryClient,
        broadcast: Callable[[ipb.TokenRevocation], Awaitable[None]],
        settings: AccountSettings | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.node_id = node_id
        self._db = db
        self._trust = trust
        self._clock_ms = clock_ms
        self._broadcast = broadcast
        self._settings = settings or AccountSettings()
        self.national_registry = NationalRegistry(
            node_id=node_id, db=db, clock_ms=clock_ms, client=registry
        )
        self.registrations = Registrations(
            node_id=node_id,
            db=db,
            clock_ms=clock_ms,
            registry=self.national_registry,
            limit=RegistrationLimit(db, self._settings.registrations, clock_ms),
            wait_s=self._settings.registry_wait_s,
            revoke=self.revoke,
        )
        self.sessions = LoginSessions(
            node_id=node_id,
            db=db,
            clock_ms=clock_ms,
            token_key=token_key,
            token_key_id=token_key_id,
            token_lifetime_s=self._settings.token_lifetime_s,
            guard=LoginGuard(db, self._settings.lockout, clock_ms, sleep),
            registry=self.national_registry,
            client=registry,
            revoke=self.revoke,
        )
        self.users = Users(node_id=node_id, db=db, clock_ms=clock_ms, revoke=self.revoke)
        self.revocations = Revocations(node_id=node_id, db=db, clock_ms=clock_ms)
        self.homes = Homes(
            node_id=node_id, db=db, lookup=self.national_registry.lookup, clock_ms=clock_ms
        )

    async def forget_old_attempts(self) -> None:
        """Forget the failed logins and registrations that have left every window."""
        longest = max(
            self._settings.lockout.source.window_ms, self._settings.registrations.window_ms
        )
        await self._db.attempts.forget_before(self._clock_ms() - longest)

    # -- tokens and revocation ---------------------------------------------------------------

    async def authenticate(self, token: str) -> tokens.Claims:
        """The claims of a token that is good here: verified (identity/tokens.py), then issued
        by a node that may speak for its party here (core/access.py)."""
        claims = self.verify(token)
        home = await self.homes.home_of(claims.party) if claims.party_kind == "enterprise" else None
        access.admit(claims, self_id=self.node_id, home=home)
        return claims

    @property
    def lockout(self) -> LockoutPolicy:
        """How failed logins are slowed and locked here (the console's operators too)."""
        return self._settings.lockout

    def verify(self, token: str) -> tokens.Claims:
        """The signature, key, time and revocation checks alone; callers that act for the
        bearer use `authenticate`."""
        return tokens.verify(
            token,
            trust=self._trust(),
            self_id=self.node_id,
            now_ms=self._clock_ms(),
            revoked=self.revocations.why,
        )

    async def revoke(self, kind: str, subj: str) -> None:
        """Refuse the tokens of `subj` issued until now, here at once and across the federation
        as the revocation arrives at each node."""
        now_ms = self._clock_ms()
        revocation = ipb.TokenRevocation(
            kind=kind,
            subject=subj,
            not_before_unix_ms=now_ms,
            expires_at_unix_ms=now_ms + REVOCATION_TTL_MS,
        )
        await self.revocations.apply(self.node_id, revocation)
        await self._broadcast(revocation)

    async def logout(self, claims: tokens.Claims) -> ipb.LogoutResponse:
        await self.revoke("session", claims.session_id)
        return ipb.LogoutResponse(revoked_everywhere_within=PROPAGATION_BOUND)


# What a caller is promised (docs/IDENTITY.md): every node that is up refuses the tokens within
# seconds (the revocation is one message to each); none accepts them after they expire.
PROPAGATION_BOUND_S = 5
PROPAGATION_BOUND = (
    f"{PROPAGATION_BOUND_S}s at every node that is up; "
    f"{tokens.MAX_LIFETIME_S // 60}m at the latest (token expiry)"
)
