"""Arguments callers send that are not documents: days of a date range, page sizes, page tokens.

One parser for each, used by every service that takes one, so that a bad argument is always an
InvalidArgument naming its field and the rule it breaks, never a ValueError that becomes INTERNAL.
A day is read by core/formats.py `as_date`, the same reader that checks a document's dates.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from core.errors import InvalidArgument, quote
from core.formats import as_date

__all__ = ["MAX_PAGE", "day_range_ms", "day_start_ms", "page_number", "page_size", "parse_day"]

_MS_PER_DAY = 86_400_000
# Positions and times in page tokens are stored as signed 64-bit integers.
_INT64 = re.compile(r"[0-9]{1,18}")
# The most rows one answer of a list holds, whatever the caller asks: no call reads a table whole.
MAX_PAGE = 500


def parse_day(text: str, *, field: str) -> date:
    """A calendar day written YYYY-MM-DD (2025-12-31); InvalidArgument `list.bad_date` otherwise,
    e.g. for 2025-13-45, 20251231 or 2025-12-31T10:00."""
    day = as_date(text)
    if day is not None:
        return day
    raise InvalidArgument(
        "list.bad_date",
        f"{field}: expected a calendar day written YYYY-MM-DD (2025-12-31), got {quote(text)}",
        field=field,
    )


def day_range_ms(from_date: str, to_date: str) -> tuple[int, int]:
    """Unix milliseconds from the start of `from_date` to the end of `to_date` (UTC); an empty
    side is open."""
    return (
        day_start_ms(parse_day(from_date, field="from_date")) if from_date else 0,
        day_start_ms(parse_day(to_date, field="to_date")) + _MS_PER_DAY if to_date else 2**62,
    )


def day_start_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def page_number(text: str, *, field: str = "page_token", what: str = "list") -> int:
    """A non-negative integer from a page token this node wrote; InvalidArgument
    `list.page_token` for anything else (other digits than 0-9, too large, signs, spaces)."""
    if not _INT64.fullmatch(text):
        raise InvalidArgument("list.page_token", f"{field}: not from this {what}", field=field)
    return int(text)


def page_size(asked: int, *, default: int, field: str = "page_size") -> int:
    """How many rows a list answers with: `default` for 0 (not given), `asked` from 1 to
    MAX_PAGE; InvalidArgument `list.page_size` for a negative or larger one."""
    size = asked or default
    if not 0 < size <= MAX_PAGE:
        raise InvalidArgument("list.page_size", f"{field}: 1 to {MAX_PAGE}", field=field)
    return size
