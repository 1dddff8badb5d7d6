"""The national enterprise registry, as this node reaches it: the central node holds it (one
home node per USCC, the first registration wins); every other node asks the central over the
peer port (federation/registry_client.py)."""

from __future__ import annotations

from collections.abc import Callable

from core.errors import InvalidArgument, NotFound, PermissionDenied
from core.ids import Role, role_of
from core.parties import validate_uscc
from federation.registry_client import RegistryClient
from storage.database import Database
from swf.v1 import identity_pb2 as ipb

__all__ = ["STATUS", "STATUS_NAME", "NationalRegistry"]

# A party's registration status as stored, and as the protos spell it.
STATUS = {
    "pending": ipb.REGISTRATION_STATUS_PENDING,
    "active": ipb.REGISTRATION_STATUS_ACTIVE,
    "rejected": ipb.REGISTRATION_STATUS_REJECTED,
    "suspended": ipb.REGISTRATION_STATUS_SUSPENDED,
}
STATUS_NAME = {v: k for k, v in STATUS.items()}


class NationalRegistry:
    def __init__(
        self,
        *,
        node_id: str,
        db: Database,
        clock_ms: Callable[[], int],
        client: RegistryClient,
    ) -> None:
        self.node_id = node_id
        self._db = db
        self._clock_ms = clock_ms
        self._client = client

    @property
    def is_central(self) -> bool:
        return role_of(self.node_id) is Role.CENTRAL

    # -- at the central: the registry's answers ----------------------------------------------

    async def register(self, entry: ipb.RegistryEntry) -> ipb.RegistryDecision:
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

    async def update(self, caller: str, entry: ipb.RegistryEntry) -> ipb.RegistryDecision:
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

    # -- at any node -------------------------------------------------------------------------

    async def lookup(self, uscc: str) -> ipb.EnterpriseProfile:
        uscc = validate_uscc(uscc)
        if not self.is_central:
            return await self._client.lookup(uscc)
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

    async def ask_to_register(
        self, entry: ipb.RegistryEntry, *, wait_s: float
    ) -> ipb.RegistryDecision:
        """Register an enterprise of this node: here at the central, else at the central."""
        if self.is_central:
            return await self.register(entry)
        return await self._client.register(entry, timeout_s=wait_s)

    async def tell_status(self, entry: ipb.RegistryEntry) -> None:
        """Record the new status of an enterprise of this node."""
        if self.is_central:
            await self.update(self.node_id, entry)
        else:
            await self._client.update_status(entry, timeout_s=10)
