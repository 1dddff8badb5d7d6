"""The node's Prometheus metrics, one registry per node process."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Info
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from federation.delivery import Answered
from storage.engine import Counters

__all__ = ["Metrics"]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.info = Info("swnode_node", "Identity of this node.", registry=r)
        self.directory_version = Gauge(
            "swnode_directory_version", "Version of the federation directory held.", registry=r
        )
        self.directory_valid = Gauge(
            "swnode_directory_valid",
            "1 while the held directory is unexpired; 0 means the node refuses peer traffic.",
            registry=r,
        )
        self.directory_expires = Gauge(
            "swnode_directory_expires_at_seconds",
            "Unix time at which the held directory expires.",
            registry=r,
        )
        self.foreign_directory_version = Gauge(
            "swnode_foreign_directory_version",
            "Version of each trusted foreign federation's directory held.",
            ["federation"],
            registry=r,
        )
        self.peer_reachable = Gauge(
            "swnode_peer_reachable",
            "1 if the direct neighbour answered the last probe.",
            ["peer"],
            registry=r,
        )
        self.healthy = Gauge("swnode_healthy", "1 while the node is serving.", registry=r)
        self.messages_received = Counter(
            "swnode_messages_received",
            "Messages stored for this node (not counting those passed on).",
            registry=r,
        )
        self.messages_acked = Counter(
            "swnode_messages_answered",
            "Answers from peers to messages sent: delivered, acknowledged (by a relay),"
            " failed (will retry), dead (refused for good).",
            ["peer", "result"],
            registry=r,
        )
        self.outbox = Gauge(
            "swnode_outbox_messages",
            "Messages this node has not yet seen delivered, by next hop and status: queued,"
            " sent (awaiting an answer), failed (will retry), acknowledged (by a relay; awaiting"
            " the delivery receipt), dead (given up; needs `swnode redrive`).",
            ["peer", "status"],
            registry=r,
        )
        self.key_expiry = Gauge(
            "swnode_key_expiry_seconds",
            "Seconds until each of this node's certificates and keys expires (negative once it"
            " has): key is tls, signing, token, directory or ca (OPERATIONS.md, rotation"
            " calendar).",
            ["key", "node"],
            registry=r,
        )
        self.storage_up = Gauge(
            "swnode_storage_up",
            "1 if the node's database answered its last check (every second); 0 while it does not.",
            registry=r,
        )
        self.certificate_expires = Gauge(
            "swnode_certificate_expires_at_seconds",
            "Unix time at which the node's certificates expire: its TLS certificate (tls) and"
            " the federation CA certificate it holds (ca).",
            ["certificate"],
            registry=r,
        )
        self.rpc_errors = Counter(
            "swnode_rpc_refusals",
            "Requests refused, by reason code.",
            ["reason"],
            registry=r,
        )

    def watch_storage(self, counters: Counters) -> None:
        """Statements and liveness pings sent to the database, read when scraped: an idle node
        sends none but the pings (tests/integration/test_idle.py)."""
        self.registry.register(_StorageCollector(counters))

    def answered(self, a: Answered) -> None:
        """Count the peers' answers to messages sent, by peer and result."""
        for result, ids in (
            ("delivered", a.delivered),
            ("acknowledged", a.acknowledged),
            ("failed", a.failed),
            ("dead", a.dead),
        ):
            if ids:
                self.messages_acked.labels(a.peer, result).inc(len(ids))


class _StorageCollector(Collector):
    def __init__(self, counters: Counters) -> None:
        self._counters = counters

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(
            "swnode_storage_statements",
            "Statements this process sent to its database.",
            value=self._counters.statements,
        )
        yield CounterMetricFamily(
            "swnode_storage_pings",
            "Liveness checks of the database (the health loop's), apart from the statements.",
            value=self._counters.pings,
        )
