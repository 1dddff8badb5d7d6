"""Trace context on the federation's hops, with the OpenTelemetry API (the SDK and exporter are
set up by the node, node/tracing.py; without them every span here is a no-op that still passes
the incoming context on).

A message's trace follows it: the traceparent of the work that queued it is stored with its
outbox row; the delivery loop sends it in a `swnode.send` span, child of that, whose context
travels beside the envelope in its frame (`EnvelopeFrame.traceparents`, PROTOCOL.md §5.2); the
receiver's `swnode.receive` span is its child, and what the receiver queues in turn (a relay, an
end-to-end receipt) carries the receive span's context, as does the inbox row, so that the
service that handles the message later (dispatch.py's `swnode.handle`) continues it. Values are
W3C traceparents (core/trace_context.py): stored and sent as text, never signed.
"""

from __future__ import annotations

import random
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import (
    NonRecordingSpan,
    NoOpTracer,
    Span,
    SpanContext,
    TraceFlags,
    Tracer,
)

from core.trace_context import TraceParent, format_traceparent, parse_traceparent

__all__ = [
    "PassOnTracer",
    "context_of",
    "current_traceparent",
    "default_tracer",
    "traceparent_of",
]

INSTRUMENTATION = "swnode"


def default_tracer() -> Tracer:
    """The process's tracer (a no-op until an SDK provider is installed globally)."""
    return trace.get_tracer(INSTRUMENTATION)


def traceparent_of(span: Span) -> str:
    """The traceparent naming `span` as the parent of what follows it; "" for none."""
    ctx = span.get_span_context()
    if not ctx.is_valid:
        return ""
    return format_traceparent(
        TraceParent(trace_id=ctx.trace_id, span_id=ctx.span_id, sampled=ctx.trace_flags.sampled)
    )


def current_traceparent() -> str:
    """The traceparent of the span this code runs in; "" outside any."""
    return traceparent_of(trace.get_current_span())


def context_of(traceparent: str) -> Context | None:
    """A context whose (remote) parent is `traceparent`; None for an empty or invalid value,
    so that the span started under it begins a trace of its own."""
    tp = parse_traceparent(traceparent)
    if tp is None:
        return None
    parent = SpanContext(
        trace_id=tp.trace_id,
        span_id=tp.span_id,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED if tp.sampled else TraceFlags.DEFAULT),
    )
    return trace.set_span_in_context(NonRecordingSpan(parent))


class PassOnTracer(NoOpTracer):
    """The tracer of a node that exports nothing: each span is a bare `NonRecordingSpan` with
    a fresh span id in its parent's trace (a new trace without one), never sampled. The trace
    context is passed on and log lines carry ids, as with the SDK's ALWAYS_OFF sampler, but
    without its per-span objects and attribute handling (a few µs a message instead of ~11)."""

    def start_span(
        self, name: str, context: Context | None = None, *args: Any, **kwargs: Any
    ) -> Span:
        parent = trace.get_current_span(context).get_span_context()
        trace_id = parent.trace_id if parent.is_valid else random.getrandbits(128) or 1
        return NonRecordingSpan(
            SpanContext(
                trace_id=trace_id,
                span_id=random.getrandbits(64) or 1,
                is_remote=False,
                trace_flags=TraceFlags(TraceFlags.DEFAULT),
            )
        )
