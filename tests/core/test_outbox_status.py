"""The message status machine: named transitions, none backwards."""

from __future__ import annotations

from core.outbox_status import TRANSITIONS, Event, Status, apply

ORDER = [Status.QUEUED, Status.SENT, Status.ACKNOWLEDGED, Status.DELIVERED]


def test_the_happy_path() -> None:
    s = Status.QUEUED
    for event in (Event.CLAIM, Event.HOP_RECEIPT, Event.DELIVERY_RECEIPT):
        nxt = apply(s, event)
        assert nxt is not None
        s = nxt
    assert s is Status.DELIVERED


def test_delivered_is_final() -> None:
    assert all(apply(Status.DELIVERED, e) is None for e in Event)


def test_late_events_never_move_a_message_back() -> None:
    assert apply(Status.ACKNOWLEDGED, Event.TRANSIENT_FAILURE) is None
    assert apply(Status.ACKNOWLEDGED, Event.CLAIM) is None
    assert apply(Status.DELIVERED, Event.HOP_RECEIPT) is None
    for event, (sources, target) in TRANSITIONS.items():
        if target in ORDER:
            for source in sources & set(ORDER):
                assert ORDER.index(target) >= ORDER.index(source), (event, source, target)


def test_failures_retry_and_dead_messages_can_be_redriven() -> None:
    assert apply(Status.SENT, Event.TRANSIENT_FAILURE) is Status.FAILED
    assert apply(Status.FAILED, Event.CLAIM) is Status.SENT
    assert apply(Status.SENT, Event.PERMANENT_FAILURE) is Status.DEAD
    assert apply(Status.QUEUED, Event.EXPIRE) is Status.DEAD
    assert apply(Status.DEAD, Event.REDRIVE) is Status.QUEUED
    # A delivery receipt that arrives after the message was given up on still counts.
    assert apply(Status.DEAD, Event.DELIVERY_RECEIPT) is Status.DELIVERED
