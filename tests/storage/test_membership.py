"""Federation membership (storage/membership.py) on both backends: members, single-use
invitations, trusted anchors."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from core.errors import AlreadyExists, NotFound, PermissionDenied
from storage.database import Database
from storage.membership import Member

NOW = 1_800_000_000_000


def member(node_id: str, *, role: str = "province", endpoint: str = "10.0.0.1:7101") -> Member:
    return Member(
        node_id=node_id,
        role=role,
        status="active",
        peer_endpoint=endpoint,
        client_endpoint="10.0.0.1:7102",
        tls_certificate=b"cert-" + node_id.encode(),
        signing_key=b"s" * 32,
        token_key=b"t" * 32,
        document_types=("certificate_of_origin", "phytosanitary"),
        enrolled_at_unix_ms=NOW,
        revoked_at_unix_ms=None,
        revoke_reason=None,
    )


async def put(db: Database, m: Member) -> None:
    async with db.transaction() as tx:
        await db.membership.put_member_txn(tx, m)


async def test_members_upsert(db: Database) -> None:
    await put(db, member("CN-SH"))
    await put(db, member("CN-GD"))
    assert [m.node_id for m in await db.membership.members()] == ["CN-GD", "CN-SH"]
    assert await db.membership.member("CN-GD") == member("CN-GD")
    await put(db, member("CN-GD", endpoint="10.0.0.9:7101"))
    stored = await db.membership.member("CN-GD")
    assert stored is not None and stored.peer_endpoint == "10.0.0.9:7101"
    assert len(await db.membership.members()) == 2
    assert await db.membership.member("CN-ZJ") is None


async def test_revoke_and_re_enrol(db: Database) -> None:
    await put(db, member("CN"))
    await put(db, member("CN-GD"))
    async with db.transaction() as tx:
        await db.membership.revoke_member_txn(tx, "CN-GD", "key lost", NOW + 5)
    revoked = await db.membership.member("CN-GD")
    assert revoked is not None
    assert (revoked.status, revoked.revoked_at_unix_ms, revoked.revoke_reason) == (
        "revoked",
        NOW + 5,
        "key lost",
    )
    # Enrolling again (a new invitation) makes it an active member with no revocation.
    await put(db, member("CN-GD"))
    back = await db.membership.member("CN-GD")
    assert back is not None and back.status == "active" and back.revoked_at_unix_ms is None


async def test_revoke_refuses_unknown_nodes_and_the_central(db: Database) -> None:
    await put(db, member("CN", role="central"))
    with pytest.raises(NotFound) as unknown:
        async with db.transaction() as tx:
            await db.membership.revoke_member_txn(tx, "CN-GD", "x", NOW)
    assert unknown.value.reason == "member.unknown"
    with pytest.raises(PermissionDenied) as central:
        async with db.transaction() as tx:
            await db.membership.revoke_member_txn(tx, "CN", "x", NOW)
    assert central.value.reason == "member.central"
    stored = await db.membership.member("CN")
    assert stored is not None and stored.status == "active"


SECRET = hashlib.sha256(b"secret").digest()


async def use(db: Database, node_id: str, now_ms: int, *, hold_s: float = 0.0) -> None:
    async with db.transaction() as tx:
        await db.membership.use_invitation_txn(tx, SECRET, node_id, now_ms)
        await asyncio.sleep(hold_s)  # keep the transaction open while the other one runs


async def reason(db: Database, node_id: str, now_ms: int) -> str:
    with pytest.raises(PermissionDenied) as refused:
        await use(db, node_id, now_ms)
    assert refused.value.field == "token"
    return refused.value.reason


async def test_an_invitation_is_used_once(db: Database) -> None:
    await db.membership.add_invitation(SECRET, "CN-GD", NOW, NOW + 60_000)
    await use(db, "CN-GD", NOW + 1)
    assert await reason(db, "CN-GD", NOW + 2) == "invitation.used"


async def test_an_invitation_refuses_expiry_another_node_and_strangers(db: Database) -> None:
    await db.membership.add_invitation(SECRET, "CN-GD", NOW, NOW + 60_000)
    assert await reason(db, "CN-GD", NOW + 60_000) == "invitation.expired"
    assert await reason(db, "CN-SH", NOW + 1) == "invitation.wrong_node"
    async with db.transaction() as tx:
        with pytest.raises(PermissionDenied) as unknown:
            await db.membership.use_invitation_txn(tx, b"\0" * 32, "CN-GD", NOW)
    assert unknown.value.reason == "invitation.unknown"
    # None of these refusals used it up.
    await use(db, "CN-GD", NOW + 1)


async def test_two_concurrent_uses_of_one_invitation_exactly_one_wins(db: Database) -> None:
    await db.membership.add_invitation(SECRET, "CN-GD", NOW, NOW + 60_000)
    results = await asyncio.gather(
        use(db, "CN-GD", NOW + 1, hold_s=0.2),
        use(db, "CN-GD", NOW + 1, hold_s=0.2),
        return_exceptions=True,
    )
    winners = [r for r in results if r is None]
    losers = [r for r in results if isinstance(r, PermissionDenied)]
    assert len(winners) == 1, results
    assert len(losers) == 1 and losers[0].reason == "invitation.used", results


async def test_anchors_keep_their_fingerprint(db: Database) -> None:
    async with db.transaction() as tx:
        await db.membership.put_anchor_txn(tx, "SG", b"anchor-1", "fp-1", NOW)
    async with db.transaction() as tx:
        await db.membership.put_anchor_txn(tx, "SG", b"anchor-1b", "fp-1", NOW + 1)
    [anchor] = await db.membership.anchors()
    assert (anchor.federation, anchor.anchor, anchor.fingerprint) == ("SG", b"anchor-1b", "fp-1")
    with pytest.raises(AlreadyExists) as conflict:
        async with db.transaction() as tx:
            await db.membership.put_anchor_txn(tx, "SG", b"anchor-2", "fp-2", NOW)
    assert conflict.value.reason == "anchor.conflict"
    async with db.transaction() as tx:
        assert await db.membership.remove_anchor_txn(tx, "SG")
        assert not await db.membership.remove_anchor_txn(tx, "SG")
    assert await db.membership.anchors() == []
