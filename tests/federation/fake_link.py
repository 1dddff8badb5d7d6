"""A fake Exchange link between a sender and a receiver, built from the pure exchange logic.

The sender is `federation.window.Window` with a toy outbox around it; the receiver decides with
`federation.inbound_plan.plan` over a toy inbox. Between them, the link carries frames one way
and ack frames the other, and can drop, duplicate, delay (reorder) and reset. Nothing here opens
a socket, a database or a clock: a run is a deterministic function of its fault schedule.

A receipt here is the message id it is for; the sender's receipt check (§4.4 step 5) is that
this id is the one the ack's position says.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from enum import Enum

from federation.inbound_plan import Duplicate, Facts, Key, Store, plan
from federation.window import AckMismatch, Outcome, Window, judge
from swf.v1 import envelope_pb2 as pb

SENDER, RECEIVER = "CN-GD", "CN-SH"
BACKOFF_CAP = 32  # ticks; a failed message waits 2^attempts ticks, at most this (§5.3)


@dataclass(frozen=True)
class Message:
    message_id: str
    envelope: bytes


class Fault(Enum):
    DROP_FRAME = "drop a frame"
    DROP_ACK = "drop an ack frame"
    DUPLICATE_FRAME = "duplicate a frame"
    DELAY_FRAME = "delay a frame behind the next"
    DELAY_ACK = "delay an ack frame behind the next"
    RESET = "reset the link"


@dataclass
class Receiver:
    """Stores each message once and answers every frame with one ack frame, in order (§5.2)."""

    first_receipt: dict[Key, bytes] = field(default_factory=dict)
    stored: Counter[str] = field(default_factory=Counter)

    def answer(self, frame: list[Message]) -> list[str]:
        headers: dict[Key, pb.Header] = {}
        for m in frame:
            headers.setdefault((SENDER, m.message_id), header(m.message_id))
        decisions = plan(
            headers,
            Facts(seen=dict(self.first_receipt), taken={}),
            node_id=RECEIVER,
            previous_hop=SENDER,
        )
        for key, decision in decisions.items():
            if isinstance(decision, Store):
                self.first_receipt[key] = key[1].encode()
                self.stored[key[1]] += 1
            else:
                assert isinstance(decision, Duplicate), decision
        return [self.first_receipt[(SENDER, m.message_id)].decode() for m in frame]


@dataclass
class Sender:
    """A window and a toy outbox: `pending` waits to be claimed, each message from the tick
    it names (a retry waits a backoff, §5.3); `delivered` counts each DELIVERED outcome, so a
    message settled twice would show."""

    window: Window[Message]
    pending: list[tuple[int, Message]]
    delivered: Counter[str] = field(default_factory=Counter)
    retried: int = 0
    resets: int = 0
    now: int = 0
    attempts: Counter[str] = field(default_factory=Counter)

    def claim(self, batch: int) -> list[Message]:
        """Due messages, oldest first, as many as the window has room for."""
        due = [p for p in self.pending if p[0] <= self.now][: min(self.window.room, batch)]
        for p in due:
            self.pending.remove(p)
            self.attempts[p[1].message_id] += 1
        return [m for _, m in due]

    def retry(self, message: Message) -> None:
        """Back to pending, due after a backoff that grows with its attempts: as in a real
        node, a link that keeps failing a message makes it wait, so the stream drains, and
        a stream out of step (acks shifted by a lost or extra ack frame) is found broken."""
        wait = min(BACKOFF_CAP, 2 ** self.attempts[message.message_id])
        self.pending.append((self.now + wait, message))

    def on_acks(self, acks: list[str]) -> bool:
        """Apply one ack frame; False when it broke the stream."""
        try:
            ids = self.window.acked(len(acks))
        except AckMismatch:
            return False
        for message_id, receipt_for in zip(ids, acks, strict=True):
            message = self.window.settle(message_id)
            if message is None:
                continue
            body = receipt_body(receipt_for) if receipt_for == message_id else None
            outcome = judge(refusal=None, receipt=body, recipient=RECEIVER, peer=RECEIVER)
            if outcome is Outcome.DELIVERED:
                self.delivered[message_id] += 1
            else:
                assert outcome is Outcome.FAILED, outcome
                self.retried += 1
                self.retry(message)
        return True

    def reset(self) -> None:
        self.resets += 1
        for message in self.window.reset():
            self.retry(message)


@dataclass
class Link:
    """One stream at a time; a reset (or a broken stream) loses what is in transit both ways."""

    sender: Sender
    receiver: Receiver
    frames: deque[list[Message]] = field(default_factory=deque)
    acks: deque[list[str]] = field(default_factory=deque)
    batch: int = 4

    def apply(self, fault: Fault) -> None:
        if fault is Fault.DROP_FRAME and self.frames:
            self.frames.popleft()
        elif fault is Fault.DROP_ACK and self.acks:
            self.acks.popleft()
        elif fault is Fault.DUPLICATE_FRAME and self.frames:
            self.frames.appendleft(list(self.frames[0]))
        elif fault is Fault.DELAY_FRAME and len(self.frames) > 1:
            self.frames[0], self.frames[1] = self.frames[1], self.frames[0]
        elif fault is Fault.DELAY_ACK and len(self.acks) > 1:
            self.acks[0], self.acks[1] = self.acks[1], self.acks[0]
        elif fault is Fault.RESET:
            self.broken()

    def broken(self) -> None:
        self.frames.clear()
        self.acks.clear()
        self.sender.reset()

    def step(self, n: int) -> None:
        """One tick: the sender applies the oldest ack frame (every other tick, so that acks
        queue up too), the receiver answers the oldest frame, and the sender sends what the
        window allows. With nothing in transit and messages in flight, the ack timer fires
        (§5.3)."""
        self.sender.now = n
        if n % 2 and self.acks and not self.sender.on_acks(self.acks.popleft()):
            self.broken()
        if self.frames:
            self.acks.append(self.receiver.answer(self.frames.popleft()))
        for frame in self.sender.window.send(self.sender.claim(self.batch)):
            self.frames.append(frame.messages)
        if not self.frames and not self.acks and self.sender.window.in_flight:
            self.broken()

    def done(self) -> bool:
        return not self.sender.pending and not self.sender.window.in_flight


def header(message_id: str) -> pb.Header:
    return pb.Header(message_id=message_id, sender=SENDER, recipient=RECEIVER)


def receipt_body(message_id: str) -> pb.ReceiptBody:
    return pb.ReceiptBody(message_id=message_id, issuer=RECEIVER, kind=pb.RECEIPT_KIND_DELIVERY)


def network(count: int, *, window: int = 6, frame_bytes: int = 16) -> Link:
    """`count` messages of 8 bytes each (two to a frame) behind a window of `window`."""
    messages = [Message(f"m{i:03}", f"env-{i:04}".encode()) for i in range(count)]
    sender = Sender(Window(window, frame_bytes), [(0, m) for m in messages])
    return Link(sender, Receiver())


def run(link: Link, schedule: dict[int, list[Fault]], max_steps: int = 10_000) -> int:
    """Run until every message is settled, applying `schedule[step]` before each step; the
    number of steps taken. After each step: no message is settled as delivered that the
    receiver has not stored."""
    for step in range(max_steps):
        if link.done():
            return step
        for fault in schedule.get(step, []):
            link.apply(fault)
        link.step(step)
        # Never settled as delivered before the receiver really stored it.
        assert set(link.sender.delivered) <= set(link.receiver.stored)
    raise AssertionError(f"not settled after {max_steps} steps")
