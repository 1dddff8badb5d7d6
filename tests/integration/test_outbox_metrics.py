"""What an operator's dashboard shows of a peer that is down: the backlog for it, by status,
in `swnode_outbox_messages`, and the backlog gone (reading 0) once the peer is back."""

from __future__ import annotations

import pytest

from tests.harness import Network, NetworkFactory, NetworkSpec, eventually
from tests.messages import submit, wait_statuses

pytestmark = pytest.mark.network


def backlog(net: Network, node_id: str, peer: str) -> dict[str, float]:
    samples = net.metrics(node_id).get("swnode_outbox_messages", {})
    return {
        labels["status"]: value
        for labels, value in ((dict(k), v) for k, v in samples.items())
        if labels["peer"] == peer
    }


def test_the_backlog_for_a_peer_that_is_down_is_visible_and_clears(
    network_factory: NetworkFactory,
) -> None:
    net = network_factory(NetworkSpec(provinces=2, foreign=0))
    net.stop("CN-SH")
    try:
        waiting = submit(net.dir("CN-GD"), "CN-SH", 5)
        lapsing = submit(net.dir("CN-GD"), "CN-SH", 2, ttl_s=1)

        def held() -> dict[str, float]:
            shown = backlog(net, "CN-GD", "CN-SH")
            assert shown.get("dead") == 2, shown
            assert sum(shown.get(s, 0) for s in ("queued", "sent", "failed")) == 5, shown
            return shown

        before = eventually(held, timeout_s=30, interval_s=0.5)
    finally:
        net.start("CN-SH")
        net.wait_healthy(["CN-SH"])
    wait_statuses(net.dir("CN-GD"), waiting, "delivered", timeout_s=30)
    wait_statuses(net.dir("CN-GD"), lapsing, "dead", timeout_s=5)

    def cleared() -> None:
        shown = backlog(net, "CN-GD", "CN-SH")
        # Statuses that emptied read 0 (an alert on them resolves); they do not vanish.
        assert shown == {**dict.fromkeys(before, 0), "dead": 2}, shown

    eventually(cleared, timeout_s=15, interval_s=0.5)
