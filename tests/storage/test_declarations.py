"""Declarations storage on both backends (storage/declarations.py), as services/declarations.py
and the statistics use it: a declaration reads back as stored; its history comes back in the
order it happened, after a cursor; a party's list filters and pages newest first without losing
or repeating a row; each agency sees its own work; a decision and its history commit together or
not at all; replicas deciding on one declaration or work item take turns."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from typing import Any

import asyncpg
import pytest

from storage.database import Database
from storage.declarations import DeclarationRow, Event, WorkRow
from storage.engine import Tx
from tests.storage.conftest import SecondReplicaWaits, abandoned

NOW = 1_800_000_000_000
DAY_MS = 86_400_000
USCC = "91440300MA5G1234XY"
OTHER = "91310000MA1FL8TQ3B"


def declaration(declaration_id: str, *, created: int = NOW, **kw: Any) -> DeclarationRow:
    values: dict[str, Any] = {
        "id": declaration_id,
        "party_id": USCC,
        "submitted_by": f"{USCC}/alice",
        "document_type": "goods_declaration",
        "document": b"\x0a\x03doc\x00\xff",
        "status": "under_review",
        "revision": 0,
        "assessment": '{"duty": "12.50"}',
        "payment_due": True,
        "created_at_unix_ms": created,
        "updated_at_unix_ms": created,
        "decided_at_unix_ms": None,
    }
    values.update(kw)
    return DeclarationRow(**values)


def work(work_id: str, declaration_id: str, agency: str, round_: int = 1) -> WorkRow:
    return WorkRow.new(work_id, declaration_id, agency, round_)


SUBMITTED = [
    Event("submit", "", "submitted", f"{USCC}/alice"),
    Event("validate", "submitted", "validated", "node"),
    Event("route", "validated", "under_review", "node", note="to customs, inspection"),
]


async def submit(
    db: Database, *rows: DeclarationRow, agencies: tuple[str, ...] = ("customs", "inspection")
) -> None:
    """What a submission stores: the declaration, its first events and one work item per
    agency, in one transaction (as services/declarations.py does)."""
    for row in rows:
        async with db.transaction() as tx:
            await db.declarations.insert_txn(tx, row)
            await db.declarations.add_events_txn(tx, row.id, SUBMITTED, row.created_at_unix_ms)
            await db.declarations.add_work_txn(
                tx, [work(f"{row.id}-{a}", row.id, a) for a in agencies], row.created_at_unix_ms
            )


def transitions(events: list[Any]) -> list[str]:
    return [e["transition"] for e in events]


# -- declarations ----------------------------------------------------------------------------


async def test_a_declaration_reads_back_as_stored(db: Database) -> None:
    row = declaration("d1")
    await submit(db, row)
    assert await db.declarations.get("d1") == row
    async with db.transaction() as tx:
        assert await db.declarations.lock_txn(tx, "d1") == row
        assert await db.declarations.lock_txn(tx, "nope") is None
    assert await db.declarations.get("nope") is None
    nothing_due = declaration("d2", payment_due=False, assessment="")
    await submit(db, nothing_due)
    assert await db.declarations.get("d2") == nothing_due


async def test_an_id_is_stored_once(db: Database) -> None:
    await submit(db, declaration("d1"))
    with pytest.raises((sqlite3.IntegrityError, asyncpg.UniqueViolationError)):
        async with db.transaction() as tx:
            await db.declarations.insert_txn(tx, declaration("d1", party_id=OTHER))
    got = await db.declarations.get("d1")
    assert got is not None and got.party_id == USCC
    with pytest.raises((sqlite3.IntegrityError, asyncpg.UniqueViolationError)):
        async with db.transaction() as tx:
            await db.declarations.add_work_txn(tx, [work("d1-customs", "d1", "tax")], NOW)
    assert [w.agency for w in await db.declarations.work_for("d1")] == ["customs", "inspection"]


async def test_history_and_work_belong_to_a_declaration_that_exists(db: Database) -> None:
    with pytest.raises((sqlite3.IntegrityError, asyncpg.ForeignKeyViolationError)):
        async with db.transaction() as tx:
            await db.declarations.add_events_txn(tx, "ghost", SUBMITTED, NOW)
    with pytest.raises((sqlite3.IntegrityError, asyncpg.ForeignKeyViolationError)):
        async with db.transaction() as tx:
            await db.declarations.add_work_txn(tx, [work("w", "ghost", "customs")], NOW)
    assert await db.declarations.events("ghost") == []


async def test_an_amendment_replaces_the_document_and_a_final_decision_is_timed(
    db: Database,
) -> None:
    await submit(db, declaration("d1"))
    async with db.transaction() as tx:
        await db.declarations.update_txn(
            tx, "d1", status="under_review", now_ms=NOW + 10, document=b"amended", revision=1
        )
    amended = await db.declarations.get("d1")
    assert amended is not None
    assert (amended.document, amended.revision, amended.updated_at_unix_ms) == (
        b"amended",
        1,
        NOW + 10,
    )
    assert amended.decided_at_unix_ms is None
    # A status change alone keeps the document and revision.
    async with db.transaction() as tx:
        await db.declarations.update_txn(tx, "d1", status="cleared", now_ms=NOW + 20, decided=True)
    cleared = await db.declarations.get("d1")
    assert cleared is not None
    assert (cleared.status, cleared.document, cleared.revision) == ("cleared", b"amended", 1)
    assert (cleared.decided_at_unix_ms, cleared.created_at_unix_ms) == (NOW + 20, NOW)
    # A later, non-deciding change keeps the time of the decision.
    async with db.transaction() as tx:
        await db.declarations.update_txn(tx, "d1", status="cleared", now_ms=NOW + 30)
    again = await db.declarations.get("d1")
    assert again is not None and again.decided_at_unix_ms == NOW + 20


# -- history ---------------------------------------------------------------------------------


async def test_history_comes_back_in_the_order_it_happened_after_a_cursor(db: Database) -> None:
    await submit(db, declaration("d1"), declaration("d2"))
    async with db.transaction() as tx:
        await db.declarations.add_events_txn(
            tx,
            "d1",
            [
                Event("agency_accept", "under_review", "under_review", "customs/li", "customs"),
                Event("accept_all", "under_review", "awaiting_payment", "node"),
            ],
            NOW + 5,
        )
    history = await db.declarations.events("d1")
    assert transitions(history) == ["submit", "validate", "route", "agency_accept", "accept_all"]
    seqs = [e["seq"] for e in history]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    first = history[0]
    assert (first["from_status"], first["to_status"], first["actor"], first["at_unix_ms"]) == (
        "",
        "submitted",
        f"{USCC}/alice",
        NOW,
    )
    assert (history[2]["note"], history[3]["agency"]) == ("to customs, inspection", "customs")
    # A watcher that has seen the first three gets the rest, and only d1's.
    after = await db.declarations.events("d1", after_seq=history[2]["seq"])
    assert transitions(after) == ["agency_accept", "accept_all"]
    assert await db.declarations.events("d1", after_seq=history[-1]["seq"]) == []
    assert transitions(await db.declarations.events("d2")) == ["submit", "validate", "route"]


async def test_a_decision_and_its_history_commit_together_or_not_at_all(db: Database) -> None:
    await submit(db, declaration("d1"))

    async def decide(tx: Tx) -> None:
        await db.declarations.update_work_txn(
            tx, "d1-customs", status="decided", review="rejected", now_ms=NOW + 5, reason="x"
        )
        await db.declarations.update_txn(tx, "d1", status="rejected", now_ms=NOW + 5, decided=True)
        await db.declarations.add_events_txn(
            tx, "d1", [Event("reject", "under_review", "rejected", "node")], NOW + 5
        )

    await abandoned(db, decide)
    unchanged = await db.declarations.get("d1")
    assert unchanged is not None
    assert (unchanged.status, unchanged.decided_at_unix_ms) == ("under_review", None)
    assert transitions(await db.declarations.events("d1")) == ["submit", "validate", "route"]
    w = await db.declarations.work("d1-customs")
    assert w is not None and (w.status, w.review, w.reason) == ("open", "open", "")

    async with db.transaction() as tx:
        await decide(tx)
    decided = await db.declarations.get("d1")
    assert decided is not None and decided.status == "rejected"
    assert transitions(await db.declarations.events("d1"))[-1] == "reject"


# -- a party's list --------------------------------------------------------------------------


async def test_a_partys_list_filters_and_pages_newest_first(db: Database) -> None:
    # Three declarations in the same millisecond, stored out of order: the id orders them.
    rows = [
        declaration("a", created=NOW),
        declaration("c", created=NOW + 1),
        declaration("b", created=NOW + 1),
        declaration("d", created=NOW + 1, document_type="certificate_of_origin_application"),
        declaration("e", created=NOW + 2, status="cleared"),
        declaration("f", created=NOW + DAY_MS),
        declaration("other", created=NOW + 1, party_id=OTHER),
    ]
    await submit(db, *rows)

    async def listing(
        *, status: str = "", document_type: str = "", from_ms: int = 0, to_ms: int = 2**62
    ) -> list[str]:
        """Every page of two, following the cursor as ListDeclarations does."""
        seen: list[str] = []
        before: tuple[int, str] | None = None
        while True:
            page = await db.declarations.list_for_party(
                USCC,
                status=status,
                document_type=document_type,
                from_ms=from_ms,
                to_ms=to_ms,
                before=before,
                limit=2,
            )
            seen += [r.id for r in page]
            if len(page) < 2:
                return seen
            before = (page[-1].created_at_unix_ms, page[-1].id)

    assert await listing() == ["f", "e", "d", "c", "b", "a"]
    assert await listing(status="under_review") == ["f", "d", "c", "b", "a"]
    assert await listing(document_type="goods_declaration") == ["f", "e", "c", "b", "a"]
    assert await listing(status="cleared", document_type="goods_declaration") == ["e"]
    # The period is [from, to): a declaration at `to` belongs to the next one.
    assert await listing(from_ms=NOW + 1, to_ms=NOW + DAY_MS) == ["e", "d", "c", "b"]
    assert await listing(status="rejected") == []


# -- work items ------------------------------------------------------------------------------


async def test_each_agency_sees_its_own_work_oldest_first(db: Database) -> None:
    await submit(db, declaration("d1"))
    await submit(db, declaration("d2", created=NOW + 10), agencies=("customs",))
    assert [w.id for w in await db.declarations.agency_work("customs", ["open"], 10)] == [
        "d1-customs",
        "d2-customs",
    ]
    assert [w.id for w in await db.declarations.agency_work("inspection", ["open"], 10)] == [
        "d1-inspection"
    ]
    assert [w.id for w in await db.declarations.agency_work("customs", ["open"], 1)] == [
        "d1-customs"
    ]
    assert await db.declarations.agency_work("tax", ["open"], 10) == []
    async with db.transaction() as tx:
        await db.declarations.update_work_txn(
            tx, "d1-customs", status="claimed", review="claimed", now_ms=NOW + 20, claimed_by="li"
        )
    assert [w.id for w in await db.declarations.agency_work("customs", ["open"], 10)] == [
        "d2-customs"
    ]
    assert [w.id for w in await db.declarations.agency_work("customs", ["claimed"], 10)] == [
        "d1-customs"
    ]
    both = await db.declarations.agency_work("customs", ["open", "claimed", "decided"], 10)
    assert [w.id for w in both] == ["d1-customs", "d2-customs"]
    item = await db.declarations.work("d1-customs")
    assert item is not None
    assert (item.agency, item.round, item.status, item.claimed_by) == (
        "customs",
        1,
        "claimed",
        "li",
    )
    assert item.created_at_unix_ms == NOW
    # The simulator's queue: everything not yet decided, oldest first (one submission's items
    # share a time).
    queue = [w.id for w in await db.declarations.open_work(10)]
    assert sorted(queue[:2]) == ["d1-customs", "d1-inspection"] and queue[2:] == ["d2-customs"]
    assert len(await db.declarations.open_work(2)) == 2


async def test_a_decision_keeps_the_claim_and_records_who_decided_when(db: Database) -> None:
    await submit(db, declaration("d1"))
    async with db.transaction() as tx:
        await db.declarations.update_work_txn(
            tx, "d1-customs", status="claimed", review="claimed", now_ms=NOW + 1, claimed_by="li"
        )
    async with db.transaction() as tx:
        await db.declarations.update_work_txn(
            tx,
            "d1-customs",
            status="decided",
            review="accepted",
            now_ms=NOW + 2,
            decided_by="wang",
            note="fine",
        )
    w = await db.declarations.work("d1-customs")
    assert w is not None
    assert (w.status, w.review, w.claimed_by, w.decided_by, w.reason, w.note) == (
        "decided",
        "accepted",
        "li",
        "wang",
        "",
        "fine",
    )
    assert w.decided_at_unix_ms == NOW + 2
    assert [x.id for x in await db.declarations.open_work(10)] == ["d1-inspection"]
    assert await db.declarations.work("nope") is None


async def test_a_round_gives_each_agencys_latest_review(db: Database) -> None:
    await submit(db, declaration("d1"))
    async with db.transaction() as tx:
        await db.declarations.update_work_txn(
            tx, "d1-customs", status="decided", review="needs_information", now_ms=NOW + 1
        )
        await db.declarations.update_work_txn(
            tx, "d1-inspection", status="decided", review="accepted", now_ms=NOW + 1
        )
        # The amendment goes back to customs only, in round 2.
        await db.declarations.add_work_txn(tx, [work("d1-customs-2", "d1", "customs", 2)], NOW + 2)
    async with db.transaction() as tx:
        first = await db.declarations.round_txn(tx, "d1", 1)
        second = await db.declarations.round_txn(tx, "d1", 2)
    assert sorted((w.agency, w.id, w.review) for w in first) == [
        ("customs", "d1-customs", "needs_information"),
        ("inspection", "d1-inspection", "accepted"),
    ]
    assert sorted((w.agency, w.id, w.review) for w in second) == [
        ("customs", "d1-customs-2", "open"),
        ("inspection", "d1-inspection", "accepted"),
    ]
    assert [(w.round, w.agency) for w in await db.declarations.work_for("d1")] == [
        (1, "customs"),
        (1, "inspection"),
        (2, "customs"),
    ]


# -- replicas take turns ---------------------------------------------------------------------


async def test_a_second_replica_claiming_a_work_item_waits_and_sees_the_claim(
    db: Database, second_replica_waits: SecondReplicaWaits
) -> None:
    await submit(db, declaration("d1"))

    async def lock(on: Database, tx: Tx) -> WorkRow | None:
        return await on.declarations.work_txn(tx, "d1-customs")

    async def claim(on: Database, tx: Tx) -> None:
        await on.declarations.update_work_txn(
            tx, "d1-customs", status="claimed", review="claimed", now_ms=NOW + 1, claimed_by="li"
        )

    seen = await second_replica_waits(lock, claim)
    assert seen is not None and (seen.status, seen.claimed_by) == ("claimed", "li")


async def test_a_second_replica_deciding_on_a_declaration_waits_for_the_first(
    db: Database, second_replica_waits: SecondReplicaWaits
) -> None:
    """Two agencies deciding at once on two replicas: the second sees the first's outcome, so
    the last acceptance moves the declaration on."""
    await submit(db, declaration("d1"))

    async def lock(on: Database, tx: Tx) -> DeclarationRow | None:
        return await on.declarations.lock_txn(tx, "d1")

    async def decide(on: Database, tx: Tx) -> None:
        await on.declarations.update_txn(tx, "d1", status="awaiting_payment", now_ms=NOW + 1)

    seen = await second_replica_waits(lock, decide)
    assert seen is not None and seen.status == "awaiting_payment"


# -- statistics ------------------------------------------------------------------------------


async def test_counts_by_day_and_decision_times(db: Database) -> None:
    day = NOW // DAY_MS
    await submit(
        db,
        declaration("a", created=day * DAY_MS + 5),
        declaration("b", created=day * DAY_MS + 6),
        declaration("c", created=(day + 1) * DAY_MS),
        replace(declaration("d", created=day * DAY_MS + 7), document_type="phytosanitary"),
    )
    async with db.transaction() as tx:
        await db.declarations.update_txn(
            tx, "a", status="cleared", now_ms=day * DAY_MS + 5 + 60_000, decided=True
        )
        await db.declarations.update_txn(
            tx, "b", status="rejected", now_ms=day * DAY_MS + 90_000, decided=True
        )
    counts = await db.declarations.counts(day * DAY_MS, (day + 2) * DAY_MS)
    assert sorted((r["document_type"], r["status"], r["day"], r["n"]) for r in counts) == [
        ("goods_declaration", "cleared", day, 1),
        ("goods_declaration", "rejected", day, 1),
        ("goods_declaration", "under_review", day + 1, 1),
        ("phytosanitary", "under_review", day, 1),
    ]
    assert await db.declarations.counts(0, day * DAY_MS) == []
    # Only what was cleared or approved counts towards clearance times.
    times = await db.declarations.decision_times(day * DAY_MS, (day + 2) * DAY_MS)
    assert [(r["document_type"], r["took_ms"]) for r in times] == [("goods_declaration", 60_000)]


async def test_a_declaration_keeps_the_trace_of_its_submission(db: Database) -> None:
    traced = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    await submit(db, declaration("d1", traceparent=traced), declaration("d2"))
    one, two = await db.declarations.get("d1"), await db.declarations.get("d2")
    assert one is not None and one.traceparent == traced
    assert two is not None and two.traceparent == ""
