"""State tables: every status machine of the node, as data, in one shape.

Each machine is one `StateTable`, declared beside its statuses:

- core/outbox_status.py: an outgoing message (queued → sent → acknowledged → delivered, with
  failures, expiry and redrive), moved by the events of the exchange;
- core/declaration_status.py: a declaration, and the review and work item of each agency;
- core/certificate_status.py: a cross-border certificate, held at both ends;
- core/sharing.py: a request for access to a dataset (pending → granted or refused → revoked).

A table names each transition, the statuses it leaves from and the one it leads to, and the
terminal statuses that no transition leaves (checked when the table is built). `next` answers
None where a transition does not apply, which is how late or repeated events change nothing;
`check` refuses instead, with a `ForbiddenTransition` that carries the machine's reason code.
Storage spells statuses in SQL from the same enums, so the table and the queries cannot drift.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from core.errors import FailedPrecondition

__all__ = ["ForbiddenTransition", "Refusal", "StateTable"]

S = TypeVar("S", bound=enum.Enum)
T = TypeVar("T", bound=Hashable)


class ForbiddenTransition(FailedPrecondition):
    """A transition the table does not allow from the current status (FAILED_PRECONDITION,
    with the machine's own reason code)."""

    def __init__(self, reason: str, message: str, *, state: object, transition: object) -> None:
        super().__init__(reason, message)
        self.state = state
        self.transition = transition


# (current status, transition, where it would lead) -> the machine's refusal, its reason code a
# literal there (tests/test_protocol_reasons.py reads them).
Refusal = Callable[[S, T, S], ForbiddenTransition]


@dataclass(frozen=True)
class StateTable(Generic[S, T]):
    """One machine: `edges[transition] = (statuses it leaves from, status it leads to)`."""

    name: str
    edges: Mapping[T, tuple[frozenset[S], S]]
    terminal: frozenset[S]
    refusal: Refusal[S, T] = field(compare=False)

    def __post_init__(self) -> None:
        for transition, (sources, _) in self.edges.items():
            left = sources & self.terminal
            if left:
                raise ValueError(f"{self.name}: {transition} leaves terminal {set(left)}")

    def __iter__(self) -> Iterator[T]:
        return iter(self.edges)

    def sources(self, transition: T) -> frozenset[S]:
        return self.edges[transition][0]

    def target(self, transition: T) -> S:
        return self.edges[transition][1]

    def next(self, state: S, transition: T) -> S | None:
        """The status after `transition`, or None if it does not leave `state`."""
        sources, target = self.edges[transition]
        return target if state in sources else None

    def check(self, state: S, transition: T) -> S:
        """The status after `transition`, or a ForbiddenTransition saying why not."""
        sources, target = self.edges[transition]
        if state not in sources:
            raise self.refusal(state, transition, target)
        return target
