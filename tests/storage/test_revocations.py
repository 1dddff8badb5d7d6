"""Token revocations (storage/revocations.py) on both backends: they only move forward, and are
forgotten once expired."""

from __future__ import annotations

from storage.database import Database

NOW = 1_800_000_000_000
USCC = "91440300MA5G1234XY"


async def revocations(db: Database, now: int = NOW) -> dict[tuple[str, str], int]:
    return {
        (r["kind"], r["subject"]): r["not_before_unix_ms"] for r in await db.revocations.held(now)
    }


async def test_revocations_only_move_forward(db: Database) -> None:
    await db.revocations.revoke("session", "s1", NOW + 100, NOW + 1000)
    await db.revocations.revoke("user", f"{USCC}/alice", NOW + 100, NOW + 1000)
    # An older revocation arriving late (a slow peer, a replay) takes nothing back.
    await db.revocations.revoke("session", "s1", NOW + 50, NOW + 500)
    assert await revocations(db) == {
        ("session", "s1"): NOW + 100,
        ("user", f"{USCC}/alice"): NOW + 100,
    }
    rows = await db.revocations.held(NOW + 999)
    assert {r["subject"] for r in rows} == {"s1", f"{USCC}/alice"}
    # A newer one moves both instants forward.
    await db.revocations.revoke("session", "s1", NOW + 200, NOW + 2000)
    assert (await revocations(db))[("session", "s1")] == NOW + 200
    # A later not-before with an earlier expiry keeps the later expiry.
    await db.revocations.revoke("session", "s1", NOW + 300, NOW + 1500)
    assert await revocations(db, NOW + 1999) == {("session", "s1"): NOW + 300}


async def test_revocations_are_forgotten_once_expired(db: Database) -> None:
    await db.revocations.revoke("party", USCC, NOW, NOW + 1000)
    await db.revocations.revoke("session", "s1", NOW, NOW + 2000)
    assert await revocations(db, NOW + 1000) == {("session", "s1"): NOW}
    assert await db.revocations.forget_expired(NOW + 1000) == 1
    assert await db.revocations.forget_expired(NOW + 1000) == 0
    assert await revocations(db) == {("session", "s1"): NOW}


async def test_revocation_kinds_do_not_collide(db: Database) -> None:
    await db.revocations.revoke("party", "x", NOW + 1, NOW + 1000)
    await db.revocations.revoke("session", "x", NOW + 2, NOW + 1000)
    assert await revocations(db) == {("party", "x"): NOW + 1, ("session", "x"): NOW + 2}
