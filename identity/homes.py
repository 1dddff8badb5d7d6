"""Which node is an enterprise's home: the answer `core.access.admit` needs for every token.

An enterprise registered here is at home here (the party table says so, read once). Any
other enterprise's home comes from the national registry at the central node, cached: a USCC's
home never changes once the registry has recorded it (one home per USCC), so the cache only
saves round trips. An answer is fresh for `ttl_s`; when the central cannot be reached, an
answer up to `stale_s` old still serves (the bound of IDENTITY.md §6: no token lives longer),
and without one the call fails closed with `registry.unreachable`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core.errors import InvalidArgument, NotFound, Unavailable
from core.parties import validate_uscc
from storage.database import Database
from swf.v1 import identity_pb2 as ipb

__all__ = ["Homes"]

TTL_S = 60.0
STALE_S = 15 * 60.0
MAX_ENTRIES = 100_000


@dataclass(frozen=True)
class _Answer:
    home: str | None
    at_ms: int


class Homes:
    def __init__(
        self,
        *,
        node_id: str,
        db: Database,
        lookup: Callable[[str], Awaitable[ipb.EnterpriseProfile]],
        clock_ms: Callable[[], int],
        ttl_s: float = TTL_S,
        stale_s: float = STALE_S,
    ) -> None:
        self._node_id = node_id
        self._db = db
        self._lookup = lookup
        self._clock_ms = clock_ms
        self._ttl_ms = int(ttl_s * 1000)
        self._stale_ms = int(stale_s * 1000)
        self._answers: dict[str, _Answer] = {}
        # This node's own enterprises, once registered (a pending one may still be rejected).
        self._local: set[str] = set()

    async def home_of(self, party_id: str) -> str | None:
        """The home node of enterprise `party_id`, or None if the registry does not know it."""
        if party_id in self._local:
            return self._node_id
        party = await self._db.parties.get(party_id)
        if party is not None and party.kind == "enterprise" and party.status != "rejected":
            if party.status != "pending":  # registered here for good: no need to read it again
                self._local.add(party_id)
            return self._node_id
        try:
            uscc = validate_uscc(party_id, field="party")
        except InvalidArgument:
            return None  # not a USCC: no enterprise of the registry
        now_ms = self._clock_ms()
        cached = self._answers.get(uscc)
        if cached is not None and now_ms - cached.at_ms < self._ttl_ms:
            return cached.home
        try:
            profile = await self._lookup(uscc)
            home: str | None = profile.home_node or None
        except NotFound:
            home = None
        except Unavailable:
            if cached is not None and now_ms - cached.at_ms < self._stale_ms:
                return cached.home
            raise
        if len(self._answers) >= MAX_ENTRIES:
            self._answers.clear()
        self._answers[uscc] = _Answer(home, now_ms)
        return home
