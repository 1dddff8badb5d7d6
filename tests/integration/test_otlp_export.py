"""`[tracing] exporter = "otlp"`: node processes send their spans to an OpenTelemetry
collector over OTLP/gRPC. The collector here is a real OTLP TraceService on 127.0.0.1 that keeps
what it is sent; a registration at CN-GD, forwarded to CN's national registry, arrives from both
nodes as one trace, each span marked with the node that made it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as otlp
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as otlp_grpc
from opentelemetry.sdk.trace import TracerProvider

from federation.tracing import traceparent_of
from node.config import load_config, write_config
from node.devnet.network import Devnet
from node.operator import admin
from swf.v1 import identity_pb2 as ipb
from tests.conftest import run_coroutine
from tests.harness import Network, NetworkSpec, eventually
from tests.identity_client import IdentityClient

pytestmark = [pytest.mark.network, pytest.mark.slow, pytest.mark.timeout(240)]

EXPORTER = "91440300MA5G1234XY"


class Collector(otlp_grpc.TraceServiceServicer):
    """An OTLP trace receiver: keeps (node, span name, trace id, span id, parent id)."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, str, str, str, str]] = []
        self._lock = threading.Lock()

    def Export(
        self, request: otlp.ExportTraceServiceRequest, context: Any
    ) -> otlp.ExportTraceServiceResponse:
        with self._lock:
            for resource_spans in request.resource_spans:
                attributes = {
                    a.key: a.value.string_value for a in resource_spans.resource.attributes
                }
                for scope in resource_spans.scope_spans:
                    for span in scope.spans:
                        self.spans.append(
                            (
                                attributes.get("swnode.node", ""),
                                span.name,
                                span.trace_id.hex(),
                                span.span_id.hex(),
                                span.parent_span_id.hex(),
                            )
                        )
        return otlp.ExportTraceServiceResponse()


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Network, Collector]]:
    collector = Collector()
    server = grpc.server(futures.ThreadPoolExecutor(4))
    otlp_grpc.add_TraceServiceServicer_to_server(collector, server)  # type: ignore[no-untyped-call]
    (port,) = admin.free_ports("127.0.0.1", 1)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    spec = NetworkSpec(provinces=1, foreign=0)
    devnet = Devnet(Path(tmp_path_factory.mktemp("otlp")))
    try:
        run_coroutine(devnet.create(spec.provinces, spec.foreign, spec.settings))
        devnet.stop()
        for node_id in devnet.node_ids():
            config = load_config(devnet.node_dir(node_id))
            write_config(
                replace(
                    config, tracing_exporter="otlp", tracing_endpoint=f"http://127.0.0.1:{port}"
                )
            )
        devnet.start()
        devnet.wait_healthy(timeout_s=60)
        network = Network(devnet, spec)

        # Started again, CN-GD may not reach CN yet: a registration it cannot forward at once is
        # settled later by its upkeep, outside the client's trace.
        def reaches_cn() -> None:
            peers = {p["id"]: p for p in network.status("CN-GD")["peers"]}
            assert peers["CN"]["reachable"], peers["CN"]

        eventually(reaches_cn, timeout_s=30)
        yield network, collector
    finally:
        devnet.stop()
        server.stop(1)


def test_node_processes_export_their_spans_to_an_otlp_collector(
    collected: tuple[Network, Collector],
) -> None:
    network, collector = collected
    identity = IdentityClient(network)
    try:
        with TracerProvider().get_tracer("registrar").start_as_current_span("register") as span:
            identity.stub("CN-GD").RegisterEnterprise(
                _request(), metadata=(("traceparent", traceparent_of(span)),), timeout=30
            )
    finally:
        identity.close()
    trace_id = f"{span.get_span_context().trace_id:032x}"

    def exported() -> dict[str, list[tuple[str, str, str, str, str]]]:
        mine = [s for s in collector.spans if s[2] == trace_id]
        by_node = {n: [s for s in mine if s[0] == n] for n in ("CN-GD", "CN")}
        assert all(by_node.values()), f"spans of trace {trace_id} so far: {mine}"
        return by_node

    by_node = eventually(exported, timeout_s=30, interval_s=0.5)  # batched every 0.5 s
    (received,) = [s for s in by_node["CN-GD"] if s[1].endswith("Identity/RegisterEnterprise")]
    assert received[4] == f"{span.get_span_context().span_id:016x}"
    asked = [s for s in by_node["CN-GD"] if s[1].endswith("Registry/Register")]
    answered = [s for s in by_node["CN"] if s[1].endswith("Registry/Register")]
    assert asked and answered and answered[0][4] == asked[0][3]


def _request() -> ipb.RegisterEnterpriseRequest:
    return ipb.RegisterEnterpriseRequest(
        uscc=EXPORTER,
        name="Example Trading Co., Ltd.",
        address="1 Example Road, Shenzhen",
        contact=ipb.Contact(name="Li Lei", email="li@example.cn", phone="+86 755 0000"),
        roles=["declarant"],
        admin_user="alice",
        admin_password="a long and private passphrase",
    )
