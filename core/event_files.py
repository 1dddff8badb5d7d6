"""Logistics events read from a file an operator uploads: JSON (one event object or an array, in
protobuf's JSON mapping, as `swnode client event report --file` takes) or CSV with a header
row. Pure: text in, events out, or an InvalidArgument naming the row and column at fault. What
the events say is checked afterwards by the service (core/logistics.py `validate_events`), with
the rules the API applies.

CSV columns (header names; any order; unknown columns are an error): `event_id`, `kind`
(`gate_in` or `EVENT_KIND_GATE_IN`), `occurred_at` (ISO 8601 with its zone, e.g.
`2026-03-12T08:30:00+08:00`), `place`, `container`, `bill_of_lading`, `conveyance`, `mode`
(`sea` or `TRANSPORT_MODE_SEA`), `remarks`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from datetime import datetime

from google.protobuf import json_format

from core.errors import InvalidArgument, quote
from core.logistics import EVENT_FIELDS, MAX_EVENTS_PER_MESSAGE
from swf.v1 import documents_pb2 as docs
from swf.v1 import logistics_pb2 as lpb

__all__ = [
    "CSV_COLUMNS",
    "MAX_EVENTS_PER_FILE",
    "event_from_cells",
    "parse_csv",
    "parse_event_file",
    "parse_json",
]

MAX_EVENTS_PER_FILE = MAX_EVENTS_PER_MESSAGE
# A CSV file's columns are the event's own fields, in the same order.
CSV_COLUMNS = EVENT_FIELDS


def _bad(where: str, rule: str) -> InvalidArgument:
    return InvalidArgument("event.file", f"file{where}: {rule}", field="file")


def _enum(enum: object, prefix: str, text: str, where: str, column: str) -> int:
    name = text.strip().upper()
    if not name:
        return 0
    full = name if name.startswith(prefix) else prefix + name
    try:
        return int(enum.Value(full))  # type: ignore[attr-defined]
    except ValueError:
        raise _bad(where, f"{column}: unknown value {quote(text)}") from None


def _time_ms(text: str, where: str) -> int:
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise _bad(where, f"occurred_at: not an ISO 8601 time, {quote(text)}") from None
    if when.tzinfo is None:
        raise _bad(where, "occurred_at: give the time's zone (Z, +08:00)")
    return int(when.timestamp() * 1000)


def event_from_cells(cells: Mapping[str, str], where: str = "") -> lpb.LogisticsEvent:
    """One event from its columns' texts (a CSV row, or the portal's form for one event)."""
    cell = {k: (v or "").strip() for k, v in cells.items()}
    when = cell.get("occurred_at", "")
    return lpb.LogisticsEvent(
        event_id=cell.get("event_id", ""),
        kind=_enum(lpb.EventKind, "EVENT_KIND_", cell.get("kind", ""), where, "kind"),  # type: ignore[arg-type]
        occurred_at_unix_ms=_time_ms(when, where) if when else 0,
        place=cell.get("place", ""),
        container=cell.get("container", ""),
        bill_of_lading=cell.get("bill_of_lading", ""),
        conveyance=cell.get("conveyance", ""),
        mode=_enum(docs.TransportMode, "TRANSPORT_MODE_", cell.get("mode", ""), where, "mode"),  # type: ignore[arg-type]
        remarks=cell.get("remarks", ""),
    )


def parse_csv(text: str) -> list[lpb.LogisticsEvent]:
    rows = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        header = rows.fieldnames or []
    except csv.Error as exc:
        raise _bad(" row 1", f"not CSV: {exc}") from exc
    unknown = [c for c in header if c not in CSV_COLUMNS]
    if not header or unknown:
        raise _bad(
            " row 1",
            f"unknown columns {', '.join(map(quote, unknown))}; columns: {', '.join(CSV_COLUMNS)}"
            if unknown
            else "no header row",
        )
    events: list[lpb.LogisticsEvent] = []
    try:
        for number, row in enumerate(rows, start=2):
            if len(events) >= MAX_EVENTS_PER_FILE:
                raise _bad("", f"more than {MAX_EVENTS_PER_FILE} events in one file")
            where = f" row {number}"
            if None in row:
                raise _bad(where, "more cells than columns")
            events.append(event_from_cells(row, where))
    except csv.Error as exc:
        raise _bad(f" row {rows.line_num}", f"not CSV: {exc}") from exc
    return events


def parse_json(text: str) -> list[lpb.LogisticsEvent]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad("", f"not JSON: {exc.msg} at line {exc.lineno}") from exc
    items = data if isinstance(data, list) else [data]
    if len(items) > MAX_EVENTS_PER_FILE:
        raise _bad("", f"more than {MAX_EVENTS_PER_FILE} events in one file")
    events = []
    for i, item in enumerate(items):
        where = f"[{i}]" if isinstance(data, list) else ""
        if not isinstance(item, dict):
            raise _bad(where, "not a logistics event (a JSON object)")
        try:
            events.append(json_format.ParseDict(item, lpb.LogisticsEvent()))
        except (json_format.ParseError, TypeError, AttributeError) as exc:
            raise _bad(where, f"not a logistics event: {exc}") from exc
    return events


def parse_event_file(name: str, data: bytes) -> list[lpb.LogisticsEvent]:
    """The events of an uploaded file: JSON when it is named .json or starts with { or [,
    else CSV. UTF-8 (a byte order mark is allowed)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _bad("", "not UTF-8 text") from None
    if name.lower().endswith(".json") or text.lstrip()[:1] in ("{", "["):
        return parse_json(text)
    return parse_csv(text)
