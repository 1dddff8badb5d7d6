"""Submitting documents to other nodes: validate, seal, and queue durably before answering.

`Outbox.submit` returns the message ids only after the sealed envelopes are committed to the
outbox, so a crash after that point loses nothing; the per-peer delivery loops (delivery.py) take
it from there. Submits that arrive while a commit is under way are committed together in the
next transaction (group commit): many clients each sending one document cost the database one
synced commit per batch, not one per document, and each still returns only once its own
envelopes are durable. The drafts of a group commit are sealed together too, under one batch
signature (core.batch_signatures, docs/PROTOCOL.md §3.5): a trickle of one-document submits
costs the sender one signature per commit and the receiver one signature check per commit, not
one each per document. Envelopes are sealed by the node's `Signer` (core.signer), the one that
signs its receipts too.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from core import envelope
from core.envelope import Draft, Sealed
from core.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unavailable,
)
from core.hops import next_hop
from core.outbox_status import Event
from core.signer import Signer
from core.trust import TrustView
from federation.tracing import current_traceparent
from storage.database import Database
from storage.engine import Tx
from storage.outbox import Change, Claimed, OutboxRow
from swf.v1 import envelope_pb2 as pb

log = logging.getLogger("swnode.outbox")

__all__ = ["Handover", "Outbox", "OutboxSettings"]

# A submit waiting for its group commit: its drafts, its trace, and its answer (the envelopes
# sealed for its drafts, in order, once they are committed).
_Waiting = tuple[Sequence[Draft], str, "asyncio.Future[list[Sealed]]"]

# The most drafts of different submits sealed under one batch signature: the audit path each
# envelope carries grows with the log of the batch (a single larger submit is still one batch).
SEAL_BATCH = 256


class Handover(Protocol):
    """Delivery, as the outbox sees it: the streams open in this process, which take new
    messages as they are stored, already claimed (federation/delivery.py)."""

    replica: str

    @property
    def lease_ms(self) -> int: ...

    def notify(self, peer: str) -> None: ...

    def room_to_take(self, peer: str) -> int: ...

    def take(self, peer: str, claimed: list[Claimed]) -> bool: ...


@dataclass(frozen=True)
class OutboxSettings:
    max_message_bytes: int
    ttl_ms: int = 24 * 3600 * 1000


class Outbox:
    def __init__(
        self,
        *,
        node_id: str,
        db: Database,
        signer: Signer,
        trust: Callable[[], TrustView],
        clock_ms: Callable[[], int],
        settings: OutboxSettings,
        notify: Callable[[str], None] | None = None,
        handover: Handover | None = None,
    ) -> None:
        """`notify(next_hop)` tells delivery of work queued; with `handover`, its `notify`
        unless another is given."""
        self.node_id = node_id
        self._db = db
        self.signer = signer
        self._trust = trust
        self._clock_ms = clock_ms
        self._settings = settings
        self._notify = notify or (handover.notify if handover else lambda _: None)
        self.handover = handover
        # Group commit: sealed envelopes waiting for the transaction under way to end.
        self._pending: list[_Waiting] = []
        self._committing = False

    def _new_id(self) -> str:
        return envelope.new_message_id(self._clock_ms(), os.urandom(10))

    def check(self, draft: Draft, *, field: str = "") -> None:
        """Refuse a draft no node would accept, before anything is stored."""
        prefix = f"{field}." if field else ""
        trust = self._trust()
        trust.require_valid(self._clock_ms())
        node = trust.node(draft.recipient)
        if draft.recipient == self.node_id:
            raise InvalidArgument(
                "submit.to_self", f"{prefix}to: a node does not send to itself", field=f"{prefix}to"
            )
        if node is None:
            raise NotFound(
                "submit.unknown_recipient",
                f"{prefix}to: {draft.recipient} is in no directory this node trusts",
                field=f"{prefix}to",
            )
        if not trust.is_active(draft.recipient):
            raise FailedPrecondition(
                "submit.revoked_recipient",
                f"{prefix}to: {draft.recipient} has been revoked",
                field=f"{prefix}to",
            )
        envelope.check_document_type(draft.document_type, field=f"{prefix}type")
        if node.document_types and draft.document_type not in node.document_types:
            raise InvalidArgument(
                "submit.unsupported_type",
                f"{prefix}type: {draft.recipient} accepts only "
                f"{', '.join(node.document_types)}, not {draft.document_type}",
                field=f"{prefix}type",
            )
        limit = self._settings.max_message_bytes - 1024  # room for the header
        if len(draft.payload) > limit:
            raise ResourceExhausted(
                "submit.too_large",
                f"{prefix}payload: {len(draft.payload)} bytes; at most {limit} can be sent",
                field=f"{prefix}payload",
            )

    def seal(self, drafts: Sequence[Draft], now_ms: int) -> list[Sealed]:
        return self.signer.seal_envelopes(
            drafts, now_ms=now_ms, ttl_ms=self._settings.ttl_ms, new_id=self._new_id
        )

    async def submit(self, drafts: Sequence[Draft]) -> list[str]:
        """Queue `drafts` (all or none) and return their message ids."""
        for i, draft in enumerate(drafts):
            self.check(draft, field=f"[{i}]" if len(drafts) > 1 else "")
        sealed = await self._commit(drafts)
        return [s.message_id for s in sealed]

    async def _commit(self, drafts: Sequence[Draft]) -> list[Sealed]:
        """`drafts` sealed and committed: by this call, with whatever else is waiting, when no
        commit is under way; else by the call that holds it, in its next transaction."""
        done: asyncio.Future[list[Sealed]] = asyncio.get_running_loop().create_future()
        # Each submit's envelopes continue its own trace, whichever call commits them.
        self._pending.append((drafts, current_traceparent(), done))
        if not self._committing:
            self._committing = True
            try:
                while self._pending:
                    batch, self._pending = self._pending, []
                    try:
                        now_ms = self._clock_ms()
                        sealed = self._seal_together(batch, now_ms)
                        rows = [
                            self.row(e.header, e.envelope, e.header_sha256, traceparent=tp)
                            for (_, tp, _), envelopes in zip(batch, sealed, strict=True)
                            for e in envelopes
                        ]
                        await self._store(rows, now_ms)
                    except BaseException as exc:
                        self._fail(batch + self._pending, exc)
                        self._pending = []
                        raise
                    for (*_, waiting), envelopes in zip(batch, sealed, strict=True):
                        waiting.set_result(envelopes)
            finally:
                self._committing = False
        return await done

    async def _store(self, rows: list[OutboxRow], now_ms: int) -> None:
        """Commit `rows`: those an open stream of this process has room for already claimed
        and handed to it, without a second transaction to claim them; the rest queued, and
        delivery told. Rows are new (a fresh id each, from `seal`)."""
        handover = self.handover
        queued, claimed = list(rows), dict[str, list[OutboxRow]]()
        if handover is not None:
            room = {hop: handover.room_to_take(hop) for hop in {r.next_hop for r in rows}}
            queued = []
            for r in rows:
                taken = claimed.setdefault(r.next_hop, [])
                (taken if len(taken) < room[r.next_hop] else queued).append(r)
        handed: dict[str, list[Claimed]] = {}
        async with self._db.transaction() as tx:
            await self._db.outbox.insert_txn(tx, queued, now_ms)
            for hop, taken in claimed.items():
                if taken and handover is not None:
                    handed[hop] = await self._db.outbox.insert_claimed_txn(
                        tx, taken, now_ms, handover.replica, handover.lease_ms
                    )
        for hop in {r.next_hop for r in queued}:
            self._notify(hop)
        for hop, given in handed.items():
            assert handover is not None
            if handover.take(hop, given):
                continue
            # Its stream closed meanwhile: back to the queue. They are stored either way; if
            # this fails, their claim lapses and they are sent then.
            try:
                await self._db.outbox.transition(
                    Event.TRANSIENT_FAILURE,
                    [Change(c.message_id, None, now_ms) for c in given],
                    now_ms,
                    claimed_by=handover.replica,
                )
            except Exception as exc:
                log.warning(
                    "%d messages for %s wait for their claim to lapse: %s", len(given), hop, exc
                )
            self._notify(hop)

    def _seal_together(self, batch: Sequence[_Waiting], now_ms: int) -> list[list[Sealed]]:
        """The envelopes of each waiting submit, in order: the drafts of consecutive submits
        sealed under one batch signature, up to `SEAL_BATCH` drafts a signature."""
        out: list[list[Sealed]] = []
        group: list[Sequence[Draft]] = []
        size = 0

        def flush() -> None:
            together = [d for drafts in group for d in drafts]
            sealed = iter(self.seal(together, now_ms) if together else [])
            out.extend([next(sealed) for _ in drafts] for drafts in group)

        for drafts, *_ in batch:
            if group and size + len(drafts) > SEAL_BATCH:
                flush()
                group, size = [], 0
            group.append(drafts)
            size += len(drafts)
        if group:
            flush()
        return out

    @staticmethod
    def _fail(batch: list[_Waiting], exc: BaseException) -> None:
        """Every waiting submit learns that its envelopes were not stored."""
        error = (
            exc
            if isinstance(exc, Exception)
            else Unavailable("submit.interrupted", "the node stopped before the commit")
        )
        for *_, waiting in batch:
            if not waiting.done():
                waiting.set_exception(error)
                waiting.exception()  # retrieved here too: the leader's own raises from it

    async def queue_txn(
        self,
        tx: Tx,
        sealed: Sequence[Sealed],
        now_ms: int,
        *,
        traceparents: Mapping[str, str] | None = None,
    ) -> None:
        """Queue `sealed`, each with the trace it continues: `traceparents[message_id]`, or
        the span this code runs in (federation/tracing.py)."""
        given = traceparents or {}
        await self._db.outbox.insert_txn(
            tx,
            [
                self.row(s.header, s.envelope, s.header_sha256, traceparent=given.get(s.message_id))
                for s in sealed
            ],
            now_ms,
        )

    def row(
        self,
        header: pb.Header,
        env: pb.Envelope,
        header_sha256: bytes,
        *,
        traceparent: str | None = None,
        envelope_bytes: bytes | None = None,
    ) -> OutboxRow:
        """The outbox row of a sealed or relayed envelope; `header_sha256` is the header's digest
        in its origin's federation digest (§4.1), as receipts for it will name it. A relayed
        envelope goes on as the bytes that arrived (`envelope_bytes`), not serialized again."""
        return OutboxRow(
            message_id=header.message_id,
            conversation_id=header.conversation_id,
            origin=header.sender,
            recipient=header.recipient,
            next_hop=next_hop(self.node_id, header.recipient),
            document_type=header.document_type,
            envelope=env.SerializeToString() if envelope_bytes is None else envelope_bytes,
            header_sha256=header_sha256,
            payload_size=header.payload_size,
            created_at_unix_ms=header.created_at_unix_ms,
            expires_at_unix_ms=header.expires_at_unix_ms,
            traceparent=current_traceparent() if traceparent is None else traceparent,
        )

    def wake(self, sealed: Sequence[Sealed]) -> None:
        for hop in {next_hop(self.node_id, s.header.recipient) for s in sealed}:
            self._notify(hop)

    def notify_hop(self, hop: str) -> None:
        self._notify(hop)

    async def redrive(self, message_id: str) -> str:
        """Send a dead (or failing) message again: sealed anew with fresh times, same id."""
        row = await self._db.outbox.envelope(message_id)
        if row is None:
            raise NotFound("message.unknown", f"message_id: no outgoing message {message_id}")
        if row["origin"] != self.node_id:
            raise FailedPrecondition(
                "redrive.relayed",
                f"message_id: {message_id} was relayed for {row['origin']}; its origin redrives it",
            )
        old = pb.Envelope.FromString(bytes(row["envelope"]))
        header = pb.Header.FromString(old.header)
        draft = Draft(
            recipient=header.recipient,
            document_type=header.document_type,
            payload=old.payload,
            conversation_id=header.conversation_id,
            sender_party=header.sender_party,
            recipient_party=header.recipient_party,
            message_id=header.message_id,
        )
        self.check(draft)
        now_ms = self._clock_ms()
        (sealed,) = self.seal([draft], now_ms)
        async with self._db.transaction() as tx:
            ok = await self._db.outbox.replace_envelope_txn(
                tx,
                message_id,
                sealed.envelope.SerializeToString(),
                sealed.header_sha256,
                sealed.header.expires_at_unix_ms,
                now_ms,
            )
        if not ok:
            raise FailedPrecondition(
                "redrive.status",
                f"message_id: {message_id} is {row['status']}; only dead or failed messages "
                "are redriven",
            )
        self.wake([sealed])
        return str(row["status"])
