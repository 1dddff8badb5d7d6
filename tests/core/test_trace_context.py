"""W3C traceparent values: what parses, what is ignored, and that formatting round-trips."""

from __future__ import annotations

import pytest

from core.trace_context import TraceParent, format_traceparent, parse_traceparent

EXAMPLE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"  # the specification's


def test_the_specifications_example_parses_and_formats_back() -> None:
    tp = parse_traceparent(EXAMPLE)
    assert tp == TraceParent(
        trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736, span_id=0x00F067AA0BA902B7, sampled=True
    )
    assert format_traceparent(tp) == EXAMPLE


def test_not_sampled_is_kept() -> None:
    tp = parse_traceparent(EXAMPLE[:-2] + "00")
    assert tp is not None and not tp.sampled
    assert format_traceparent(tp).endswith("-00")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # zero span id
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # uppercase
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  # short trace id
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # version ff is invalid
        EXAMPLE + "-extra",  # version 00 has exactly four fields
    ],
)
def test_invalid_values_are_ignored_not_refused(text: str) -> None:
    assert parse_traceparent(text) is None


def test_a_later_version_is_read_for_its_first_four_fields() -> None:
    tp = parse_traceparent("01" + EXAMPLE[2:] + "-what-comes-later")
    assert tp is not None and format_traceparent(tp) == EXAMPLE


def test_a_context_of_zeros_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="trace_id"):
        TraceParent(trace_id=0, span_id=1, sampled=True)
