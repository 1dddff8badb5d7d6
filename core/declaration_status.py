"""A declaration's life, as named transitions between statuses (docs/DECLARATIONS.md).

    submit ──▶ submitted ──validate──▶ validated ──route──▶ under_review
    under_review ──request_information──▶ needs_information ──amend──▶ under_review
    under_review ──require_inspection──▶ inspection ──release──▶ under_review
    under_review / inspection / needs_information ──reject──▶ rejected
    under_review / inspection ──clear──▶ cleared (goods, nothing to pay)
    under_review / inspection ──await_payment──▶ awaiting_payment ──pay──▶ cleared (goods)
    under_review / inspection ──approve──▶ approved (every other document)

`TRANSITIONS` is that diagram as data; `check` says where a named transition leads from a status,
or refuses it. `submit` creates a declaration and leads from no status, so it is not in the table.

Each agency's review of one round has its own status; the declaration's status follows from
all of them (`next_status`): any rejection rejects it, any request for information waits for the
declarant, any inspection not yet released holds it, and only when every agency has accepted (or
released) does it go on.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from core.errors import FailedPrecondition


class Status(enum.StrEnum):
    SUBMITTED = "submitted"
    VALIDATED = "validated"
    UNDER_REVIEW = "under_review"
    NEEDS_INFORMATION = "needs_information"
    INSPECTION = "inspection"
    AWAITING_PAYMENT = "awaiting_payment"
    CLEARED = "cleared"
    APPROVED = "approved"
    REJECTED = "rejected"


FINAL = frozenset({Status.CLEARED, Status.APPROVED, Status.REJECTED})


class Review(enum.StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    NEEDS_INFORMATION = "needs_information"
    INSPECTION = "inspection"
    RELEASED = "released"


PENDING_REVIEWS = frozenset({Review.OPEN, Review.CLAIMED})
DONE_REVIEWS = frozenset({Review.ACCEPTED, Review.RELEASED})

S = Status
TRANSITIONS: dict[str, tuple[frozenset[Status], Status]] = {
    # name: (from, to)
    "validate": (frozenset({S.SUBMITTED}), S.VALIDATED),
    "route": (frozenset({S.VALIDATED}), S.UNDER_REVIEW),
    "request_information": (frozenset({S.UNDER_REVIEW, S.INSPECTION}), S.NEEDS_INFORMATION),
    "amend": (frozenset({S.NEEDS_INFORMATION}), S.UNDER_REVIEW),
    "require_inspection": (frozenset({S.UNDER_REVIEW}), S.INSPECTION),
    "release": (frozenset({S.INSPECTION}), S.UNDER_REVIEW),
    "reject": (frozenset({S.UNDER_REVIEW, S.INSPECTION, S.NEEDS_INFORMATION}), S.REJECTED),
    "clear": (frozenset({S.UNDER_REVIEW, S.INSPECTION}), S.CLEARED),
    "await_payment": (frozenset({S.UNDER_REVIEW, S.INSPECTION}), S.AWAITING_PAYMENT),
    "pay": (frozenset({S.AWAITING_PAYMENT}), S.CLEARED),
    "approve": (frozenset({S.UNDER_REVIEW, S.INSPECTION}), S.APPROVED),
}


def check(transition: str, status: Status) -> Status:
    """The status `transition` leads to from `status`, or a refusal naming both."""
    sources, target = TRANSITIONS[transition]
    if status not in sources:
        raise FailedPrecondition(
            "declaration.bad_transition",
            f"a declaration that is {status} cannot {transition.replace('_', ' ')}",
        )
    return target


@dataclass(frozen=True)
class Outcome:
    status: Status
    transition: str | None  # None: the reviews do not change the declaration's status


def next_status(
    current: Status, reviews: Iterable[Review], *, goods: bool, payment_due: bool
) -> Outcome:
    """Where the declaration goes now, given every agency's review of the current round.

    The transition is always one of `TRANSITIONS`, and its target is the table's: a combination
    of reviews that would move a declaration along a transition the table does not allow from
    `current` (a declaration that is not under review) is refused, not recorded."""
    transition = _transition(current, list(reviews), goods=goods, payment_due=payment_due)
    if transition is None:
        return Outcome(current, None)
    return Outcome(check(transition, current), transition)


def _transition(
    current: Status, reviews: list[Review], *, goods: bool, payment_due: bool
) -> str | None:
    if current in FINAL or current is Status.AWAITING_PAYMENT:
        return None
    if Review.REJECTED in reviews:
        return "reject"
    if Review.NEEDS_INFORMATION in reviews:
        return None if current is Status.NEEDS_INFORMATION else "request_information"
    if Review.INSPECTION in reviews:
        return None if current is Status.INSPECTION else "require_inspection"
    if reviews and all(r in DONE_REVIEWS for r in reviews):
        if not goods:
            return "approve"
        return "await_payment" if payment_due else "clear"
    if current is Status.INSPECTION:
        return "release"
    return None


DECISIONS = {
    "accept": Review.ACCEPTED,
    "reject": Review.REJECTED,
    "request_information": Review.NEEDS_INFORMATION,
    "require_inspection": Review.INSPECTION,
    "release": Review.RELEASED,
}


def review_after(current: Review, decision: str) -> Review:
    """An agency's review after its decision: release only follows an inspection; a decided
    review other than an inspection is final for this round."""
    target = DECISIONS[decision]
    if current in (Review.ACCEPTED, Review.REJECTED, Review.RELEASED, Review.NEEDS_INFORMATION):
        raise FailedPrecondition(
            "work.already_decided", f"this work item was already decided ({current})"
        )
    if target is Review.RELEASED and current is not Review.INSPECTION:
        raise FailedPrecondition(
            "work.release_without_inspection", "only goods held for inspection can be released"
        )
    if target is Review.INSPECTION and current is Review.INSPECTION:
        raise FailedPrecondition("work.already_inspecting", "inspection was already required")
    return target
