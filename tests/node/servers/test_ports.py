"""The client port (TLS, gRPC health, server reflection) and the ops port (/metrics in the
Prometheus format, /healthz, /status) of a running node."""

from __future__ import annotations

import json
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from core.signing import PURPOSE_TOKEN, key_id, raw_public
from swf.v1 import peer_pb2, peer_pb2_grpc
from tests.harness import Network, credentials, eventually, refusal_of

pytestmark = pytest.mark.network

SERVING = health_pb2.HealthCheckResponse.SERVING


def listed_services(network: Network, node_id: str) -> set[str]:
    with network.client_channel(node_id) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        [answer] = list(stub.ServerReflectionInfo(iter([request]), timeout=5))
    return {s.name for s in answer.list_services_response.service}


@pytest.mark.parametrize("node_id", ["CN", "CN-GD"])
def test_client_port_serves_health_and_reflection_over_tls(
    shared_network: Network, node_id: str
) -> None:
    assert shared_network.health(node_id) == SERVING
    assert shared_network.health(node_id, "swf.v1.Enrolment") == SERVING
    services = listed_services(shared_network, node_id)
    assert {
        "swf.v1.Enrolment",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    } <= services


def test_reflection_lists_only_what_the_client_port_serves(shared_network: Network) -> None:
    services = listed_services(shared_network, "CN-GD")
    with shared_network.client_channel("CN-GD") as channel:
        refused = refusal_of(
            lambda: peer_pb2_grpc.PeerStub(channel).Ping(peer_pb2.PingRequest(), timeout=5)
        )
    assert refused.code == grpc.StatusCode.UNIMPLEMENTED
    assert "swf.v1.Peer" not in services


def test_client_port_refuses_plaintext(shared_network: Network) -> None:
    endpoint = shared_network.config("CN-GD").client_endpoint
    with grpc.insecure_channel(endpoint) as channel:
        from grpc_health.v1 import health_pb2_grpc

        stub = health_pb2_grpc.HealthStub(channel)
        refused = refusal_of(lambda: stub.Check(health_pb2.HealthCheckRequest(), timeout=3))
    assert refused.code == grpc.StatusCode.UNAVAILABLE


def test_peer_port_serves_health_to_members(shared_network: Network) -> None:
    from grpc_health.v1 import health_pb2_grpc

    with shared_network.peer_channel("CN-GD", as_node="CN") as channel:
        answer = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
    assert answer.status == SERVING


def test_healthz_and_unknown_paths(shared_network: Network) -> None:
    code, body = shared_network.healthz("CN-GD")
    assert (code, body) == (200, {"status": "serving"})
    code, _ = shared_network.ops("CN-GD", "/nothing-here")
    assert code == 404


def test_metrics_in_prometheus_format(shared_network: Network) -> None:
    status = shared_network.status("CN-GD")
    sg_version = shared_network.status("SG")["directory"]["version"]

    def check() -> None:
        m = shared_network.metrics("CN-GD")
        shown = {"swnode_node_info", "swnode_foreign_directory_version", "swnode_peer_reachable"}
        assert shown <= m.keys(), sorted(m)  # each is there once its first value is known
        [(labels, one)] = m["swnode_node_info"].items()
        assert one == 1 and dict(labels)["id"] == "CN-GD" and dict(labels)["role"] == "province"
        assert m["swnode_healthy"][()] == 1
        assert m["swnode_directory_valid"][()] == 1
        assert m["swnode_directory_version"][()] == status["directory"]["version"]
        assert m["swnode_directory_expires_at_seconds"][()] > time.time()
        assert m["swnode_foreign_directory_version"][(("federation", "SG"),)] == sg_version
        reachable = {dict(k)["peer"]: v for k, v in m["swnode_peer_reachable"].items()}
        # Direct neighbours only: SG is reached through CN.
        assert reachable == {"CN": 1, "CN-SH": 1}

    eventually(check, timeout_s=10)


def test_refusals_are_counted_by_reason(shared_network: Network) -> None:
    key, cert = shared_network.issue_with_real_ca("CN-ZJ")  # not a member: peer.unknown
    ca = shared_network.ca_der("CN")
    stranger = credentials(root_ca_der=ca, key=key, chain=[cert, ca])
    with shared_network.channel("CN-GD", stranger) as channel:
        stub = peer_pb2_grpc.PeerStub(channel)
        refused = refusal_of(lambda: stub.Ping(peer_pb2.PingRequest(), timeout=5))
    assert refused.reason == "peer.unknown"

    def counted() -> None:
        m = shared_network.metrics("CN-GD")
        assert m.get("swnode_rpc_refusals_total", {}).get((("reason", "peer.unknown"),), 0) >= 1

    eventually(counted, timeout_s=2)


def test_jwks_lists_the_nodes_token_key(shared_network: Network) -> None:
    token_key = raw_public(shared_network.keys("CN-GD").token_key)
    code, body = shared_network.ops("CN-GD", "/.well-known/jwks.json")
    assert code == 200
    kids = [k.get("kid") for k in json.loads(body)["keys"]]
    assert key_id("CN-GD", PURPOSE_TOKEN, token_key) in kids


def test_status_json_on_the_ops_port(shared_network: Network) -> None:
    code, body = shared_network.ops("CN", "/status")
    assert code == 200
    status = json.loads(body)
    assert status["id"] == "CN" and status["role"] == "central"
    assert status["endpoints"]["ops"] == shared_network.config("CN").ops_url
    assert status["storage"] == "sqlite:///node.db"
