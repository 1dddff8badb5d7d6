"""Errors quote input briefly (core.errors.quote) and what leaves the node as a status is
bounded whatever an error holds (core.grpc_status.public_message, trailers)."""

from __future__ import annotations

from core.errors import InvalidArgument, NotFound, quote
from core.grpc_status import (
    FIELD_KEY,
    MAX_DETAILS_BYTES,
    MAX_MESSAGE_BYTES,
    REASON_KEY,
    public_message,
    trailers,
)


def test_a_short_input_is_quoted_as_repr_would() -> None:
    assert quote("CN-GD") == "'CN-GD'"
    assert quote("a\x00\n\u202e") == repr("a\x00\n\u202e")
    assert quote(b"\xff") == "b'\\xff'"


def test_a_long_input_is_cut_and_its_length_given() -> None:
    shown = quote("x" * 100_000)
    assert len(shown) < 100 and shown.endswith("… (100000 chars)")
    assert quote(b"y" * 500).endswith("… (500 bytes)")
    assert "\n" not in quote("\n" * 1000)


def test_a_huge_message_leaves_the_node_cut_with_its_reason() -> None:
    for text in ("x" * 100_000, "\u4e2d" * 50_000, "\n%" * 50_000):
        error = NotFound("declaration.unknown", f"id: no declaration {text}", field="id")
        message = public_message(error)
        wire = sum(1 if 0x20 <= b < 0x7F and b != 0x25 else 3 for b in message.encode())
        assert wire <= MAX_MESSAGE_BYTES and "message cut" in message
        assert dict(trailers(error)) == {REASON_KEY: "declaration.unknown", FIELD_KEY: "id"}


def test_a_short_message_leaves_unchanged() -> None:
    error = InvalidArgument("list.bad_date", "from_date: expected YYYY-MM-DD", field="from_date")
    assert public_message(error) == error.message


def test_fields_are_ascii_and_short_and_details_bounded() -> None:
    error = InvalidArgument(
        "x.y",
        "m",
        field="f\u00e9" * 1000,
        details=(("a-bin", b"1" * 100), ("b-bin", b"2" * MAX_DETAILS_BYTES)),
    )
    meta = dict(trailers(error))
    field = meta[FIELD_KEY]
    assert isinstance(field, str) and field.isascii() and len(field) <= 131
    assert "a-bin" in meta and "b-bin" not in meta  # the one that does not fit is left out
