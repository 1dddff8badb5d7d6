"""A node that exports no traces still passes each message's trace on (OPERATIONS.md, Tracing):
what it sends continues the trace it received, under an id of its own, marked not sampled."""

from __future__ import annotations

from opentelemetry import trace

from core.trace_context import parse_traceparent
from federation.tracing import PassOnTracer, context_of, traceparent_of

INCOMING = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_a_span_continues_the_incoming_trace_under_a_new_id() -> None:
    span = PassOnTracer().start_span("swnode.receive", context=context_of(INCOMING))
    sent = parse_traceparent(traceparent_of(span))
    incoming = parse_traceparent(INCOMING)
    assert sent is not None and incoming is not None
    assert sent.trace_id == incoming.trace_id
    assert sent.span_id != incoming.span_id
    assert not sent.sampled
    assert not span.is_recording()


def test_without_an_incoming_trace_a_new_one_begins() -> None:
    first = traceparent_of(PassOnTracer().start_span("swnode.send"))
    second = traceparent_of(PassOnTracer().start_span("swnode.send"))
    assert parse_traceparent(first) is not None
    assert first[3:35] != second[3:35]  # trace ids differ


def test_log_lines_inside_a_span_see_its_ids() -> None:
    span = PassOnTracer().start_span("swnode.receive", context=context_of(INCOMING))
    with trace.use_span(span, end_on_exit=True):
        assert trace.get_current_span().get_span_context() == span.get_span_context()
