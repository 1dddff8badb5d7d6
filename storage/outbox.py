"""Outgoing messages: one queue per next hop, receipts, and each peer's persisted backoff.

Status changes go through `transition`, which applies an event of core/outbox_status.py only to
messages whose current status the event leaves from; every status in the SQL is spelt from its
`Status`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.outbox_status import TABLE, Event, Status, from_states, target
from storage.engine import OUTBOX_CHANNEL, Engine, Row, Tx
from storage.status_sql import listed, literal


@dataclass(frozen=True)
class OutboxRow:
    message_id: str
    conversation_id: str
    origin: str
    recipient: str
    next_hop: str
    document_type: str
    envelope: bytes
    header_sha256: bytes
    payload_size: int
    created_at_unix_ms: int
    expires_at_unix_ms: int
    # W3C traceparent of the work that queued it (core/trace_context.py); "" for none.
    traceparent: str = ""


@dataclass(frozen=True)
class Claimed:
    seq: int  # the row's order in the outbox; 0 when claimed as it was stored
    message_id: str
    envelope: bytes
    header_sha256: bytes
    recipient: str
    attempts: int  # counting this one
    traceparent: str = ""


@dataclass(frozen=True)
class Change:
    """One message's move under an event; `error`/`retry_at` for failures."""

    message_id: str
    error: str | None = None
    retry_at_unix_ms: int = 0


@dataclass(frozen=True)
class PeerState:
    peer: str
    failures: int
    retry_at_unix_ms: int
    last_error: str | None
    last_success_at_unix_ms: int | None


@dataclass(frozen=True)
class MessageRecord:
    direction: str  # out | relay | in
    message_id: str
    conversation_id: str
    origin: str
    recipient: str
    peer: str  # next hop (out, relay) or previous hop (in)
    document_type: str
    status: str
    attempts: int
    last_error: str | None
    created_at_unix_ms: int
    updated_at_unix_ms: int
    sent_by: str | None
    payload_size: int
    traceparent: str = ""  # of the work that queued it (out, relay) or of its receipt (in)


# Waiting to be claimed (what a claim leaves from, besides a lapsed claim's sent).
_PENDING = listed(*sorted(TABLE.sources(Event.CLAIM)))
_QUEUED = literal(Status.QUEUED)
_SENT = literal(Status.SENT)
_DEAD = literal(Status.DEAD)
# What expiry leaves from.
_EXPIRING = listed(*sorted(TABLE.sources(Event.EXPIRE)))
# The backlog: every status but delivered, read through the status index.
_UNDELIVERED = listed(*(s for s in Status if s is not Status.DELIVERED))


def _placeholders(n: int, start: int = 1) -> str:
    return ", ".join(f"${i}" for i in range(start, start + n))


class OutboxStore:
    def __init__(self, engine: Engine) -> None:
        self._db = engine

    async def insert_txn(self, tx: Tx, rows: Sequence[OutboxRow], now_ms: int) -> None:
        """Queue messages; a message id already queued is left as it is."""
        if not rows:
            return
        await tx.executemany(
            "INSERT INTO outbox (message_id, conversation_id, origin, recipient, next_hop,"
            " document_type, envelope, header_sha256, payload_size, status, created_at_unix_ms,"
            " expires_at_unix_ms, updated_at_unix_ms, next_attempt_at_unix_ms, traceparent)"
            f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, {_QUEUED}, $10, $11, $12, 0, $13)"
            " ON CONFLICT (message_id) DO NOTHING",
            self._values(rows, now_ms),
        )
        await self._notify_txn(tx)

    async def insert_claimed_txn(
        self, tx: Tx, rows: Sequence[OutboxRow], now_ms: int, replica: str, lease_ms: int
    ) -> list[Claimed]:
        """Queue new messages already claimed by `replica`, as `claim` would leave them: for a
        stream of this process that takes them at once, without a second transaction to claim
        what this one stores. Their ids must be new (a fresh id per draft)."""
        if not rows:
            return []
        await tx.executemany(
            "INSERT INTO outbox (message_id, conversation_id, origin, recipient, next_hop,"
            " document_type, envelope, header_sha256, payload_size, status, created_at_unix_ms,"
            " expires_at_unix_ms, updated_at_unix_ms, next_attempt_at_unix_ms, traceparent,"
            " attempts, claimed_by, sent_by, claim_expires_at_unix_ms)"
            f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, {_SENT}, $10, $11, $12, 0, $13,"
            " 1, $14, $14, $15)",
            [(*v, replica, now_ms + lease_ms) for v in self._values(rows, now_ms)],
        )
        return [
            Claimed(
                seq=0,
                message_id=r.message_id,
                envelope=r.envelope,
                header_sha256=r.header_sha256,
                recipient=r.recipient,
                attempts=1,
                traceparent=r.traceparent,
            )
            for r in rows
        ]

    @staticmethod
    def _values(rows: Sequence[OutboxRow], now_ms: int) -> list[tuple[object, ...]]:
        return [
            (
                r.message_id,
                r.conversation_id,
                r.origin,
                r.recipient,
                r.next_hop,
                r.document_type,
                r.envelope,
                r.header_sha256,
                r.payload_size,
                r.created_at_unix_ms,
                r.expires_at_unix_ms,
                now_ms,
                r.traceparent,
            )
            for r in rows
        ]

    @staticmethod
    async def _notify_txn(tx: Tx) -> None:
        """Tell the other replicas (PostgreSQL) that there is work, once this commits."""
        if tx.dialect == "postgresql":
            await tx.execute("SELECT pg_notify($1, '')", OUTBOX_CHANNEL)

    async def claim(
        self, next_hop: str, replica: str, now_ms: int, limit: int, lease_ms: int
    ) -> list[Claimed]:
        """Take up to `limit` messages due for `next_hop`, oldest first, and mark them sent by
        `replica`. Rows another replica holds are skipped; a claim whose lease has passed (its
        replica died) is taken over.

        Lapsed claims are looked for first: they are older than what is queued, and under steady
        traffic the queue always holds more than one claim takes, so looking for them only when
        it does not would leave them unsent for as long as the traffic lasts.

        A claim is not waited for on disk (`durable=False`): one lost to a power cut leaves its
        messages due again, and they are sent again (the peer answers a message it has with
        its first receipt, §5.7)."""
        async with self._db.transaction(durable=False) as tx:
            lock = self._db.skip_locked()
            rows = await tx.fetch(
                "SELECT seq, message_id, envelope, header_sha256, recipient, attempts,"
                " traceparent"
                f" FROM outbox WHERE next_hop = $1 AND status = {_SENT}"
                " AND claim_expires_at_unix_ms < $2 AND expires_at_unix_ms > $2"
                f" ORDER BY seq LIMIT $3{lock}",
                next_hop,
                now_ms,
                limit,
            )
            if len(rows) < limit:
                rows += await tx.fetch(
                    "SELECT seq, message_id, envelope, header_sha256, recipient, attempts,"
                    " traceparent"
                    f" FROM outbox WHERE next_hop = $1 AND status IN {_PENDING}"
                    " AND next_attempt_at_unix_ms <= $2 AND expires_at_unix_ms > $2"
                    f" ORDER BY seq LIMIT $3{lock}",
                    next_hop,
                    now_ms,
                    limit - len(rows),
                )
            if not rows:
                return []
            rows.sort(key=lambda r: r["seq"])
            await tx.executemany(
                f"UPDATE outbox SET status = {_SENT}, attempts = attempts + 1, claimed_by = $2,"
                " sent_by = $2, claim_expires_at_unix_ms = $3, updated_at_unix_ms = $4"
                " WHERE seq = $1",
                [(r["seq"], replica, now_ms + lease_ms, now_ms) for r in rows],
            )
        return [
            Claimed(
                seq=r["seq"],
                message_id=r["message_id"],
                envelope=bytes(r["envelope"]),
                header_sha256=bytes(r["header_sha256"]),
                recipient=r["recipient"],
                attempts=r["attempts"] + 1,
                traceparent=r["traceparent"],
            )
            for r in rows
        ]

    async def renew_claims(self, next_hop: str, replica: str, now_ms: int, lease_ms: int) -> int:
        """Extend the lease of every message `replica` holds for `next_hop`, so that a message
        waiting in a long window is not taken for a dead replica's. The count renewed."""
        return await self._db.execute(
            "UPDATE outbox SET claim_expires_at_unix_ms = $3"
            f" WHERE next_hop = $1 AND claimed_by = $2 AND status = {_SENT}",
            next_hop,
            replica,
            now_ms + lease_ms,
        )

    async def transition(
        self,
        event: Event,
        changes: Sequence[Change],
        now_ms: int,
        *,
        claimed_by: str | None = None,
    ) -> None:
        async with self._db.transaction() as tx:
            await self.transition_txn(tx, event, changes, now_ms, claimed_by=claimed_by)

    async def transition_txn(
        self,
        tx: Tx,
        event: Event,
        changes: Sequence[Change],
        now_ms: int,
        *,
        claimed_by: str | None = None,
    ) -> None:
        """Apply `event` to messages in a status it leaves from. With `claimed_by`, only to
        messages that replica still holds: a replica whose claim lapsed and was taken over must
        not mark another replica's attempt failed."""
        if not changes:
            return
        sources = from_states(event)
        held = "" if claimed_by is None else f" AND claimed_by = ${6 + len(sources)}"
        await tx.executemany(
            "UPDATE outbox SET status = $2, last_error = COALESCE($3, last_error),"
            " next_attempt_at_unix_ms = $4, updated_at_unix_ms = $5, claimed_by = NULL"
            f" WHERE message_id = $1 AND status IN ({_placeholders(len(sources), 6)}){held}",
            [
                (
                    c.message_id,
                    target(event).value,
                    c.error,
                    c.retry_at_unix_ms,
                    now_ms,
                    *sources,
                    *(() if claimed_by is None else (claimed_by,)),
                )
                for c in changes
            ],
        )

    async def expire(self, now_ms: int) -> int:
        """Move every message whose expiry passed before delivery to dead."""
        return await self._db.execute(
            f"UPDATE outbox SET status = {_DEAD}, claimed_by = NULL, updated_at_unix_ms = $1,"
            " last_error = 'expired before delivery' || COALESCE(': ' || last_error, '')"
            f" WHERE status IN {_EXPIRING} AND expires_at_unix_ms <= $1",
            now_ms,
        )

    async def peers_with_work(self, now_ms: int) -> list[str]:
        """Next hops with a message due now: queued, failed and due again, or claimed by a
        replica whose lease has lapsed."""
        rows = await self._db.fetch(
            f"SELECT DISTINCT next_hop FROM outbox WHERE status IN {_PENDING}"
            " AND next_attempt_at_unix_ms <= $1"
            " UNION SELECT DISTINCT next_hop FROM outbox"
            f" WHERE status = {_SENT} AND claim_expires_at_unix_ms < $1",
            now_ms,
        )
        return [r["next_hop"] for r in rows]

    async def next_due(self, now_ms: int) -> int | None:
        """When something next falls due after `now_ms` (a retry, a lapsing claim, an expiry),
        so that delivery can sleep until then rather than poll; None when nothing will."""
        found = await self._db.fetchval(
            "SELECT MIN(t) FROM ("
            " SELECT MIN(next_attempt_at_unix_ms) AS t FROM outbox"
            f" WHERE status IN {_PENDING} AND next_attempt_at_unix_ms > $1"
            " UNION ALL SELECT MIN(claim_expires_at_unix_ms) AS t FROM outbox"
            f" WHERE status = {_SENT} AND claim_expires_at_unix_ms >= $1"
            " UNION ALL SELECT MIN(expires_at_unix_ms) AS t FROM outbox"
            f" WHERE status IN {_EXPIRING}"
            ") AS due",
            now_ms,
        )
        return None if found is None else int(found)

    async def envelope(self, message_id: str) -> Row | None:
        return await self._db.fetchrow("SELECT * FROM outbox WHERE message_id = $1", message_id)

    async def replace_envelope_txn(
        self,
        tx: Tx,
        message_id: str,
        envelope: bytes,
        header_sha256: bytes,
        expires_ms: int,
        now_ms: int,
    ) -> bool:
        """Redrive: the message, sealed again with fresh times, goes back to its queue; the
        envelope it replaces is kept with the earlier versions."""
        sources = from_states(Event.REDRIVE)
        await tx.execute(
            "INSERT INTO outbox_versions (message_id, header_sha256, envelope, replaced_at_unix_ms)"
            " SELECT message_id, header_sha256, envelope, $2 FROM outbox WHERE message_id = $1"
            f" AND status IN ({_placeholders(len(sources), 3)})"
            " ON CONFLICT (message_id, header_sha256) DO NOTHING",
            message_id,
            now_ms,
            *sources,
        )
        changed = await tx.execute(
            "UPDATE outbox SET envelope = $2, header_sha256 = $3, expires_at_unix_ms = $4,"
            f" status = {_QUEUED}, next_attempt_at_unix_ms = 0, updated_at_unix_ms = $5,"
            " last_error = NULL, claimed_by = NULL"
            f" WHERE message_id = $1 AND status IN ({_placeholders(len(sources), 6)})",
            message_id,
            envelope,
            header_sha256,
            expires_ms,
            now_ms,
            *sources,
        )
        await self._notify_txn(tx)
        return changed == 1

    async def sent_txn(
        self, tx: Tx, origin: str, message_ids: Sequence[str]
    ) -> dict[str, tuple[str, set[bytes]]]:
        """For each of `message_ids` that `origin` (this node) sealed: its recipient, and the
        hashes of every header it was sealed with (the current one and any a redrive replaced)."""
        if not message_ids:
            return {}
        rows = await tx.fetch(
            "SELECT message_id, recipient, header_sha256 FROM outbox"
            f" WHERE origin = $1 AND message_id IN ({_placeholders(len(message_ids), 2)})",
            origin,
            *message_ids,
        )
        found = {r["message_id"]: (r["recipient"], {bytes(r["header_sha256"])}) for r in rows}
        for r in await tx.fetch(
            "SELECT message_id, header_sha256 FROM outbox_versions"
            f" WHERE message_id IN ({_placeholders(len(message_ids))})",
            *message_ids,
        ):
            if r["message_id"] in found:
                found[r["message_id"]][1].add(bytes(r["header_sha256"]))
        return found

    async def origins_txn(self, tx: Tx, message_ids: Sequence[str]) -> dict[str, str]:
        """The origin of each of `message_ids` already in this node's outbox."""
        if not message_ids:
            return {}
        rows = await tx.fetch(
            "SELECT message_id, origin FROM outbox"
            f" WHERE message_id IN ({_placeholders(len(message_ids))})",
            *message_ids,
        )
        return {r["message_id"]: r["origin"] for r in rows}

    async def versions(self, message_id: str) -> dict[bytes, bytes]:
        """Earlier envelopes of a redriven message, by header hash, oldest first."""
        rows = await self._db.fetch(
            "SELECT header_sha256, envelope FROM outbox_versions WHERE message_id = $1"
            " ORDER BY replaced_at_unix_ms",
            message_id,
        )
        return {bytes(r["header_sha256"]): bytes(r["envelope"]) for r in rows}

    # -- receipts ----------------------------------------------------------------------------

    async def add_receipts_txn(
        self, tx: Tx, receipts: Sequence[tuple[str, str, str, bytes]], now_ms: int
    ) -> None:
        """(message_id, kind, issuer, receipt bytes); a receipt already kept is not replaced."""
        await tx.executemany(
            "INSERT INTO receipts (message_id, kind, issuer, receipt, received_at_unix_ms)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (message_id, kind, issuer) DO NOTHING",
            [(*r, now_ms) for r in receipts],
        )

    async def receipts(self, message_id: str) -> list[Row]:
        return await self._db.fetch(
            "SELECT * FROM receipts WHERE message_id = $1 ORDER BY received_at_unix_ms, kind",
            message_id,
        )

    # -- peers -------------------------------------------------------------------------------

    async def peer_state(self, peer: str) -> PeerState:
        row = await self._db.fetchrow("SELECT * FROM peer_state WHERE peer = $1", peer)
        if row is None:
            return PeerState(peer, 0, 0, None, None)
        return PeerState(
            peer,
            row["failures"],
            row["retry_at_unix_ms"],
            row["last_error"],
            row["last_success_at_unix_ms"],
        )

    async def set_peer_backoff(
        self, peer: str, failures: int, retry_at_ms: int, error: str | None
    ) -> None:
        await self._db.execute(
            "INSERT INTO peer_state (peer, failures, retry_at_unix_ms, last_error)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (peer) DO UPDATE"
            " SET failures = excluded.failures,"
            " retry_at_unix_ms = excluded.retry_at_unix_ms, last_error = excluded.last_error",
            peer,
            failures,
            retry_at_ms,
            error,
        )

    async def peer_succeeded(self, peer: str, now_ms: int) -> None:
        await self._db.execute(
            "INSERT INTO peer_state (peer, failures, retry_at_unix_ms, last_success_at_unix_ms)"
            " VALUES ($1, 0, 0, $2) ON CONFLICT (peer) DO UPDATE SET failures = 0,"
            " retry_at_unix_ms = 0, last_error = NULL,"
            " last_success_at_unix_ms = excluded.last_success_at_unix_ms",
            peer,
            now_ms,
        )

    async def peer_states(self) -> list[PeerState]:
        rows = await self._db.fetch("SELECT * FROM peer_state ORDER BY peer")
        return [
            PeerState(
                r["peer"],
                r["failures"],
                r["retry_at_unix_ms"],
                r["last_error"],
                r["last_success_at_unix_ms"],
            )
            for r in rows
        ]

    # -- listing -----------------------------------------------------------------------------

    async def list(self, self_id: str, *, status: str | None, limit: int) -> list[MessageRecord]:
        where = "WHERE status = $2" if status else ""
        args: list[object] = [limit] + ([status] if status else [])
        rows = await self._db.fetch(
            f"SELECT * FROM outbox {where} ORDER BY seq DESC LIMIT $1", *args
        )
        return [
            MessageRecord(
                direction="out" if r["origin"] == self_id else "relay",
                message_id=r["message_id"],
                conversation_id=r["conversation_id"],
                origin=r["origin"],
                recipient=r["recipient"],
                peer=r["next_hop"],
                document_type=r["document_type"],
                status=r["status"],
                attempts=r["attempts"],
                last_error=r["last_error"],
                created_at_unix_ms=r["created_at_unix_ms"],
                updated_at_unix_ms=r["updated_at_unix_ms"],
                sent_by=r["sent_by"],
                payload_size=r["payload_size"],
                traceparent=r["traceparent"],
            )
            for r in rows
        ]

    async def backlog(self) -> dict[tuple[str, str], int]:
        """Messages not yet delivered, by next hop and status. Read through the status index,
        so its cost follows the backlog, not the delivered history kept as evidence."""
        rows = await self._db.fetch(
            "SELECT next_hop, status, COUNT(*) AS n FROM outbox"
            f" WHERE status IN {_UNDELIVERED}"
            " GROUP BY next_hop, status"
        )
        return {(r["next_hop"], r["status"]): int(r["n"]) for r in rows}
