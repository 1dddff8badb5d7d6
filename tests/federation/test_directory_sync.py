"""Directory sync without a network: what a node does with a bundle from its central. Only an
authentic, current-or-newer directory is stored; the stored copy is what a restart resumes from."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from core.errors import FailedPrecondition, Unauthenticated
from core.ids import Role
from core.trust import TrustView
from federation.channels import PeerChannels
from federation.directory_sync import DirectorySync
from federation.tls import TlsIdentity
from identity.keys import load_node_keys
from node.operator import admin
from storage.database import Database
from swf.v1 import directory_pb2 as pb
from tests.factories import HOUR_MS, NOW_MS, Federation


@dataclass
class Province:
    db: Database
    cn: Federation
    sg: Federation
    clock: list[int] = field(default_factory=lambda: [NOW_MS])
    changes: list[int] = field(default_factory=list)

    def sync(self) -> DirectorySync:
        """A DirectorySync as a (re)started CN-GD node makes it."""

        def changed(trust: TrustView) -> None:
            self.changes.append(trust.version)

        return DirectorySync(
            node_id="CN-GD",
            db=self.db,
            directory_key=self.cn.directory_public,
            own_ca_der=self.cn.ca_der,
            channels=PeerChannels(TlsIdentity(b"", b""), max_message_bytes=1024),
            clock_ms=lambda: self.clock[0],
            central_peer_endpoint="127.0.0.1:7001",
            on_change=changed,
        )

    def bundle(self, version: int, *foreign: pb.SignedDirectory) -> pb.DirectoryBundle:
        own = self.cn.sign(self.cn.directory(version=version, trusts=[self.sg]))
        return pb.DirectoryBundle(own=own, foreign=list(foreign))

    async def held(self, federation: str = "CN") -> tuple[int, bytes] | None:
        copy = (await self.db.directories.held()).get(federation)
        return (copy.version, copy.signed) if copy else None


@pytest.fixture
async def province(tmp_path: Path) -> AsyncIterator[Province]:
    db = await Database.open("sqlite:///node.db", base_dir=tmp_path)
    try:
        yield Province(db, Federation("CN", ["CN-GD", "CN-SH"]), Federation("SG"))
    finally:
        await db.close()


async def test_an_accepted_directory_is_kept_across_restarts(province: Province) -> None:
    sync = province.sync()
    await sync.load()
    await sync.accept_bundle(province.bundle(2))
    await sync.load()
    assert sync.trust.version == 2 and sync.trust.valid(NOW_MS)
    assert province.changes == [2]

    restarted = province.sync()
    trust = await restarted.load()
    assert trust.version == 2
    assert trust.valid(NOW_MS)
    assert {n.id for n in trust.nodes()} == {"CN", "CN-GD", "CN-SH"}


async def test_an_older_directory_is_refused_and_the_held_copy_kept(province: Province) -> None:
    older = province.bundle(3)
    sync = province.sync()
    await sync.accept_bundle(province.bundle(4))
    await sync.load()
    held = await province.held()
    assert held is not None and held[0] == 4

    with pytest.raises(FailedPrecondition) as refused:
        await sync.accept_bundle(older)
    assert refused.value.reason == "directory.rollback"
    assert await province.held() == held
    assert (await province.sync().load()).version == 4


async def test_a_tampered_directory_is_refused_and_the_held_copy_kept(province: Province) -> None:
    sync = province.sync()
    await sync.accept_bundle(province.bundle(4))
    await sync.load()
    held = await province.held()

    tampered = province.bundle(5)
    directory = pb.Directory.FromString(tampered.own.directory)
    directory.nodes[0].peer_endpoint = "203.0.113.66:7001"  # an attacker's address
    tampered.own.directory = directory.SerializeToString()
    with pytest.raises(Unauthenticated) as refused:
        await sync.accept_bundle(tampered)
    assert refused.value.reason == "directory.bad_signature"

    forged = pb.DirectoryBundle(own=Federation("CN").sign(province.cn.directory(version=6)))
    with pytest.raises(Unauthenticated):
        await sync.accept_bundle(forged)
    assert await province.held() == held
    assert (await province.sync().load()).version == 4


async def test_foreign_directories_are_verified_with_the_anchor(province: Province) -> None:
    sg, th = province.sg, Federation("TH")
    sync = province.sync()
    genuine = sg.sign(sg.directory(version=7))
    await sync.accept_bundle(province.bundle(2, genuine, th.sign(th.directory())))
    trust = await sync.load()
    assert set(trust.foreign) == {"SG"}  # TH is not trusted: ignored
    assert trust.foreign["SG"].version == 7
    assert trust.node("SG") is not None
    assert await province.held("TH") is None

    impostor = Federation("SG")
    await sync.accept_bundle(province.bundle(3, impostor.sign(impostor.directory(version=8))))
    assert "directory.bad_signature" in sync.foreign_errors["SG"]
    held = await province.held("SG")
    assert held == (7, genuine.SerializeToString())


async def test_an_expired_copy_is_kept_but_not_valid(province: Province) -> None:
    sync = province.sync()
    await sync.accept_bundle(province.bundle(2))
    province.clock[0] = NOW_MS + HOUR_MS
    trust = await province.sync().load()
    assert trust.version == 2
    assert not trust.valid(province.clock[0])


async def test_a_damaged_copy_on_disk_is_not_trusted(province: Province) -> None:
    sync = province.sync()
    await sync.accept_bundle(province.bundle(2))
    damaged = province.bundle(3)
    damaged.own.signature = bytes(64)
    await province.db.directories.hold("CN", 3, damaged.own.SerializeToString(), NOW_MS)
    trust = await province.sync().load()
    assert trust.own is None
    assert not trust.valid(NOW_MS)


async def test_directories_a_real_central_published(tmp_path: Path) -> None:
    """The same refusals with the bytes a central's Authority signs and stores."""
    cn = await admin.init_node(
        admin.InitOptions(node_dir=tmp_path / "CN", node_id="CN", role=Role.CENTRAL)
    )
    province_db = await Database.open("sqlite:///gd.db", base_dir=tmp_path)
    try:
        async with admin.central(cn.dir) as (_, authority):
            older = await authority.bundle()
            await authority.publish()
            newer = await authority.bundle()
        directory_key = load_node_keys(cn.dir).directory_public
        assert directory_key is not None
        sync = DirectorySync(
            node_id="CN-GD",
            db=province_db,
            directory_key=directory_key,
            own_ca_der=b"",
            channels=PeerChannels(TlsIdentity(b"", b""), max_message_bytes=1024),
            clock_ms=admin.now_ms,
            central_peer_endpoint=cn.peer_endpoint,
        )
        await sync.accept_bundle(newer)
        await sync.load()
        held = (await province_db.directories.held())["CN"]
        assert held.signed == newer.own.SerializeToString()

        with pytest.raises(FailedPrecondition) as rollback:
            await sync.accept_bundle(older)
        assert rollback.value.reason == "directory.rollback"
        tampered = pb.DirectoryBundle()
        tampered.CopyFrom(newer)
        tampered.own.signature = older.own.signature
        with pytest.raises(Unauthenticated):
            await sync.accept_bundle(tampered)
        assert (await province_db.directories.held())["CN"] == held
    finally:
        await province_db.close()
