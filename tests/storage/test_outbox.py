"""The outbox on both backends: what delivery (federation/delivery.py), inbound relaying and
redrive rely on. Messages are queued once per id; each is claimed by one replica at a time, oldest
first, when due; a dead replica's claim is taken over once its lease has passed; status changes
follow the table in core/outbox_status.py and never move a message backwards; a peer's backoff is
shared through the database."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest

from core.outbox_status import TRANSITIONS, Event, Status, apply
from storage.database import Database
from storage.outbox import Change, Claimed, OutboxRow, PeerState

NOW = 1_800_000_000_000
HOUR_MS = 3_600_000
LEASE_MS = 60_000
SELF = "CN-GD"


def message(
    n: int,
    *,
    next_hop: str = "CN-SH",
    origin: str = SELF,
    expires_at_unix_ms: int = NOW + HOUR_MS,
    envelope: bytes | None = None,
) -> OutboxRow:
    mid = f"m-{n:04d}"
    return OutboxRow(
        message_id=mid,
        conversation_id=f"c-{n}",
        origin=origin,
        recipient=next_hop,
        next_hop=next_hop,
        document_type="certificate_of_origin",
        envelope=envelope if envelope is not None else b"envelope-" + mid.encode(),
        header_sha256=b"h" * 31 + bytes([n % 256]),
        payload_size=100 + n,
        created_at_unix_ms=NOW,
        expires_at_unix_ms=expires_at_unix_ms,
    )


async def queue(db: Database, rows: Sequence[OutboxRow], now_ms: int = NOW) -> None:
    async with db.transaction() as tx:
        await db.outbox.insert_txn(tx, rows, now_ms)


async def stored(db: Database, message_id: str) -> dict[str, Any]:
    row = await db.outbox.envelope(message_id)
    assert row is not None, f"{message_id} is not in the outbox"
    return dict(row)


async def status(db: Database, message_id: str) -> str:
    return str((await stored(db, message_id))["status"])


def ids(claimed: Sequence[Claimed]) -> list[str]:
    return [c.message_id for c in claimed]


# -- queueing --------------------------------------------------------------------------------


async def test_a_message_id_is_queued_once(db: Database) -> None:
    first = message(1)
    await queue(db, [first, message(2)])
    (claimed,) = await db.outbox.claim("CN-SH", "r1", NOW, 1, LEASE_MS)
    assert claimed.message_id == "m-0001"
    # The same id again (a peer resending what this node relays, a retried submit): the row
    # already queued is kept as it is, status and envelope included.
    await queue(db, [message(1, envelope=b"another sealing"), message(2), message(3)], NOW + 5)
    row = await stored(db, "m-0001")
    assert (row["status"], bytes(row["envelope"])) == ("sent", first.envelope)
    assert row["created_at_unix_ms"] == NOW and row["attempts"] == 1
    assert await db.outbox.backlog() == {("CN-SH", "queued"): 2, ("CN-SH", "sent"): 1}


# -- claims ----------------------------------------------------------------------------------


async def test_claim_takes_the_oldest_due_messages_of_one_peer_and_marks_them_sent(
    db: Database,
) -> None:
    await queue(db, [message(n) for n in range(1, 4)])
    await queue(db, [message(9, next_hop="CN-ZJ")])
    await queue(db, [message(n) for n in range(4, 6)], NOW + 1)

    first = await db.outbox.claim("CN-SH", "replica-a", NOW + 10, 3, LEASE_MS)
    assert ids(first) == ["m-0001", "m-0002", "m-0003"]
    assert first[0] == Claimed(
        seq=first[0].seq,
        message_id="m-0001",
        envelope=message(1).envelope,
        header_sha256=message(1).header_sha256,
        recipient="CN-SH",
        attempts=1,
    )
    row = await stored(db, "m-0002")
    assert (row["status"], row["sent_by"], row["claimed_by"]) == ("sent", "replica-a", "replica-a")
    assert row["claim_expires_at_unix_ms"] == NOW + 10 + LEASE_MS

    assert ids(await db.outbox.claim("CN-SH", "replica-a", NOW + 10, 10, LEASE_MS)) == [
        "m-0004",
        "m-0005",
    ]
    assert await db.outbox.claim("CN-SH", "replica-a", NOW + 10, 10, LEASE_MS) == []
    # Another peer's queue is its own.
    assert await status(db, "m-0009") == "queued"
    assert ids(await db.outbox.claim("CN-ZJ", "replica-a", NOW + 10, 10, LEASE_MS)) == ["m-0009"]

    listed = {r.message_id: r for r in await db.outbox.list(SELF, status="sent", limit=10)}
    assert len(listed) == 6
    assert {r.sent_by for r in listed.values()} == {"replica-a"}
    assert {r.direction for r in listed.values()} == {"out"}


async def test_claim_waits_for_the_retry_time_and_skips_expired_messages(db: Database) -> None:
    await queue(db, [message(1), message(2, expires_at_unix_ms=NOW + 1_000)])
    assert ids(await db.outbox.claim("CN-SH", "r1", NOW, 10, LEASE_MS)) == ["m-0001", "m-0002"]
    retry_at = NOW + 5_000
    await db.outbox.transition(
        Event.TRANSIENT_FAILURE,
        [Change("m-0001", "CN-SH: unavailable", retry_at), Change("m-0002", "x", retry_at)],
        NOW + 100,
    )
    assert await status(db, "m-0001") == "failed"
    assert await db.outbox.claim("CN-SH", "r1", retry_at - 1, 10, LEASE_MS) == []
    # Not due yet: no peer has work now, and delivery sleeps until the retry time.
    assert await db.outbox.peers_with_work(retry_at - 1) == []
    # What falls due first is m-0002's expiry (already past: delivery expires it at once).
    assert await db.outbox.next_due(retry_at - 1) == NOW + 1_000
    assert await db.outbox.peers_with_work(retry_at) == ["CN-SH"]
    # Due at its retry time; m-0002 expired before that and is never sent again.
    again = await db.outbox.claim("CN-SH", "r2", retry_at, 10, LEASE_MS)
    assert ids(again) == ["m-0001"] and again[0].attempts == 2
    assert (await stored(db, "m-0001"))["sent_by"] == "r2"
    assert await db.outbox.claim("CN-SH", "r2", retry_at, 10, LEASE_MS) == []


async def test_two_replicas_claiming_at_once_never_get_the_same_message(
    db: Database, other_db: Database
) -> None:
    await queue(db, [message(n) for n in range(200)])
    got: dict[str, list[str]] = {"a": [], "b": []}
    rounds = 0
    while True:
        a, b = await asyncio.gather(
            db.outbox.claim("CN-SH", "a", NOW, 30, LEASE_MS),
            other_db.outbox.claim("CN-SH", "b", NOW, 30, LEASE_MS),
        )
        if not a and not b:
            break
        got["a"] += ids(a)
        got["b"] += ids(b)
        rounds += 1
    assert not set(got["a"]) & set(got["b"])
    assert sorted(got["a"] + got["b"]) == [f"m-{n:04d}" for n in range(200)]
    assert got["a"] and got["b"], "one replica got nothing"
    assert rounds <= 8  # each took up to its limit every round
    # The database agrees on who sent what.
    records = await db.outbox.list(SELF, status="sent", limit=500)
    assert {r.message_id for r in records if r.sent_by == "b"} == set(got["b"])


async def test_a_claim_is_taken_over_only_once_its_lease_has_passed(
    db: Database, other_db: Database
) -> None:
    await queue(db, [message(1), message(2)])
    (held,) = await db.outbox.claim("CN-SH", "dead-replica", NOW, 1, 1_000)
    assert held.message_id == "m-0001"
    # Within the lease another replica gets only what nobody holds.
    assert ids(await other_db.outbox.claim("CN-SH", "live", NOW + 500, 10, 1_000)) == ["m-0002"]
    assert await other_db.outbox.claim("CN-SH", "live", NOW + 1_000, 10, 1_000) == []
    assert await other_db.outbox.peers_with_work(NOW + 1_000) == []
    # Once the lease has passed, the held message is work again and is sent by the live one.
    assert await other_db.outbox.peers_with_work(NOW + 1_001) == ["CN-SH"]
    taken = await other_db.outbox.claim("CN-SH", "live", NOW + 1_001, 10, 1_000)
    assert ids(taken) == ["m-0001"] and taken[0].attempts == 2
    row = await stored(db, "m-0001")
    assert (row["status"], row["sent_by"]) == ("sent", "live")
    assert row["claim_expires_at_unix_ms"] == NOW + 2_001


async def test_a_message_stored_claimed_is_held_as_a_claim_would_hold_it(
    db: Database, other_db: Database
) -> None:
    # What a stream of the storing process takes at once (federation/outbox.py): sent by that
    # replica, first attempt, under a lease; another replica takes it only once that lapses.
    async with db.transaction() as tx:
        (held,) = await db.outbox.insert_claimed_txn(tx, [message(1)], NOW, "r1", 1_000)
    assert (held.message_id, held.attempts, held.envelope) == ("m-0001", 1, b"envelope-m-0001")
    row = await stored(db, "m-0001")
    assert (row["status"], row["sent_by"], row["attempts"]) == ("sent", "r1", 1)
    assert await other_db.outbox.claim("CN-SH", "live", NOW + 1_000, 10, 1_000) == []
    taken = await other_db.outbox.claim("CN-SH", "live", NOW + 1_001, 10, 1_000)
    assert ids(taken) == ["m-0001"] and taken[0].attempts == 2
    # A receipt moves it on like any claimed message.
    await db.outbox.transition(Event.DELIVERY_RECEIPT, [Change("m-0001")], NOW + 1_002)
    assert await status(db, "m-0001") == "delivered"


async def test_a_transaction_not_waited_for_on_disk_commits_like_any_other(
    db: Database, other_db: Database
) -> None:
    # durable=False (claims, receipts applied): committed and seen by every connection; the
    # commits after it are synced again as before.
    async with db.transaction(durable=False) as tx:
        await db.outbox.insert_txn(tx, [message(1)], NOW)
    assert await status(other_db, "m-0001") == "queued"

    async def rolled_back() -> None:
        async with db.transaction(durable=False) as tx:
            await db.outbox.insert_txn(tx, [message(2)], NOW)
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        await rolled_back()
    assert await db.outbox.envelope("m-0002") is None
    if db.engine.dialect == "sqlite":
        assert await db.engine.fetchval("PRAGMA synchronous") == 2  # FULL
    else:
        assert await db.engine.fetchval("SHOW synchronous_commit") == "on"


async def test_a_renewed_claim_is_not_taken_over_while_its_replica_lives(
    db: Database, other_db: Database
) -> None:
    await queue(db, [message(1), message(2)])
    await db.outbox.claim("CN-SH", "busy", NOW, 2, 1_000)
    assert await db.outbox.renew_claims("CN-SH", "busy", NOW + 900, 1_000) == 2
    # Past the first lease, within the renewed one: nothing is work for another replica.
    assert await other_db.outbox.claim("CN-SH", "live", NOW + 1_500, 10, 1_000) == []
    # A message the replica no longer holds is not renewed by it.
    await db.outbox.transition(
        Event.HOP_RECEIPT, [Change("m-0001")], NOW + 1_600, claimed_by="busy"
    )
    assert await db.outbox.renew_claims("CN-SH", "busy", NOW + 1_700, 1_000) == 1
    assert await other_db.outbox.renew_claims("CN-SH", "live", NOW + 1_700, 1_000) == 0
    # Once the renewals stop (the replica died), the lease passes and the claim is taken over.
    taken = await other_db.outbox.claim("CN-SH", "live", NOW + 2_701, 10, 1_000)
    assert ids(taken) == ["m-0002"]


async def test_a_replica_whose_claim_was_taken_over_cannot_fail_the_message(
    db: Database, other_db: Database
) -> None:
    await queue(db, [message(1)])
    await db.outbox.claim("CN-SH", "slow", NOW, 1, 1_000)
    await other_db.outbox.claim("CN-SH", "live", NOW + 1_001, 1, 1_000)
    # The slow replica's stream breaks now: its failure must not touch the live one's attempt.
    await db.outbox.transition(
        Event.TRANSIENT_FAILURE,
        [Change("m-0001", "stream broke", NOW + 5_000)],
        NOW + 1_100,
        claimed_by="slow",
    )
    row = await stored(db, "m-0001")
    assert (row["status"], row["claimed_by"]) == ("sent", "live")
    await other_db.outbox.transition(
        Event.TRANSIENT_FAILURE,
        [Change("m-0001", "live broke", NOW + 5_000)],
        NOW + 1_200,
        claimed_by="live",
    )
    assert await status(db, "m-0001") == "failed"


async def test_a_lapsed_claim_is_taken_over_while_newer_messages_keep_arriving(
    db: Database, other_db: Database
) -> None:
    """Under steady traffic there is always more queued than one claim takes: the oldest work,
    a dead replica's lapsed claim, must still be sent rather than wait for a quiet moment."""
    await queue(db, [message(1)])
    await db.outbox.claim("CN-SH", "dead-replica", NOW, 1, 1_000)
    await queue(db, [message(n) for n in range(2, 12)], NOW + 1)
    taken = await other_db.outbox.claim("CN-SH", "live", NOW + 2_000, 5, 1_000)
    assert ids(taken)[0] == "m-0001"
    assert ids(taken) == ["m-0001", "m-0002", "m-0003", "m-0004", "m-0005"]


# -- status changes --------------------------------------------------------------------------


async def put_in(
    db: Database, n: int, wanted: Status, *, expires_at_unix_ms: int = NOW + HOUR_MS
) -> str:
    """Queue message `n` (on a queue of its own) and bring it to `wanted` as delivery would."""
    row = message(n, next_hop=f"hop-{n}", expires_at_unix_ms=expires_at_unix_ms)
    await queue(db, [row])
    if wanted is Status.QUEUED:
        return row.message_id
    (claimed,) = await db.outbox.claim(row.next_hop, "r1", NOW, 1, LEASE_MS)
    event = {
        Status.SENT: None,
        Status.FAILED: Event.TRANSIENT_FAILURE,
        Status.ACKNOWLEDGED: Event.HOP_RECEIPT,
        Status.DELIVERED: Event.DELIVERY_RECEIPT,
        Status.DEAD: Event.PERMANENT_FAILURE,
    }[wanted]
    if event is not None:
        await db.outbox.transition(event, [Change(claimed.message_id, "earlier error")], NOW)
    assert await status(db, row.message_id) == wanted.value
    return row.message_id


@pytest.mark.parametrize("event", list(Event))
async def test_each_event_moves_a_message_only_from_the_statuses_it_leaves(
    db: Database, event: Event
) -> None:
    messages = {s: await put_in(db, n, s) for n, s in enumerate(Status)}
    before = {s: await stored(db, mid) for s, mid in messages.items()}
    later = NOW + 7_000
    await db.outbox.transition(
        event, [Change(mid, "new error", later + 500) for mid in messages.values()], later
    )
    for start, mid in messages.items():
        row = await stored(db, mid)
        moved_to = apply(start, event)
        if moved_to is None:
            assert row == before[start], f"{event} changed a {start} message"
            continue
        assert row["status"] == moved_to.value, f"{event} from {start}"
        assert row["updated_at_unix_ms"] == later
        assert row["last_error"] == "new error"
        assert row["next_attempt_at_unix_ms"] == later + 500
        assert row["claimed_by"] is None
    assert set(TRANSITIONS) == set(Event)


async def test_late_receipts_never_move_a_message_backwards(db: Database) -> None:
    delivered = await put_in(db, 1, Status.DELIVERED)
    acknowledged = await put_in(db, 2, Status.ACKNOWLEDGED)
    dead = await put_in(db, 3, Status.DEAD)
    # A hop receipt (or a failure) arriving after the delivery receipt changes nothing.
    for event in (Event.HOP_RECEIPT, Event.TRANSIENT_FAILURE, Event.PERMANENT_FAILURE):
        await db.outbox.transition(event, [Change(delivered), Change(acknowledged)], NOW + 1)
    assert await status(db, delivered) == "delivered"
    assert await status(db, acknowledged) == "acknowledged"
    # A delivery receipt for a message given up on: it arrived after all.
    await db.outbox.transition(Event.HOP_RECEIPT, [Change(dead)], NOW + 1)
    assert await status(db, dead) == "dead"
    await db.outbox.transition(Event.DELIVERY_RECEIPT, [Change(dead), Change(acknowledged)], NOW)
    assert await status(db, dead) == "delivered"
    assert await status(db, acknowledged) == "delivered"


async def test_expire_moves_only_undelivered_messages_past_their_expiry_to_dead(
    db: Database,
) -> None:
    expiry = NOW + 10_000
    at = {s: await put_in(db, n, s, expires_at_unix_ms=expiry) for n, s in enumerate(Status)}
    # One more, queued later, expires later.
    await queue(db, [message(99, expires_at_unix_ms=expiry + 1)])

    assert await db.outbox.expire(expiry - 1) == 0
    assert await db.outbox.expire(expiry) == 3
    after = {s: await stored(db, mid) for s, mid in at.items()}
    for start in (Status.QUEUED, Status.SENT, Status.FAILED):
        assert after[start]["status"] == "dead", start
        assert after[start]["claimed_by"] is None
        assert after[start]["updated_at_unix_ms"] == expiry
    assert after[Status.QUEUED]["last_error"] == "expired before delivery"
    assert after[Status.FAILED]["last_error"] == "expired before delivery: earlier error"
    assert after[Status.ACKNOWLEDGED]["status"] == "acknowledged"
    assert after[Status.DELIVERED]["status"] == "delivered"
    assert after[Status.DEAD]["last_error"] == "earlier error"
    assert await status(db, "m-0099") == "queued"
    assert await db.outbox.expire(expiry) == 0
    assert await db.outbox.claim("hop-0", "r1", expiry, 10, LEASE_MS) == []


# -- redrive and evidence --------------------------------------------------------------------


async def redrive(db: Database, mid: str, envelope: bytes, header: bytes, now_ms: int) -> bool:
    async with db.transaction() as tx:
        return await db.outbox.replace_envelope_txn(
            tx, mid, envelope, header, now_ms + HOUR_MS, now_ms
        )


async def test_redrive_requeues_a_dead_message_and_keeps_the_envelope_it_replaces(
    db: Database,
) -> None:
    mid = await put_in(db, 1, Status.DEAD)
    original = message(1)
    assert await redrive(db, mid, b"sealed again", b"H" * 32, NOW + 50)
    row = await stored(db, mid)
    assert row["status"] == "queued" and row["last_error"] is None
    assert bytes(row["envelope"]) == b"sealed again"
    assert row["expires_at_unix_ms"] == NOW + 50 + HOUR_MS
    assert await db.outbox.versions(mid) == {original.header_sha256: original.envelope}
    (claimed,) = await db.outbox.claim("hop-1", "r1", NOW + 50, 10, LEASE_MS)
    assert (claimed.envelope, claimed.header_sha256) == (b"sealed again", b"H" * 32)

    # Redriven again after failing: both earlier sealings are kept.
    await db.outbox.transition(Event.TRANSIENT_FAILURE, [Change(mid, "down", NOW + 60)], NOW + 55)
    assert await redrive(db, mid, b"third", b"I" * 32, NOW + 100)
    assert await db.outbox.versions(mid) == {
        original.header_sha256: original.envelope,
        b"H" * 32: b"sealed again",
    }


@pytest.mark.parametrize("wanted", [Status.QUEUED, Status.SENT, Status.DELIVERED])
async def test_redrive_leaves_a_message_that_is_not_dead_or_failed_alone(
    db: Database, wanted: Status
) -> None:
    mid = await put_in(db, 1, wanted)
    before = await stored(db, mid)
    assert not await redrive(db, mid, b"sealed again", b"H" * 32, NOW + 50)
    assert await stored(db, mid) == before
    assert await db.outbox.versions(mid) == {}


async def test_sent_gives_this_origins_messages_with_every_header_they_were_sealed_with(
    db: Database,
) -> None:
    mine = await put_in(db, 1, Status.DEAD)
    await queue(db, [message(2, origin="CN-SH", next_hop="CN-ZJ")])  # relayed for CN-SH
    await redrive(db, mine, b"sealed again", b"H" * 32, NOW + 50)
    async with db.transaction() as tx:
        sent = await db.outbox.sent_txn(tx, SELF, [mine, "m-0002", "m-unknown"])
        assert await db.outbox.sent_txn(tx, SELF, []) == {}
        origins = await db.outbox.origins_txn(tx, [mine, "m-0002", "m-unknown"])
    assert sent == {mine: ("hop-1", {message(1).header_sha256, b"H" * 32})}
    assert origins == {mine: SELF, "m-0002": "CN-SH"}
    listed = await db.outbox.list(SELF, status="queued", limit=10)
    assert [(r.message_id, r.direction) for r in listed] == [("m-0002", "relay"), (mine, "out")]


async def test_a_receipt_is_kept_once_the_first_time(db: Database) -> None:
    mid = await put_in(db, 1, Status.SENT)
    async with db.transaction() as tx:
        await db.outbox.add_receipts_txn(tx, [(mid, "hop", "CN", b"first")], NOW)
    async with db.transaction() as tx:
        await db.outbox.add_receipts_txn(
            tx, [(mid, "hop", "CN", b"second"), (mid, "delivery", "CN-SH", b"final")], NOW + 1
        )
    kept = [(r["kind"], r["issuer"], bytes(r["receipt"])) for r in await db.outbox.receipts(mid)]
    assert kept == [("hop", "CN", b"first"), ("delivery", "CN-SH", b"final")]


# -- peers -----------------------------------------------------------------------------------


async def test_a_peers_backoff_is_stored_and_shared_by_replicas(
    db: Database, other_db: Database
) -> None:
    assert await db.outbox.peer_state("CN-SH") == PeerState("CN-SH", 0, 0, None, None)
    await db.outbox.set_peer_backoff("CN-SH", 3, NOW + 4_000, "CN-SH: unavailable")
    await db.outbox.set_peer_backoff("CN-ZJ", 1, NOW + 500, "CN-ZJ: refused")
    assert await other_db.outbox.peer_state("CN-SH") == PeerState(
        "CN-SH", 3, NOW + 4_000, "CN-SH: unavailable", None
    )
    await other_db.outbox.peer_succeeded("CN-SH", NOW + 5_000)
    assert await db.outbox.peer_state("CN-SH") == PeerState("CN-SH", 0, 0, None, NOW + 5_000)
    # A later failure keeps when it last worked.
    await db.outbox.set_peer_backoff("CN-SH", 1, NOW + 6_000, "again")
    assert await db.outbox.peer_states() == [
        PeerState("CN-SH", 1, NOW + 6_000, "again", NOW + 5_000),
        PeerState("CN-ZJ", 1, NOW + 500, "CN-ZJ: refused", None),
    ]


# -- trace context ---------------------------------------------------------------------------


async def test_a_message_keeps_the_trace_it_was_queued_in_until_it_is_claimed(
    db: Database,
) -> None:
    traced = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    await queue(db, [replace(message(1), traceparent=traced), message(2)])
    first, second = await db.outbox.claim("CN-SH", "r1", NOW, 2, LEASE_MS)
    assert (first.traceparent, second.traceparent) == (traced, "")
