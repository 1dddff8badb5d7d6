"""W3C Trace Context (https://www.w3.org/TR/trace-context/) `traceparent` values, as pure text.

A traceparent names the span a piece of work continues: `00-<trace id>-<parent span id>-<flags>`
(version 00: 32 and 16 lowercase hex digits, neither all zeros; flags bit 0 = sampled). It travels
beside what is signed, never inside it (docs/PROTOCOL.md §5.2), in the outbox and with a
declaration, so that work done later continues the trace it came from. A value that does not
parse is ignored, as the specification asks: tracing never refuses a message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["TraceParent", "format_traceparent", "parse_traceparent"]

# Version 00 exactly; a later version may append fields after a further "-" (§3.2.4 of the
# specification), which a version-00 reader ignores.
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")


@dataclass(frozen=True)
class TraceParent:
    trace_id: int  # 128 bits
    span_id: int  # 64 bits
    sampled: bool

    def __post_init__(self) -> None:
        if not 0 < self.trace_id < 1 << 128:
            raise ValueError("trace_id: must be a non-zero 128-bit number")
        if not 0 < self.span_id < 1 << 64:
            raise ValueError("span_id: must be a non-zero 64-bit number")


def parse_traceparent(text: str) -> TraceParent | None:
    """The trace context in `text`, or None when it is empty or not a valid traceparent."""
    match = _TRACEPARENT.match(text.strip())
    if match is None:
        return None
    version, trace_hex, span_hex, flags_hex, rest = match.groups()
    if version == "ff" or (version == "00" and rest):
        return None
    trace_id, span_id = int(trace_hex, 16), int(span_hex, 16)
    if trace_id == 0 or span_id == 0:
        return None
    return TraceParent(trace_id=trace_id, span_id=span_id, sampled=bool(int(flags_hex, 16) & 1))


def format_traceparent(tp: TraceParent) -> str:
    return f"00-{tp.trace_id:032x}-{tp.span_id:016x}-{'01' if tp.sampled else '00'}"
