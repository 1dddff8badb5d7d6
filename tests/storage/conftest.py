from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest

from storage.database import Database
from storage.engine import Tx

T = TypeVar("T")


@pytest.fixture
async def db(engine_url: str, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated database on each backend."""
    database = await Database.open(engine_url, base_dir=tmp_path)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def other_db(engine_url: str, tmp_path: Path, db: Database) -> AsyncIterator[Database]:
    """A second replica: its own connections to the same database as `db`."""
    database = await Database.open(engine_url, base_dir=tmp_path)
    try:
        yield database
    finally:
        await database.close()


Lock = Callable[[Database, Tx], Awaitable[T]]
Change = Callable[[Database, Tx], Awaitable[None]]


class SecondReplicaWaits(Protocol):
    async def __call__(self, lock: Lock[T], change: Change) -> T: ...


async def _until_blocked(db: Database, task: asyncio.Task[Any]) -> None:
    """Return once `task` waits on a row lock (PostgreSQL shows it in pg_stat_activity), or has
    finished without waiting. SQLite cannot show it: its second writer waits in BEGIN IMMEDIATE,
    so a short pause is enough there."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not task.done() and loop.time() < started + 30:
        if db.engine.dialect == "postgresql":
            waiting = await db.engine.fetchval(
                "SELECT COUNT(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if waiting:
                return
        elif loop.time() > started + 0.3:
            return
        await asyncio.sleep(0.02)


@pytest.fixture
def second_replica_waits(db: Database, other_db: Database) -> SecondReplicaWaits:
    """Check that a locking read serializes replicas: `db` locks and changes a row; the same
    locking read on `other_db`, started meanwhile, must wait for the commit and see the change.
    Returns what the second replica read."""

    async def check(lock: Lock[T], change: Change) -> T:
        seen: list[T] = []

        async def second() -> None:
            async with other_db.transaction() as tx:
                seen.append(await lock(other_db, tx))

        async with db.transaction() as tx:
            await lock(db, tx)
            task = asyncio.create_task(second())
            await _until_blocked(db, task)
            assert not task.done(), "the second replica read the row while the first held it"
            await change(db, tx)
        await task
        return seen[0]

    return check


class _Abandoned(Exception):
    pass


async def abandoned(db: Database, work: Callable[[Tx], Awaitable[Any]]) -> None:
    """Run `work` in a transaction that then fails (a crash or a refusal further on), so that
    nothing of it may stay."""
    with contextlib.suppress(_Abandoned):
        async with db.transaction() as tx:
            await work(tx)
            raise _Abandoned
