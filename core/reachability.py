"""Which direct neighbours to Ping, and what to say of one not asked.

A Ping to an idle neighbour costs a TLS handshake (connections drop when idle), and in a
network of 31 provinces each is the neighbour of every other: asking them all on a timer is
most of what an idle network would do. So a neighbour is asked until it first answers (that answer
is what an operator checks after bringing the network up) and whenever the node has messages
for it; one with nothing pending is not asked again, and is reported "not
probed (idle)" with the time it last answered, not a stale "up"."""

from __future__ import annotations

from collections.abc import Collection, Iterable

__all__ = ["IDLE", "condition", "split_due"]

IDLE = "not probed (idle)"


def split_due(
    due: Iterable[str], answered: Collection[str], with_work: Collection[str]
) -> tuple[list[str], list[str]]:
    """The due neighbours to probe (never answered yet, or with messages pending) and those to
    leave idle (answered before, nothing to send them)."""
    ask: list[str] = []
    idle: list[str] = []
    for peer in due:
        (ask if peer not in answered or peer in with_work else idle).append(peer)
    return ask, idle


def condition(reachable: bool | None) -> str:
    """How status and console name a neighbour's reachability: None is one left idle."""
    return IDLE if reachable is None else ("reachable" if reachable else "unreachable")
