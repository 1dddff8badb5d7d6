"""Enterprise identity: register once at the home node, log in and be recognised everywhere.

- Registration: the home node records the enterprise as `pending`, asks the central node's
  national registry (one home per USCC), and answers `active`, or ALREADY_EXISTS naming the home
  node that registered it first. If the central cannot be reached, the registration stays
  `pending` and is retried until the registry answers.
- Login: only the home node holds the password hashes. A login at another node is forwarded to
  the home node over the peer port; the tokens are always signed by the home node's token key.
- Tokens are checked at every node against the signed directory (identity/tokens.py).
- Revocation (logout, a disabled user, a suspended party) is recorded at once where it is made
  and sent as an `identity.revocation` envelope to every other node of the federation, which
  refuse the tokens from the moment it arrives (identity/revocations.py holds them).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import NoReturn

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core import access
from core.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    SwnodeError,
    Unauthenticated,
    Unavailable,
)
from core.ids import Role, federation_of, role_of
from core.parties import (
    ADMIN,
    subject,
    validate_enterprise_roles,
    validate_name,
    validate_party_id,
    validate_password,
    validate_uscc,
    validate_username,
)
from core.trust import TrustView
from federation.registry_client import RegistryClient
from identity import tokens
from identity.homes import Homes
from identity.lockout import LockoutPolicy, RateLimit
from identity.logins import Attempt, LoginGuard, RegistrationLimit, Sleep, user_key
from identity.passwords import check_password, hash_password
from identity.revocations import REVOCATION_TTL_MS, Revocations
from identity.users import Users
from storage.database import Database
from storage.parties import Party
from swf.v1 import identity_pb2 as ipb

log = logging.getLogger("swnode.identity")

SESSION_LIFETIME_MS = 12 * 3600 * 1000

STATUS = {
    "pending": ipb.REGISTRATION_STATUS_PENDING,
    "active": ipb.REGISTRATION_STATUS_ACTIVE,
    "rejected": ipb.REGISTRATION_STATUS_REJECTED,
    "suspended": ipb.REGISTRATION_STATUS_SUSPENDED,
}
STATUS_NAME = {v: k for k, v in STATUS.items()}


@dataclass(frozen=True)
class AccountSettings:
    registry_wait_s: float = 5.0
    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    # Registrations per source address (`registration.rate_limited` beyond).
    registrations: RateLimit = field(default_factory=lambda: RateLimit(limit=10, window_s=3600))
    token_lifetime_s: int = tokens.MAX_LIFETIME_S


async def add_party(
    db: Database,
    party_id: str,
    kind: str,
    name: str,
    roles: tuple[str, ...],
    username: str,
    now_ms: int,
) -> str:
    """Create a local party (an agency or a logistics operator) with one administrator user;
    return that user's generated password."""
    party_id = validate_party_id(party_id, kind)
    password = secrets.token_urlsafe(18)
    password_hash = await hash_password(password)
    async with db.transaction() as tx:
        await db.parties.create_txn(
            tx,
            Party(
                party_id=party_id, kind=kind, name=validate_name(name), roles=roles, status="active"
            ),
            now_ms,
        )
        await db.users.add_txn(
            tx, party_id, validate_username(username), password_hash, (ADMIN, *roles), now_ms
        )
    return password


class Accounts:
    def __init__(
        self,
        *,
        node_id: str,
        db: Database,
        token_key: Ed25519PrivateKey,
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
        self._token_key = token_key
        self._token_key_id = token_key_id
        self._trust = trust
        self._clock_ms = clock_ms
        self._registry = registry
        self._broadcast = broadcast
        self._settings = settings or AccountSettings()
        self._guard = LoginGuard(db, self._settings.lockout, clock_ms, sleep)
        self._registrations = RegistrationLimit(db, self._settings.registrations, clock_ms)
        self.users = Users(node_id=node_id, db=db, clock_ms=clock_ms, revoke=self.revoke)
        self.revocations = Revocations(node_id=node_id, db=db, clock_ms=clock_ms)
        self.homes = Homes(node_id=node_id, db=db, lookup=self.lookup, clock_ms=clock_ms)

    @property
    def is_central(self) -> bool:
        return role_of(self.node_id) is Role.CENTRAL

    # -- registration ------------------------------------------------------------------------

    async def register_enterprise(
        self, req: ipb.RegisterEnterpriseRequest, source: str
    ) -> ipb.Registration:
        uscc = validate_uscc(req.uscc)
        name = validate_name(req.name)
        roles = validate_enterprise_roles(req.roles)
        admin = validate_username(req.admin_user, field="admin_user")
        password = validate_password(req.admin_password, field="admin_password")
        # Counted before anything is looked up: asking whether a USCC is taken costs the same.
        await self._registrations.admit(source)
        now_ms = self._clock_ms()
        known = await self._db.parties.get(uscc)
        if known is not None and known.status != "rejected":
            raise AlreadyExists(
                "party.exists",
                f"uscc: {uscc} is already registered at {self.node_id} ({known.status})",
                field="uscc",
            )
        party = Party(
            party_id=uscc,
            kind="enterprise",
            name=name,
            roles=roles,
            status="pending",
            address=req.address,
            contact={
                "name": req.contact.name,
                "email": req.contact.email,
                "phone": req.contact.phone,
            },
        )
        password_hash = await hash_password(password)
        async with self._db.transaction() as tx:
            if known is not None:  # a rejected attempt may be made again
                await self._db.parties.forget_party_txn(tx, uscc)
            await self._db.parties.create_txn(tx, party, now_ms)
            await self._db.users.add_txn(tx, uscc, admin, password_hash, (ADMIN, *roles), now_ms)
        return await self._settle(party, wait_s=self._settings.registry_wait_s)

    async def _settle(self, party: Party, *, wait_s: float) -> ipb.Registration:
        """Ask the national registry about a pending party; record and return its answer."""
        entry = ipb.RegistryEntry(
            uscc=party.party_id,
            name=party.name,
            home_node=self.node_id,
            roles=list(party.roles),
            status=ipb.REGISTRATION_STATUS_ACTIVE,
        )
        try:
            if self.is_central:
                decision = await self.registry_register(entry)
            else:
                decision = await self._registry.register(entry, timeout_s=wait_s)
        except (TimeoutError, Unavailable) as exc:
            log.warning("registration of %s stays pending: %s", party.party_id, exc)
            return await self.registration(party.party_id)
        now_ms = self._clock_ms()
        if decision.status == ipb.REGISTRATION_STATUS_ACTIVE:
            await self._db.parties.set_status(party.party_id, "active", now_ms, only_if="pending")
            log.info("enterprise %s registered, home %s", party.party_id, self.node_id)
            return await self.registration(party.party_id)
        await self._db.parties.set_status(
            party.party_id,
            "rejected",
            now_ms,
            reason=f"already registered at {decision.home_node}",
            registered_at_node=decision.home_node,
            only_if="pending",
        )
        raise AlreadyExists(
            "party.registered_elsewhere",
            f"uscc: {party.party_id} is already registered; its home node is {decision.home_node}",
            field="uscc",
        )

    async def forget_old_attempts(self) -> None:
        """Forget the failed logins and registrations that have left every window."""
        longest = max(
            self._settings.lockout.source.window_ms, self._settings.registrations.window_ms
        )
        await self._db.attempts.forget_before(self._clock_ms() - longest)

    async def retry_pending(self) -> None:
        for party in await self._db.parties.pending():
            # A rejection is recorded with the home node that won; the enterprise sees why.
            with contextlib.suppress(AlreadyExists):
                await self._settle(party, wait_s=self._settings.registry_wait_s)

    async def registration(self, uscc: str) -> ipb.Registration:
        party = await self._db.parties.get(validate_uscc(uscc))
        if party is None or party.kind != "enterprise":
            raise NotFound("party.unknown", f"uscc: {uscc} was not registered at {self.node_id}")
        return ipb.Registration(
            uscc=party.party_id,
            name=party.name,
            home_node=party.registered_at_node or self.node_id,
            status=STATUS[party.status],
            reason=party.reason,
            roles=list(party.roles),
        )

    # -- the national registry (central) -----------------------------------------------------

    async def registry_register(self, entry: ipb.RegistryEntry) -> ipb.RegistryDecision:
        uscc = validate_uscc(entry.uscc)
        record = await self._db.national_registry.register(
            uscc, entry.name, entry.home_node, list(entry.roles), self._clock_ms()
        )
        if record.home_node == entry.home_node:
            return ipb.RegistryDecision(
                status=STATUS.get(record.status, ipb.REGISTRATION_STATUS_ACTIVE),
                home_node=record.home_node,
            )
        return ipb.RegistryDecision(
            status=ipb.REGISTRATION_STATUS_REJECTED,
            home_node=record.home_node,
            reason=f"{uscc} is registered at {record.home_node}",
        )

    async def registry_update(self, caller: str, entry: ipb.RegistryEntry) -> ipb.RegistryDecision:
        if entry.home_node != caller:
            raise PermissionDenied(
                "registry.not_home", f"only {entry.uscc}'s home node may change its status"
            )
        status = STATUS_NAME.get(entry.status)
        if status not in ("active", "suspended"):
            raise InvalidArgument(
                "registry.bad_status", "status: active or suspended", field="status"
            )
        if not await self._db.national_registry.set_status(
            entry.uscc, caller, status, self._clock_ms()
        ):
            raise NotFound("registry.unknown", f"uscc: {entry.uscc} is not registered by {caller}")
        return ipb.RegistryDecision(status=entry.status, home_node=caller)

    async def lookup(self, uscc: str) -> ipb.EnterpriseProfile:
        uscc = validate_uscc(uscc)
        if not self.is_central:
            return await self._registry.lookup(uscc)
        record = await self._db.national_registry.get(uscc)
        if record is None:
            raise NotFound("registry.unknown", f"uscc: {uscc} is not in the national registry")
        return ipb.EnterpriseProfile(
            uscc=record.uscc,
            name=record.name,
            home_node=record.home_node,
            roles=list(record.roles),
            status=STATUS.get(record.status, ipb.REGISTRATION_STATUS_UNSPECIFIED),
            registered_at_unix_ms=record.registered_at_unix_ms,
        )

    # -- login -------------------------------------------------------------------------------

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
        return await self._registry.login(home, forwarded)

    async def _home_of(self, party_id: str) -> str | None:
        """Where a party that is not local lives (enterprises, from the national registry), if
        it lives in this federation at all."""
        try:
            profile = await self.lookup(validate_uscc(party_id, field="party"))
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
            lifetime_s=self._settings.token_lifetime_s,
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
            await self.revoke("session", session_id)
            raise Unauthenticated("refresh.reused", "this refresh token was already used")
        return self._tokens(party, user.roles, user.username, session_id, new_secret, now_ms)

    # -- tokens and revocation ---------------------------------------------------------------

    async def authenticate(self, token: str) -> tokens.Claims:
        """The claims of a token that is good here: verified (identity/tokens.py), then issued
        by a node that may speak for its party here (core/access.py)."""
        claims = self.verify(token)
        home = await self.homes.home_of(claims.party) if claims.party_kind == "enterprise" else None
        access.admit(claims, self_id=self.node_id, home=home)
        return claims

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

    # -- parties created by the operator (agencies, logistics operators) ---------------------

    async def add_party(
        self, party_id: str, kind: str, name: str, roles: tuple[str, ...], username: str
    ) -> str:
        """Create a local party with one user; return the generated password."""
        return await add_party(self._db, party_id, kind, name, roles, username, self._clock_ms())

    async def suspend(self, party_id: str, *, resume: bool = False) -> None:
        """Suspend (or resume) a party whose home is this node, everywhere."""
        party = await self._db.parties.get(party_id)
        if party is None:
            raise NotFound(
                "party.unknown", f"id: {party_id} is not a party of {self.node_id}", field="id"
            )
        status = "active" if resume else "suspended"
        await self._db.parties.set_status(
            party_id, status, self._clock_ms(), reason="" if resume else "suspended by the operator"
        )
        if not resume:
            await self.revoke("party", party_id)
        if party.kind == "enterprise":
            entry = ipb.RegistryEntry(uscc=party_id, home_node=self.node_id, status=STATUS[status])
            try:
                if self.is_central:
                    await self.registry_update(self.node_id, entry)
                else:
                    await self._registry.update_status(entry, timeout_s=10)
            except SwnodeError as exc:
                log.warning(
                    "the national registry was not told that %s is %s: %s", party_id, status, exc
                )


# What a caller is promised (docs/IDENTITY.md): every node that is up refuses the tokens within
# seconds (the revocation is one message to each); none accepts them after they expire.
PROPAGATION_BOUND_S = 5
PROPAGATION_BOUND = (
    f"{PROPAGATION_BOUND_S}s at every node that is up; "
    f"{tokens.MAX_LIFETIME_S // 60}m at the latest (token expiry)"
)
