"""The CA compromise drill: `swnode rotate --dir CN --key ca --now` while CN-GD sends to CN-SH and,
through CN, to SG. The old CA is retired at once: a certificate it issued is refused with
`ca.retired`; every node renews from the new CA on its own, SG's anchor follows, and every
document is still delivered exactly once (PROTOCOL.md §2.9, OPERATIONS.md section 11)."""

from __future__ import annotations

import pytest

from tests.harness import NetworkFactory, NetworkSpec, eventually
from tests.integration.test_key_rotation import (
    POLL_S,
    Traffic,
    issued_by,
    ping_with,
    rotate,
)
from tests.messages import submit, wait_statuses

pytestmark = pytest.mark.network


def test_now_retires_the_old_ca_at_once_and_every_node_renews(
    network_factory: NetworkFactory,
) -> None:
    net = network_factory(NetworkSpec(provinces=2, foreign=1, poll_interval_s=POLL_S))
    traffic = Traffic(net)
    traffic.keep_sending(1.0)
    traffic.all_delivered_once()
    old_gd = net.keys("CN-GD").tls_identity()
    assert ping_with(net, "CN-SH", old_gd) is None

    said = rotate(net, "CN", "ca", "--now")
    assert "retired at" in said and "new CA certificate SHA-256" in said
    history = net.keys("CN").ca_history
    assert history is not None
    new_ca = history.cas[-1].certificate

    # The old certificate is refused with its reason as soon as CN-SH holds the directory.
    def refused() -> None:
        assert ping_with(net, "CN-SH", old_gd) == "ca.retired"

    eventually(refused, timeout_s=10)
    # The old CA's private key is gone from the central.
    assert not (net.dir("CN") / "keys" / "ca.key").exists()

    def renewed() -> None:
        for node_id in ("CN", "CN-GD", "CN-SH"):
            assert issued_by(net, node_id, new_ca), node_id

    traffic.keep_sending(2.0)
    eventually(renewed, timeout_s=20)
    traffic.keep_sending(2.0)
    traffic.all_delivered_once()
    after = submit(net.dir("CN-GD"), "CN-SH", 5) + submit(net.dir("CN-GD"), "SG", 5)
    wait_statuses(net.dir("CN-GD"), after, "delivered", timeout_s=30)
    assert ping_with(net, "CN-SH", net.keys("CN-GD").tls_identity()) is None
