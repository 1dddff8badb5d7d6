"""Receiving envelopes from a peer: verify, store durably, and only then give signed receipts.

For each frame of envelopes that arrives on an Exchange stream (docs/PROTOCOL.md §5.2):

1. Each envelope is verified (core.envelope.verify, §3.6); a refused one gets a Refusal and
   nothing of it is stored.
2. Receipts are signed for the accepted ones, as one batch by the node's signer (§4.1, §4.3):
   DELIVERY when this node is the recipient, HOP when it passes the message on.
3. End-to-end receipts are sealed for messages that reached this node through a relay (§5.6).
4. In one transaction, what `inbound_plan.plan` decides from what storage knows: messages seen
   before keep their first receipt and are not processed again (§5.7); new ones go to the inbox;
   those passing through are queued for their next hop (§5.5); the end-to-end receipts of new
   messages are queued back to their origins; an end-to-end receipt arriving for a message this
   node sent marks it delivered (§5.6).
5. After the commit, the acks go back: the receipt, or the refusal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from opentelemetry import trace
from opentelemetry.trace import (
    INVALID_SPAN_CONTEXT,
    NonRecordingSpan,
    Span,
    SpanKind,
    Status,
    StatusCode,
    Tracer,
)

from core import batch_signatures as batch
from core.envelope import (
    DELIVERY_RECEIPT_TYPE,
    Accepted,
    Draft,
    Limits,
    Sealed,
    parse_envelope,
    peek_message_id,
    verify,
)
from core.errors import SwnodeError, Unavailable
from core.grpc_status import status_of
from core.outbox_status import Event
from core.signer import Signer
from core.trust import TrustView
from federation.inbound_plan import (
    Decision,
    Duplicate,
    Facts,
    Key,
    Store,
    confirmed_deliveries,
    end_to_end_receipt,
    plan,
    receipt_body,
    wants_end_to_end,
)
from federation.outbox import Outbox
from federation.tracing import context_of, default_tracer, traceparent_of
from storage.database import Database
from storage.engine import Tx
from storage.inbox import InboxRow
from storage.outbox import Change
from swf.v1 import envelope_pb2 as pb

log = logging.getLogger("swnode.inbound")

__all__ = ["Inbound", "refusal"]


@dataclass
class _Item:
    accepted: Accepted
    receipt: pb.Receipt
    raw: bytes  # the envelope as it arrived: stored and relayed as is, not serialized again
    # The `swnode.receive` span of this message here: what it queues continues its trace.
    span: Span = field(default_factory=lambda: NonRecordingSpan(INVALID_SPAN_CONTEXT))

    @property
    def traceparent(self) -> str:
        return traceparent_of(self.span)


def refusal(error: SwnodeError) -> pb.Refusal:
    return pb.Refusal(
        reason=error.reason,
        code=status_of(error).value[0],
        message=error.message,
        retryable=isinstance(error, Unavailable),
    )


class Inbound:
    def __init__(
        self,
        *,
        node_id: str,
        db: Database,
        outbox: Outbox,
        signer: Signer,
        trust: Callable[[], TrustView],
        clock_ms: Callable[[], int],
        limits: Limits,
        on_received: Callable[[int], None] = lambda _: None,
        on_delivered: Callable[[], None] = lambda: None,
        tracer: Tracer | None = None,
    ) -> None:
        self.node_id = node_id
        self._tracer = tracer or default_tracer()
        self._db = db
        self._outbox = outbox
        self._signer = signer
        self._trust = trust
        self._clock_ms = clock_ms
        self._limits = limits
        self._cache = batch.RootCache()
        self._on_received = on_received
        self._on_delivered = on_delivered  # end-to-end receipts came back for messages sent

    def use_signer(self, signer: Signer) -> None:
        """Sign receipts with `signer` from now on (a key rotation, PROTOCOL.md §2.9)."""
        self._signer = signer

    async def accept(
        self,
        previous_hop: str,
        envelopes: Sequence[bytes],
        *,
        traceparents: Sequence[str] = (),
    ) -> list[pb.Ack]:
        """Acks for serialized envelopes from `previous_hop`, in the same order; each
        envelope's trace, when the frame carried one (`traceparents[i]`), goes on here."""
        spans: list[Span] = []
        try:
            return await self._accept(previous_hop, envelopes, traceparents, spans)
        finally:
            for span in spans:
                span.end()

    def _receive_span(self, previous_hop: str, traceparent: str, message_id: str) -> Span:
        return self._tracer.start_span(
            "swnode.receive",
            context=context_of(traceparent),
            kind=SpanKind.CONSUMER,
            attributes={
                "swnode.node": self.node_id,
                "swnode.message_id": message_id,
                "swnode.previous_hop": previous_hop,
            },
        )

    async def _accept(
        self,
        previous_hop: str,
        envelopes: Sequence[bytes],
        traceparents: Sequence[str],
        spans: list[Span],
    ) -> list[pb.Ack]:
        trust = self._trust()
        now_ms = self._clock_ms()
        acks: dict[int, pb.Ack] = {}
        items: dict[Key, _Item] = {}
        order: list[tuple[int, Key]] = []
        # 1. Verify each envelope on its own (§3.6).
        for i, raw in enumerate(envelopes):
            span = self._receive_span(
                previous_hop, traceparents[i] if i < len(traceparents) else "", peek_message_id(raw)
            )
            spans.append(span)
            try:
                env = parse_envelope(raw)
                accepted = verify(
                    env,
                    trust=trust,
                    self_id=self.node_id,
                    previous_hop=previous_hop,
                    now_ms=now_ms,
                    limits=self._limits,
                    cache=self._cache,
                )
            except SwnodeError as exc:
                message_id = peek_message_id(raw)
                acks[i] = pb.Ack(message_id=message_id, refusal=refusal(exc))
                span.set_status(Status(StatusCode.ERROR, exc.reason))
                with trace.use_span(span, end_on_exit=False):
                    # Debug only: the sender records the refusal; a flood of bad envelopes
                    # must not become a flood of log lines.
                    log.debug(
                        "refused %s from %s: %s [%s]",
                        message_id or "an unreadable envelope",
                        previous_hop,
                        exc.message,
                        exc.reason,
                        extra={"message_id": message_id},
                    )
                continue
            h = accepted.header
            span.set_attributes(
                {
                    "swnode.sender": h.sender,
                    "swnode.recipient": h.recipient,
                    "swnode.document_type": h.document_type,
                }
            )
            key = (h.sender, accepted.message_id)
            order.append((i, key))
            if key not in items:
                items[key] = _Item(accepted, pb.Receipt(), raw, span)
        # 2. One batch of receipts for everything accepted (§4.1, §4.3).
        if items:
            bodies = [
                receipt_body(
                    item.accepted.header,
                    item.accepted.header_sha256,
                    node_id=self.node_id,
                    previous_hop=previous_hop,
                    now_ms=now_ms,
                    key_id=self._signer.key_id,
                )
                for item in items.values()
            ]
            for item, receipt in zip(
                items.values(), self._signer.seal_receipts(bodies), strict=True
            ):
                item.receipt = receipt
            # 3.–4. Store, then 5. answer, one ack per envelope in order (§5.2).
            given = await self._store(previous_hop, items, trust, now_ms)
            for i, key in order:
                answer = given[key]
                if isinstance(answer, pb.Receipt):
                    acks[i] = pb.Ack(message_id=key[1], receipt=answer)
                else:
                    acks[i] = pb.Ack(message_id=key[1], refusal=answer)
        return [acks[i] for i in range(len(envelopes))]

    async def _store(
        self, previous_hop: str, items: dict[Key, _Item], trust: TrustView, now_ms: int
    ) -> dict[Key, pb.Receipt | pb.Refusal]:
        """§5.2 steps 3–4: seal the end-to-end receipts, look up what storage knows, and do in
        one transaction what the plan (inbound_plan.py) decides."""
        e2e_for = self._seal_end_to_end(previous_hop, items, now_ms)
        headers = {key: item.accepted.header for key, item in items.items()}
        async with self._db.transaction() as tx:
            seen = await self._db.inbox.receipts_for_txn(tx, list(items))
            taken = await self._db.outbox.origins_txn(
                tx, [mid for key in items if key not in seen for mid in key[1:]]
            )
            decisions = plan(
                headers, Facts(seen, taken), node_id=self.node_id, previous_hop=previous_hop
            )
            stores = {k: d for k, d in decisions.items() if isinstance(d, Store)}
            rows = [self._row(items[key], d.status, previous_hop) for key, d in stores.items()]
            relays = [
                self._outbox.row(
                    items[key].accepted.header,
                    items[key].accepted.envelope,
                    items[key].accepted.header_sha256,
                    traceparent=items[key].traceparent,
                    envelope_bytes=items[key].raw,
                )
                for key, d in stores.items()
                if d.relay
            ]
            found = self._end_to_end_receipts(stores, items, trust)
            await self._db.inbox.insert_txn(tx, rows, now_ms)
            if relays:
                await self._db.outbox.insert_txn(tx, relays, now_ms)
            fresh_e2e = [e2e_for[key] for key, d in stores.items() if d.end_to_end]
            if fresh_e2e:
                await self._outbox.queue_txn(
                    tx,
                    fresh_e2e,
                    now_ms,
                    traceparents={
                        e2e_for[key].message_id: items[key].traceparent
                        for key, d in stores.items()
                        if d.end_to_end
                    },
                )
            if found:
                await self._apply_deliveries_txn(tx, found, now_ms)
        for key, d in stores.items() if log.isEnabledFor(logging.DEBUG) else ():
            with trace.use_span(items[key].span, end_on_exit=False):
                log.debug(
                    "stored %s from %s: %s%s",
                    key[1],
                    previous_hop,
                    d.status,
                    " (to relay)" if d.relay else "",
                    extra={"message_id": key[1]},
                )
        for row in relays:
            self._outbox.notify_hop(row.next_hop)
        if fresh_e2e:
            self._outbox.wake(fresh_e2e)
        if found:
            self._on_delivered()
        received = sum(1 for r in rows if r.status == "received")
        if received:
            self._on_received(received)
        return {key: _answer(decision, items[key]) for key, decision in decisions.items()}

    def _seal_end_to_end(
        self, previous_hop: str, items: dict[Key, _Item], now_ms: int
    ) -> dict[Key, Sealed]:
        """The end-to-end receipt for each message that earns one if new (§5.6): sealed before
        the transaction, queued in it only for messages the plan finds new."""
        drafts = {
            key: Draft(
                recipient=item.accepted.header.sender,
                document_type=DELIVERY_RECEIPT_TYPE,
                payload=item.receipt.SerializeToString(),
                conversation_id=item.accepted.header.conversation_id,
            )
            for key, item in items.items()
            if wants_end_to_end(
                item.accepted.header, node_id=self.node_id, previous_hop=previous_hop
            )
        }
        if not drafts:
            return {}
        sealed = self._outbox.seal(list(drafts.values()), now_ms)
        return dict(zip(drafts, sealed, strict=True))

    def _end_to_end_receipts(
        self, stores: dict[Key, Store], items: dict[Key, _Item], trust: TrustView
    ) -> list[tuple[bytes, pb.ReceiptBody]]:
        """The delivery receipts inside the new end-to-end receipt messages for this node that
        count (§5.6 steps 1–2); the others are logged and ignored."""
        found: list[tuple[bytes, pb.ReceiptBody]] = []
        for key, d in stores.items():
            if d.apply_receipt:
                payload = items[key].accepted.envelope.payload
                body = end_to_end_receipt(payload, key[0], trust.signing_key, self._cache)
                if isinstance(body, str):
                    log.warning("%s", body)
                else:
                    found.append((payload, body))
        return found

    async def _apply_deliveries_txn(
        self, tx: Tx, found: list[tuple[bytes, pb.ReceiptBody]], now_ms: int
    ) -> None:
        """§5.6 steps 3–4: keep the receipts that confirm a message in the outbox, and mark it
        delivered."""
        sent = await self._db.outbox.sent_txn(tx, self.node_id, [b.message_id for _, b in found])
        delivered = confirmed_deliveries(found, sent)
        if delivered:
            await self._db.outbox.add_receipts_txn(
                tx, [(b.message_id, "delivery", b.issuer, raw) for raw, b in delivered], now_ms
            )
            await self._db.outbox.transition_txn(
                tx, Event.DELIVERY_RECEIPT, [Change(b.message_id) for _, b in delivered], now_ms
            )

    def _row(self, item: _Item, status: str, previous_hop: str) -> InboxRow:
        h = item.accepted.header
        return InboxRow(
            message_id=h.message_id,
            conversation_id=h.conversation_id,
            origin=h.sender,
            previous_hop=previous_hop,
            recipient=h.recipient,
            document_type=h.document_type,
            envelope=item.raw,
            header_sha256=item.accepted.header_sha256,
            payload_size=h.payload_size,
            receipt=item.receipt.SerializeToString(),
            status=status,
            traceparent=item.traceparent,
        )


def _answer(decision: Decision, item: _Item) -> pb.Receipt | pb.Refusal:
    """The ack's content: the receipt just sealed, the first one (§5.7), or the refusal."""
    if isinstance(decision, Store):
        return item.receipt
    if isinstance(decision, Duplicate):
        return pb.Receipt.FromString(decision.receipt)
    return refusal(decision.error)
