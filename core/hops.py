"""Who forwards to whom (design §5, docs/PROTOCOL.md §5).

Inside a federation every node talks to every other directly. Between federations only central
nodes talk: a province reaches a foreign node through its own central, which hands the message to
the foreign central, which delivers it inside its federation.
"""

from __future__ import annotations

from core.ids import Role, federation_of, role_of

__all__ = ["is_direct_neighbour", "may_relay", "next_hop", "path"]


def next_hop(self_id: str, recipient: str) -> str:
    """The node `self_id` hands a message for `recipient` to."""
    if federation_of(self_id) == federation_of(recipient):
        return recipient
    if role_of(self_id) is Role.PROVINCE:
        return federation_of(self_id)
    return federation_of(recipient)


def path(origin: str, recipient: str) -> list[str]:
    """Every node a message visits after its origin, the recipient last."""
    hops = []
    here = origin
    while here != recipient:
        here = next_hop(here, recipient)
        hops.append(here)
    return hops


def may_relay(self_id: str, origin: str, recipient: str) -> bool:
    """True if `self_id` is on the route from `origin` to `recipient` (and not its end)."""
    return self_id != recipient and self_id in path(origin, recipient)


def is_direct_neighbour(self_id: str, other: str) -> bool:
    """Nodes that exchange messages without a relay between them."""
    if federation_of(self_id) == federation_of(other):
        return self_id != other
    return role_of(self_id) is Role.CENTRAL and role_of(other) is Role.CENTRAL
