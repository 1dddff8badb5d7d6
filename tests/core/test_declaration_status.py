"""A declaration's state machine (core/declaration_status.py): which named transition leads where
from which status, where a round of agency reviews takes the declaration, and what each agency
decision does to its own review. The expectations are written out from docs/DECLARATIONS.md, not
read from the table, so that a change to the table shows up here."""

from __future__ import annotations

import itertools

import pytest

from core.declaration_status import (
    FINAL,
    TRANSITIONS,
    Outcome,
    Review,
    Status,
    check,
    next_status,
    review_after,
)
from core.errors import FailedPrecondition

S, R = Status, Review

# Every named transition and, for each status it may leave, the status it leads to.
ALLOWED: dict[str, dict[Status, Status]] = {
    "validate": {S.SUBMITTED: S.VALIDATED},
    "route": {S.VALIDATED: S.UNDER_REVIEW},
    "request_information": {
        S.UNDER_REVIEW: S.NEEDS_INFORMATION,
        S.INSPECTION: S.NEEDS_INFORMATION,
    },
    "amend": {S.NEEDS_INFORMATION: S.UNDER_REVIEW},
    "require_inspection": {S.UNDER_REVIEW: S.INSPECTION},
    "release": {S.INSPECTION: S.UNDER_REVIEW},
    "reject": {
        S.UNDER_REVIEW: S.REJECTED,
        S.INSPECTION: S.REJECTED,
        S.NEEDS_INFORMATION: S.REJECTED,
    },
    "clear": {S.UNDER_REVIEW: S.CLEARED, S.INSPECTION: S.CLEARED},
    "await_payment": {S.UNDER_REVIEW: S.AWAITING_PAYMENT, S.INSPECTION: S.AWAITING_PAYMENT},
    "pay": {S.AWAITING_PAYMENT: S.CLEARED},
    "approve": {S.UNDER_REVIEW: S.APPROVED, S.INSPECTION: S.APPROVED},
}

# The transitions services/declarations.py and services/agency_work.py record besides those of
# `next_status`.
RECORDED_BY_THE_SERVICE = {"validate", "route", "amend", "pay"}


def test_the_table_names_exactly_the_documented_transitions() -> None:
    assert set(TRANSITIONS) == set(ALLOWED)


@pytest.mark.parametrize(
    ("transition", "status"), list(itertools.product(sorted(ALLOWED), list(Status)))
)
def test_every_transition_from_every_status(transition: str, status: Status) -> None:
    target = ALLOWED[transition].get(status)
    if target is not None:
        assert check(transition, status) is target
        return
    with pytest.raises(FailedPrecondition) as refused:
        check(transition, status)
    assert refused.value.reason == "declaration.bad_transition"
    assert refused.value.message == (
        f"a declaration that is {status.value} cannot {transition.replace('_', ' ')}"
    )


def test_a_payment_is_the_only_way_out_of_awaiting_payment() -> None:
    assert check("pay", S.AWAITING_PAYMENT) is S.CLEARED
    leaving = [t for t in ALLOWED if S.AWAITING_PAYMENT in TRANSITIONS[t][0]]
    assert leaving == ["pay"]


def test_nothing_leaves_a_final_status_and_every_status_is_reached() -> None:
    assert {S.CLEARED, S.APPROVED, S.REJECTED} == FINAL
    for sources, _ in TRANSITIONS.values():
        assert not sources & FINAL
    reached = {S.SUBMITTED} | {target for _, target in TRANSITIONS.values()}
    assert reached == set(Status)


GOODS = {"goods": True, "payment_due": False}
GOODS_TO_PAY = {"goods": True, "payment_due": True}
OTHER = {"goods": False, "payment_due": False}


@pytest.mark.parametrize(
    ("current", "reviews", "kind", "expected"),
    [
        # Every agency done: what comes next depends on the document.
        (S.UNDER_REVIEW, [R.ACCEPTED, R.ACCEPTED], GOODS, Outcome(S.CLEARED, "clear")),
        (S.UNDER_REVIEW, [R.ACCEPTED], GOODS_TO_PAY, Outcome(S.AWAITING_PAYMENT, "await_payment")),
        (S.UNDER_REVIEW, [R.ACCEPTED], OTHER, Outcome(S.APPROVED, "approve")),
        (
            S.UNDER_REVIEW,
            [R.ACCEPTED],
            {"goods": False, "payment_due": True},
            Outcome(S.APPROVED, "approve"),
        ),
        (S.INSPECTION, [R.RELEASED, R.ACCEPTED], GOODS, Outcome(S.CLEARED, "clear")),
        (S.INSPECTION, [R.RELEASED], GOODS_TO_PAY, Outcome(S.AWAITING_PAYMENT, "await_payment")),
        # Some agency not done yet: nothing moves.
        (S.UNDER_REVIEW, [R.ACCEPTED, R.OPEN], GOODS, Outcome(S.UNDER_REVIEW, None)),
        (S.UNDER_REVIEW, [R.CLAIMED, R.ACCEPTED], OTHER, Outcome(S.UNDER_REVIEW, None)),
        (S.UNDER_REVIEW, [], GOODS, Outcome(S.UNDER_REVIEW, None)),
        # One rejection rejects, whatever the others said.
        (S.UNDER_REVIEW, [R.ACCEPTED, R.REJECTED], GOODS, Outcome(S.REJECTED, "reject")),
        (
            S.UNDER_REVIEW,
            [R.INSPECTION, R.NEEDS_INFORMATION, R.REJECTED],
            GOODS,
            Outcome(S.REJECTED, "reject"),
        ),
        (S.INSPECTION, [R.INSPECTION, R.REJECTED], GOODS, Outcome(S.REJECTED, "reject")),
        (
            S.NEEDS_INFORMATION,
            [R.NEEDS_INFORMATION, R.REJECTED],
            OTHER,
            Outcome(S.REJECTED, "reject"),
        ),
        # A request for information waits for the declarant, and comes before an inspection.
        (
            S.UNDER_REVIEW,
            [R.ACCEPTED, R.NEEDS_INFORMATION],
            GOODS,
            Outcome(S.NEEDS_INFORMATION, "request_information"),
        ),
        (
            S.INSPECTION,
            [R.INSPECTION, R.NEEDS_INFORMATION],
            GOODS,
            Outcome(S.NEEDS_INFORMATION, "request_information"),
        ),
        (
            S.NEEDS_INFORMATION,
            [R.NEEDS_INFORMATION, R.ACCEPTED],
            GOODS,
            Outcome(S.NEEDS_INFORMATION, None),
        ),
        # An inspection holds the declaration until it is released.
        (
            S.UNDER_REVIEW,
            [R.INSPECTION, R.OPEN],
            GOODS,
            Outcome(S.INSPECTION, "require_inspection"),
        ),
        (S.INSPECTION, [R.INSPECTION, R.ACCEPTED], GOODS, Outcome(S.INSPECTION, None)),
        (S.INSPECTION, [R.RELEASED, R.CLAIMED], GOODS, Outcome(S.UNDER_REVIEW, "release")),
        # A final status, or one waiting for payment, is not moved by reviews.
        (S.CLEARED, [R.REJECTED], GOODS, Outcome(S.CLEARED, None)),
        (S.REJECTED, [R.ACCEPTED], OTHER, Outcome(S.REJECTED, None)),
        (S.APPROVED, [R.NEEDS_INFORMATION], OTHER, Outcome(S.APPROVED, None)),
        (S.AWAITING_PAYMENT, [R.REJECTED], GOODS_TO_PAY, Outcome(S.AWAITING_PAYMENT, None)),
    ],
)
def test_next_status(
    current: Status, reviews: list[Review], kind: dict[str, bool], expected: Outcome
) -> None:
    assert next_status(current, iter(reviews), **kind) == expected


@pytest.mark.parametrize(
    ("current", "reviews"),
    [
        (S.SUBMITTED, [R.ACCEPTED]),
        (S.VALIDATED, [R.REJECTED]),
        (S.NEEDS_INFORMATION, [R.ACCEPTED]),
        (S.NEEDS_INFORMATION, [R.INSPECTION]),
    ],
)
def test_reviews_cannot_move_a_declaration_the_table_does_not_let_them(
    current: Status, reviews: list[Review]
) -> None:
    with pytest.raises(FailedPrecondition) as refused:
        next_status(current, reviews, goods=True, payment_due=False)
    assert refused.value.reason == "declaration.bad_transition"


@pytest.mark.parametrize("current", [S.UNDER_REVIEW, S.INSPECTION, S.NEEDS_INFORMATION])
def test_any_round_of_reviews_the_service_can_hold_moves_by_the_table(current: Status) -> None:
    """Under review or inspection, any reviews; waiting for information, any reviews that still
    include the request (it is final for its round): never refused, always a named transition
    to the table's target, or no move."""
    for n in range(1, 4):
        for reviews in itertools.combinations_with_replacement(list(Review), n):
            if current is S.NEEDS_INFORMATION and R.NEEDS_INFORMATION not in reviews:
                continue
            for goods, payment_due in itertools.product([True, False], repeat=2):
                outcome = next_status(current, reviews, goods=goods, payment_due=payment_due)
                if outcome.transition is None:
                    assert outcome.status is current
                else:
                    assert ALLOWED[outcome.transition][current] is outcome.status


def test_the_service_records_only_transitions_of_the_table() -> None:
    produced = set()
    for current in (S.UNDER_REVIEW, S.INSPECTION):
        for n in range(1, 3):
            for reviews in itertools.combinations_with_replacement(list(Review), n):
                for goods, due in itertools.product([True, False], repeat=2):
                    produced.add(next_status(current, reviews, goods=goods, payment_due=due))
    names = {o.transition for o in produced} - {None}
    assert names | RECORDED_BY_THE_SERVICE == set(TRANSITIONS)


# What each decision does to an agency's review, from each review status. A string is the
# reason code of the refusal.
DECIDED = "work.already_decided"
REVIEWS_AFTER: dict[Review, dict[str, Review | str]] = {
    R.OPEN: {
        "accept": R.ACCEPTED,
        "reject": R.REJECTED,
        "request_information": R.NEEDS_INFORMATION,
        "require_inspection": R.INSPECTION,
        "release": "work.release_without_inspection",
    },
    R.CLAIMED: {
        "accept": R.ACCEPTED,
        "reject": R.REJECTED,
        "request_information": R.NEEDS_INFORMATION,
        "require_inspection": R.INSPECTION,
        "release": "work.release_without_inspection",
    },
    R.INSPECTION: {
        "accept": R.ACCEPTED,
        "reject": R.REJECTED,
        "request_information": R.NEEDS_INFORMATION,
        "require_inspection": "work.already_inspecting",
        "release": R.RELEASED,
    },
    **{
        done: dict.fromkeys(
            ("accept", "reject", "request_information", "require_inspection", "release"), DECIDED
        )
        for done in (R.ACCEPTED, R.REJECTED, R.RELEASED, R.NEEDS_INFORMATION)
    },
}


@pytest.mark.parametrize(
    ("current", "decision"),
    [(current, decision) for current, row in REVIEWS_AFTER.items() for decision in row],
)
def test_review_after_every_decision_from_every_review(current: Review, decision: str) -> None:
    expected = REVIEWS_AFTER[current][decision]
    if isinstance(expected, Review):
        assert review_after(current, decision) is expected
        return
    with pytest.raises(FailedPrecondition) as refused:
        review_after(current, decision)
    assert refused.value.reason == expected


def test_review_after_covers_every_review_status() -> None:
    assert set(REVIEWS_AFTER) == set(Review)
