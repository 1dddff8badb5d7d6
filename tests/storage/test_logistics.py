"""Logistics storage on both backends (storage/logistics.py): an operator's event id is stored
once; a timeline reads its key's events in storage order after a cursor, through the index and
nothing else; declarations are found by the containers and bills of lading they name."""

from __future__ import annotations

import json
from typing import Any

from storage.database import Database
from storage.declarations import DeclarationRow
from storage.logistics import TIMELINE_SQL, EventRow

NOW = 1_800_000_000_000
USCC = "91440300MA5G1234XY"


def event(
    event_id: str, *, party: str = "zj-rail", container: str = "CSNU6391242", **kw: Any
) -> EventRow:
    values: dict[str, Any] = {
        "party_id": party,
        "event_id": event_id,
        "kind": "departed",
        "occurred_at_unix_ms": NOW,
        "place": "CNNGB",
        "container": container,
        "bill_of_lading": "COSU6381234560",
        "conveyance": "X8024",
        "mode": "rail",
        "remarks": "",
        "reported_by": f"{party}/officer",
        "recorded_at_unix_ms": NOW,
    }
    values.update(kw)
    return EventRow(**values)


async def insert(db: Database, *events: EventRow) -> list[EventRow | None]:
    async with db.transaction() as tx:
        return [await db.logistics.insert_txn(tx, e) for e in events]


async def test_an_event_id_is_stored_once_per_operator(db: Database) -> None:
    assert await insert(db, event("e1"), event("e2")) == [None, None]
    again = await insert(db, event("e1", place="CNSHA"))
    earlier = again[0]
    assert earlier is not None and earlier.place == "CNNGB" and earlier.seq > 0
    # Another operator's e1 is another event.
    assert await insert(db, event("e1", party="sh-terminal")) == [None]
    got = await db.logistics.for_key("container", "CSNU6391242")
    assert [(e.party_id, e.event_id) for e in got] == [
        ("zj-rail", "e1"),
        ("zj-rail", "e2"),
        ("sh-terminal", "e1"),
    ]


async def test_a_timeline_reads_its_key_in_storage_order_after_a_cursor(db: Database) -> None:
    await insert(
        db,
        event("a"),
        event("b", container="CBHU5529072"),
        event("c", bill_of_lading="OTHER1"),
        event("d", container="", bill_of_lading="COSU6381234560"),
    )
    by_container = await db.logistics.for_key("container", "CSNU6391242")
    assert [e.event_id for e in by_container] == ["a", "c"]
    by_bill = await db.logistics.for_key("bill_of_lading", "COSU6381234560")
    assert [e.event_id for e in by_bill] == ["a", "b", "d"]
    after = await db.logistics.for_key("bill_of_lading", "COSU6381234560", after_seq=by_bill[0].seq)
    assert [e.event_id for e in after] == ["b", "d"]
    newest = await db.logistics.for_key("bill_of_lading", "COSU6381234560", limit=2)
    assert [e.event_id for e in newest] == ["b", "d"]
    assert await db.logistics.last_seq() == by_bill[-1].seq


async def test_a_timeline_query_uses_the_index_and_reads_only_its_rows(db: Database) -> None:
    """The plan of the statement every timeline runs (the benchmark, scripts/bench-timeline,
    measures it on a million rows)."""
    rows = [
        event(f"e{i}", container=f"C{i % 500:04d}", bill_of_lading=f"B{i % 700}")
        for i in range(5000)
    ]
    await db.logistics.bulk_load(rows)
    engine = db.engine
    for column in ("container", "bill_of_lading"):
        sql = TIMELINE_SQL.format(column=column)
        if engine.dialect == "sqlite":
            plan = " | ".join(
                r["detail"] for r in await engine.fetch("EXPLAIN QUERY PLAN " + sql, "x", 0, 10)
            )
            assert (
                f"USING INDEX logistics_events_{'bill' if column != 'container' else 'container'}"
                in plan
            ), plan
            assert "SCAN" not in plan and "TEMP B-TREE" not in plan, plan
        else:
            await engine.execute("ANALYZE logistics_events")
            value = "C0007" if column == "container" else "B7"
            found = await engine.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, value, 0, 5000)
            plan = (json.loads(found) if isinstance(found, str) else found)[0]["Plan"]
            text = json.dumps(plan)
            assert "Seq Scan" not in text and "logistics_events_" in text, text
            scan = plan if "Index" in plan["Node Type"] else plan["Plans"][0]
            assert scan["Actual Rows"] == (10 if column == "container" else 8)
            assert scan.get("Rows Removed by Filter", 0) == 0


async def test_declarations_are_found_by_what_they_name(db: Database) -> None:
    async with db.transaction() as tx:
        for declaration_id in ("d1", "d2"):
            await db.declarations.insert_txn(
                tx,
                DeclarationRow(
                    id=declaration_id,
                    party_id=USCC,
                    submitted_by=f"{USCC}/alice",
                    document_type="goods_declaration",
                    document=b"",
                    status="under_review",
                    revision=0,
                    assessment="",
                    payment_due=False,
                    created_at_unix_ms=NOW,
                    updated_at_unix_ms=NOW,
                    decided_at_unix_ms=None,
                ),
            )
        await db.logistics.index_declaration_txn(
            tx, "d1", USCC, [("container", "CSNU6391242"), ("bill_of_lading", "COSU6381234560")]
        )
        await db.logistics.index_declaration_txn(tx, "d2", USCC, [("container", "CSNU6391242")])
    assert await db.logistics.declarations_naming("container", "CSNU6391242", USCC) == ["d1", "d2"]
    assert await db.logistics.declarations_naming("container", "CSNU6391242", "someone") == []
    assert await db.logistics.refs_of("d1") == [
        ("bill_of_lading", "COSU6381234560"),
        ("container", "CSNU6391242"),
    ]
    # An amendment names other containers: the record is replaced.
    async with db.transaction() as tx:
        await db.logistics.index_declaration_txn(tx, "d1", USCC, [("container", "CBHU5529072")])
    assert await db.logistics.declarations_naming("container", "CSNU6391242", USCC) == ["d2"]
    assert await db.logistics.refs_of("d1") == [("container", "CBHU5529072")]


async def test_operator_parties_are_listed_by_kind(db: Database) -> None:
    from storage.parties import Party

    async with db.transaction() as tx:
        for party_id, kind in (("zj-rail", "rail"), ("customs", "agency"), ("ys-term", "terminal")):
            await db.parties.create_txn(
                tx,
                Party(party_id=party_id, kind=kind, name=party_id, roles=(), status="active"),
                NOW,
            )
    assert await db.logistics.operator_parties(["rail", "terminal"]) == ["ys-term", "zj-rail"]


async def test_an_operator_lists_its_own_events_newest_first_by_filter_and_page(
    db: Database,
) -> None:
    await insert(
        db,
        event("a", occurred_at_unix_ms=NOW - 3000),
        event("b", container="CBHU5529072", occurred_at_unix_ms=NOW - 2000),
        event("c", bill_of_lading="OTHER1", occurred_at_unix_ms=NOW - 1000),
        event("x", party="sh-terminal"),
    )
    mine = await db.logistics.reported_by("zj-rail")
    assert [e.event_id for e in mine] == ["c", "b", "a"]
    assert [e.event_id for e in await db.logistics.reported_by("sh-terminal")] == ["x"]
    by_container = await db.logistics.reported_by("zj-rail", container="CSNU6391242")
    assert [e.event_id for e in by_container] == ["c", "a"]
    by_bill = await db.logistics.reported_by("zj-rail", bill_of_lading="COSU6381234560")
    assert [e.event_id for e in by_bill] == ["b", "a"]
    since = await db.logistics.reported_by("zj-rail", since_ms=NOW - 2000)
    assert [e.event_id for e in since] == ["c", "b"]
    first = await db.logistics.reported_by("zj-rail", limit=2)
    rest = await db.logistics.reported_by("zj-rail", before_seq=first[-1].seq)
    assert [e.event_id for e in first + rest] == ["c", "b", "a"]


# The statement of an operator's reports (storage/logistics.py reported_by), from the newest
# and before a cursor, with no other filter.
REPORTS_SQL = (
    "SELECT * FROM logistics_events WHERE party_id = $1{cursor} ORDER BY seq DESC LIMIT $2"
)


async def test_an_operators_reports_are_read_through_the_index_without_a_sort(
    db: Database,
) -> None:
    """Migration 0016: a page of "My reports" reads the party's rows through (party_id, seq) and
    no one else's: on SQLite back from the newest or the cursor with no sort; PostgreSQL may
    sort what the index found when that is cheaper, but reads no other row either."""
    rows = [event(f"e{i}", party=f"op-{i % 500:03d}") for i in range(5000)]
    await db.logistics.bulk_load(rows)
    engine = db.engine
    theirs = sorted(
        (r["seq"] for r in await engine.fetch(
            "SELECT seq FROM logistics_events WHERE party_id = $1", "op-007"
        )),
        reverse=True,
    )  # fmt: skip
    cursor_seq = theirs[3]
    for cursor, args, expected in (
        ("", ("op-007", 20), theirs),
        (" AND seq < $3", ("op-007", 20, cursor_seq), theirs[4:]),
    ):
        sql = REPORTS_SQL.format(cursor=cursor)
        if engine.dialect == "sqlite":
            plan = " | ".join(
                r["detail"] for r in await engine.fetch("EXPLAIN QUERY PLAN " + sql, *args)
            )
            assert "USING INDEX logistics_events_party" in plan, plan
            assert "TEMP B-TREE" not in plan and "SCAN" not in plan, plan
        else:
            await engine.execute("ANALYZE logistics_events")
            found = await engine.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, *args)
            plan = (json.loads(found) if isinstance(found, str) else found)[0]["Plan"]
            text = json.dumps(plan)
            assert "logistics_events_party" in text and "Seq Scan" not in text, text
            nodes, removed = [plan], 0
            while nodes:
                node = nodes.pop()
                removed += node.get("Rows Removed by Filter", 0)
                nodes.extend(node.get("Plans", []))
            assert removed == 0, text
        got = await engine.fetch(sql, *args)
        assert [r["seq"] for r in got] == expected
