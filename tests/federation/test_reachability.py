"""A node Pings a neighbour it has messages for, or one that never answered; an idle one is
not asked again (no handshake), and is reported "not probed (idle)" with the time it last answered.

A real peer port on 127.0.0.1 over mutual TLS, from tests/federation/test_peer_pinning.py,
counting the Pings that reach it."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator

import grpc
import pytest

from core.reachability import IDLE, condition
from federation.channels import PeerChannels
from federation.reachability import Reachability
from swf.v1 import peer_pb2_grpc
from tests.federation.test_peer_pinning import Ca, Counting, Peer, pem, trust_listing

pytestmark = pytest.mark.network

Backlog = dict[tuple[str, str], int]


@pytest.fixture
async def sh() -> AsyncIterator[Peer]:
    ca = Ca()
    key, cert = ca.issue("CN-SH")
    servicer = Counting()
    server = grpc.aio.server()
    peer_pb2_grpc.add_PeerServicer_to_server(servicer, server)
    creds = grpc.ssl_server_credentials(
        [ca.identity(key, cert).pair], pem(ca.der), require_client_auth=True
    )
    port = server.add_secure_port("127.0.0.1:0", creds)
    await server.start()
    try:
        yield Peer(ca, f"127.0.0.1:{port}", servicer, cert)
    finally:
        await server.stop(None)


@pytest.fixture
async def gd(sh: Peer) -> AsyncIterator[PeerChannels]:
    key, cert = sh.ca.issue("CN-GD")
    held = PeerChannels(sh.ca.identity(key, cert), max_message_bytes=1024)
    try:
        yield held
    finally:
        await held.close()


def reachability(sh: Peer, gd: PeerChannels, backlog: Backlog) -> Reachability:
    trust = trust_listing(sh, sh.presented)

    async def undelivered() -> Backlog:
        return backlog

    return Reachability("CN-GD", gd, lambda: trust, lambda: int(time.time() * 1000), undelivered)


async def test_an_idle_neighbour_is_asked_once_then_left_idle(sh: Peer, gd: PeerChannels) -> None:
    probes = reachability(sh, gd, backlog={})
    await probes.probe_once(recheck_s=0)  # never answered: asked, so status says it answers
    assert sh.servicer.calls == 1 and probes.peers["CN-SH"].reachable is True
    answered_at = probes.peers["CN-SH"].last_ok_unix_ms
    for _ in range(3):  # due again and again, but nothing to send it
        await probes.probe_once(recheck_s=0)
    assert sh.servicer.calls == 1
    state = probes.peers["CN-SH"]
    assert condition(state.reachable) == IDLE and state.rtt_ms is None
    assert state.last_ok_unix_ms == answered_at  # when it last answered is kept


async def test_a_neighbour_with_messages_pending_is_asked_again(sh: Peer, gd: PeerChannels) -> None:
    backlog: Backlog = {}
    probes = reachability(sh, gd, backlog)
    await probes.probe_once(recheck_s=0)
    await probes.probe_once(recheck_s=0)
    assert probes.peers["CN-SH"].reachable is None
    backlog[("CN-SH", "pending")] = 1  # a message for it: asked, and up again
    await probes.probe_once(recheck_s=0)
    assert sh.servicer.calls == 2 and probes.peers["CN-SH"].reachable is True


async def test_a_neighbour_that_never_answered_is_asked_again(sh: Peer, gd: PeerChannels) -> None:
    # Nothing listens on the port the directory names: down, and asked again, though idle.
    gone = dataclasses.replace(sh, endpoint="127.0.0.1:1")
    probes = reachability(gone, gd, backlog={})
    for _ in range(2):
        await probes.probe_once(recheck_s=0)
        state = probes.peers["CN-SH"]
        assert state.reachable is False and state.last_error, state
    assert state.failures == 2
