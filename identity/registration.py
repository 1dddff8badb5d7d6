"""A party's standing at its home node: enterprises register themselves, the operator adds
agencies and logistics operators, and suspends or resumes any of them.

An enterprise is recorded here as `pending` while the national registry is asked (one home per
USCC); the answer makes it `active`, or `rejected` with ALREADY_EXISTS naming the home node that
registered it first. If the central cannot be reached, the registration stays `pending` and is
retried until the registry answers. A suspension is recorded here, its tokens are revoked across
the federation, and the registry is told.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable

from core.errors import AlreadyExists, NotFound, SwnodeError, Unavailable
from core.parties import (
    ADMIN,
    validate_enterprise_roles,
    validate_name,
    validate_party_id,
    validate_password,
    validate_uscc,
    validate_username,
)
from identity.guards import RegistrationLimit
from identity.national_registry import STATUS, NationalRegistry
from identity.passwords import hash_password
from storage.database import Database
from storage.parties import Party
from swf.v1 import identity_pb2 as ipb

__all__ = ["Registrations", "add_party"]

log = logging.getLogger("swnode.identity")


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


class Registrations:
    def __init__(
        self,
        *,
        node_id: str,
        db: Database,
        clock_ms: Callable[[], int],
        registry: NationalRegistry,
        limit: RegistrationLimit,
        wait_s: float,
        revoke: Callable[[str, str], Awaitable[None]],
    ) -> None:
        self.node_id = node_id
        self._db = db
        self._clock_ms = clock_ms
        self._registry = registry
        self._limit = limit
        self._wait_s = wait_s
        self._revoke = revoke

    # -- enterprises -------------------------------------------------------------------------

    async def register_enterprise(
        self, req: ipb.RegisterEnterpriseRequest, source: str
    ) -> ipb.Registration:
        uscc = validate_uscc(req.uscc)
        name = validate_name(req.name)
        roles = validate_enterprise_roles(req.roles)
        admin = validate_username(req.admin_user, field="admin_user")
        password = validate_password(req.admin_password, field="admin_password")
        # Counted before anything is looked up: asking whether a USCC is taken costs the same.
        await self._limit.admit(source)
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
        return await self._settle(party)

    async def _settle(self, party: Party) -> ipb.Registration:
        """Ask the national registry about a pending party; record and return its answer."""
        entry = ipb.RegistryEntry(
            uscc=party.party_id,
            name=party.name,
            home_node=self.node_id,
            roles=list(party.roles),
            status=ipb.REGISTRATION_STATUS_ACTIVE,
        )
        try:
            decision = await self._registry.ask_to_register(entry, wait_s=self._wait_s)
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

    async def retry_pending(self) -> None:
        for party in await self._db.parties.pending():
            # A rejection is recorded with the home node that won; the enterprise sees why.
            with contextlib.suppress(AlreadyExists):
                await self._settle(party)

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
            await self._revoke("party", party_id)
        if party.kind == "enterprise":
            entry = ipb.RegistryEntry(uscc=party_id, home_node=self.node_id, status=STATUS[status])
            try:
                await self._registry.tell_status(entry)
            except SwnodeError as exc:
                log.warning(
                    "the national registry was not told that %s is %s: %s", party_id, status, exc
                )
