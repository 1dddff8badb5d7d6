"""Identity storage on both backends (storage/parties.py, users.py, national_registry.py,
sessions.py, revocations.py, login_failures.py): parties and users, the national registry (one
winner however many register at once), sessions whose refresh secret is single use, token
revocations that only move forward, and failed-login counters that count every attempt, however
many run at once."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from core.errors import AlreadyExists, FailedPrecondition
from core.parties import check_administrators_remain
from storage.database import Database
from storage.parties import Party
from storage.users import UserRecord

NOW = 1_800_000_000_000
USCC = "91440300MA5G1234XY"


def enterprise(party_id: str = USCC, *, status: str = "pending") -> Party:
    return Party(
        party_id=party_id,
        kind="enterprise",
        name="Example Trading Co., Ltd.",
        roles=("declarant", "carrier"),
        status=status,
        address="1 Example Road",
        contact={"name": "Li Lei", "email": "li@example.cn", "phone": ""},
    )


async def create(db: Database, party: Party, *users: str) -> None:
    async with db.transaction() as tx:
        await db.parties.create_txn(tx, party, NOW)
        for user in users:
            await db.users.add_txn(tx, party.party_id, user, "$argon2id$v=19$stub", ("admin",), NOW)


async def second(db: Database, engine_url: str, tmp_path: Path) -> Database:
    """Another connection to the same database (a replica; on SQLite, another process)."""
    return await Database.open(engine_url, base_dir=tmp_path)


# -- parties and users -----------------------------------------------------------------------


async def test_a_party_round_trips(db: Database) -> None:
    await create(db, enterprise(), "alice")
    got = await db.parties.get(USCC)
    assert got is not None
    assert got.party_id == USCC and got.kind == "enterprise"
    assert got.roles == ("declarant", "carrier")
    assert got.contact == {"name": "Li Lei", "email": "li@example.cn", "phone": ""}
    assert (got.status, got.reason, got.registered_at_node) == ("pending", "", "")
    assert got.created_at_unix_ms == got.updated_at_unix_ms == NOW
    assert await db.parties.get("91110000100000000R") is None


async def test_a_party_id_is_taken_once(db: Database) -> None:
    await create(db, enterprise())
    with pytest.raises(AlreadyExists) as info:
        await create(db, enterprise(status="active"))
    assert (info.value.reason, info.value.field) == ("party.exists", "id")


async def test_status_changes_and_the_pending_list(db: Database) -> None:
    await create(db, enterprise())
    await create(db, enterprise("91110000100000000R"))
    assert [p.party_id for p in await db.parties.pending()] == [USCC, "91110000100000000R"]
    assert await db.parties.set_status(USCC, "active", NOW + 1, only_if="pending")
    # A decision is taken once: a late answer for a party no longer pending changes nothing.
    assert not await db.parties.set_status(
        USCC, "rejected", NOW + 2, reason="late", registered_at_node="CN-SH", only_if="pending"
    )
    got = await db.parties.get(USCC)
    assert got is not None and (got.status, got.updated_at_unix_ms) == ("active", NOW + 1)
    assert [p.party_id for p in await db.parties.pending()] == ["91110000100000000R"]
    assert await db.parties.set_status(
        "91110000100000000R", "rejected", NOW + 3, reason="taken", registered_at_node="CN-SH"
    )
    rejected = await db.parties.get("91110000100000000R")
    assert rejected is not None
    assert (rejected.status, rejected.reason, rejected.registered_at_node) == (
        "rejected",
        "taken",
        "CN-SH",
    )
    assert not await db.parties.set_status("91310000000000000X", "active", NOW)


async def test_a_rejected_party_is_forgotten_with_its_users(db: Database) -> None:
    await create(db, enterprise(status="rejected"), "alice", "bob")
    async with db.transaction() as tx:
        await db.parties.forget_party_txn(tx, USCC)
    assert await db.parties.get(USCC) is None
    assert await db.users.of_party(USCC) == []
    await create(db, enterprise(), "alice")  # and may be registered again
    assert [u.username for u in await db.users.of_party(USCC)] == ["alice"]


async def test_users(db: Database) -> None:
    await create(db, enterprise(), "bob", "alice")
    users = await db.users.of_party(USCC)
    assert [u.username for u in users] == ["alice", "bob"]
    assert users[0].roles == ("admin",) and not users[0].disabled
    assert users[0].password_hash.startswith("$argon2id$")
    with pytest.raises(AlreadyExists) as info:
        await create_user(db, "alice")
    assert (info.value.reason, info.value.field) == ("user.exists", "user")
    changed = await db.users.set_disabled(USCC, "bob", True, NOW + 5)
    assert changed is not None and changed.disabled
    bob = await db.users.get(USCC, "bob")
    assert bob is not None and bob.disabled
    assert await db.users.set_disabled(USCC, "carol", True, NOW + 5) is None
    enabled = await db.users.set_disabled(USCC, "bob", False, NOW + 6)
    assert enabled is not None and not enabled.disabled
    assert await db.users.get(USCC, "carol") is None
    await db.users.set_password_hash(USCC, "alice", "$argon2id$v=19$new")
    alice = await db.users.get(USCC, "alice")
    assert alice is not None and alice.password_hash == "$argon2id$v=19$new"


async def test_the_last_administrator_stays(db: Database, other_db: Database) -> None:
    """Two administrators disabling each other at once, on two replicas: the check sees the
    users as the other change left them, so exactly one of the changes is made."""
    await create(db, enterprise(), "alice", "bob")

    def check(users: list[UserRecord]) -> None:
        check_administrators_remain(USCC, [(u.roles, u.disabled) for u in users])

    results = await asyncio.gather(
        db.users.set_disabled(USCC, "alice", True, NOW, check=check),
        other_db.users.set_disabled(USCC, "bob", True, NOW, check=check),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, FailedPrecondition)]
    assert len(refused) == 1 and refused[0].reason == "user.last_admin", results
    assert [u.disabled for u in await db.users.of_party(USCC)].count(False) == 1
    # Nor may the one left disable itself; enabling is always allowed.
    [left] = [u.username for u in await db.users.of_party(USCC) if not u.disabled]
    with pytest.raises(FailedPrecondition):
        await db.users.set_disabled(USCC, left, True, NOW, check=check)
    [gone] = [u.username for u in await db.users.of_party(USCC) if u.disabled]
    assert await db.users.set_disabled(USCC, gone, False, NOW, check=check) is not None


async def create_user(db: Database, name: str) -> None:
    async with db.transaction() as tx:
        await db.users.add_txn(tx, USCC, name, "$argon2id$x", ("admin",), NOW)


# -- the national registry -------------------------------------------------------------------


async def test_the_first_home_node_is_kept(db: Database) -> None:
    first = await db.national_registry.register(USCC, "Example", "CN-GD", ["declarant"], NOW)
    assert (first.uscc, first.home_node, first.status) == (USCC, "CN-GD", "active")
    assert first.registered_at_unix_ms == NOW and first.roles == ("declarant",)
    again = await db.national_registry.register(USCC, "Other", "CN-SH", ["carrier"], NOW + 9)
    assert again == first
    # The same home node asking again (its answer was lost) gets the same record.
    assert await db.national_registry.register(USCC, "Example", "CN-GD", [], NOW + 10) == first


async def test_one_winner_when_many_register_at_once(
    db: Database, engine_url: str, tmp_path: Path
) -> None:
    """Two replicas of the central, each asked by several provinces at the same moment."""
    other = await second(db, engine_url, tmp_path)
    homes = ["CN-GD", "CN-SH", "CN-ZJ", "CN-JS", "CN-BJ", "CN-FJ", "CN-SD", "CN-TJ"]
    try:
        for n in range(3):
            uscc = f"{USCC[:-2]}{n}X"
            records = await asyncio.gather(
                *(
                    (db if i % 2 else other).national_registry.register(
                        uscc, f"Example {home}", home, ["declarant"], NOW + i
                    )
                    for i, home in enumerate(homes)
                )
            )
            winners = {r.home_node for r in records}
            assert len(winners) == 1, winners
            assert {r.name for r in records} == {f"Example {winners.pop()}"}
            assert len(set(records)) == 1
    finally:
        await other.close()


async def test_only_the_home_node_changes_the_national_status(db: Database) -> None:
    await db.national_registry.register(USCC, "Example", "CN-GD", ["declarant"], NOW)
    assert not await db.national_registry.set_status(USCC, "CN-SH", "suspended", NOW + 1)
    assert await db.national_registry.set_status(USCC, "CN-GD", "suspended", NOW + 1)
    record = await db.national_registry.get(USCC)
    assert record is not None and record.status == "suspended"
    assert not await db.national_registry.set_status("91110000100000000R", "CN-GD", "active", NOW)
    assert await db.national_registry.get("91110000100000000R") is None


# -- sessions --------------------------------------------------------------------------------


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
    db: Database, engine_url: str, tmp_path: Path
) -> None:
    other = await second(db, engine_url, tmp_path)
    try:
        await db.sessions.open("s1", USCC, "alice", sha("r0"), NOW, NOW + 3600_000)
        won = await asyncio.gather(
            *(
                (db if i % 2 else other).sessions.rotate_refresh("s1", sha("r0"), sha(f"n{i}"))
                for i in range(10)
            )
        )
        assert won.count(True) == 1
        row = await db.sessions.get("s1")
        assert row is not None and bytes(row["refresh_sha256"]) == sha(f"n{won.index(True)}")
    finally:
        await other.close()


async def test_an_ended_session_cannot_be_refreshed(db: Database) -> None:
    await db.sessions.open("s1", USCC, "alice", sha("r0"), NOW, NOW + 3600_000)
    await db.sessions.end("s1", NOW + 5)
    await db.sessions.end("s1", NOW + 9)  # the first end is kept
    row = await db.sessions.get("s1")
    assert row is not None and row["revoked_at_unix_ms"] == NOW + 5
    assert not await db.sessions.rotate_refresh("s1", sha("r0"), sha("r1"))


# -- token revocations -----------------------------------------------------------------------


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


# -- failed logins ---------------------------------------------------------------------------


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


async def test_concurrent_failures_are_all_counted(
    db: Database, engine_url: str, tmp_path: Path
) -> None:
    """Guesses sent at once must not slip past the lockout by reading the same count, and
    exactly one of them sets the lock."""
    other = await second(db, engine_url, tmp_path)
    try:
        counts = await asyncio.gather(
            *((db if i % 2 else other).login_failures.count("source:x", NOW) for i in range(20))
        )
        assert sorted(counts) == list(range(1, 21))
        assert await db.login_failures.failures("source:x") == (20, None)
        locked = await asyncio.gather(
            *(
                (db if i % 2 else other).login_failures.lock("source:x", NOW + 1000 + i, NOW)
                for i in range(10)
            )
        )
        assert locked.count(True) == 1
    finally:
        await other.close()
