"""The certificate state machine: what each end may do, and catching up with the other end."""

from __future__ import annotations

import pytest

from core.certificate_status import TRANSITIONS, Status, apply, catch_up
from core.errors import FailedPrecondition

S = Status


def test_the_happy_path_at_both_ends() -> None:
    s = S.PENDING_DELIVERY
    for transition in ("deliver", "accept", "use"):
        s = apply(s, transition)
    assert s is S.USED


@pytest.mark.parametrize("gone", [S.REPLACED, S.CANCELLED])
@pytest.mark.parametrize("transition", ["accept", "use", "reject"])
def test_a_replaced_or_cancelled_certificate_is_not_usable(gone: Status, transition: str) -> None:
    with pytest.raises(FailedPrecondition) as refused:
        apply(gone, transition)
    assert refused.value.reason == "certificate.not_usable"


def test_a_used_certificate_cannot_be_replaced_or_cancelled() -> None:
    for transition in ("replace", "cancel"):
        with pytest.raises(FailedPrecondition) as refused:
            apply(S.USED, transition)
        assert refused.value.reason == "certificate.bad_transition"


def test_decisions_need_a_delivered_certificate() -> None:
    with pytest.raises(FailedPrecondition):
        apply(S.PENDING_DELIVERY, "accept")
    assert apply(S.DELIVERY_FAILED, "retry") is S.PENDING_DELIVERY
    assert apply(S.DELIVERY_FAILED, "deliver") is S.DELIVERED


def test_an_answer_that_overtakes_the_delivery_receipt_is_caught_up() -> None:
    assert catch_up(S.PENDING_DELIVERY, S.ACCEPTED) == ["deliver", "accept"]
    assert catch_up(S.DELIVERED, S.USED) == ["use"]
    assert catch_up(S.ACCEPTED, S.ACCEPTED) == []
    assert catch_up(S.PENDING_DELIVERY, S.CANCELLED) == ["cancel"]


def test_every_status_is_reachable() -> None:
    reached = {S.PENDING_DELIVERY} | {target for _, target in TRANSITIONS.values()}
    assert reached == set(S)
