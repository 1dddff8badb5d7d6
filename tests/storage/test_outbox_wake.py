"""How a replica learns, without polling, that another queued outbox work (federation/delivery.py)
or stored a token revocation: on PostgreSQL the commit notifies `swnode_outbox` (or
`swnode_revocations`) and every listening replica is called; SQLite has no notifications (its
other writers call the ops port's /wake), and says so. The storage edge counts statements, with
liveness pings apart."""

from __future__ import annotations

import asyncio

from storage.database import Database
from tests.storage.test_outbox import message, queue


async def test_a_commit_at_one_replica_wakes_the_others_on_postgresql(
    db: Database, other_db: Database
) -> None:
    woken = asyncio.Event()
    listening = await other_db.on_outbox_work(woken.set)
    assert listening is (db.engine.dialect == "postgresql")
    await queue(db, [message(1)])
    if listening:
        await asyncio.wait_for(woken.wait(), timeout=30)  # a bound, not a measure of speed
    else:
        assert not woken.is_set()


async def test_statements_and_pings_are_counted_apart(db: Database) -> None:
    counters = db.engine.counters
    statements, pings = counters.statements, counters.pings
    await db.ping()
    assert (counters.statements, counters.pings) == (statements, pings + 1)
    await db.outbox.next_due(0)
    assert (counters.statements, counters.pings) == (statements + 1, pings + 1)


async def test_a_revocation_stored_at_one_replica_wakes_the_others_on_postgresql(
    db: Database, other_db: Database
) -> None:
    woken = asyncio.Event()
    listening = await other_db.on_revocation(woken.set)
    assert listening is (db.engine.dialect == "postgresql")
    await db.revocations.revoke("session", "s-1", 1_000, 2_000)
    if listening:
        await asyncio.wait_for(woken.wait(), timeout=30)
