"""Arguments that are not documents (core/arguments.py): a bad one is an InvalidArgument that
names its field, whatever the text."""

from __future__ import annotations

from datetime import date

import pytest

from core.arguments import day_range_ms, page_number, page_size, parse_day
from core.errors import InvalidArgument
from core.formats import as_date


def test_a_calendar_day_is_read() -> None:
    assert parse_day("2025-12-31", field="from_date") == date(2025, 12, 31)
    assert day_range_ms("1970-01-01", "1970-01-01") == (0, 86_400_000)
    assert day_range_ms("", "") == (0, 2**62)


@pytest.mark.parametrize(
    "text", ["2025-13-45", "2025-02-30", "20251231", "2025-12-31T10:00", "2025-W01-1", "x" * 10**5]
)
def test_anything_else_is_a_bad_date_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        day_range_ms("2025-01-01", text)
    assert (caught.value.reason, caught.value.field) == ("list.bad_date", "to_date")
    assert len(caught.value.message) < 200


@pytest.mark.parametrize("text", ["", "-1", "²", "1" * 19, " 1", "1.0"])
def test_a_page_token_is_digits_that_fit(text: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        page_number(text)
    assert caught.value.reason == "list.page_token"
    assert page_number("123") == 123


@pytest.mark.parametrize("text", ["2024-02-29", "2025-02-29", "2025-1-01", "٢٠٢٥-٠١-٠١", ""])
def test_a_day_argument_is_read_as_a_document_date_is(text: str) -> None:
    """One reader of days: an argument is a day exactly when a document's date field is."""
    try:
        got: date | None = parse_day(text, field="from_date")
    except InvalidArgument:
        got = None
    assert got == as_date(text)


def test_a_page_size_is_the_default_when_not_given_and_refused_beyond_the_bounds() -> None:
    assert page_size(0, default=50) == 50 and page_size(500, default=50) == 500
    for asked in (-1, 501):
        with pytest.raises(InvalidArgument) as refused:
            page_size(asked, default=100, field="limit")
        assert (refused.value.reason, refused.value.field) == ("list.page_size", "limit")
        assert refused.value.message == "limit: 1 to 500"
