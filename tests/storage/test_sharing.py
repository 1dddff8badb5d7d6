"""Sharing pool storage on both backends (storage/sharing.py): datasets published once and
changed in place; requests decided, revoked, and found per party and dataset; the access log
newest first in pages; a query's nonce usable once."""

from __future__ import annotations

from storage.database import Database
from storage.sharing import AccessRow, DatasetRow, GrantRow

NOW = 1_800_000_000_000
DATASET = "CN-ZJ/zj-rail/logistics-events"
ENTERPRISE = "CN-GD/91440300MA5G1234XY"


def dataset(**kw: object) -> DatasetRow:
    values: dict[str, object] = {
        "id": DATASET,
        "owner": "zj-rail",
        "name": "logistics-events",
        "kind": "logistics_events",
        "description": "events",
        "fields": ("event_id", "kind"),
        "policy": "open_to_agencies",
        "published_by": "node",
    }
    values.update(kw)
    return DatasetRow(**values)  # type: ignore[arg-type]


def request(request_id: str, requester: str = ENTERPRISE, *, at: int = NOW) -> GrantRow:
    return GrantRow(
        id=request_id,
        dataset_id=DATASET,
        owner="zj-rail",
        requester=requester,
        requester_kind="enterprise",
        requested_by=f"{requester.split('/')[1]}/alice",
        via_node="CN-GD",
        purpose="tracking our cargo",
        valid_from_unix_ms=NOW,
        valid_until_unix_ms=NOW + 86_400_000,
        status="pending",
        created_at_unix_ms=at,
    )


async def test_a_dataset_is_ensured_once_and_published_changes_it(db: Database) -> None:
    await db.sharing.ensure_dataset(dataset(), NOW)
    await db.sharing.ensure_dataset(dataset(description="ignored"), NOW + 1)
    got = await db.sharing.dataset(DATASET)
    assert got is not None and got.description == "events" and got.fields == ("event_id", "kind")
    await db.sharing.publish(dataset(description="rail events", policy="restricted"), NOW + 2)
    got = await db.sharing.dataset(DATASET)
    assert got is not None
    assert (got.description, got.policy, got.kind) == (
        "rail events",
        "restricted",
        "logistics_events",
    )
    assert (got.created_at_unix_ms, got.updated_at_unix_ms) == (NOW, NOW + 2)
    assert [d.id for d in await db.sharing.datasets()] == [DATASET]
    assert await db.sharing.dataset("CN-ZJ/zj-rail/nothing") is None


async def test_requests_are_decided_revoked_and_found(db: Database) -> None:
    await db.sharing.ensure_dataset(dataset(), NOW)
    await db.sharing.add_request(request("r1", at=NOW))
    await db.sharing.add_request(request("r2", at=NOW + 1))
    await db.sharing.add_request(request("r3", "CN-SH/91310115MA1K4B2C3J", at=NOW + 2))
    async with db.transaction() as tx:
        locked = await db.sharing.request_txn(tx, "r1")
        assert locked is not None and locked.status == "pending"
        await db.sharing.decide_txn(
            tx,
            "r1",
            status="granted",
            by="zj-rail/officer",
            reason="",
            now_ms=NOW + 10,
            valid_until_ms=NOW + 3_600_000,
        )
    got = await db.sharing.request("r1")
    assert got is not None
    assert (got.status, got.decided_by, got.decided_at_unix_ms) == (
        "granted",
        "zj-rail/officer",
        NOW + 10,
    )
    assert got.valid_until_unix_ms == NOW + 3_600_000
    async with db.transaction() as tx:
        await db.sharing.decide_txn(
            tx,
            "r1",
            status="revoked",
            by="zj-rail/officer",
            reason="contract ended",
            now_ms=NOW + 20,
        )
    got = await db.sharing.request("r1")
    assert got is not None
    assert (got.status, got.reason, got.decided_at_unix_ms, got.revoked_at_unix_ms) == (
        "revoked",
        "contract ended",
        NOW + 10,
        NOW + 20,
    )
    assert {g.id for g in await db.sharing.grants_for(DATASET, ENTERPRISE)} == {"r1", "r2"}
    assert [g.id for g in await db.sharing.incoming("zj-rail")] == ["r3", "r2", "r1"]
    assert [g.id for g in await db.sharing.incoming("zj-rail", DATASET)] == ["r3", "r2", "r1"]
    assert await db.sharing.incoming("someone-else") == []
    assert [g.id for g in await db.sharing.requested_by(ENTERPRISE)] == ["r2", "r1"]
    assert await db.sharing.requested_by(ENTERPRISE, "CN-ZJ/other/x") == []


def access(n: int, *, owner: str = "zj-rail", allowed: bool = True) -> AccessRow:
    return AccessRow(
        at_unix_ms=NOW + n,
        dataset_id=DATASET,
        owner=owner,
        party=ENTERPRISE,
        party_kind="enterprise",
        user_name="91440300MA5G1234XY/alice",
        via_node="CN-GD",
        action="query_events",
        query_key="container:CSNU6391242",
        purpose="timeline",
        allowed=allowed,
        reason="grant" if allowed else "sharing.no_grant",
        detail="r1" if allowed else "",
        rows_given=3 if allowed else 0,
        nonce=f"{n:032x}",
    )


async def test_the_access_log_reads_newest_first_in_pages(db: Database) -> None:
    await db.sharing.log([access(i, allowed=i % 2 == 0) for i in range(5)] + [access(9, owner="x")])
    first = await db.sharing.access_log("zj-rail", limit=3)
    assert [e.at_unix_ms - NOW for e in first] == [4, 3, 2]
    assert [e.allowed for e in first] == [True, False, True]
    rest = await db.sharing.access_log("zj-rail", before_seq=first[-1].seq, limit=3)
    assert [e.at_unix_ms - NOW for e in rest] == [1, 0]
    assert await db.sharing.access_log("zj-rail", dataset_id="CN-ZJ/zj-rail/other") == []
    assert len(await db.sharing.access_log("x")) == 1
    assert first[1].reason == "sharing.no_grant" and first[0].detail == "r1"


async def test_a_nonce_is_used_once_per_node_and_forgotten_after_its_time(db: Database) -> None:
    nonce = bytes(range(16))
    assert await db.sharing.use_nonce("CN-GD", nonce, NOW + 600_000, NOW)
    assert not await db.sharing.use_nonce("CN-GD", nonce, NOW + 600_000, NOW + 1)
    assert await db.sharing.use_nonce("CN-SH", nonce, NOW + 600_000, NOW + 1)
    # Once the query would be too old anyway, its nonce is forgotten.
    assert await db.sharing.use_nonce("CN-GD", nonce, NOW + 1_300_000, NOW + 700_000)
