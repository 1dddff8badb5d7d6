"""The node's OpenTelemetry set-up: a tracer provider per node, its exporter from node.toml
(`[tracing] exporter`: none, or otlp to `endpoint`), and the gRPC instrumentation that carries
W3C trace context (`traceparent` metadata) on calls to the client and peer ports.

One provider per `Node`, not the process-wide one, so that nodes run in one process (as a test
does) keep their spans apart, each marked with its node id.

Sampling is by node, not by trace: a node that exports records every span it makes (ALWAYS_ON,
whatever the incoming `sampled` flag says), and a node with `exporter = "none"` records none
(ALWAYS_OFF) but still makes span ids and passes the context of incoming calls and messages on,
so a trace that crosses it stays one trace in the nodes that export, and its log lines carry
trace and span ids that match theirs (node/logs.py). The federation's per-message spans then
come from `PassOnTracer`, which makes ids and nothing else: the SDK's unsampled span costs a
third of a recorded one (about 11 µs against 26 µs, measured on the development machine), too
much once per message at thousands of messages a second. The spans of the
federation's hops are made in federation/tracing.py's terms; this module decides where they go.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc
from opentelemetry.instrumentation.grpc import (
    aio_client_interceptors,
    aio_server_interceptor,
    filters,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON
from opentelemetry.trace import Tracer

from federation.tracing import INSTRUMENTATION, PassOnTracer
from node.config import NodeConfig

__all__ = ["NodeTracing"]


class NodeTracing:
    """Where this node's spans go. `exporter` (tests: the SDK's in-memory exporter) overrides
    node.toml's choice."""

    def __init__(
        self, config: NodeConfig, *, replica: str, exporter: SpanExporter | None = None
    ) -> None:
        exporter = exporter or _configured_exporter(config)
        self.provider = TracerProvider(
            sampler=ALWAYS_ON if exporter is not None else ALWAYS_OFF,
            resource=Resource.create(
                {
                    "service.name": "swnode",
                    "service.instance.id": replica,
                    "swnode.node": config.id,
                    "swnode.role": config.role.value,
                }
            ),
        )
        if exporter is not None:
            self.provider.add_span_processor(
                BatchSpanProcessor(exporter, schedule_delay_millis=500)
            )
        self.tracer: Tracer = (
            self.provider.get_tracer(INSTRUMENTATION) if exporter is not None else PassOnTracer()
        )

    def server_interceptors(self) -> Sequence[grpc.aio.ServerInterceptor[Any, Any]]:
        """A span for each call to a port, child of the caller's `traceparent` (see
        `_traced` for the calls left out)."""
        make: Any = aio_server_interceptor  # the instrumentation ships no type hints
        interceptor: grpc.aio.ServerInterceptor[Any, Any] = make(
            tracer_provider=self.provider, filter_=_traced()
        )
        return [interceptor]

    def client_interceptors(self) -> Sequence[grpc.aio.ClientInterceptor]:
        """A client span, and `traceparent` metadata, on this node's own calls to its peers
        (a registry lookup, a login forwarded home, a sharing query): unary calls and server
        streams. The Exchange stream is not intercepted at all: its writes stay the plain
        call's, and its messages carry their own contexts."""
        make: Any = aio_client_interceptors
        unary, server_stream, *_ = make(tracer_provider=self.provider, filter_=_traced())
        return [unary, server_stream]

    def flush(self) -> None:
        self.provider.force_flush(5_000)

    def shutdown(self) -> None:
        self.provider.shutdown()


def _traced() -> Any:
    """Which calls get spans: not the Exchange stream (one lives for many messages of many
    traces), nor what background loops poll every few seconds (Ping, GetDirectory, health
    checks), which would bury the traces people look for."""
    untraced = filters.any_of(
        filters.method_name("Exchange"),
        filters.method_name("Ping"),
        filters.method_name("GetDirectory"),
        filters.health_check(),
    )
    return filters.negate(untraced)


def _configured_exporter(config: NodeConfig) -> SpanExporter | None:
    if config.tracing_exporter == "none":
        return None
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    endpoint = config.tracing_endpoint
    return OTLPSpanExporter(endpoint=endpoint, insecure=endpoint.startswith("http://"))
