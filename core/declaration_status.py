"""A declaration's life, as named transitions between statuses (docs/DECLARATIONS.md).

    submit ──▶ submitted ──validate──▶ validated ──route──▶ under_review
    under_review ──request_information──▶ needs_information ──amend──▶ under_review
    under_review ──require_inspection──▶ inspection ──release──▶ under_review
    under_review / inspection / needs_information ──reject──▶ rejected
    under_review / inspection ──clear──▶ cleared (goods, nothing to pay)
    under_review / inspection ──await_payment──▶ awaiting_payment ──pay──▶ cleared (goods)
    under_review / inspection ──approve──▶ approved (every other document)

`TABLE` (core/states.py) is that diagram as data; `check` says where a named transition leads
from a status, or refuses it. `submit` creates a declaration and leads from no status, so it is
not in the table.

Each agency's review of one round has its own status; the declaration's status follows from
all of them (`next_status`): any rejection rejects it, any request for information waits for the
declarant, any inspection not yet released holds it, and only when every agency has accepted (or
released) does it go on. `REVIEWS` is what one agency's decision does to its review
(`review_after`), and `WORK` what a claim or a decision does to its work item (open → claimed →
decided); storage spells both in SQL from these enums.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from core.states import ForbiddenTransition, StateTable

__all__ = [
    "DECISIONS",
    "DONE_REVIEWS",
    "FINAL",
    "PENDING_REVIEWS",
    "REVIEWS",
    "TABLE",
    "TRANSITIONS",
    "WORK",
    "Outcome",
    "Review",
    "Status",
    "WorkStatus",
    "check",
    "next_status",
    "review_after",
    "work_after",
]


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


def _refusal(status: Status, transition: str, _: Status) -> ForbiddenTransition:
    return ForbiddenTransition(
        "declaration.bad_transition",
        f"a declaration that is {status} cannot {transition.replace('_', ' ')}",
        state=status,
        transition=transition,
    )


TABLE = StateTable("declaration", TRANSITIONS, FINAL, _refusal)


def check(transition: str, status: Status) -> Status:
    """The status `transition` leads to from `status`, or a refusal naming both."""
    return TABLE.check(status, transition)


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


R = Review
_UNDECIDED = frozenset({R.OPEN, R.CLAIMED, R.INSPECTION})
# An agency's decision: (the reviews it may follow, the review it leaves). Release only follows
# an inspection; a decided review other than an inspection is final for this round.
_DECISIONS: dict[str, tuple[frozenset[Review], Review]] = {
    "accept": (_UNDECIDED, R.ACCEPTED),
    "reject": (_UNDECIDED, R.REJECTED),
    "request_information": (_UNDECIDED, R.NEEDS_INFORMATION),
    "require_inspection": (frozenset({R.OPEN, R.CLAIMED}), R.INSPECTION),
    "release": (frozenset({R.INSPECTION}), R.RELEASED),
}


def _review_refusal(current: Review, decision: str, target: Review) -> ForbiddenTransition:
    if current in REVIEWS.terminal:
        return ForbiddenTransition(
            "work.already_decided",
            f"this work item was already decided ({current})",
            state=current,
            transition=decision,
        )
    if target is R.RELEASED:
        return ForbiddenTransition(
            "work.release_without_inspection",
            "only goods held for inspection can be released",
            state=current,
            transition=decision,
        )
    return ForbiddenTransition(
        "work.already_inspecting",
        "inspection was already required",
        state=current,
        transition=decision,
    )


REVIEWS = StateTable(
    "review",
    _DECISIONS,
    frozenset({R.ACCEPTED, R.REJECTED, R.RELEASED, R.NEEDS_INFORMATION}),
    _review_refusal,
)
DECISIONS = {decision: REVIEWS.target(decision) for decision in REVIEWS}


def review_after(current: Review, decision: str) -> Review:
    """An agency's review after its decision, or a refusal that says why not."""
    return REVIEWS.check(current, decision)


class WorkStatus(enum.StrEnum):
    """Where an agency's work item is: waiting, held by a user (also while its goods are
    inspected), or decided."""

    OPEN = "open"
    CLAIMED = "claimed"
    DECIDED = "decided"


W = WorkStatus


def _work_refusal(current: WorkStatus, transition: str, _: WorkStatus) -> ForbiddenTransition:
    # Only a decided item is left by nothing, and its review already refuses a second decision.
    return ForbiddenTransition(
        "work.already_decided",
        f"this work item was already decided ({current})",
        state=current,
        transition=transition,
    )


WORK = StateTable(
    "work item",
    {
        "claim": (frozenset({W.OPEN}), W.CLAIMED),
        "hold": (frozenset({W.OPEN, W.CLAIMED}), W.CLAIMED),
        "decide": (frozenset({W.OPEN, W.CLAIMED}), W.DECIDED),
    },
    frozenset({W.DECIDED}),
    _work_refusal,
)


def work_after(current: WorkStatus, review: Review) -> WorkStatus:
    """A work item's status once its review is `review`: an inspection holds it, any other
    decision decides it."""
    return WORK.check(current, "hold" if review is R.INSPECTION else "decide")
