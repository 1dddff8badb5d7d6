"""node/logs.py: a JSON line per record, with the node, the current span's ids and the
message id it is about; secrets masked in either format."""

from __future__ import annotations

import json
import logging
import sys

from opentelemetry.sdk.trace import TracerProvider

from node.logs import JsonFormatter, RedactingFilter, TextFormatter

JWT = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVz"


def record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    r = logging.LogRecord("swnode.test", logging.WARNING, __file__, 1, msg, args, None)
    for key, value in extra.items():
        setattr(r, key, value)
    assert RedactingFilter().filter(r)
    return r


def test_a_json_line_names_node_span_and_message() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        line = json.loads(JsonFormatter("CN-GD").format(record("sent %s", "m-1", message_id="m-1")))
    ctx = span.get_span_context()
    assert line["node"] == "CN-GD" and line["level"] == "warning"
    assert line["logger"] == "swnode.test" and line["message"] == "sent m-1"
    assert line["trace_id"] == f"{ctx.trace_id:032x}" and line["span_id"] == f"{ctx.span_id:016x}"
    assert line["message_id"] == "m-1"
    assert line["time"].endswith("+00:00")


def test_outside_a_span_there_are_no_trace_ids() -> None:
    line = json.loads(JsonFormatter("CN").format(record("idle")))
    assert "trace_id" not in line and "message_id" not in line


def test_secrets_in_arguments_are_masked_in_json_and_text() -> None:
    r = record("caller sent %s", f"Bearer {JWT}")
    assert JWT not in JsonFormatter("CN").format(r)
    assert JWT not in TextFormatter().format(r)
    assert "Bearer ***" in TextFormatter().format(r)


def test_secrets_in_a_traceback_are_masked_in_json_and_text() -> None:
    try:
        raise ValueError(f"could not parse password={JWT}")
    except ValueError:
        r = logging.LogRecord("swnode.test", logging.ERROR, __file__, 1, "failed", (), None)
        r.exc_info = sys.exc_info()
    assert JWT not in TextFormatter().format(r)
    assert JWT not in JsonFormatter("CN").format(r)
    assert "ValueError" in TextFormatter().format(r)
