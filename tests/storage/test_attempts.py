"""Attempts in a sliding window (storage/attempts.py) on both backends: recorded with the
earlier ones still in the window, forgotten one by one or once out of every window, and
numbered one after the other however many are recorded at once, on however many replicas."""

from __future__ import annotations

import asyncio

from storage.database import Database

NOW = 1_800_000_000_000
WINDOW = 60_000


async def test_each_attempt_sees_the_earlier_ones_in_the_window(db: Database) -> None:
    key = "login:10.0.0.1"
    seen = [await db.attempts.record(key, NOW + n, WINDOW) for n in range(3)]
    assert [r.earlier_ms for r in seen] == [(), (NOW,), (NOW, NOW + 1)]
    assert len({r.attempt_id for r in seen}) == 3
    assert await db.attempts.recent(key, NOW + 2, WINDOW) == [NOW, NOW + 1, NOW + 2]
    # Other keys are counted apart.
    assert (await db.attempts.record("login:10.0.0.2", NOW, WINDOW)).earlier_ms == ()
    # Once out of the window, an attempt no longer counts (and is forgotten on the way).
    later = await db.attempts.record(key, NOW + WINDOW + 1, WINDOW)
    assert later.earlier_ms == (NOW + 2,)
    assert await db.attempts.recent(key, NOW + WINDOW + 1, 10 * WINDOW) == [
        NOW + 2,
        NOW + WINDOW + 1,
    ]


async def test_an_attempt_taken_back_no_longer_counts(db: Database) -> None:
    key = "register:10.0.0.1"
    first = await db.attempts.record(key, NOW, WINDOW)
    second = await db.attempts.record(key, NOW + 1, WINDOW)
    await db.attempts.forget(first.attempt_id)
    assert await db.attempts.recent(key, NOW + 2, WINDOW) == [NOW + 1]
    await db.attempts.forget(second.attempt_id)
    assert (await db.attempts.record(key, NOW + 3, WINDOW)).earlier_ms == ()


async def test_old_attempts_are_forgotten_for_every_key(db: Database) -> None:
    for n, key in enumerate(("login:a", "login:b", "register:a")):
        await db.attempts.record(key, NOW + n, WINDOW)
    await db.attempts.record("login:a", NOW + 10, WINDOW)
    assert await db.attempts.forget_before(NOW + 2) == 3
    assert await db.attempts.recent("login:a", NOW + 10, WINDOW) == [NOW + 10]
    assert await db.attempts.recent("login:b", NOW + 10, WINDOW) == []
    assert (await db.attempts.record("login:b", NOW + 11, WINDOW)).earlier_ms == ()


async def test_attempts_recorded_at_once_are_all_counted(db: Database, other_db: Database) -> None:
    """Guesses sent at once, to two replicas: none may read the count another has not yet
    added to, so that each sees a different number of earlier attempts."""
    recorded = await asyncio.gather(
        *((db if i % 2 else other_db).attempts.record("login:x", NOW, WINDOW) for i in range(20))
    )
    assert sorted(len(r.earlier_ms) for r in recorded) == list(range(20))
    assert len(await db.attempts.recent("login:x", NOW, WINDOW)) == 20
