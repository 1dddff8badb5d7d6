"""Per-peer delivery: one queue per destination, persisted backoff, many messages in flight.

Every next hop with work gets its own `PeerQueue` task. A queue opens one Exchange stream to its
peer, claims due messages from the outbox (oldest first, marking them sent by this replica),
writes them in frames while keeping up to `window` unanswered, and applies each ack as it
returns: a receipt moves the message to acknowledged (or delivered, when the peer is its final
recipient); a refusal to failed (retry later) or dead (refused for good). When the stream breaks,
everything in flight goes back to failed, and the peer's failure count and retry time are stored
(core.backoff), so a restarted node, or another replica, waits as long as this one would have.
A peer that is down only stalls its own queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from core import batch, receipts
from core.backoff import Backoff
from core.delivery import Event
from core.errors import SwnodeError
from core.grpc_status import from_rpc_error
from core.trust import TrustView
from federation.channels import PeerChannels
from storage.database import Database
from storage.outbox import Change, Claimed
from swf.v1 import envelope_pb2 as pb

log = logging.getLogger("swnode.delivery")


@dataclass(frozen=True)
class DeliverySettings:
    window: int = 2048
    claim_batch: int = 512
    frame_bytes: int = 1024 * 1024
    lease_ms: int = 60_000
    idle_close_s: float = 30.0
    ack_timeout_s: float = 60.0
    poll_s: float = 0.5
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
        self.in_flight: dict[str, Claimed] = {}
        self.had_failures = True  # until a first success clears the stored state
        self.connected = False

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
                await asyncio.sleep(d.settings.poll_s)
                continue
            try:
                await self._session(trust)
            except (StreamBroken, grpc.aio.AioRpcError, SwnodeError) as exc:
                await self._broken(exc, state.failures)
            finally:
                self.connected = False

    async def _wait_for_work(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), self.d.settings.poll_s)
        self.wake.clear()

    async def _session(self, trust: TrustView) -> None:
        d = self.d
        stub = d.channels.stub(d.channels.route_to(trust, self.peer))
        call = stub.Exchange(None)  # requests are written with call.write
        room = asyncio.Event()
        room.set()
        reader = asyncio.create_task(self._read(call, room))
        idle_since = asyncio.get_running_loop().time()
        try:
            while True:
                if reader.done():
                    reader.result()  # raises if the stream broke
                    raise StreamBroken("the peer closed the stream")
                space = d.settings.window - len(self.in_flight)
                claimed = []
                if space > 0:
                    claimed = await d.db.outbox.claim(
                        self.peer,
                        d.replica,
                        d.clock_ms(),
                        min(space, d.settings.claim_batch),
                        d.settings.lease_ms,
                    )
                if claimed:
                    self.connected = True
                    for c in claimed:
                        self.in_flight[c.message_id] = c
                    for frame in self._frames(claimed):
                        await self._write(call, frame, reader)
                    idle_since = asyncio.get_running_loop().time()
                    continue
                if not self.in_flight:
                    if asyncio.get_running_loop().time() - idle_since > d.settings.idle_close_s:
                        await call.done_writing()
                        return
                    await self._wait_for_work()
                else:
                    room.clear()
                    try:
                        await asyncio.wait_for(room.wait(), d.settings.ack_timeout_s)
                    except TimeoutError:
                        raise StreamBroken(
                            f"no answer from {self.peer} for {d.settings.ack_timeout_s:.0f}s"
                        ) from None
        finally:
            if not reader.done():
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reader
            call.cancel()

    @staticmethod
    async def _write(
        call: grpc.aio.StreamStreamCall[pb.EnvelopeFrame, pb.AckFrame],
        frame: pb.EnvelopeFrame,
        reader: asyncio.Task[None],
    ) -> None:
        try:
            await call.write(frame)
        except asyncio.InvalidStateError:
            # The RPC ended: the reader holds the reason.
            await reader
            raise StreamBroken("the stream ended") from None

    def _frames(self, claimed: list[Claimed]) -> list[pb.EnvelopeFrame]:
        frames, frame, size = [], pb.EnvelopeFrame(), 0
        for c in claimed:
            if size and size + len(c.envelope) > self.d.settings.frame_bytes:
                frames.append(frame)
                frame, size = pb.EnvelopeFrame(), 0
            frame.envelopes.append(c.envelope)
            size += len(c.envelope)
        if size:
            frames.append(frame)
        return frames

    async def _read(
        self, call: grpc.aio.StreamStreamCall[pb.EnvelopeFrame, pb.AckFrame], room: asyncio.Event
    ) -> None:
        async for ack_frame in call:
            await self._apply(list(ack_frame.acks))
            room.set()
        if self.in_flight:
            raise StreamBroken("the peer ended the stream with messages unanswered")

    async def _apply(self, acks: list[pb.Ack]) -> None:
        d = self.d
        now_ms = d.clock_ms()
        trust = d.trust()
        hop: list[Change] = []
        delivered: list[Change] = []
        transient: list[Change] = []
        permanent: list[Change] = []
        kept: list[tuple[str, str, str, bytes]] = []
        for ack in acks:
            claimed = self.in_flight.pop(ack.message_id, None)
            if claimed is None:
                continue  # not ours, or already answered
            if ack.HasField("refusal"):
                r = ack.refusal
                error = f"{self.peer} refused: {r.message} [{r.reason}]"
                if r.retryable:
                    delay = d.settings.backoff.delay_s(claimed.attempts, d.rand())
                    transient.append(Change(ack.message_id, error, now_ms + int(delay * 1000)))
                else:
                    permanent.append(Change(ack.message_id, error))
                continue
            try:
                body = receipts.verify(ack.receipt, trust.signing_key, d.cache)
                receipts.check_for(
                    body,
                    message_id=claimed.message_id,
                    header_sha256=claimed.header_sha256,
                    issuer=self.peer,
                )
            except SwnodeError as exc:
                transient.append(
                    Change(ack.message_id, f"bad receipt from {self.peer}: {exc}", now_ms)
                )
                continue
            final = body.kind == pb.RECEIPT_KIND_DELIVERY and claimed.recipient == self.peer
            kind = "delivery" if final else "hop"
            kept.append((claimed.message_id, kind, self.peer, ack.receipt.SerializeToString()))
            (delivered if final else hop).append(Change(claimed.message_id))
        async with d.db.transaction() as tx:
            await d.db.outbox.add_receipts_txn(tx, kept, now_ms)
            await d.db.outbox.transition_txn(tx, Event.HOP_RECEIPT, hop, now_ms)
            await d.db.outbox.transition_txn(tx, Event.DELIVERY_RECEIPT, delivered, now_ms)
            await d.db.outbox.transition_txn(tx, Event.TRANSIENT_FAILURE, transient, now_ms)
            await d.db.outbox.transition_txn(tx, Event.PERMANENT_FAILURE, permanent, now_ms)
        if kept and self.had_failures:
            await d.db.outbox.peer_succeeded(self.peer, now_ms)
            self.had_failures = False
        answered = Answered(
            peer=self.peer,
            delivered=[c.message_id for c in delivered],
            acknowledged=[c.message_id for c in hop],
            failed=[c.message_id for c in transient],
            dead=[c.message_id for c in permanent],
        )
        for listener in d.listeners:
            listener(answered)

    async def _broken(self, exc: BaseException, failures_before: int) -> None:
        d = self.d
        if isinstance(exc, grpc.aio.AioRpcError):
            error = str(from_rpc_error(exc, default_reason="peer.unreachable"))
        else:
            error = str(exc)
        now_ms = d.clock_ms()
        failures = failures_before + 1
        delay_s = d.settings.backoff.delay_s(failures, d.rand())
        retry_at = now_ms + int(delay_s * 1000)
        changes = [Change(mid, error, retry_at) for mid in self.in_flight]
        self.in_flight.clear()
        await d.db.outbox.transition(Event.TRANSIENT_FAILURE, changes, now_ms)
        await d.db.outbox.set_peer_backoff(self.peer, failures, retry_at, error)
        self.had_failures = True
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
    ) -> None:
        self.node_id = node_id
        self.replica = replica
        self.db = db
        self.channels = channels
        self.trust = trust
        self.clock_ms = clock_ms
        self.settings = settings
        self.rand = rand
        self.listeners: list[Callable[[Answered], None]] = []
        self.cache = batch.RootCache()
        self.queues: dict[str, PeerQueue] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def notify(self, peer: str) -> None:
        queue = self.queues.get(peer)
        if queue is None:
            self._start(peer)
        else:
            queue.wake.set()

    def _start(self, peer: str) -> None:
        queue = PeerQueue(self, peer)
        self.queues[peer] = queue
        self._tasks[peer] = asyncio.create_task(self._supervise(queue), name=f"deliver-{peer}")

    async def _supervise(self, queue: PeerQueue) -> None:
        while True:
            try:
                await queue.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: delivery loop failed; restarting it", queue.peer)
                await asyncio.sleep(1.0)

    async def run(self) -> None:
        """Find peers with work (queued by other processes or replicas too), and expire."""
        last_expiry = 0.0
        while True:
            try:
                now_ms = self.clock_ms()
                for peer in await self.db.outbox.peers_with_work(now_ms):
                    self.notify(peer)
                if now_ms - last_expiry > 5_000:
                    expired = await self.db.outbox.expire(now_ms)
                    if expired:
                        log.warning("%d messages expired before delivery: status dead", expired)
                    last_expiry = now_ms
            except Exception:
                log.exception("delivery scan failed")
            await asyncio.sleep(self.settings.poll_s)

    async def stop(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
