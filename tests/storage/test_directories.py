"""Directories on both backends: the central's version counter and published copies, and the
last good copy each node holds, which never goes back to a lower version."""

from __future__ import annotations

import asyncio

from storage.database import Database
from swf.v1 import directory_pb2 as dpb

NOW = 1_800_000_000_000


async def test_directory_version_bumps_by_one_and_serializes_publishers(db: Database) -> None:
    async def bump() -> int:
        async with db.transaction() as tx:
            return await db.directories.next_version_txn(tx)

    assert await bump() == 1
    assert await bump() == 2
    versions = await asyncio.gather(*(bump() for _ in range(6)))
    assert sorted(versions) == [3, 4, 5, 6, 7, 8]


async def test_a_rolled_back_transaction_does_not_spend_a_version(db: Database) -> None:
    class Abandon(Exception):
        pass

    try:
        async with db.transaction() as tx:
            assert await db.directories.next_version_txn(tx) == 1
            raise Abandon
    except Abandon:
        pass
    async with db.transaction() as tx:
        assert await db.directories.next_version_txn(tx) == 1


async def test_latest_published_is_the_highest_version(db: Database) -> None:
    assert await db.directories.latest_published() is None
    for version in (1, 2, 3):
        async with db.transaction() as tx:
            await db.directories.publish_txn(
                tx, "CN", version, f"v{version}".encode(), NOW + version, NOW + 10**6
            )
    assert await db.directories.latest_published() == b"v3"
    held = await db.directories.held()
    assert held["CN"].version == 3 and held["CN"].signed == b"v3"


async def test_the_held_copy_never_goes_back_to_a_lower_version(db: Database) -> None:
    await db.directories.hold("CN", 5, b"five", NOW)
    await db.directories.hold("CN", 3, b"three", NOW + 1)
    held = await db.directories.held()
    assert (held["CN"].version, held["CN"].signed, held["CN"].fetched_at_unix_ms) == (
        5,
        b"five",
        NOW,
    )
    await db.directories.hold("CN", 7, b"seven", NOW + 2)
    await db.directories.hold("SG", 1, b"sg", NOW + 2)
    held = await db.directories.held()
    assert {f: (h.version, h.signed) for f, h in held.items()} == {
        "CN": (7, b"seven"),
        "SG": (1, b"sg"),
    }
    await db.directories.drop_held("SG")
    assert set(await db.directories.held()) == {"CN"}


async def test_each_key_keeps_the_newest_directory_it_signed_announcing_the_next(
    db: Database,
) -> None:
    def signed(version: int, key: bytes, next_key: bytes = b"") -> bytes:
        directory = dpb.Directory(
            federation="CN", version=version, directory_key=key, next_directory_key=next_key
        )
        return dpb.SignedDirectory(directory=directory.SerializeToString()).SerializeToString()

    await db.directories.hold("CN", 1, signed(1, b"k0"), NOW)  # no announcement: no link
    await db.directories.hold("CN", 2, signed(2, b"k0", b"k1"), NOW)
    await db.directories.hold("CN", 3, signed(3, b"k0", b"k1"), NOW)
    await db.directories.hold("CN", 4, signed(4, b"k1"), NOW)  # the switch
    await db.directories.hold("CN", 5, signed(5, b"k1", b"k2"), NOW)
    assert await db.directories.links() == [signed(3, b"k0", b"k1"), signed(5, b"k1", b"k2")]
