"""The node's log: text lines or JSON lines (`[log] format`), to standard error and node.log.

A JSON line is one object: `time` (UTC, ISO 8601 with milliseconds), `level`, `logger`,
`node` (this node's id), `message`, and when known `trace_id` and `span_id` (hex, of the span
the line was written in: the same ids a tracing backend shows, so a trace found there leads to
its log lines at every node it crossed) and `message_id` (of the message the line is about),
`exception` for a traceback. Every record, in either format, passes through
core/redaction.py first: secrets are never logged, and what looks like one is masked.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opentelemetry import trace

from core.redaction import redact_secrets

__all__ = ["JsonFormatter", "RedactingFilter", "TextFormatter", "setup_logging"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactingFilter(logging.Filter):
    """Renders each record's message once, masked, so that no handler sees the raw one."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact_secrets(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        return True


class TextFormatter(logging.Formatter):
    """The readable line, with the traceback (which the filter does not see) masked too."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        return redact_secrets(super().format(record))


class JsonFormatter(logging.Formatter):
    def __init__(self, node_id: str) -> None:
        super().__init__()
        self.node_id = node_id

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "node": self.node_id,
            "message": record.getMessage(),
        }
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            line["trace_id"] = f"{span.trace_id:032x}"
            line["span_id"] = f"{span.span_id:016x}"
        message_id = getattr(record, "message_id", None)
        if message_id:
            line["message_id"] = str(message_id)
        if record.exc_info:
            line["exception"] = redact_secrets(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


def setup_logging(
    level: str, path: Path | None = None, *, fmt: str = "text", node_id: str = ""
) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if path is not None:
        handlers.append(logging.FileHandler(path))
    formatter = JsonFormatter(node_id) if fmt == "json" else TextFormatter()
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(RedactingFilter())
    logging.basicConfig(level=getattr(logging, level.upper()), handlers=handlers)
    logging.getLogger("asyncio").setLevel(logging.WARNING)
