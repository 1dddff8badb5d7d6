"""The portal's sessions on the identity layer's real logins (each node's Accounts on its own
SQLite database, a clock the test moves): renewed at the home node past the access token's
15 minutes, ended with the token for a login forwarded from elsewhere, and revoked at logout
as the API's Logout does; ended after an idle timeout and at an absolute lifetime; and the
live-update connections each session may hold."""

from __future__ import annotations

import asyncio

import pytest

from core.errors import Unauthenticated
from identity.tokens import MAX_LIFETIME_S
from node.web.session import Sessions, Streams
from tests.identity.world import USCC, World, login, request


def sessions_at(world: World, node_id: str) -> Sessions:
    accounts = world.nodes[node_id]
    return Sessions(
        accounts=accounts,
        store=world.databases[node_id].web_sessions,
        clock_ms=world.clock,
    )


async def registered(world: World) -> None:
    await world.nodes["CN-GD"].registrations.register_enterprise(request(), "10.0.0.9")


async def test_a_session_at_the_home_node_outlives_its_access_token(world: World) -> None:
    await registered(world)
    sessions = sessions_at(world, "CN-GD")
    session_id = await sessions.open(await world.nodes["CN-GD"].sessions.login(login(), "10.0.0.1"))
    first = await sessions.signed_in(session_id)
    assert first is not None and first.claims.party == USCC
    world.clock.now_ms += (MAX_LIFETIME_S + 60) * 1000
    # Two requests at once after expiry (a page and its live updates): both stay signed in,
    # and the login is not ended as a refresh token used twice would end it.
    both = await asyncio.gather(sessions.signed_in(session_id), sessions.signed_in(session_id))
    assert all(s is not None and s.claims.token_id != first.claims.token_id for s in both)
    again = await sessions.signed_in(session_id)
    assert again is not None and again.claims.party == USCC


async def test_a_login_forwarded_from_another_node_ends_with_its_token(world: World) -> None:
    await registered(world)
    sessions = sessions_at(world, "CN-SH")
    session_id = await sessions.open(await world.nodes["CN-SH"].sessions.login(login(), "10.0.0.1"))
    assert await sessions.signed_in(session_id) is not None
    world.clock.now_ms += (MAX_LIFETIME_S + 60) * 1000
    assert await sessions.signed_in(session_id) is None


async def test_logout_revokes_the_logins_tokens(world: World) -> None:
    await registered(world)
    sessions = sessions_at(world, "CN-GD")
    session_id = await sessions.open(await world.nodes["CN-GD"].sessions.login(login(), "10.0.0.1"))
    signed_in = await sessions.signed_in(session_id)
    assert signed_in is not None
    await sessions.close(session_id, signed_in)
    assert await sessions.signed_in(session_id) is None
    with pytest.raises(Unauthenticated) as refused:
        await world.nodes["CN-GD"].authenticate(signed_in.session.access_token)
    assert refused.value.reason == "token.revoked"
    assert world.sent and world.sent[-1][1].kind == "session"  # told to the federation too


async def test_a_cookie_id_that_was_never_a_session_is_nobody(world: World) -> None:
    sessions = sessions_at(world, "CN-GD")
    assert await sessions.signed_in("x" * 43) is None
    assert await sessions.signed_in(None) is None


async def test_expired_sessions_are_forgotten_as_new_ones_begin(world: World) -> None:
    await registered(world)
    sessions = sessions_at(world, "CN-SH")  # forwarded logins: they end with their token
    login_here = world.nodes["CN-SH"].sessions.login
    await sessions.open(await login_here(login(), "10.0.0.1"))
    world.clock.now_ms += (MAX_LIFETIME_S + 60) * 1000
    await sessions.open(await login_here(login(), "10.0.0.1"))
    store = world.databases["CN-SH"].web_sessions
    assert await store.forget_expired(world.clock.now_ms) == 0  # the old one is gone already


async def test_a_session_idle_for_longer_than_its_timeout_ends(world: World) -> None:
    await registered(world)
    sessions = Sessions(
        accounts=world.nodes["CN-GD"],
        store=world.databases["CN-GD"].web_sessions,
        clock_ms=world.clock,
        idle_ms=30 * 60_000,
    )
    session_id = await sessions.open(await world.nodes["CN-GD"].sessions.login(login(), "10.0.0.1"))
    for _ in range(3):  # a request every 29 minutes keeps it: 87 minutes in all
        world.clock.now_ms += 29 * 60_000
        assert await sessions.signed_in(session_id) is not None
    world.clock.now_ms += 30 * 60_000
    assert await sessions.signed_in(session_id) is None
    world.clock.now_ms -= 30 * 60_000  # ended, not only refused: the row is gone
    assert await sessions.signed_in(session_id) is None


async def test_a_busy_session_ends_at_its_absolute_lifetime(world: World) -> None:
    await registered(world)
    sessions = Sessions(
        accounts=world.nodes["CN-GD"],
        store=world.databases["CN-GD"].web_sessions,
        clock_ms=world.clock,
        lifetime_ms=60 * 60_000,
    )
    session_id = await sessions.open(await world.nodes["CN-GD"].sessions.login(login(), "10.0.0.1"))
    for _ in range(5):
        world.clock.now_ms += 11 * 60_000
        assert await sessions.signed_in(session_id) is not None
    world.clock.now_ms += 6 * 60_000  # 61 minutes after the login, however busy
    assert await sessions.signed_in(session_id) is None


def test_live_connections_are_counted_per_session_up_to_the_limit() -> None:
    streams = Streams(limit=2)
    mine, theirs = "a" * 43, "b" * 43
    assert streams.acquire(mine) and streams.acquire(mine)
    assert not streams.acquire(mine)  # the third, refused
    assert streams.acquire(theirs)  # another session has its own
    streams.release(mine)
    assert streams.held(mine) == 1 and streams.acquire(mine)
    for _ in range(3):
        streams.release(mine)
    assert streams.held(mine) == 0
