"""The life of a cross-border certificate: one state machine, held at both ends.

    pending_delivery ──deliver──▶ delivered ──accept──▶ accepted ──use──▶ used
           │                         │   └──reject──▶ rejected
           └──fail_delivery──▶ delivery_failed ──retry──▶ pending_delivery
    any status but used ──replace──▶ replaced;  any status but used ──cancel──▶ cancelled

The issuing node records `pending_delivery` when it issues; the end-to-end delivery receipt makes
it `delivered` (or the outbox giving up makes it `delivery_failed`). The importing window records
`delivered` when the certificate arrives. Decisions at the importing window (accept, reject, use)
and at the issuer (replace, cancel) travel to the other end, which applies the same transition.
A certificate that is replaced or cancelled cannot be accepted or used. `TABLE` is the machine
in core/states.py's shape; used, replaced and cancelled are terminal.
"""

from __future__ import annotations

import enum

from core.states import ForbiddenTransition, StateTable

__all__ = ["BY_STATUS", "TABLE", "TRANSITIONS", "Status", "apply", "catch_up"]


class Status(enum.StrEnum):
    PENDING_DELIVERY = "pending_delivery"
    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    USED = "used"
    REPLACED = "replaced"
    CANCELLED = "cancelled"


S = Status
_ANY_BUT_USED = frozenset(set(S) - {S.USED, S.REPLACED, S.CANCELLED})
TRANSITIONS: dict[str, tuple[frozenset[Status], Status]] = {
    "deliver": (frozenset({S.PENDING_DELIVERY, S.DELIVERY_FAILED}), S.DELIVERED),
    "fail_delivery": (frozenset({S.PENDING_DELIVERY}), S.DELIVERY_FAILED),
    "retry": (frozenset({S.DELIVERY_FAILED}), S.PENDING_DELIVERY),
    "accept": (frozenset({S.DELIVERED}), S.ACCEPTED),
    "reject": (frozenset({S.DELIVERED, S.ACCEPTED}), S.REJECTED),
    "use": (frozenset({S.DELIVERED, S.ACCEPTED}), S.USED),
    "replace": (_ANY_BUT_USED, S.REPLACED),
    "cancel": (_ANY_BUT_USED, S.CANCELLED),
}
# The status a decision at the other end reports, and the transition that applies it here.
BY_STATUS = {target: name for name, (_, target) in TRANSITIONS.items() if name != "retry"}


def _refusal(status: Status, transition: str, target: Status) -> ForbiddenTransition:
    if status in (S.REPLACED, S.CANCELLED):
        return ForbiddenTransition(
            "certificate.not_usable",
            f"the certificate was {status}; it cannot be {target.replace('_', ' ')}",
            state=status,
            transition=transition,
        )
    return ForbiddenTransition(
        "certificate.bad_transition",
        f"a certificate that is {status.replace('_', ' ')} cannot be {target.replace('_', ' ')}",
        state=status,
        transition=transition,
    )


TABLE = StateTable(
    "certificate", TRANSITIONS, frozenset({S.USED, S.REPLACED, S.CANCELLED}), _refusal
)


def apply(status: Status, transition: str) -> Status:
    """The status after `transition`, or a refusal that says why not."""
    return TABLE.check(status, transition)


def catch_up(status: Status, reported: Status) -> list[str]:
    """The transitions that bring `status` here to `reported` at the other end (an update may
    arrive before this end learnt of the delivery); empty if there is nothing to do."""
    if status == reported:
        return []
    path = []
    if status in (S.PENDING_DELIVERY, S.DELIVERY_FAILED) and reported not in (
        S.PENDING_DELIVERY,
        S.DELIVERY_FAILED,
        S.REPLACED,
        S.CANCELLED,
    ):
        path.append("deliver")
        status = S.DELIVERED
    if status == reported:
        return path
    path.append(BY_STATUS[reported])
    return path
