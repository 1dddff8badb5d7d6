"""Failed logins in a row (storage/login_failures.py) on both backends: every attempt is counted,
however many run at once, and exactly one sets the lock."""

from __future__ import annotations

import asyncio

from storage.database import Database

NOW = 1_800_000_000_000
USCC = "91440300MA5G1234XY"


async def test_failures_count_and_lock(db: Database) -> None:
    key = f"user:{USCC}/alice"
    assert await db.login_failures.failures(key) == (0, None)
    assert [await db.login_failures.count(key, NOW + n) for n in range(3)] == [1, 2, 3]
    assert await db.login_failures.failures(key) == (3, None)
    assert await db.login_failures.lock(key, NOW + 60_000, NOW)
    assert await db.login_failures.failures(key) == (3, NOW + 60_000)
    # While a lock is in force nobody sets another; once it has passed, the next one may.
    assert not await db.login_failures.lock(key, NOW + 90_000, NOW + 59_999)
    assert await db.login_failures.count(key, NOW + 5) == 4
    assert await db.login_failures.failures(key) == (4, NOW + 60_000)
    assert await db.login_failures.lock(key, NOW + 120_000, NOW + 60_000)
    assert await db.login_failures.failures(key) == (4, NOW + 120_000)
    assert await db.login_failures.failures("source:10.0.0.1") == (0, None)
    await db.login_failures.clear(key)
    assert await db.login_failures.failures(key) == (0, None)
    assert await db.login_failures.count(key, NOW + 9) == 1


async def test_concurrent_failures_are_all_counted(db: Database, other_db: Database) -> None:
    """Guesses sent at once must not slip past the lockout by reading the same count, and
    exactly one of them sets the lock."""
    counts = await asyncio.gather(
        *((db if i % 2 else other_db).login_failures.count("source:x", NOW) for i in range(20))
    )
    assert sorted(counts) == list(range(1, 21))
    assert await db.login_failures.failures("source:x") == (20, None)
    locked = await asyncio.gather(
        *(
            (db if i % 2 else other_db).login_failures.lock("source:x", NOW + 1000 + i, NOW)
            for i in range(10)
        )
    )
    assert locked.count(True) == 1
