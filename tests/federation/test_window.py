"""The sending window alone (federation/window.py): framing, positional acks, resets, and what
each ack does to its message (docs/PROTOCOL.md §5.2, §5.3)."""

from __future__ import annotations

import pytest

from federation.window import AckMismatch, Outcome, Window, judge
from swf.v1 import envelope_pb2 as pb
from tests.federation.fake_link import Message


def messages(n: int, size: int = 4) -> list[Message]:
    return [Message(f"m{i}", bytes(size)) for i in range(n)]


def test_frames_hold_envelopes_in_claim_order_up_to_the_frame_size() -> None:
    window: Window[Message] = Window(10, frame_bytes=8)
    frames = window.send(messages(5))
    assert [[m.message_id for m in f.messages] for f in frames] == [
        ["m0", "m1"],
        ["m2", "m3"],
        ["m4"],
    ]
    assert frames[0].envelopes() == [bytes(4), bytes(4)]
    assert window.in_flight == 5
    assert window.room == 5


def test_an_envelope_larger_than_a_frame_goes_alone() -> None:
    window: Window[Message] = Window(10, frame_bytes=8)
    big = Message("big", bytes(20))
    frames = window.send([messages(1)[0], big, Message("m9", bytes(4))])
    assert [[m.message_id for m in f.messages] for f in frames] == [["m0"], ["big"], ["m9"]]


def test_acks_answer_the_oldest_frame_by_position() -> None:
    window: Window[Message] = Window(10, frame_bytes=8)
    window.send(messages(3))
    assert window.acked(2) == ["m0", "m1"]
    assert window.settle("m1") is not None
    assert window.settle("m0") is not None
    assert window.in_flight == 1
    assert window.acked(1) == ["m2"]


@pytest.mark.parametrize("count", [1, 3])
def test_an_ack_frame_of_the_wrong_size_breaks_the_stream(count: int) -> None:
    window: Window[Message] = Window(10, frame_bytes=8)
    window.send(messages(2))
    with pytest.raises(AckMismatch):
        window.acked(count)


def test_an_ack_frame_when_nothing_was_sent_breaks_the_stream() -> None:
    window: Window[Message] = Window(10, frame_bytes=8)
    with pytest.raises(AckMismatch):
        window.acked(0)


def test_a_reset_requeues_everything_in_flight_and_forgets_the_frames() -> None:
    window: Window[Message] = Window(3, frame_bytes=8)
    window.send(messages(3))
    assert window.room == 0
    window.acked(2)
    window.settle("m0")
    assert [m.message_id for m in window.reset()] == ["m1", "m2"]
    assert window.room == 3
    with pytest.raises(AckMismatch):
        window.acked(1)


def test_an_ack_for_a_message_no_longer_in_flight_is_ignored() -> None:
    window: Window[Message] = Window(3, frame_bytes=8)
    window.send(messages(1))
    ids = window.acked(1)
    window.reset()
    assert [window.settle(mid) for mid in ids] == [None]


def receipt(kind: pb.ReceiptKind.ValueType) -> pb.ReceiptBody:
    return pb.ReceiptBody(message_id="m0", issuer="CN", kind=kind)


@pytest.mark.parametrize(
    ("refusal", "body", "recipient", "outcome"),
    [
        (pb.Refusal(retryable=True), None, "CN", Outcome.FAILED),
        (pb.Refusal(retryable=False), None, "CN", Outcome.DEAD),
        (None, None, "CN", Outcome.FAILED),  # a receipt that failed its checks
        (None, receipt(pb.RECEIPT_KIND_DELIVERY), "CN", Outcome.DELIVERED),
        (None, receipt(pb.RECEIPT_KIND_DELIVERY), "SG", Outcome.ACKNOWLEDGED),
        (None, receipt(pb.RECEIPT_KIND_HOP), "SG", Outcome.ACKNOWLEDGED),
        (None, receipt(pb.RECEIPT_KIND_HOP), "CN", Outcome.ACKNOWLEDGED),
    ],
)
def test_what_an_ack_does_to_its_message(
    refusal: pb.Refusal | None, body: pb.ReceiptBody | None, recipient: str, outcome: Outcome
) -> None:
    assert judge(refusal=refusal, receipt=body, recipient=recipient, peer="CN") is outcome


def test_at_most_so_many_frames_unanswered_and_what_waits_goes_in_one_frame() -> None:
    window: Window[Message] = Window(100, frame_bytes=1_000, frames=2)
    window.send([Message("a", bytes(4))])
    window.send([Message("b", bytes(4))])
    assert window.room == 0  # two frames unanswered: nothing more is claimed
    assert window.acked(1) == ["a"]
    window.settle("a")
    assert window.room == 99
    (frame,) = window.send(messages(3))  # what queued meanwhile, together
    assert [m.message_id for m in frame.messages] == ["m0", "m1", "m2"]
