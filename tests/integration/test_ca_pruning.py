"""A retired CA leaves the federation once every certificate it could have issued has expired
(PROTOCOL.md §2.9 step 4, OPERATIONS.md section 11): with a short `[keys] lifetime_s` at the
central, the old CA drops out of the directory and out of every node's keys/ca.crt a lifetime
after its retirement, while documents keep flowing."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from identity.keys import load_ca_bundle
from node.config import load_config, write_config
from tests.harness import NetworkFactory, NetworkSpec, eventually
from tests.integration.test_key_rotation import POLL_S, Traffic, ping_with, rotate

pytestmark = pytest.mark.network

LIFETIME_S = 30.0


def test_a_retired_ca_is_dropped_a_lifetime_after_its_retirement(
    network_factory: NetworkFactory,
) -> None:
    net = network_factory(NetworkSpec(provinces=2, foreign=1, poll_interval_s=POLL_S))
    net.stop("CN")
    write_config(replace(load_config(net.dir("CN")), key_lifetime_s=LIFETIME_S))
    net.start("CN")
    net.wait_healthy(["CN"])
    traffic = Traffic(net)
    old_gd = net.keys("CN-GD").tls_identity()

    rotate(net, "CN", "ca", "--now")
    retired = time.monotonic()
    history = net.keys("CN").ca_history
    assert history is not None and history.cas[-1].cross is not None
    cross = history.cas[-1].cross.public_bytes(Encoding.DER)

    def held(node_id: str) -> set[bytes]:
        return {c.public_bytes(Encoding.DER) for c in load_ca_bundle(net.dir(node_id))}

    # Retired, the old CA is still listed: its certificates pass the handshake, to be refused
    # with their reason, and keys/ca.crt keeps the cross certificate, for late renewals.
    traffic.keep_sending(2.0)
    assert cross in held("CN-GD")
    assert ping_with(net, "CN-SH", old_gd) == "ca.retired"
    # A lifetime after the retirement it is gone, everywhere; documents flow meanwhile.
    deadline = retired + LIFETIME_S + 30
    while any(cross in held(n) for n in ("CN", "CN-GD", "CN-SH")):
        assert time.monotonic() < deadline, "the retired CA is still held"
        traffic.keep_sending(1.0)
    assert time.monotonic() - retired >= LIFETIME_S - 1

    # Its certificates now fail the handshake like a stranger's, with no reason code.
    def strange() -> None:
        assert ping_with(net, "CN-SH", old_gd) not in (None, "ca.retired")

    eventually(strange, timeout_s=10)
    traffic.keep_sending(2.0)
    traffic.all_delivered_once()
