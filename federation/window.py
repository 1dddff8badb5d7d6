"""The sender's window on an Exchange stream, as pure logic: events in, decisions out.

`Window` knows which messages are in flight and which frames await their `AckFrame`
(docs/PROTOCOL.md §5.2, §5.3). It does no I/O and reads no clock: `PeerQueue` (delivery.py)
claims messages, writes frames and reads acks, and tells the window what happened:

- `send(claimed)`: messages were claimed for the stream; the frames to write, in order (§5.2).
- `acked(count)`: an `AckFrame` arrived; the message each ack answers, by position, or
  `AckMismatch` if it answers no frame sent (§5.2).
- `settle(message_id)`: an ack is applied; the message leaves the window (None: the ack is
  ignored).
- `reset()`: the link reset, or no ack came in time; the messages to requeue
  (`transient_failure`, §5.3).

A frame counts as sent from the moment `send` hands it out: its `AckFrame` may arrive before its
write returns. What an ack does to its message (§5.3's table) is `judge`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Generic, Protocol, TypeVar

from swf.v1 import envelope_pb2 as pb

__all__ = ["AckMismatch", "Frame", "Outcome", "Outgoing", "Window", "judge"]


class Outgoing(Protocol):
    """A message claimed for sending: its id and its envelope's bytes."""

    @property
    def message_id(self) -> str: ...

    @property
    def envelope(self) -> bytes: ...


T = TypeVar("T", bound=Outgoing)


class AckMismatch(Exception):
    """An `AckFrame` that answers no frame sent: the stream is broken (§5.2)."""


@dataclass(frozen=True)
class Frame(Generic[T]):
    messages: list[T]

    def envelopes(self) -> list[bytes]:
        return [m.envelope for m in self.messages]


class Window(Generic[T]):
    """At most `size` messages in flight, packed into frames of up to `frame_bytes`, in at most
    `frames` unanswered frames: while that many await their acks, what is queued meanwhile waits
    and goes in one frame with the rest, so that a steady trickle of messages is not sent as a
    stream of one-message frames, each costing the peer a commit and a signature."""

    def __init__(self, size: int, frame_bytes: int, frames: int = 0) -> None:
        self.size = size
        self.frame_bytes = frame_bytes
        self.frames = frames  # 0: no bound
        self._in_flight: dict[str, T] = {}
        # The message ids of each frame sent and not yet answered, oldest first: the peer
        # answers each frame with one AckFrame, in the order sent (§5.2).
        self._frames: deque[list[str]] = deque()

    @property
    def room(self) -> int:
        """How many more messages may be sent before an ack makes room."""
        if self.frames and len(self._frames) >= self.frames:
            return 0
        return self.size - len(self._in_flight)

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def send(self, claimed: Sequence[T]) -> list[Frame[T]]:
        """Event: `claimed` taken for this stream. Decision: the frames to write, in order.

        Envelopes go into frames in the order claimed, up to `frame_bytes` of envelope bytes a
        frame, or one envelope alone when it is larger (§5.2)."""
        frames: list[Frame[T]] = []
        current: list[T] = []
        size = 0
        for message in claimed:
            self._in_flight[message.message_id] = message
            if size and size + len(message.envelope) > self.frame_bytes:
                frames.append(Frame(current))
                current, size = [], 0
            current.append(message)
            size += len(message.envelope)
        if size:
            frames.append(Frame(current))
        for frame in frames:
            self._frames.append([m.message_id for m in frame.messages])
        return frames

    def acked(self, count: int) -> list[str]:
        """Event: an `AckFrame` of `count` acks. Decision: the message each ack answers, by
        position in the oldest unanswered frame (§5.2). Raises `AckMismatch` for an AckFrame
        that matches no frame sent."""
        if not self._frames or len(self._frames[0]) != count:
            raise AckMismatch("acks that match no frame sent")
        return self._frames.popleft()

    def settle(self, message_id: str) -> T | None:
        """Event: the ack for `message_id` is being applied. Decision: the message it settles,
        which leaves the window; None when it is no longer in flight, and the ack is ignored
        (§5.3)."""
        return self._in_flight.pop(message_id, None)

    def reset(self) -> list[T]:
        """Event: the stream ended, failed, or went unanswered too long. Decision: everything in
        flight goes back to be sent again; the unanswered frames are forgotten (§5.3)."""
        requeue = list(self._in_flight.values())
        self._in_flight.clear()
        self._frames.clear()
        return requeue


class Outcome(Enum):
    """What an ack moves its message to (§5.3, §5.4)."""

    DELIVERED = "delivered"  # delivery_receipt
    ACKNOWLEDGED = "acknowledged"  # hop_receipt
    FAILED = "failed"  # transient_failure: retry after a backoff
    DEAD = "dead"  # permanent_failure


def judge(
    *, refusal: pb.Refusal | None, receipt: pb.ReceiptBody | None, recipient: str, peer: str
) -> Outcome:
    """§5.3's table: a refusal by its `retryable`; a receipt that verified (`receipt`, None when
    it failed §4.4) by its kind and whether `peer` is the message's `recipient`."""
    if refusal is not None:
        return Outcome.FAILED if refusal.retryable else Outcome.DEAD
    if receipt is None:
        return Outcome.FAILED
    if receipt.kind == pb.RECEIPT_KIND_DELIVERY and recipient == peer:
        return Outcome.DELIVERED
    return Outcome.ACKNOWLEDGED
