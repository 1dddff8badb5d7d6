"""Accounts (identity/accounts.py) without a network: a node's identity logic on a real SQLite
database, with the national registry played by another node's Accounts in the same process and
a clock the test moves. What the end-to-end tests cannot reach precisely: revocations held per
home node, revocations that do not parse or come from another federation, registrations that
wait for the registry, and logins given the USCC as people type it."""

from __future__ import annotations

import pytest

from core.errors import AlreadyExists, Unauthenticated
from identity import tokens
from identity.accounts import held_subject
from swf.v1 import identity_pb2 as ipb
from tests.identity.world import USCC, World, deliver, login, request

# -- registration ----------------------------------------------------------------------------


async def test_registered_and_known_everywhere(world: World) -> None:
    gd = world.nodes["CN-GD"]
    registration = await gd.register_enterprise(request(), "10.0.0.9")
    assert (registration.status, registration.home_node) == (
        ipb.REGISTRATION_STATUS_ACTIVE,
        "CN-GD",
    )
    for node in world.nodes.values():
        assert (await node.lookup(USCC)).home_node == "CN-GD"
    issued = await world.nodes["CN-SH"].login(login(), "10.0.0.1")
    assert issued.issuer == "CN-GD"
    for node in world.nodes.values():
        assert node.verify(issued.access_token).subject == f"{USCC}/alice"


async def test_a_uscc_as_people_type_it_logs_in(world: World) -> None:
    await world.nodes["CN-GD"].register_enterprise(request("9144 0300 ma5g 1234 xy"), "10.0.0.9")
    for at in ("CN-GD", "CN-SH", "CN"):
        issued = await world.nodes[at].login(login("91440300ma5g1234xy"), "10.0.0.1")
        assert issued.subject == f"{USCC}/alice"


async def test_pending_while_the_registry_is_down_then_decided(world: World) -> None:
    world.registry.down = True
    for at in ("CN-GD", "CN-SH"):
        pending = await world.nodes[at].register_enterprise(
            request(admin_user=at.lower()), "10.0.0.9"
        )
        assert pending.status == ipb.REGISTRATION_STATUS_PENDING
    await world.nodes["CN-SH"].retry_pending()  # still down: nothing changes
    assert (await world.nodes["CN-SH"].registration(USCC)).status == (
        ipb.REGISTRATION_STATUS_PENDING
    )
    world.registry.down = False
    await world.nodes["CN-SH"].retry_pending()
    await world.nodes["CN-GD"].retry_pending()
    sh = await world.nodes["CN-SH"].registration(USCC)
    gd = await world.nodes["CN-GD"].registration(USCC)
    assert (sh.status, sh.home_node) == (ipb.REGISTRATION_STATUS_ACTIVE, "CN-SH")
    assert (gd.status, gd.home_node) == (ipb.REGISTRATION_STATUS_REJECTED, "CN-SH")
    assert gd.reason == "already registered at CN-SH"
    # The rejected one may try again, and is told where the USCC lives.
    with pytest.raises(AlreadyExists) as info:
        await world.nodes["CN-GD"].register_enterprise(request(), "10.0.0.9")
    assert (info.value.reason, info.value.field) == ("party.registered_elsewhere", "uscc")
    assert "CN-SH" in info.value.message


# -- revocations -----------------------------------------------------------------------------


async def agency_tokens(world: World, home: str) -> ipb.Tokens:
    accounts = world.nodes[home]
    password = await accounts.add_party("portauth", "agency", "Port authority", (), "officer")
    return await accounts.login(
        ipb.LoginRequest(party="portauth", user="officer", password=password), "10.0.0.1"
    )


async def test_a_party_revocation_is_held_for_its_home_node_only(world: World) -> None:
    gd, sh = await agency_tokens(world, "CN-GD"), await agency_tokens(world, "CN-SH")
    world.clock.now_ms += 2000
    await world.nodes["CN-GD"].suspend("portauth")
    await deliver(world)
    for node in world.nodes.values():
        with pytest.raises(Unauthenticated) as info:
            node.verify(gd.access_token)
        assert info.value.reason == "token.revoked"
        assert node.verify(sh.access_token).party == "portauth"


async def test_a_node_cannot_revoke_another_nodes_users(world: World) -> None:
    await world.nodes["CN-GD"].register_enterprise(request(), "10.0.0.9")
    issued = await world.nodes["CN-GD"].login(login(), "10.0.0.1")
    world.clock.now_ms += 2000
    for kind, subject in (("party", USCC), ("user", f"{USCC}/alice")):
        revocation = ipb.TokenRevocation(
            kind=kind,
            subject=subject,
            not_before_unix_ms=world.clock.now_ms,
            expires_at_unix_ms=world.clock.now_ms + 3600_000,
        )
        await world.nodes["CN"].handle_revocation("CN-SH", revocation.SerializeToString())
    assert world.nodes["CN"].verify(issued.access_token).user == "alice"
    # A session, though, may be ended from any node (a logout anywhere).
    claims = world.nodes["CN"].verify(issued.access_token)
    session = ipb.TokenRevocation(
        kind="session",
        subject=claims.session_id,
        not_before_unix_ms=world.clock.now_ms,
        expires_at_unix_ms=world.clock.now_ms + 3600_000,
    )
    await world.nodes["CN"].handle_revocation("CN-SH", session.SerializeToString())
    with pytest.raises(Unauthenticated):
        world.nodes["CN"].verify(issued.access_token)


async def test_revocations_that_do_not_count(world: World) -> None:
    await world.nodes["CN-GD"].register_enterprise(request(), "10.0.0.9")
    issued = await world.nodes["CN-GD"].login(login(), "10.0.0.1")
    claims = world.nodes["CN-SH"].verify(issued.access_token)
    foreign = ipb.TokenRevocation(
        kind="session",
        subject=claims.session_id,
        not_before_unix_ms=world.clock.now_ms,
        expires_at_unix_ms=world.clock.now_ms + 3600_000,
    )
    sh = world.nodes["CN-SH"]
    await sh.handle_revocation("SG", foreign.SerializeToString())  # another federation
    await sh.handle_revocation("CN-GD", b"\xff\xff not a revocation")  # does not parse
    unknown = ipb.TokenRevocation(kind="everything", subject="*", not_before_unix_ms=1)
    await sh.handle_revocation("CN-GD", unknown.SerializeToString())
    assert sh.verify(issued.access_token).session_id == claims.session_id
    await sh.load_revocations()
    assert sh.verify(issued.access_token).session_id == claims.session_id


async def test_revocations_survive_a_reload_and_are_forgotten_after_expiry(world: World) -> None:
    gd = world.nodes["CN-GD"]
    await gd.register_enterprise(request(), "10.0.0.9")
    issued = await gd.login(login(), "10.0.0.1")
    await gd.logout(gd.verify(issued.access_token))
    await gd.load_revocations()
    with pytest.raises(Unauthenticated) as info:
        gd.verify(issued.access_token)
    assert info.value.reason == "token.revoked"
    # Long after every token it covers has expired, the revocation is forgotten.
    world.clock.now_ms += 2 * 3600_000
    await gd.load_revocations()
    assert await world.databases["CN-GD"].parties.revocations(world.clock.now_ms) == []


def test_held_subjects() -> None:
    assert held_subject("session", "abc", "CN-GD") == "abc"
    assert held_subject("party", USCC, "CN-GD") == f"CN-GD/{USCC}"
    assert held_subject("user", f"{USCC}/alice", "CN-GD") == f"CN-GD/{USCC}/alice"
    assert tokens.MAX_LIFETIME_S == 900
