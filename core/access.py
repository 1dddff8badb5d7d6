"""Whose credential it is, and where it may act: the one rule every authorization applies.

A token that verifies (identity/tokens.py: the signature, a key of an active node of this
federation, time, not revoked) is still good only where its issuer may speak for its party:

- an enterprise's token only if its issuer is the enterprise's home node, as the national
  registry says: only the home holds the passwords, so only the home signs (IDENTITY.md §3);
- a node-local party's token (an agency, a logistics operator) only at the node that issued
  it: such parties exist at one node, and their ids (`customs`, `ccpit`) are unique per node
  only, so `customs` at CN-SH is not `customs` at CN-GD.

Pure: the caller supplies the claims, this node's id and the enterprise's home as looked up.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from core.errors import PermissionDenied, Unauthenticated
from core.parties import PARTY_KINDS

__all__ = ["AGENCIES", "LOCAL_KINDS", "Claims", "admit", "is_local", "still_good"]

ENTERPRISE = "enterprise"
# Parties that exist at one node only: agencies and logistics operators.
LOCAL_KINDS = PARTY_KINDS - {ENTERPRISE}
AGENCIES = frozenset({"agency"})


@dataclass(frozen=True)
class Claims:
    """What a verified access token says about its bearer."""

    issuer: str
    subject: str
    party: str
    party_kind: str
    user: str
    roles: tuple[str, ...]
    party_roles: tuple[str, ...]
    session_id: str
    token_id: str
    issued_at_ms: int
    expires_at_ms: int

    @property
    def address(self) -> str:
        """The party as the federation names it, `NODE/PARTY` (design §2): unique everywhere."""
        return f"{self.issuer}/{self.party}"

    @property
    def actor(self) -> str:
        """Who acted, as history and audit records show it: `NODE/PARTY/USER`."""
        return f"{self.issuer}/{self.subject}"

    def has_any(self, roles: Sequence[str]) -> bool:
        return any(r in self.roles for r in roles)


def admit(claims: Claims, *, self_id: str, home: str | None) -> None:
    """Refuse a verified token whose issuer may not speak for its party here.

    `home` is the enterprise's home node from the national registry (None: not registered);
    it is not consulted for other kinds of party.
    """
    if claims.party_kind == ENTERPRISE:
        if home != claims.issuer:
            where = f"its home is {home}" if home else "it is not in the national registry"
            raise Unauthenticated(
                "token.not_home",
                f"the token for enterprise {claims.party} was issued by {claims.issuer}, but "
                f"{where}; only an enterprise's home node issues its tokens: log in again",
            )
        return
    if claims.party_kind not in LOCAL_KINDS:
        raise Unauthenticated(
            "token.malformed", f"the token names an unknown kind of party {claims.party_kind!r}"
        )
    if claims.issuer != self_id:
        raise PermissionDenied(
            "token.not_local",
            f"{claims.address} is a party of node {claims.issuer} and acts there only, "
            f"not at {self_id}",
        )


def is_local(claims: Claims, kinds: Collection[str], self_id: str) -> bool:
    """Whether the caller is one of this node's own parties of one of `kinds`."""
    return claims.party_kind in kinds and claims.issuer == self_id


def still_good(claims: Claims, now_ms: int) -> None:
    """Refuse claims whose token has expired. A stream is authorized when it opens; each watch
    asks this again at every wake-up, so that none outlives its token (nor, by that, a
    revocation or a disabled user for longer than a token lives): the watcher opens a new one
    with a fresh token, checked afresh."""
    if now_ms >= claims.expires_at_ms:
        raise Unauthenticated(
            "token.expired", "the access token has expired; log in or refresh, and watch again"
        )
