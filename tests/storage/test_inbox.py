"""The inbox on both backends: what federation/inbound.py and the dispatcher rely on. A message
is its origin's, so it is stored once per (origin, message id) and a message arriving again gets
the receipt it got the first time; messages for this node wait as `received` until handled."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from storage.database import Database
from storage.inbox import WAITING_SQL, InboxRow

NOW = 1_800_000_000_000


def received(
    message_id: str,
    *,
    origin: str = "CN-SH",
    status: str = "received",
    document_type: str = "certificate_of_origin",
    receipt: bytes | None = None,
) -> InboxRow:
    return InboxRow(
        message_id=message_id,
        conversation_id=f"c-{message_id}",
        origin=origin,
        previous_hop=origin,
        recipient="CN-GD" if status != "relayed" else "CN-ZJ",
        document_type=document_type,
        envelope=b"envelope-" + message_id.encode(),
        header_sha256=b"h" * 32,
        payload_size=42,
        receipt=receipt if receipt is not None else f"receipt {origin} {message_id}".encode(),
        status=status,
    )


async def store(db: Database, rows: Sequence[InboxRow], now_ms: int = NOW) -> None:
    async with db.transaction() as tx:
        await db.inbox.insert_txn(tx, rows, now_ms)


async def test_a_message_is_stored_once_per_origin_and_keeps_its_first_receipt(
    db: Database,
) -> None:
    await store(db, [received("m-1", receipt=b"first")])
    # The same message again (a replay, a resend after a lost ack) changes nothing...
    await store(db, [received("m-1", receipt=b"second"), received("m-2")], NOW + 1)
    # ...but another origin's message with the same id is a different message.
    await store(db, [received("m-1", origin="CN-ZJ", receipt=b"zj's")], NOW + 2)
    assert await db.inbox.count() == 3
    async with db.transaction() as tx:
        given = await db.inbox.receipts_for_txn(
            tx, [("CN-SH", "m-1"), ("CN-SH", "m-9"), ("CN-SH", "m-2")]
        )
        assert await db.inbox.receipts_for_txn(tx, []) == {}
        zj_only = await db.inbox.receipts_for_txn(tx, [("CN-ZJ", "m-1"), ("CN-GD", "m-2")])
    assert given == {("CN-SH", "m-1"): b"first", ("CN-SH", "m-2"): b"receipt CN-SH m-2"}
    assert zj_only == {("CN-ZJ", "m-1"): b"zj's"}

    first = await db.inbox.get("m-1")
    assert first is not None
    assert (first["origin"], bytes(first["receipt"]), first["received_at_unix_ms"]) == (
        "CN-SH",
        b"first",
        NOW,
    )
    zj = await db.inbox.get("m-1", origin="CN-ZJ")
    assert zj is not None and bytes(zj["receipt"]) == b"zj's"
    assert await db.inbox.get("m-1", origin="SG") is None
    assert await db.inbox.get("m-unknown") is None


async def test_received_gives_messages_waiting_for_this_node_oldest_first(db: Database) -> None:
    await store(
        db,
        [
            received("m-1"),
            received("m-2", document_type="phytosanitary"),
            received("m-3", status="relayed"),  # passed on, not for this node
            received("m-4", status="processed"),  # a delivery receipt, handled on arrival
            received("m-5"),
        ],
    )
    waiting = await db.inbox.received(None, 0, 10)
    assert [r["message_id"] for r in waiting] == ["m-1", "m-2", "m-5"]
    # Paged by sequence number, and by document type.
    page = await db.inbox.received(None, 0, 2)
    assert [r["message_id"] for r in page] == ["m-1", "m-2"]
    rest = await db.inbox.received(None, page[-1]["seq"], 2)
    assert [r["message_id"] for r in rest] == ["m-5"]
    typed = await db.inbox.received("phytosanitary", 0, 10)
    assert [r["message_id"] for r in typed] == ["m-2"]
    assert bytes(typed[0]["envelope"]) == b"envelope-m-2"


async def test_processed_messages_are_no_longer_waiting(db: Database) -> None:
    await store(db, [received("m-1"), received("m-2"), received("m-3", status="relayed")])
    await store(db, [received("m-1", origin="CN-ZJ")])
    async with db.transaction() as tx:
        await db.inbox.mark_processed_txn(tx, [("CN-SH", "m-1"), ("CN-SH", "m-3")])
    waiting = await db.inbox.received(None, 0, 10)
    assert [(r["origin"], r["message_id"]) for r in waiting] == [("CN-SH", "m-2"), ("CN-ZJ", "m-1")]
    # Handling again is harmless, and a relayed message is never marked processed.
    async with db.transaction() as tx:
        await db.inbox.mark_processed_txn(tx, [("CN-SH", "m-1")])
    statuses = {
        (r.origin, r.message_id): r.status for r in await db.inbox.list(status=None, limit=10)
    }
    assert statuses == {
        ("CN-SH", "m-1"): "processed",
        ("CN-SH", "m-2"): "received",
        ("CN-SH", "m-3"): "relayed",
        ("CN-ZJ", "m-1"): "received",
    }


async def test_the_listing_shows_received_messages_newest_first(db: Database) -> None:
    await store(db, [received("m-1")], NOW)
    await store(db, [received("m-2", status="relayed")], NOW + 1)
    listed = await db.inbox.list(status=None, limit=10)
    assert [(r.message_id, r.direction, r.peer, r.sent_by) for r in listed] == [
        ("m-2", "in", "CN-SH", None),
        ("m-1", "in", "CN-SH", None),
    ]
    assert listed[1].created_at_unix_ms == NOW and listed[1].payload_size == 42
    only = await db.inbox.list(status="relayed", limit=10)
    assert [r.message_id for r in only] == ["m-2"]
    assert len(await db.inbox.list(status=None, limit=1)) == 1


async def test_the_dispatchers_query_reads_only_its_types_waiting_messages(db: Database) -> None:
    """Messages of a type nobody handles pile up as `received`; the query the dispatcher runs on
    every arrival must not scan them (it did, and throughput fell with the inbox's size)."""
    engine = db.engine
    if engine.dialect == "sqlite":
        rows = await engine.fetch("EXPLAIN QUERY PLAN " + WAITING_SQL, 0, 10, "x")
        plan = " | ".join(r["detail"] for r in rows)
        assert "USING INDEX inbox_waiting_by_type" in plan and "SCAN" not in plan, plan
    else:
        async with engine.transaction() as tx:  # a tiny table: make the planner show its index
            await tx.execute("SET LOCAL enable_seqscan = off")
            plan = str(await tx.fetchval("EXPLAIN (FORMAT JSON) " + WAITING_SQL, 0, 10, "x"))
        assert "inbox_waiting_by_type" in plan, plan


async def test_a_message_keeps_the_trace_it_arrived_in_for_its_handler(db: Database) -> None:
    traced = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    await store(db, [replace(received("m-1"), traceparent=traced), received("m-2")])
    waiting = await db.inbox.received("certificate_of_origin", 0, 10)
    assert [(r["message_id"], r["traceparent"]) for r in waiting] == [("m-1", traced), ("m-2", "")]
