"""Receiving envelopes from a peer: verify, store durably, and only then give signed receipts.

For each frame of envelopes that arrives on an Exchange stream:

1. Each envelope is verified (core.envelope.verify); a refused one gets a Refusal and nothing
   of it is stored.
2. Receipts are signed for the accepted ones, as one batch: DELIVERY when this node is the
   recipient, HOP when it passes the message on.
3. In one transaction: messages seen before keep their first receipt and are not processed
   again; new ones go to the inbox; those passing through are queued for their next hop; for a
   message that reached this node through relays, an end-to-end delivery receipt is queued back
   to its origin; an end-to-end receipt arriving for a message this node sent marks it delivered.
4. After the commit, the acks go back: the receipt, or the refusal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core import batch_signatures as batch
from core import receipts
from core.envelope import (
    DELIVERY_RECEIPT_TYPE,
    Accepted,
    Draft,
    Limits,
    parse_envelope,
    peek_message_id,
    verify,
)
from core.errors import AlreadyExists, SwnodeError, Unavailable
from core.grpc_status import status_of
from core.outbox_status import Event
from core.trust import TrustView
from federation.outbox import Outbox
from storage.database import Database
from storage.inbox import InboxRow
from storage.outbox import Change
from swf.v1 import envelope_pb2 as pb

log = logging.getLogger("swnode.inbound")


Key = tuple[str, str]  # (origin, message id): a message id is unique per origin


@dataclass
class _Item:
    accepted: Accepted
    receipt: pb.Receipt


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
        trust: Callable[[], TrustView],
        clock_ms: Callable[[], int],
        limits: Limits,
        on_received: Callable[[int], None] = lambda _: None,
    ) -> None:
        self.node_id = node_id
        self._db = db
        self._outbox = outbox
        self._trust = trust
        self._clock_ms = clock_ms
        self._limits = limits
        self._cache = batch.RootCache()
        self._on_received = on_received

    async def accept(self, previous_hop: str, envelopes: Sequence[bytes]) -> list[pb.Ack]:
        """Acks for serialized envelopes from `previous_hop`, in the same order."""
        trust = self._trust()
        now_ms = self._clock_ms()
        acks: dict[int, pb.Ack] = {}
        items: dict[Key, _Item] = {}
        order: list[tuple[int, Key]] = []
        # 1. Verify each envelope on its own.
        for i, raw in enumerate(envelopes):
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
                acks[i] = pb.Ack(message_id=peek_message_id(raw), refusal=refusal(exc))
                continue
            key = (accepted.header.sender, accepted.message_id)
            order.append((i, key))
            if key not in items:
                items[key] = _Item(accepted, pb.Receipt())
        # 2. One batch of receipts for everything accepted.
        if items:
            bodies = []
            for item in items.values():
                h = item.accepted.header
                final = h.recipient == self.node_id
                bodies.append(
                    pb.ReceiptBody(
                        message_id=h.message_id,
                        header_sha256=item.accepted.header_sha256,
                        issuer=self.node_id,
                        from_node=h.sender if final else previous_hop,
                        kind=pb.RECEIPT_KIND_DELIVERY if final else pb.RECEIPT_KIND_HOP,
                        received_at_unix_ms=now_ms,
                        key_id=self._outbox.key_id,
                    )
                )
            for item, receipt in zip(
                items.values(),
                receipts.seal(bodies, self._outbox.signing_key, self._outbox.key_id),
                strict=True,
            ):
                item.receipt = receipt
            # 3. Store, then 4. answer.
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
        e2e_drafts: list[tuple[Key, Draft]] = []
        for key, item in items.items():
            h = item.accepted.header
            relayed_to_me = h.recipient == self.node_id and previous_hop != h.sender
            # Receipts are not themselves receipted: that would never end.
            if relayed_to_me and h.document_type != DELIVERY_RECEIPT_TYPE:
                e2e_drafts.append(
                    (
                        key,
                        Draft(
                            recipient=h.sender,
                            document_type=DELIVERY_RECEIPT_TYPE,
                            payload=item.receipt.SerializeToString(),
                            conversation_id=h.conversation_id,
                        ),
                    )
                )
        e2e = self._outbox.seal([d for _, d in e2e_drafts], now_ms) if e2e_drafts else []
        e2e_for = {key: s for (key, _), s in zip(e2e_drafts, e2e, strict=True)}
        async with self._db.transaction() as tx:
            seen = await self._db.inbox.receipts_for_txn(tx, list(items))
            new = {key: item for key, item in items.items() if key not in seen}
            # A message id another origin already used here cannot be queued beside it.
            taken = await self._db.outbox.origins_txn(tx, [mid for _, mid in new])
            clashes = {key for key in new if taken.get(key[1], key[0]) != key[0]}
            new = {key: item for key, item in new.items() if key not in clashes}
            rows = []
            relays = []
            delivered: list[tuple[bytes, pb.ReceiptBody]] = []
            for item in new.values():
                h = item.accepted.header
                env = item.accepted.envelope
                status = "relayed"
                if h.recipient == self.node_id:
                    status = "received"
                    if h.document_type == DELIVERY_RECEIPT_TYPE:
                        body = self._end_to_end(env.payload, h.sender, trust)
                        if body is not None:
                            delivered.append((env.payload, body))
                        status = "processed"
                else:
                    relays.append(self._outbox.row(h, env))
                rows.append(
                    InboxRow(
                        message_id=h.message_id,
                        conversation_id=h.conversation_id,
                        origin=h.sender,
                        previous_hop=previous_hop,
                        recipient=h.recipient,
                        document_type=h.document_type,
                        envelope=env.SerializeToString(),
                        header_sha256=item.accepted.header_sha256,
                        payload_size=h.payload_size,
                        receipt=item.receipt.SerializeToString(),
                        status=status,
                    )
                )
            await self._db.inbox.insert_txn(tx, rows, now_ms)
            if relays:
                await self._db.outbox.insert_txn(tx, relays, now_ms)
            fresh_e2e = [s for key, s in e2e_for.items() if key in new]
            if fresh_e2e:
                await self._outbox.queue_txn(tx, fresh_e2e, now_ms)
            if delivered:
                # Only the message's own recipient can say it was delivered, for a header this
                # node really sealed.
                sent = await self._db.outbox.sent_txn(
                    tx, self.node_id, [b.message_id for _, b in delivered]
                )
                delivered = [
                    (raw, b)
                    for raw, b in delivered
                    if b.message_id in sent
                    and sent[b.message_id][0] == b.issuer
                    and b.header_sha256 in sent[b.message_id][1]
                ]
            if delivered:
                await self._db.outbox.add_receipts_txn(
                    tx, [(b.message_id, "delivery", b.issuer, raw) for raw, b in delivered], now_ms
                )
                await self._db.outbox.transition_txn(
                    tx, Event.DELIVERY_RECEIPT, [Change(b.message_id) for _, b in delivered], now_ms
                )
        for row in relays:
            self._outbox.notify_hop(row.next_hop)
        if fresh_e2e:
            self._outbox.wake(fresh_e2e)
        received = sum(1 for r in rows if r.status == "received")
        if received:
            self._on_received(received)
        result: dict[Key, pb.Receipt | pb.Refusal] = {
            key: item.receipt for key, item in new.items()
        }
        for key, raw in seen.items():
            result[key] = pb.Receipt.FromString(raw)
        for key in clashes:
            result[key] = refusal(
                AlreadyExists(
                    "envelope.duplicate_id",
                    f"message id {key[1]} is already in use here by another origin",
                )
            )
        return result

    def _end_to_end(self, payload: bytes, issuer: str, trust: TrustView) -> pb.ReceiptBody | None:
        """The delivery receipt inside an end-to-end receipt message, if it is one for a message
        this node sent and was signed by the recipient that sent it back."""
        try:
            receipt = pb.Receipt.FromString(payload)
            body = receipts.verify(receipt, trust.signing_key, self._cache)
        except (SwnodeError, ValueError) as exc:
            log.warning("ignoring an end-to-end receipt from %s: %s", issuer, exc)
            return None
        if body.issuer != issuer or body.kind != pb.RECEIPT_KIND_DELIVERY:
            log.warning("ignoring an end-to-end receipt from %s that it did not issue", issuer)
            return None
        return body
