"""Automatic renewal with short lifetimes (node.toml `[keys] lifetime_s`): a node renews its TLS
certificate and signing key twice on its own and keeps every peer link; and a node stopped
through another node's rotation catches up when it starts again (OPERATIONS.md section 11)."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from core.signing import PURPOSE_SIGNING, key_id_of
from node.config import load_config, write_config
from tests.harness import Network, NetworkFactory, NetworkSpec, swnode
from tests.messages import submit, wait_statuses

pytestmark = pytest.mark.network

POLL_S = 0.5
LIFETIME_S = 20.0


def in_use(net: Network, node_id: str) -> tuple[bytes, str]:
    keys = net.keys(node_id)
    assert keys.tls_cert is not None
    return (
        keys.tls_cert.public_bytes(Encoding.DER),
        key_id_of(node_id, PURPOSE_SIGNING, keys.signing_key),
    )


def test_two_automatic_renewals_keep_every_link(network_factory: NetworkFactory) -> None:
    net = network_factory(NetworkSpec(provinces=2, foreign=1, poll_interval_s=POLL_S))
    net.stop("CN-GD")
    config = load_config(net.dir("CN-GD"))
    write_config(replace(config, key_lifetime_s=LIFETIME_S, key_overlap_s=3.0))
    net.start("CN-GD")
    net.wait_healthy(["CN-GD"])

    seen: list[tuple[bytes, str]] = [in_use(net, "CN-GD")]
    sent: list[str] = []
    deadline = time.monotonic() + 4 * LIFETIME_S
    while time.monotonic() < deadline:
        now = in_use(net, "CN-GD")
        if now != seen[-1]:
            seen.append(now)
        certificates = {c for c, _ in seen}
        signing = {k for _, k in seen}
        if len(certificates) >= 3 and len(signing) >= 3:
            break
        sent += submit(net.dir("CN-GD"), "CN-SH", 2)
        for target in ("CN", "CN-SH"):
            assert net.ping_outcome(target, as_node="CN-GD") is None, (target, len(seen))
        time.sleep(0.5)
    assert len({c for c, _ in seen}) >= 3, "fewer than two TLS renewals"
    assert len({k for _, k in seen}) >= 3, "fewer than two signing key renewals"
    # Every document sent through the renewals arrived; the peers see CN-GD as reachable.
    wait_statuses(net.dir("CN-GD"), sent, "delivered", timeout_s=30)
    peers = {p["id"]: p for p in net.status("CN")["peers"]}
    assert peers["CN-GD"]["reachable"], peers["CN-GD"]


def test_a_node_stopped_through_a_rotation_catches_up(network_factory: NetworkFactory) -> None:
    net = network_factory(NetworkSpec(provinces=2, foreign=1, poll_interval_s=POLL_S))
    net.stop("CN-SH")
    done = swnode(
        "rotate", "--dir", str(net.dir("CN-GD")), "--key", "signing",
        "--activation", "1s", "--overlap", "2s",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    time.sleep(5)  # the old key is retired; CN-SH's copy of the directory still lists it only
    ids = submit(net.dir("CN-GD"), "CN-SH", 10)
    net.start("CN-SH")
    wait_statuses(net.dir("CN-GD"), ids, "delivered", timeout_s=60)
