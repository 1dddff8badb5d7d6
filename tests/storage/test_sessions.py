"""Login sessions (storage/sessions.py) on both backends: a refresh secret is used once, however
many refreshes run at once, and an ended session stays ended."""

from __future__ import annotations

import asyncio
import hashlib

from storage.database import Database

NOW = 1_800_000_000_000
USCC = "91440300MA5G1234XY"


def sha(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


async def test_a_refresh_secret_is_used_once(db: Database) -> None:
    await db.sessions.open("s1", USCC, "alice", sha("r0"), NOW, NOW + 3600_000)
    row = await db.sessions.get("s1")
    assert row is not None
    assert (row["party_id"], row["username"], bytes(row["refresh_sha256"])) == (
        USCC,
        "alice",
        sha("r0"),
    )
    assert row["revoked_at_unix_ms"] is None and row["expires_at_unix_ms"] == NOW + 3600_000
    assert await db.sessions.rotate_refresh("s1", sha("r0"), sha("r1"))
    assert not await db.sessions.rotate_refresh("s1", sha("r0"), sha("r2"))  # used already
    assert await db.sessions.rotate_refresh("s1", sha("r1"), sha("r2"))
    assert not await db.sessions.rotate_refresh("s2", sha("r2"), sha("r3"))  # no such session
    assert await db.sessions.get("s2") is None


async def test_concurrent_refreshes_with_one_secret_have_one_winner(
    db: Database, other_db: Database
) -> None:
    await db.sessions.open("s1", USCC, "alice", sha("r0"), NOW, NOW + 3600_000)
    won = await asyncio.gather(
        *(
            (db if i % 2 else other_db).sessions.rotate_refresh("s1", sha("r0"), sha(f"n{i}"))
            for i in range(10)
        )
    )
    assert won.count(True) == 1
    row = await db.sessions.get("s1")
    assert row is not None and bytes(row["refresh_sha256"]) == sha(f"n{won.index(True)}")


async def test_an_ended_session_cannot_be_refreshed(db: Database) -> None:
    await db.sessions.open("s1", USCC, "alice", sha("r0"), NOW, NOW + 3600_000)
    await db.sessions.end("s1", NOW + 5)
    await db.sessions.end("s1", NOW + 9)  # the first end is kept
    row = await db.sessions.get("s1")
    assert row is not None and row["revoked_at_unix_ms"] == NOW + 5
    assert not await db.sessions.rotate_refresh("s1", sha("r0"), sha("r1"))
