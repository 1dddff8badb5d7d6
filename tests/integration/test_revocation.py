"""`swnode revoke`: within one poll interval every node, in both federations, refuses the
revoked node's connections."""

from __future__ import annotations

import time
from functools import partial

import grpc
import pytest

from tests.harness import NetworkFactory, NetworkSpec, Refusal, eventually, swnode

pytestmark = pytest.mark.network

POLL_S = 1.0
# Beyond the poll interval: the fetch itself and process scheduling on a busy 2-core machine.
SLACK_S = 1.5


def test_a_revoked_node_is_refused_everywhere_within_one_poll_interval(
    network_factory: NetworkFactory,
) -> None:
    network = network_factory(NetworkSpec(provinces=2, foreign=1, poll_interval_s=POLL_S))
    targets = ["CN", "CN-GD", "SG"]
    for target in ["CN", "CN-GD"]:
        assert network.ping_outcome(target, as_node="CN-SH") is None, target
    # Across the border only centrals talk (§2.6 step 7); a revoked node is refused before that.
    before = network.ping_outcome("SG", as_node="CN-SH")
    assert before is not None and before.reason == "peer.cross_border", before

    done = swnode("revoke", "--dir", str(network.dir("CN")), "--id", "CN-SH", "--reason", "lost")
    assert done.returncode == 0, done.stderr
    assert "revoked CN-SH" in done.stdout
    revoked_at = time.monotonic()

    refused: dict[str, Refusal] = {}
    last: dict[str, Refusal | None] = {}
    while len(refused) < len(targets) and time.monotonic() < revoked_at + POLL_S + SLACK_S:
        for target in set(targets) - set(refused):
            last[target] = outcome = network.ping_outcome(target, as_node="CN-SH")
            if outcome is not None and outcome.reason == "peer.revoked":
                refused[target] = outcome
        time.sleep(0.05)
    assert set(refused) == set(targets), f"still answering or refusing otherwise: {last}"
    for target, refusal in refused.items():
        assert refusal.code == grpc.StatusCode.PERMISSION_DENIED, target

    # Every other node shows it revoked; the rest of the federation carries on.
    def shown_revoked(node_id: str) -> None:
        peers = {p["id"]: p for p in network.status(node_id)["peers"]}
        assert peers["CN-SH"]["revoked"] is True, (node_id, peers["CN-SH"])

    for node_id in targets:
        eventually(partial(shown_revoked, node_id), timeout_s=10)
    assert network.ping_outcome("CN", as_node="CN-GD") is None
    assert network.ping_outcome("SG", as_node="CN") is None
    assert network.healthz("CN-GD")[0] == 200

    # The revoked node can no longer fetch the directory either.
    def fetch_refused() -> None:
        error = network.status("CN-SH")["directory"]["last_error"]
        assert error is not None and "peer.revoked" in error, error

    eventually(fetch_refused, timeout_s=10)
