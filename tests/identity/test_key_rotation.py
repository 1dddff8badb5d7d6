"""Key rotation at the central's authority (PROTOCOL.md §2.9), without a network: a member's
request with proof of possession lists the new key beside the old one; each refusal has its
reason; and a central restored from an older backup publishes above what its members hold."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.directory import verify_directory
from core.errors import SwnodeError
from core.ids import Role
from core.key_lifetimes import ROTATE_DOMAIN, rotation_proof_message, signing_choice
from core.signing import raw_public, sign
from identity.authority import Authority, CentralSettings
from identity.keys import load_node_keys
from identity.rotation_requests import rotate_requested
from node.operator import admin
from storage.database import Database
from swf.v1 import directory_pb2 as pb
from swf.v1 import peer_pb2 as ppb
from tests.factories import enrol_request, fresh_keys

MIN = 60_000


class Clock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


@pytest.fixture
async def central(tmp_path: Path) -> AsyncIterator[tuple[Authority, Database, Clock]]:
    config = await admin.init_node(
        admin.InitOptions(node_dir=tmp_path / "CN", node_id="CN", role=Role.CENTRAL)
    )
    db = await Database.open(config.storage_url, base_dir=config.dir)
    clock = Clock(admin.now_ms())
    authority = Authority(
        db,
        CentralSettings("CN", config.peer_endpoint, config.client_endpoint, 3600.0),
        load_node_keys(config.dir),
        clock,
    )
    invitation = await authority.invite("CN-GD", 3600)
    await authority.enrol(enrol_request(invitation, fresh_keys()))
    try:
        yield authority, db, clock
    finally:
        await db.close()


def request(
    new: Ed25519PrivateKey, *, prover: Ed25519PrivateKey | None = None, now: bool = False
) -> ppb.RotateKeyRequest:
    public = raw_public(new)
    proof = sign(prover or new, ROTATE_DOMAIN, rotation_proof_message("CN-GD", "sig", public))
    return ppb.RotateKeyRequest(
        purpose=ppb.KEY_PURPOSE_SIGNING,
        public_key=public,
        proof=proof,
        retire_now=now,
        overlap_ms=10 * MIN,
        activation_ms=MIN,
    )


async def entry(authority: Authority) -> pb.NodeEntry:
    latest = await authority.latest()
    assert latest is not None
    signed, _ = latest
    directory = verify_directory(
        signed, directory_key=authority.own_anchor().directory_key, federation="CN"
    )
    return next(n for n in directory.nodes if n.id == "CN-GD")


async def test_a_rotation_lists_the_new_key_beside_the_old(
    central: tuple[Authority, Database, Clock],
) -> None:
    authority, _, clock = central
    old = (await entry(authority)).signing_keys[0]
    answer = await rotate_requested(authority, "CN-GD", request(Ed25519PrivateKey.generate()))
    keys = list((await entry(authority)).signing_keys)
    assert [k.key_id for k in keys] == [old.key_id, answer.key_id]
    assert keys[1].not_before_unix_ms == clock.ms + MIN
    assert keys[0].retired_at_unix_ms == clock.ms + 11 * MIN == answer.old_retired_at_unix_ms
    # Another rotation at once with --now retires both and keeps them listed.
    clock.ms += MIN
    third = await rotate_requested(
        authority, "CN-GD", request(Ed25519PrivateKey.generate(), now=True)
    )
    listed = {k.key_id: k for k in (await entry(authority)).signing_keys}
    assert len(listed) == 3
    assert {i: k.retired_at_unix_ms for i, k in listed.items()} == {
        old.key_id: clock.ms,
        answer.key_id: clock.ms,
        third.key_id: 0,
    }
    assert listed[third.key_id].not_before_unix_ms == clock.ms


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("proof by another key", "rotate.bad_proof"),
        ("the key already listed", "key.reused"),
        ("no purpose", "rotate.bad_purpose"),
        ("an SM2 key in an Ed25519 federation", "key.algorithm_mismatch"),
    ],
)
async def test_a_bad_rotation_request_is_refused_with_its_reason(
    central: tuple[Authority, Database, Clock], case: str, reason: str
) -> None:
    authority, _, _ = central
    new = Ed25519PrivateKey.generate()
    bad = request(new)
    if case == "proof by another key":
        bad = request(new, prover=Ed25519PrivateKey.generate())
    elif case == "the key already listed":
        await rotate_requested(authority, "CN-GD", bad)
    elif case == "no purpose":
        bad.purpose = ppb.KEY_PURPOSE_UNSPECIFIED
    else:
        bad.algorithm = pb.KEY_ALGORITHM_SM2
    before = list((await entry(authority)).signing_keys)
    with pytest.raises(SwnodeError) as refused:
        await rotate_requested(authority, "CN-GD", bad)
    assert refused.value.reason == reason
    assert list((await entry(authority)).signing_keys) == before


async def test_a_restored_central_publishes_above_what_a_member_holds(
    central: tuple[Authority, Database, Clock],
) -> None:
    authority, _, _ = central
    latest = await authority.latest()
    assert latest is not None
    published = latest[1].version
    # A member holds no more than what was published: nothing to do.
    assert not await authority.note_member_version(published)
    # A member reports a version this central never published (it was restored from an older
    # backup): the next version published is above it, and stays so.
    assert await authority.note_member_version(published + 5)
    latest = await authority.latest()
    assert latest is not None and latest[1].version == published + 6
    await authority.publish()
    latest = await authority.latest()
    assert latest is not None and latest[1].version == published + 7
    assert not await authority.note_member_version(published + 5)


async def test_a_node_enrolled_again_lists_its_new_keys_after_its_rotated_ones(
    central: tuple[Authority, Database, Clock],
) -> None:
    authority, _, clock = central
    rotated = await rotate_requested(authority, "CN-GD", request(Ed25519PrivateKey.generate()))
    clock.ms += MIN
    keys = fresh_keys()
    await authority.enrol(enrol_request(await authority.invite("CN-GD", 3600), keys))
    listed = {k.key_id: k for k in (await entry(authority)).signing_keys}
    enrolled = next(k for k in listed.values() if k.public_key == raw_public(keys.signing_key))
    assert enrolled.retired_at_unix_ms == 0
    assert listed[rotated.key_id].retired_at_unix_ms == clock.ms
    assert signing_choice(list(listed.values()), set(listed), clock.ms) == enrolled.key_id
