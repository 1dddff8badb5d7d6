"""Per-peer delivery: one queue per destination, persisted backoff, many messages in flight.

Every next hop with work gets its own `PeerQueue` task. A queue opens one Exchange stream to its
peer, claims due messages from the outbox (oldest first, marking them sent by this replica),
writes them in frames while keeping up to `window` unanswered (renewing its claims on them
every third of the lease, so that only a dead replica's claims lapse), and applies each ack as
it returns: a receipt moves the message to acknowledged (or delivered, when the peer is its final
recipient); a refusal to failed (retry later) or dead (refused for good). When the stream breaks,
everything in flight goes back to failed, and the peer's failure count and retry time are stored
(core.backoff), so a restarted node, or another replica, waits as long as this one would have.
A peer that is down only stalls its own queue.

An idle node sleeps: nothing here runs on a short timer. A queue waits on its wake event, set
when a message for its peer is queued in this process (`Delivery.notify`), and otherwise by
`Delivery.run`, which sleeps until the earliest time anything in the outbox falls due (a retry,
a lapsing claim, an expiry; `OutboxStore.next_due`) or until it is told of work queued elsewhere:
PostgreSQL's NOTIFY from another replica, or `swnode send` calling the ops port's /wake on SQLite
(`Delivery.rescan`). A sweep every `sweep_s` catches whatever slipped past both. A stream with
nothing to carry closes after `idle_close_s`, and a peer with nothing queued is not dialled.

What is in flight, how acks match frames and what each ack does are decided by the pure
`window.Window` and `window.judge` (docs/PROTOCOL.md §5.2, §5.3); a queue does the I/O around
them: claims, writes, reads, storage, timers and backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from core import batch_signatures as batch
from core import receipts
from core.backoff import Backoff
from core.errors import SwnodeError
from core.grpc_status import from_rpc_error
from core.outbox_status import Event
from core.trust import TrustView
from federation.channels import PeerChannels, Route
from federation.tasks import Tasks
from federation.tracing import context_of, default_tracer, traceparent_of
from federation.window import AckMismatch, Outcome, Window, judge
from storage.database import Database
from storage.outbox import Change, Claimed
from swf.v1 import envelope_pb2 as pb

log = logging.getLogger("swnode.delivery")

__all__ = ["Answered", "Delivery", "DeliverySettings", "PeerQueue", "StreamBroken"]


@dataclass(frozen=True)
class DeliverySettings:
    window: int = 2048
    # Unanswered frames at most (window.Window): what arrives meanwhile goes in the next frame.
    frames_in_flight: int = 2
    claim_batch: int = 512
    frame_bytes: int = 1024 * 1024
    lease_ms: int = 60_000
    idle_close_s: float = 30.0
    ack_timeout_s: float = 60.0
    # The longest delivery sleeps with nothing due: a safety net, not how work is found.
    sweep_s: float = 60.0
    backoff: Backoff = field(default_factory=Backoff)


@dataclass(frozen=True)
class Answered:
    """What one frame of acks from `peer` did to the messages in flight."""

    peer: str
    delivered: list[str]
    acknowledged: list[str]
    failed: list[str]
    dead: list[str]


class StreamBroken(Exception):
    pass


class PeerQueue:
    def __init__(self, delivery: Delivery, peer: str) -> None:
        self.d = delivery
        self.peer = peer
        self.wake = asyncio.Event()
        self.wake.set()
        # What is in flight and which frames await their acks: pure logic (window.py); this
        # class does the I/O around it.
        self.window: Window[Claimed] = Window(
            delivery.settings.window,
            delivery.settings.frame_bytes,
            delivery.settings.frames_in_flight,
        )
        self.had_failures = True  # until a first success clears the stored state
        self.connected = False
        # Messages the outbox stored already claimed for this stream (`take`), to be sent
        # before anything claimed from storage.
        self._handed: list[Claimed] = []
        self._streaming = False
        # Whether storage may hold messages due for this peer that no claim has taken: set by
        # every notice of work (`Delivery.notify`), cleared by a claim that takes all there is;
        # a stream claims from storage only then, not after every ack.
        self.stored_work = True
        # The `swnode.send` span of each message in flight, ended by its ack or a reset.
        self._spans: dict[str, Span] = {}

    async def run(self) -> None:
        d = self.d
        while True:
            await self._wait_for_work()
            state = await d.db.outbox.peer_state(self.peer)
            wait_s = (state.retry_at_unix_ms - d.clock_ms()) / 1000
            if wait_s > 0:
                log.debug(
                    "%s: backing off %.1fs after %d failures", self.peer, wait_s, state.failures
                )
                await asyncio.sleep(wait_s)
            trust = d.trust()
            if not trust.valid(d.clock_ms()) or not trust.is_active(self.peer):
                continue  # woken again when the directory changes (Delivery.rescan)
            try:
                await self._session(trust)
            except (StreamBroken, grpc.aio.AioRpcError, SwnodeError) as exc:
                await self._broken(exc)
            finally:
                self.connected = False

    async def _wait_for_work(self, timeout_s: float | None = None) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), timeout_s)
        self.wake.clear()

    def room_to_take(self) -> int:
        """How many new messages this queue would take as they are stored (`take`): none
        unless its stream is open and storage holds nothing older for it, so that what is
        handed over does not overtake what waits there."""
        if not self._streaming or self.stored_work:
            return 0
        return max(0, self.window.size - self.window.in_flight - len(self._handed))

    def take(self, claimed: list[Claimed]) -> bool:
        """Messages stored already claimed for this stream; False when the stream closed
        meanwhile (the caller gives them back to storage's queue)."""
        if not self._streaming:
            return False
        self._handed.extend(claimed)
        self.wake.set()
        return True

    async def _session(self, trust: TrustView) -> None:
        d = self.d
        self.stored_work = True  # a new stream looks at storage first
        route = d.channels.route_to(trust, self.peer)
        call = d.channels.stub(route).Exchange(None)  # requests are written with call.write
        log.debug("%s: stream opened", self.peer)
        room = asyncio.Event()
        room.set()
        async with Tasks(f"delivery to {self.peer}") as session:
            session.start("renew-claims", self._renew_claims(), awaited=True)
            reader = session.start("read-acks", self._read(call, room), awaited=True)
            self._streaming = True
            try:
                await self._stream(call, room, reader, session, route)
            finally:
                self._streaming = False
                call.cancel()

    async def _stream(
        self,
        call: grpc.aio.StreamStreamCall[pb.EnvelopeFrame, pb.AckFrame],
        room: asyncio.Event,
        reader: asyncio.Task[None],
        session: Tasks,
        route: Route,
    ) -> None:
        d = self.d
        idle_since = asyncio.get_running_loop().time()
        while True:
            if reader.done():
                reader.result()  # raises if the stream broke
                raise StreamBroken("the peer closed the stream")
            if d.channels.route_to(d.trust(), self.peer) != route:
                # A stream outlives the directory it was opened under: once the peer's
                # address or listed certificate changes, nothing more goes down it.
                raise StreamBroken(f"the directory changed {self.peer}'s address or certificate")
            self.wake.clear()  # what is queued from here on wakes the waits below
            space = self.window.room
            claimed = self._handed[:space]
            del self._handed[: len(claimed)]
            limit = min(space - len(claimed), d.settings.claim_batch)
            if limit > 0 and self.stored_work:
                self.stored_work = False
                stored = await d.db.outbox.claim(
                    self.peer, d.replica, d.clock_ms(), limit, d.settings.lease_ms
                )
                self.stored_work = self.stored_work or len(stored) == limit
                claimed += stored
            if claimed:
                self.connected = True
                for frame in self.window.send(claimed):
                    envelopes = pb.EnvelopeFrame(
                        envelopes=frame.envelopes(),
                        traceparents=[self._send_span(m) for m in frame.messages],
                    )
                    await self._write(call, envelopes, reader, session)
                log.debug("%s: wrote %d", self.peer, len(claimed))
                idle_since = asyncio.get_running_loop().time()
                continue
            if not self.window.in_flight:
                idle_s = asyncio.get_running_loop().time() - idle_since
                if idle_s >= d.settings.idle_close_s:
                    await call.done_writing()
                    return
                await self._wait_for_work(d.settings.idle_close_s - idle_s)
            else:
                room.clear()
                if reader.done():
                    continue  # it ended while we were claiming; the loop top says why
                if not await self._wait_for_ack_or_work(room):
                    raise StreamBroken(
                        f"no answer from {self.peer} for {d.settings.ack_timeout_s:.0f}s"
                    )

    async def _wait_for_ack_or_work(self, room: asyncio.Event) -> bool:
        """Until an ack arrives or, while another frame may go out, new work is queued: a
        message queued while a frame is unanswered goes out at once in the next, rather than
        after that frame's ack. False when neither came within the ack timeout."""
        waits = {asyncio.ensure_future(room.wait())}
        if self.window.room > 0:
            waits.add(asyncio.ensure_future(self.wake.wait()))
        try:
            done, _ = await asyncio.wait(
                waits, timeout=self.d.settings.ack_timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for w in waits:
                w.cancel()
        return bool(done)

    def _send_span(self, claimed: Claimed) -> str:
        """Start `claimed`'s send span, child of the trace it was queued in; its traceparent
        goes beside the envelope in the frame (federation/tracing.py)."""
        span = self.d.tracer.start_span(
            "swnode.send",
            context=context_of(claimed.traceparent),
            kind=SpanKind.PRODUCER,
            attributes={
                "swnode.node": self.d.node_id,
                "swnode.message_id": claimed.message_id,
                "swnode.peer": self.peer,
                "swnode.recipient": claimed.recipient,
                "swnode.attempt": claimed.attempts,
            },
        )
        old = self._spans.pop(claimed.message_id, None)
        if old is not None:
            old.end()
        self._spans[claimed.message_id] = span
        self._log(
            logging.DEBUG, claimed.message_id, "%s: sending %s (attempt %d)", claimed.attempts
        )
        return traceparent_of(span) or claimed.traceparent

    def _log(self, level: int, message_id: str, text: str, *args: object) -> None:
        """Log about one message in flight, in its send span (its trace ids in the log)."""
        if not log.isEnabledFor(level):
            return
        span = self._spans.get(message_id)
        if span is None:
            log.log(level, text, self.peer, message_id, *args, extra={"message_id": message_id})
            return
        with trace.use_span(span, end_on_exit=False):
            log.log(level, text, self.peer, message_id, *args, extra={"message_id": message_id})

    def _end_span(self, message_id: str, outcome: str, error: str = "") -> None:
        span = self._spans.pop(message_id, None)
        if span is None:
            return
        span.set_attribute("swnode.outcome", outcome)
        if error:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end()

    async def _renew_claims(self) -> None:
        """While the stream is open, keep this replica's claims on what is in flight alive: only
        a replica that died lets its claims lapse for another to take over."""
        d = self.d
        every_s = d.settings.lease_ms / 3000
        while True:
            await asyncio.sleep(every_s)
            if self.window.in_flight:
                try:
                    await d.db.outbox.renew_claims(
                        self.peer, d.replica, d.clock_ms(), d.settings.lease_ms
                    )
                except Exception as exc:  # storage down: the stream fails on its own soon
                    log.warning("%s: could not renew claims: %s", self.peer, exc)

    @staticmethod
    async def _write(
        call: grpc.aio.StreamStreamCall[pb.EnvelopeFrame, pb.AckFrame],
        frame: pb.EnvelopeFrame,
        reader: asyncio.Task[None],
        session: Tasks,
    ) -> None:
        """Write a frame, unless the stream ends first: a write waiting for flow control on a
        connection that died is not always woken, but the reader always learns of the end (and
        then says why the stream ended; the failed write's own error is only a consequence)."""
        write = session.start("write", call.write(frame), awaited=True)
        await asyncio.wait({write, reader}, return_when=asyncio.FIRST_COMPLETED)
        if not write.done():
            write.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await write
        if reader.done():
            reader.result()  # raises why the stream ended
            raise StreamBroken("the stream ended")
        try:
            write.result()
        except asyncio.InvalidStateError:
            await reader  # the RPC ended: the reader holds the reason
            raise StreamBroken("the stream ended") from None

    async def _read(
        self, call: grpc.aio.StreamStreamCall[pb.EnvelopeFrame, pb.AckFrame], room: asyncio.Event
    ) -> None:
        try:
            async for ack_frame in call:
                log.debug("%s: %d acks", self.peer, len(ack_frame.acks))
                try:
                    ids = self.window.acked(len(ack_frame.acks))
                except AckMismatch:
                    raise StreamBroken(
                        f"{self.peer} answered with acks that match no frame sent"
                    ) from None
                await self._apply(ids, list(ack_frame.acks))
                room.set()
            log.debug("%s: stream ended by the peer", self.peer)
            if self.window.in_flight:
                raise StreamBroken("the peer ended the stream with messages unanswered")
        finally:
            room.set()  # wake the writer: it finds the stream over and why

    async def _apply(self, ids: list[str], acks: list[pb.Ack]) -> None:
        d = self.d
        now_ms = d.clock_ms()
        trust = d.trust()
        hop: list[Change] = []
        delivered: list[Change] = []
        transient: list[Change] = []
        permanent: list[Change] = []
        kept: list[tuple[str, str, str, bytes]] = []
        for message_id, ack in zip(ids, acks, strict=True):
            claimed = self.window.settle(message_id)
            if claimed is None:
                continue  # already given up on (the stream broke and was reopened)
            retry_at = now_ms + int(d.settings.backoff.delay_s(claimed.attempts, d.rand()) * 1000)
            refused = ack.refusal if ack.HasField("refusal") else None
            body: pb.ReceiptBody | None = None
            error = ""
            if refused is not None:
                error = f"{self.peer} refused: {refused.message} [{refused.reason}]"
            else:
                try:
                    body = await self._check_receipt(ack, claimed, trust)
                except SwnodeError as exc:
                    error = f"bad receipt from {self.peer}: {exc}"
            outcome = judge(
                refusal=refused, receipt=body, recipient=claimed.recipient, peer=self.peer
            )
            if outcome is Outcome.DEAD:
                self._log(logging.WARNING, message_id, "%s: %s is dead: %s", error)
            self._end_span(message_id, outcome.value, error)
            if outcome is Outcome.FAILED:
                transient.append(Change(message_id, error, retry_at))
            elif outcome is Outcome.DEAD:
                permanent.append(Change(message_id, error))
            else:
                final = outcome is Outcome.DELIVERED
                kind = "delivery" if final else "hop"
                kept.append((message_id, kind, self.peer, ack.receipt.SerializeToString()))
                (delivered if final else hop).append(Change(message_id))
        # Not waited for on disk: acks lost to a power cut leave their messages sent under a
        # lapsing claim, sent again, and answered with the same first receipts (§5.7).
        async with d.db.transaction(durable=False) as tx:
            await d.db.outbox.add_receipts_txn(tx, kept, now_ms)
            await d.db.outbox.transition_txn(tx, Event.HOP_RECEIPT, hop, now_ms)
            await d.db.outbox.transition_txn(tx, Event.DELIVERY_RECEIPT, delivered, now_ms)
            await d.db.outbox.transition_txn(
                tx, Event.TRANSIENT_FAILURE, transient, now_ms, claimed_by=d.replica
            )
            await d.db.outbox.transition_txn(
                tx, Event.PERMANENT_FAILURE, permanent, now_ms, claimed_by=d.replica
            )
        if kept and self.had_failures:
            await d.db.outbox.peer_succeeded(self.peer, now_ms)
            self.had_failures = False
        if transient:
            d.rescan()  # their retry time is now the earliest due, perhaps
        answered = Answered(
            peer=self.peer,
            delivered=[c.message_id for c in delivered],
            acknowledged=[c.message_id for c in hop],
            failed=[c.message_id for c in transient],
            dead=[c.message_id for c in permanent],
        )
        for listener in d.listeners:
            listener(answered)

    async def _check_receipt(
        self, ack: pb.Ack, claimed: Claimed, trust: TrustView
    ) -> pb.ReceiptBody:
        """The receipt is the peer's, for this message, and for a header it was sealed with:
        the current one, or (when the peer had it before a redrive) an earlier one."""
        body = receipts.verify(
            ack.receipt, trust.signing_key, self.d.cache, now_ms=self.d.clock_ms()
        )
        header_sha256 = claimed.header_sha256
        if body.header_sha256 != header_sha256 and body.message_id == claimed.message_id:
            earlier = await self.d.db.outbox.versions(claimed.message_id)
            if body.header_sha256 in earlier:
                header_sha256 = body.header_sha256
        receipts.check_for(
            body, message_id=claimed.message_id, header_sha256=header_sha256, issuer=self.peer
        )
        return body

    async def _broken(self, exc: BaseException) -> None:
        d = self.d
        if isinstance(exc, grpc.aio.AioRpcError):
            refused = d.channels.mismatch(self.peer, exc)
            error = str(refused or from_rpc_error(exc, default_reason="peer.unreachable"))
        else:
            error = str(exc)
        now_ms = d.clock_ms()
        # Read again: a success during the session (here or at another replica) reset it.
        failures = (await d.db.outbox.peer_state(self.peer)).failures + 1
        delay_s = d.settings.backoff.delay_s(failures, d.rand())
        retry_at = now_ms + int(delay_s * 1000)
        handed, self._handed = self._handed, []
        changes = [Change(c.message_id, error, retry_at) for c in self.window.reset() + handed]
        for change in changes:
            self._end_span(change.message_id, "failed", error)
        await d.db.outbox.transition(Event.TRANSIENT_FAILURE, changes, now_ms, claimed_by=d.replica)
        await d.db.outbox.set_peer_backoff(self.peer, failures, retry_at, error)
        self.had_failures = True
        d.rescan()
        if changes:
            self.wake.set()  # try again once the backoff has passed (run sleeps until then)
        log.warning("%s: delivery interrupted (%s); retrying in %.1fs", self.peer, error, delay_s)


class Delivery:
    def __init__(
        self,
        *,
        node_id: str,
        replica: str,
        db: Database,
        channels: PeerChannels,
        trust: Callable[[], TrustView],
        clock_ms: Callable[[], int],
        settings: DeliverySettings = DeliverySettings(),
        rand: Callable[[], float] = random.random,
        tracer: Tracer | None = None,
    ) -> None:
        self.node_id = node_id
        self.replica = replica
        self.tracer = tracer or default_tracer()
        self.db = db
        self.channels = channels
        self.trust = trust
        self.clock_ms = clock_ms
        self.settings = settings
        self.rand = rand
        self.listeners: list[Callable[[Answered], None]] = []
        self.cache = batch.RootCache()
        self.queues: dict[str, PeerQueue] = {}
        self._tasks = Tasks("delivery")
        self._rescan = asyncio.Event()
        # Told whenever the outbox may have moved (the backlog metrics refresh on it).
        self.moved: list[Callable[[], None]] = []

    def notify(self, peer: str) -> None:
        for moved in self.moved:
            moved()
        queue = self.queues.get(peer)
        if queue is not None:
            queue.stored_work = True
            queue.wake.set()
        elif not self._tasks.closed:
            queue = self.queues[peer] = PeerQueue(self, peer)
            self._tasks.supervise(f"deliver-{peer}", queue.run)

    @property
    def lease_ms(self) -> int:
        return self.settings.lease_ms

    def room_to_take(self, peer: str) -> int:
        """How many messages for `peer` its open stream would take as they are stored, already
        claimed (federation/outbox.py); 0 when none, or no stream is open."""
        queue = self.queues.get(peer)
        return 0 if queue is None else queue.room_to_take()

    def take(self, peer: str, claimed: list[Claimed]) -> bool:
        """Hand messages just stored claimed by this replica to `peer`'s stream; False when it
        closed meanwhile, and they must go back to the queue in storage."""
        for moved in self.moved:
            moved()
        queue = self.queues.get(peer)
        return queue is not None and queue.take(claimed)

    def rescan(self) -> None:
        """Look at the outbox again now: work was queued by another process or replica, a
        retry time moved, or the directory changed."""
        for moved in self.moved:
            moved()
        self._rescan.set()

    async def run(self) -> None:
        """Wake the queues of peers with work due (queued by other processes or replicas too),
        expire what is past its time, and sleep until the next thing falls due."""
        while True:
            self._rescan.clear()
            wait_s = self.settings.sweep_s
            try:
                now_ms = self.clock_ms()
                expired = await self.db.outbox.expire(now_ms)
                if expired:
                    log.warning("%d messages expired before delivery: status dead", expired)
                for peer in await self.db.outbox.peers_with_work(now_ms):
                    self.notify(peer)
                due = await self.db.outbox.next_due(now_ms)
                if due is not None:
                    wait_s = min(wait_s, max(0.0, (due - self.clock_ms()) / 1000))
            except Exception:
                log.exception("delivery scan failed")
            # Jittered a little, so that replicas do not scan in lockstep.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._rescan.wait(), wait_s * (1 + self.rand() / 50))

    async def stop(self) -> None:
        await self._tasks.close()
