"""A member polls its central conditionally (PROTOCOL.md §2.5, §2.7): the first poll brings the
whole bundle, the next ones, while nothing changed, only `not_modified`, and what it holds stays
as it was; a directory it holds no more is fetched whole again. Against a real central over
mutual TLS, with a member's own certificate."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from federation.channels import PeerChannels
from federation.directory_sync import DirectorySync
from storage.database import Database
from tests.harness import Network

pytestmark = pytest.mark.network


async def test_an_unchanged_directory_comes_back_not_modified(
    shared_network: Network, tmp_path: Path
) -> None:
    keys, central = shared_network.keys("CN-SH"), shared_network.keys("CN")
    assert central.directory_public is not None
    db = await Database.open("sqlite:///node.db", base_dir=tmp_path)
    try:
        sync = DirectorySync(
            node_id="CN-SH",
            db=db,
            directory_key=central.directory_public,
            own_ca_der=shared_network.ca_der("CN"),
            channels=PeerChannels(keys.tls_identity(), max_message_bytes=4 << 20),
            clock_ms=lambda: int(time.time() * 1000),
            central_peer_endpoint=shared_network.config("CN").peer_endpoint,
        )
        await sync.load()
        await sync.poll_once()
        held = await db.directories.held()
        assert sync.trust.version > 0 and sorted(held) == ["CN", "SG"]
        assert sync.not_modified == 0

        await sync.poll_once()
        await sync.poll_once()
        assert sync.not_modified == 2 and sync.last_error is None
        assert await db.directories.held() == held
        assert sync.trust.valid(int(time.time() * 1000))

        # A node restarted from what it stored knows no digest: its first poll is whole.
        restarted = DirectorySync(
            node_id="CN-SH",
            db=db,
            directory_key=central.directory_public,
            own_ca_der=shared_network.ca_der("CN"),
            channels=PeerChannels(keys.tls_identity(), max_message_bytes=4 << 20),
            clock_ms=lambda: int(time.time() * 1000),
            central_peer_endpoint=shared_network.config("CN").peer_endpoint,
        )
        await restarted.load()
        await restarted.poll_once()
        await restarted.poll_once()
        assert restarted.not_modified == 1 and restarted.trust.version == sync.trust.version
    finally:
        await db.close()
