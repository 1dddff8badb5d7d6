"""Accounts (identity/accounts.py, with registration.py, national_registry.py and
login_sessions.py) without a network: a node's identity logic on a real SQLite database, with
the national registry played by another node's Accounts in the same process and a clock the
test moves. What the end-to-end tests cannot reach precisely: revocations held per home node,
revocations that do not parse or come from another federation, registrations that wait for the
registry, and logins given the USCC as people type it."""

from __future__ import annotations

import pytest

from core.errors import AlreadyExists, SwnodeError, Unauthenticated
from identity import tokens
from identity.accounts import Accounts
from identity.revocations import held_subject
from swf.v1 import identity_pb2 as ipb
from tests.identity.world import USCC, World, deliver, login, request
from tests.identity_client import token_key_id

# -- registration ----------------------------------------------------------------------------


async def test_registered_and_known_everywhere(world: World) -> None:
    gd = world.nodes["CN-GD"]
    registration = await gd.registrations.register_enterprise(request(), "10.0.0.9")
    assert (registration.status, registration.home_node) == (
        ipb.REGISTRATION_STATUS_ACTIVE,
        "CN-GD",
    )
    for node in world.nodes.values():
        assert (await node.national_registry.lookup(USCC)).home_node == "CN-GD"
    issued = await world.nodes["CN-SH"].sessions.login(login(), "10.0.0.1")
    assert issued.issuer == "CN-GD"
    for node in world.nodes.values():
        assert node.verify(issued.access_token).subject == f"{USCC}/alice"


async def test_a_uscc_as_people_type_it_logs_in(world: World) -> None:
    await world.nodes["CN-GD"].registrations.register_enterprise(
        request("9144 0300 ma5g 1234 xy"), "10.0.0.9"
    )
    for at in ("CN-GD", "CN-SH", "CN"):
        issued = await world.nodes[at].sessions.login(login("91440300ma5g1234xy"), "10.0.0.1")
        assert issued.subject == f"{USCC}/alice"


async def test_pending_while_the_registry_is_down_then_decided(world: World) -> None:
    world.registry.down = True
    for at in ("CN-GD", "CN-SH"):
        pending = await world.nodes[at].registrations.register_enterprise(
            request(admin_user=at.lower()), "10.0.0.9"
        )
        assert pending.status == ipb.REGISTRATION_STATUS_PENDING
    await world.nodes["CN-SH"].registrations.retry_pending()  # still down: nothing changes
    assert (await world.nodes["CN-SH"].registrations.registration(USCC)).status == (
        ipb.REGISTRATION_STATUS_PENDING
    )
    world.registry.down = False
    await world.nodes["CN-SH"].registrations.retry_pending()
    await world.nodes["CN-GD"].registrations.retry_pending()
    sh = await world.nodes["CN-SH"].registrations.registration(USCC)
    gd = await world.nodes["CN-GD"].registrations.registration(USCC)
    assert (sh.status, sh.home_node) == (ipb.REGISTRATION_STATUS_ACTIVE, "CN-SH")
    assert (gd.status, gd.home_node) == (ipb.REGISTRATION_STATUS_REJECTED, "CN-SH")
    assert gd.reason == "already registered at CN-SH"
    # The rejected one may try again, and is told where the USCC lives.
    with pytest.raises(AlreadyExists) as info:
        await world.nodes["CN-GD"].registrations.register_enterprise(request(), "10.0.0.9")
    assert (info.value.reason, info.value.field) == ("party.registered_elsewhere", "uscc")
    assert "CN-SH" in info.value.message


# -- revocations -----------------------------------------------------------------------------


async def agency_tokens(world: World, home: str) -> ipb.Tokens:
    accounts = world.nodes[home]
    password = await accounts.registrations.add_party(
        "portauth", "agency", "Port authority", (), "officer"
    )
    return await accounts.sessions.login(
        ipb.LoginRequest(party="portauth", user="officer", password=password), "10.0.0.1"
    )


async def test_a_party_revocation_is_held_for_its_home_node_only(world: World) -> None:
    gd, sh = await agency_tokens(world, "CN-GD"), await agency_tokens(world, "CN-SH")
    world.clock.now_ms += 2000
    await world.nodes["CN-GD"].registrations.suspend("portauth")
    await deliver(world)
    for node in world.nodes.values():
        with pytest.raises(Unauthenticated) as info:
            node.verify(gd.access_token)
        assert info.value.reason == "token.revoked"
        assert node.verify(sh.access_token).party == "portauth"


async def test_a_node_cannot_revoke_another_nodes_users(world: World) -> None:
    await world.nodes["CN-GD"].registrations.register_enterprise(request(), "10.0.0.9")
    issued = await world.nodes["CN-GD"].sessions.login(login(), "10.0.0.1")
    world.clock.now_ms += 2000
    for kind, subject in (("party", USCC), ("user", f"{USCC}/alice")):
        revocation = ipb.TokenRevocation(
            kind=kind,
            subject=subject,
            not_before_unix_ms=world.clock.now_ms,
            expires_at_unix_ms=world.clock.now_ms + 3600_000,
        )
        await world.nodes["CN"].revocations.handle("CN-SH", revocation.SerializeToString())
    assert world.nodes["CN"].verify(issued.access_token).user == "alice"
    # A session, though, may be ended from any node (a logout anywhere).
    claims = world.nodes["CN"].verify(issued.access_token)
    session = ipb.TokenRevocation(
        kind="session",
        subject=claims.session_id,
        not_before_unix_ms=world.clock.now_ms,
        expires_at_unix_ms=world.clock.now_ms + 3600_000,
    )
    await world.nodes["CN"].revocations.handle("CN-SH", session.SerializeToString())
    with pytest.raises(Unauthenticated):
        world.nodes["CN"].verify(issued.access_token)


async def test_revocations_that_do_not_count(world: World) -> None:
    await world.nodes["CN-GD"].registrations.register_enterprise(request(), "10.0.0.9")
    issued = await world.nodes["CN-GD"].sessions.login(login(), "10.0.0.1")
    claims = world.nodes["CN-SH"].verify(issued.access_token)
    foreign = ipb.TokenRevocation(
        kind="session",
        subject=claims.session_id,
        not_before_unix_ms=world.clock.now_ms,
        expires_at_unix_ms=world.clock.now_ms + 3600_000,
    )
    sh = world.nodes["CN-SH"]
    await sh.revocations.handle("SG", foreign.SerializeToString())  # another federation
    await sh.revocations.handle("CN-GD", b"\xff\xff not a revocation")  # does not parse
    unknown = ipb.TokenRevocation(kind="everything", subject="*", not_before_unix_ms=1)
    await sh.revocations.handle("CN-GD", unknown.SerializeToString())
    assert sh.verify(issued.access_token).session_id == claims.session_id
    await sh.revocations.load()
    assert sh.verify(issued.access_token).session_id == claims.session_id


async def test_revocations_survive_a_reload_and_are_forgotten_after_expiry(world: World) -> None:
    gd = world.nodes["CN-GD"]
    await gd.registrations.register_enterprise(request(), "10.0.0.9")
    issued = await gd.sessions.login(login(), "10.0.0.1")
    await gd.logout(gd.verify(issued.access_token))
    await gd.revocations.load()
    with pytest.raises(Unauthenticated) as info:
        gd.verify(issued.access_token)
    assert info.value.reason == "token.revoked"
    # Long after every token it covers has expired, the revocation is forgotten.
    world.clock.now_ms += 2 * 3600_000
    await gd.revocations.load()
    assert await world.databases["CN-GD"].revocations.held(world.clock.now_ms) == []


def test_held_subjects() -> None:
    assert held_subject("session", "abc", "CN-GD") == "abc"
    assert held_subject("party", USCC, "CN-GD") == f"CN-GD/{USCC}"
    assert held_subject("user", f"{USCC}/alice", "CN-GD") == f"CN-GD/{USCC}/alice"
    assert tokens.MAX_LIFETIME_S == 900


# -- whose credential: the issuer must be the enterprise's home, agencies act at their node -----


def signed_by(world: World, node_id: str, party: str, kind: str = "enterprise") -> str:
    """A token signed with `node_id`'s real token key, as a malicious member could make."""
    key = world.federation.members[node_id].token_key
    token, _ = tokens.issue(
        key=key,
        key_id=token_key_id(node_id, key),
        issuer=node_id,
        party=party,
        party_kind=kind,
        user="alice",
        roles=["admin", "declarant"],
        party_roles=["declarant"],
        session_id="s-1",
        now_ms=world.clock.now_ms,
    )
    return token


async def refusal(accounts: Accounts, token: str) -> str:
    with pytest.raises(SwnodeError) as info:
        await accounts.authenticate(token)
    return info.value.reason


async def test_an_enterprises_token_from_its_home_is_good_everywhere(world: World) -> None:
    await world.nodes["CN-GD"].registrations.register_enterprise(request(), "10.0.0.9")
    issued = await world.nodes["CN-GD"].sessions.login(login(), "10.0.0.1")
    for accounts in world.nodes.values():
        claims = await accounts.authenticate(issued.access_token)
        assert claims.actor == f"CN-GD/{USCC}/alice"


async def test_a_member_cannot_sign_for_another_nodes_enterprise(world: World) -> None:
    await world.nodes["CN-GD"].registrations.register_enterprise(request(), "10.0.0.9")
    forged = signed_by(world, "CN-SH", USCC)
    # The signature is real and the key is a member's: verification alone accepts it ...
    assert world.nodes["CN-GD"].verify(forged).party == USCC
    # ... but no node lets CN-SH speak for CN-GD's enterprise, CN-SH included.
    for accounts in world.nodes.values():
        assert await refusal(accounts, forged) == "token.not_home"
    # Nor for a USCC nobody registered, nor for a party that is not a USCC at all.
    unregistered = signed_by(world, "CN-SH", "91110000MA01ABCD1X")
    assert await refusal(world.nodes["CN"], unregistered) == "token.not_home"
    assert await refusal(world.nodes["CN"], signed_by(world, "CN-SH", "acme")) == "token.not_home"


async def test_a_local_partys_token_acts_at_its_own_node_only(world: World) -> None:
    sh = await agency_tokens(world, "CN-SH")
    assert (await world.nodes["CN-SH"].authenticate(sh.access_token)).actor == (
        "CN-SH/portauth/officer"
    )
    for node_id in ("CN", "CN-GD"):
        assert await refusal(world.nodes[node_id], sh.access_token) == "token.not_local"
    assert await refusal(world.nodes["CN-GD"], signed_by(world, "CN-SH", "x", "spy")) == (
        "token.malformed"
    )


async def test_homes_are_cached_and_fail_closed_when_the_registry_is_gone(world: World) -> None:
    await world.nodes["CN-GD"].registrations.register_enterprise(request(), "10.0.0.9")
    issued = await world.nodes["CN-GD"].sessions.login(login(), "10.0.0.1")
    at_sh = world.nodes["CN-SH"]
    await at_sh.authenticate(issued.access_token)  # asks the registry once
    world.registry.down = True
    world.clock.now_ms += 5 * 60_000  # stale, but within the bound: still served
    fresh = await world.nodes["CN-GD"].sessions.login(login(), "10.0.0.1")
    await at_sh.authenticate(fresh.access_token)
    # The home node needs no registry for its own enterprises.
    await world.nodes["CN-GD"].authenticate(fresh.access_token)
    world.clock.now_ms += 11 * 60_000  # older than 15 minutes: refused until it answers
    fresh = await world.nodes["CN-GD"].sessions.login(login(), "10.0.0.1")
    assert await refusal(at_sh, fresh.access_token) == "registry.unreachable"
    world.registry.down = False
    await at_sh.authenticate(fresh.access_token)
