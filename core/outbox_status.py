"""The outbox status machine: the life of an outgoing message, as a table of named
transitions (docs/PROTOCOL.md §5).

    queued ──claim──▶ sent ──hop receipt──▶ acknowledged ──delivery receipt──▶ delivered
                       │  └──────────────delivery receipt──────────────────────▲
                       ├─transient failure──▶ failed ──claim (after backoff)──▶ sent
                       └─refused for good──▶ dead ──redrive──▶ queued

    queued, failed or sent past its expiry ──expire──▶ dead;  failed ──redrive──▶ queued;
    a delivery receipt also moves failed or dead to delivered (it arrived after all);
    queued, failed, or dead as refused for a retired key ──reseal──▶ queued (core.reseal).

Storage applies an event to a message only if its current status is one the event leaves from,
so a late or repeated event never moves a message backwards; its SQL spells the statuses from
`Status` (storage/outbox.py).
"""

from __future__ import annotations

import enum

from core.states import ForbiddenTransition, StateTable

__all__ = ["TABLE", "TRANSITIONS", "Event", "Status", "apply", "from_states", "target"]


class Status(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    DELIVERED = "delivered"
    FAILED = "failed"
    DEAD = "dead"


class Event(enum.StrEnum):
    CLAIM = "claim"
    HOP_RECEIPT = "hop_receipt"
    DELIVERY_RECEIPT = "delivery_receipt"
    TRANSIENT_FAILURE = "transient_failure"
    PERMANENT_FAILURE = "permanent_failure"
    EXPIRE = "expire"
    REDRIVE = "redrive"
    RESEAL = "reseal"


S = Status
TRANSITIONS: dict[Event, tuple[frozenset[Status], Status]] = {
    Event.CLAIM: (frozenset({S.QUEUED, S.FAILED}), S.SENT),
    Event.HOP_RECEIPT: (frozenset({S.SENT, S.FAILED}), S.ACKNOWLEDGED),
    Event.DELIVERY_RECEIPT: (frozenset({S.SENT, S.FAILED, S.ACKNOWLEDGED, S.DEAD}), S.DELIVERED),
    Event.TRANSIENT_FAILURE: (frozenset({S.SENT}), S.FAILED),
    Event.PERMANENT_FAILURE: (frozenset({S.SENT}), S.DEAD),
    Event.EXPIRE: (frozenset({S.QUEUED, S.FAILED, S.SENT}), S.DEAD),
    Event.REDRIVE: (frozenset({S.DEAD, S.FAILED}), S.QUEUED),
    Event.RESEAL: (frozenset({S.QUEUED, S.FAILED, S.DEAD}), S.QUEUED),
}


def _refusal(status: Status, event: Event, _: Status) -> ForbiddenTransition:
    return ForbiddenTransition(
        "outbox.bad_transition",
        f"a message that is {status} cannot take {event}",
        state=status,
        transition=event,
    )


TABLE = StateTable("outbox", TRANSITIONS, frozenset({S.DELIVERED}), _refusal)


def from_states(event: Event) -> tuple[str, ...]:
    """The statuses `event` leaves from, as storage binds them in SQL."""
    return tuple(sorted(s.value for s in TABLE.sources(event)))


def target(event: Event) -> Status:
    return TABLE.target(event)


def apply(status: Status, event: Event) -> Status | None:
    """The status after `event`, or None if the event does not apply in `status`."""
    return TABLE.next(status, event)
