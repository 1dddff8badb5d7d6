"""Revoked tokens (IDENTITY.md §6): what this node holds, how it matches a token, and the
`identity.revocation` messages that carry a revocation to every other node of the federation."""

from __future__ import annotations

import logging
from collections.abc import Callable

from google.protobuf.message import DecodeError

from core.access import Claims
from core.envelope import Draft
from core.ids import federation_of
from core.trust import TrustView
from identity.tokens import MAX_LIFETIME_S
from storage.database import Database
from swf.v1 import identity_pb2 as ipb

__all__ = [
    "REVOCATION_TTL_MS",
    "REVOCATION_TYPE",
    "Revocations",
    "held_subject",
    "revocation_drafts",
]

log = logging.getLogger("swnode.identity")

REVOCATION_TYPE = "identity.revocation"
# A revocation outlives every token it covers.
REVOCATION_TTL_MS = (MAX_LIFETIME_S + 3600) * 1000


def held_subject(kind: str, subject: str, issuer: str) -> str:
    """How a revocation is held and matched. Session ids are unique, and any node may end a
    session (a logout anywhere). A user or a party is revoked by its home node, for the tokens
    that node issued: it is held as `<home>/<party>[/<user>]` (the party's address, design §2),
    so that parties whose ids are unique per node only (agencies, operators) never collide, and
    no node can revoke the users of another's parties."""
    return subject if kind == "session" else f"{issuer}/{subject}"


def revocation_drafts(
    trust: TrustView, self_id: str, revocation: ipb.TokenRevocation
) -> list[Draft]:
    """One `identity.revocation` message for every other live node of the federation."""
    return [
        Draft(n.id, REVOCATION_TYPE, revocation.SerializeToString())
        for n in trust.nodes()
        if federation_of(n.id) == federation_of(self_id)
        and n.id != self_id
        and trust.is_active(n.id)
    ]


class Revocations:
    def __init__(self, *, node_id: str, db: Database, clock_ms: Callable[[], int]) -> None:
        self._node_id = node_id
        self._db = db
        self._clock_ms = clock_ms
        # (kind, held subject) -> not before (ms): loaded from storage, refreshed every second.
        self._revoked: dict[tuple[str, str], int] = {}
        self._applied = 0  # revocations applied by this process, to merge with a reload

    def why(self, claims: Claims) -> str | None:
        """Why the token is revoked, or None."""
        for kind, subj, why in (
            ("session", claims.session_id, "logged out"),
            ("user", claims.subject, "the user was disabled"),
            ("party", claims.party, f"{claims.party} was suspended"),
        ):
            not_before = self._revoked.get((kind, held_subject(kind, subj, claims.issuer)))
            if not_before is not None and claims.issued_at_ms <= not_before:
                return why
        return None

    async def load(self) -> None:
        """Re-read what storage holds (other replicas apply revocations too); forget old ones."""
        now_ms = self._clock_ms()
        await self._db.revocations.forget_expired(now_ms)
        applied = self._applied
        rows = await self._db.revocations.held(now_ms)
        fresh = {(r["kind"], r["subject"]): r["not_before_unix_ms"] for r in rows}
        if self._applied != applied:  # one was applied while reading: keep what memory holds
            for key, not_before in self._revoked.items():
                fresh[key] = max(fresh.get(key, not_before), not_before)
        self._revoked = fresh

    async def apply(self, origin: str, revocation: ipb.TokenRevocation) -> None:
        """Hold a revocation made here or received from `origin`."""
        if revocation.kind not in ("session", "user", "party"):
            log.warning("ignoring a revocation of unknown kind %r", revocation.kind)
            return
        subj = held_subject(revocation.kind, revocation.subject, origin)
        await self._db.revocations.revoke(
            revocation.kind,
            subj,
            revocation.not_before_unix_ms,
            revocation.expires_at_unix_ms,
        )
        if revocation.kind == "session":
            await self._db.sessions.end(revocation.subject, revocation.not_before_unix_ms)
        key = (revocation.kind, subj)
        self._revoked[key] = max(self._revoked.get(key, 0), revocation.not_before_unix_ms)
        self._applied += 1

    async def handle(self, origin: str, payload: bytes) -> None:
        """An `identity.revocation` envelope from another node of the federation."""
        if federation_of(origin) != federation_of(self._node_id):
            log.warning("ignoring a token revocation from %s, outside this federation", origin)
            return
        try:
            revocation = ipb.TokenRevocation.FromString(payload)
        except DecodeError:
            log.warning("ignoring a token revocation from %s that does not parse", origin)
            return
        await self.apply(origin, revocation)
