"""An idle node sleeps: with nothing to do it sends its database no statements (only the health
check's pings, counted apart at the storage edge), and work still wakes it — a message queued by
another process is delivered without waiting for a sweep, and a retry after an outage fires at
its due time. Nothing here times how fast anything is; the waits are bounds, far below the
intervals a polling node would need (the poll interval here is two minutes, the sweep one)."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from node.config import load_config, write_config
from tests.harness import Network, NetworkFactory, NetworkSpec, eventually
from tests.messages import outbox_row, send, wait_statuses

pytestmark = pytest.mark.network

SLOW_POLL_S = 120.0


def storage_counts(net: Network, node_id: str) -> tuple[float, float]:
    m = net.metrics(node_id)
    return m["swnode_storage_statements_total"][()], m["swnode_storage_pings_total"][()]


def slow_poller(net: Network, node_id: str) -> None:
    """Restart the node with a directory poll interval of two minutes."""
    net.stop(node_id)
    write_config(replace(load_config(net.dir(node_id)), poll_interval_s=SLOW_POLL_S))
    net.start(node_id)
    net.wait_healthy([node_id])


@pytest.fixture
def net(network_factory: NetworkFactory) -> Network:
    network = network_factory(NetworkSpec(provinces=2, foreign=0))
    slow_poller(network, "CN-GD")
    return network


def test_an_idle_node_sends_its_database_nothing_and_is_woken_by_another_process(
    net: Network,
) -> None:
    time.sleep(1.0)  # what starting up does (first scans, first probes) is over
    statements, _ = storage_counts(net, "CN-GD")
    time.sleep(4.0)
    assert storage_counts(net, "CN-GD")[0] == statements
    # `swnode send` is another process; it wakes the node through the ops port.
    message_id = send(net, "CN-GD", "CN-SH", "hello")
    wait_statuses(net.dir("CN-GD"), [message_id], "delivered", timeout_s=30)
    assert storage_counts(net, "CN-GD")[0] > statements


def test_a_retry_fires_at_its_due_time_once_the_peer_is_back(net: Network) -> None:
    net.stop("CN-SH")
    try:
        message_id = send(net, "CN-GD", "CN-SH", "while you were out")

        def tried() -> None:
            row = outbox_row(net.dir("CN-GD"), message_id)
            assert row["status"] == "failed" and row["attempts"] >= 1, dict(row)

        eventually(tried, timeout_s=30, interval_s=0.2)
    finally:
        net.start("CN-SH")
    net.wait_healthy(["CN-SH"])
    # No new work arrives and no poll is due: only the stored retry time brings it back.
    wait_statuses(net.dir("CN-GD"), [message_id], "delivered", timeout_s=90)
