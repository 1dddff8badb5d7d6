"""Parties and their users (storage/parties.py, storage/users.py) on both backends: a party id is
taken once, statuses change as asked, and a party always keeps an administrator, however many
changes run at once."""

from __future__ import annotations

import asyncio

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
