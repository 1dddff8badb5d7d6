"""A declaration's life, as named transitions between statuses (docs/DECLARATIONS.md).

    submit ──▶ submitted ──validate──▶ validated ──route──▶ under_review
    under_review ──request_information──▶ needs_information ──amend──▶ under_review
    under_review ──require_inspection──▶ inspection ──(release)──▶ under_review or onwards
    under_review / inspection ──reject──▶ rejected
    under_review / inspection ──accept_all──▶ cleared (goods, nothing to pay)
                                            ▶ awaiting_payment ──pay──▶ cleared (goods)
                                            ▶ approved (every other document)

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
TRANSITIONS: dict[str, tuple[frozenset[Status], Status | None]] = {
    # name: (from, to); None as `to` means "decided by the reviews" (accept_all)
    "validate": (frozenset({S.SUBMITTED}), S.VALIDATED),
    "route": (frozenset({S.VALIDATED}), S.UNDER_REVIEW),
    "request_information": (frozenset({S.UNDER_REVIEW, S.INSPECTION}), S.NEEDS_INFORMATION),
    "amend": (frozenset({S.NEEDS_INFORMATION}), S.UNDER_REVIEW),
    "require_inspection": (frozenset({S.UNDER_REVIEW}), S.INSPECTION),
    "release": (frozenset({S.INSPECTION}), S.UNDER_REVIEW),
    "reject": (frozenset({S.UNDER_REVIEW, S.INSPECTION, S.NEEDS_INFORMATION}), S.REJECTED),
    "clear": (frozenset({S.UNDER_REVIEW, S.INSPECTION, S.AWAITING_PAYMENT}), S.CLEARED),
    "await_payment": (frozenset({S.UNDER_REVIEW, S.INSPECTION}), S.AWAITING_PAYMENT),
    "approve": (frozenset({S.UNDER_REVIEW, S.INSPECTION}), S.APPROVED),
}


def check(transition: str, status: Status) -> Status:
    """The status `transition` leads to from `status`, or a refusal naming both."""
    sources, target = TRANSITIONS[transition]
    if status not in sources or target is None:
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
    """Where the declaration goes now, given every agency's review of the current round."""
    reviews = list(reviews)
    if current in FINAL or current is Status.AWAITING_PAYMENT:
        return Outcome(current, None)
    if Review.REJECTED in reviews:
        return Outcome(Status.REJECTED, "reject")
    if Review.NEEDS_INFORMATION in reviews:
        if current is Status.NEEDS_INFORMATION:
            return Outcome(current, None)
        return Outcome(Status.NEEDS_INFORMATION, "request_information")
    if Review.INSPECTION in reviews:
        if current is Status.INSPECTION:
            return Outcome(current, None)
        return Outcome(Status.INSPECTION, "require_inspection")
    if reviews and all(r in DONE_REVIEWS for r in reviews):
        if not goods:
            return Outcome(Status.APPROVED, "approve")
        if payment_due:
            return Outcome(Status.AWAITING_PAYMENT, "await_payment")
        return Outcome(Status.CLEARED, "clear")
    if current is Status.INSPECTION:
        return Outcome(Status.UNDER_REVIEW, "release")
    return Outcome(current, None)


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
