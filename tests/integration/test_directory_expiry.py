"""A province keeps its last good directory on disk and restarts from it; once that copy
expires it refuses peer traffic and says so (status, gRPC health, /healthz, metrics); when its
central is back it recovers by itself."""

from __future__ import annotations

import json

import grpc
import pytest
from grpc_health.v1 import health_pb2

from tests.harness import Network, NetworkFactory, NetworkSpec, eventually, swnode

pytestmark = pytest.mark.network

VALIDITY_S = 12.0
POLL_S = 0.5
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def version(network: Network, node_id: str) -> int:
    status = network.status(node_id)
    assert status["directory"]["valid"] is True, status["directory"]
    return int(status["directory"]["version"])


def test_expiry_fails_closed_and_recovers(network_factory: NetworkFactory) -> None:
    network = network_factory(
        NetworkSpec(provinces=2, foreign=0, poll_interval_s=POLL_S, directory_validity_s=VALIDITY_S)
    )
    # Take the central down just after CN-GD fetched a freshly signed directory (the central
    # re-signs every VALIDITY_S / 2), so the copy has most of its validity left.
    start = version(network, "CN-GD")

    def resigned() -> int:
        held = version(network, "CN-GD")
        assert held > start
        return held

    held = eventually(resigned, timeout_s=VALIDITY_S)
    network.stop("CN")

    # A restart with the central down resumes from the copy on disk.
    network.stop("CN-GD")
    network.start("CN-GD")
    network.wait_healthy(["CN-GD"], timeout_s=VALIDITY_S / 2)
    assert version(network, "CN-GD") == held

    def cannot_reach_central() -> None:
        error = network.status("CN-GD")["directory"]["last_error"]
        assert error is not None and "directory.unreachable" in error, error

    eventually(cannot_reach_central, timeout_s=10)

    # The copy expires: fail closed, loudly.
    def expired() -> dict[str, object]:
        status = network.status("CN-GD")
        assert status["directory"]["valid"] is False, status["directory"]
        return status

    eventually(expired, timeout_s=VALIDITY_S + 5)
    printed = swnode("status", "--dir", str(network.dir("CN-GD")), "--json")
    assert printed.returncode == 0, printed.stderr
    status = json.loads(printed.stdout)
    assert status["running"] is True
    assert status["directory"]["valid"] is False
    assert status["directory"]["version"] == held
    text = swnode("status", "--dir", str(network.dir("CN-GD"))).stdout
    assert "NOT VALID: peer traffic refused" in text

    def not_serving() -> None:
        assert network.status("CN-GD")["healthy"] is False
        code, body = network.healthz("CN-GD")
        assert code == 503 and body["status"] == "not serving", body
        assert any(f"directory v{held} expired" in r for r in body["reasons"]), body
        assert network.health("CN-GD") == NOT_SERVING
        metrics = network.metrics("CN-GD")
        assert metrics["swnode_directory_valid"][()] == 0
        assert metrics["swnode_healthy"][()] == 0

    eventually(not_serving, timeout_s=10)
    refused = network.ping_outcome("CN-GD", as_node="CN-SH")
    assert refused is not None
    assert (refused.code, refused.reason) == (grpc.StatusCode.UNAVAILABLE, "directory.expired")

    # The central comes back; the province recovers on its own.
    network.start("CN")
    network.wait_healthy(["CN"])

    def recovered() -> None:
        assert version(network, "CN-GD") > held
        assert network.healthz("CN-GD") == (200, {"status": "serving"})
        assert network.health("CN-GD") == SERVING
        assert network.status("CN-GD")["directory"]["last_error"] is None
        assert network.ping_outcome("CN-GD", as_node="CN-SH") is None

    eventually(recovered, timeout_s=15)
