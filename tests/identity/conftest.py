"""Fixtures for the tests of identity/: a federation CN with CN-GD and CN-SH, and its identity
world (tests/identity/world.py). A module may override `settings`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.trust import TrustView
from identity.accounts import Accounts, AccountSettings
from storage.database import Database
from swf.v1 import identity_pb2 as ipb
from tests.factories import Federation
from tests.identity.world import Clock, Registry, World
from tests.identity_client import token_key_id


@pytest.fixture
def settings() -> AccountSettings:
    return AccountSettings(registry_wait_s=0.1)


@pytest.fixture(scope="module")
def federation() -> Federation:
    return Federation("CN", ["CN-GD", "CN-SH"])


@pytest.fixture
async def world(
    federation: Federation, settings: AccountSettings, tmp_path: Path
) -> AsyncIterator[World]:
    clock = Clock()
    registry = Registry()
    world = World(federation, clock, registry)
    for node_id, member in federation.members.items():
        db = await Database.open(f"sqlite:///{tmp_path}/{node_id}.db", base_dir=tmp_path)
        world.databases[node_id] = db
        trust = TrustView.build(node_id, federation.directory(validity_ms=48 * 3600_000))

        async def broadcast(revocation: ipb.TokenRevocation, node_id: str = node_id) -> None:
            world.sent.append((node_id, revocation))

        world.nodes[node_id] = Accounts(
            node_id=node_id,
            db=db,
            token_key=member.token_key,
            token_key_id=token_key_id(node_id, member.token_key),
            trust=lambda trust=trust: trust,  # type: ignore[misc]
            clock_ms=clock,
            registry=registry,
            broadcast=broadcast,
            settings=settings,
            sleep=world.sleep,
        )
    registry.at_central = world.nodes["CN"]
    registry.homes = world.nodes
    try:
        yield world
    finally:
        for db in world.databases.values():
            await db.close()
