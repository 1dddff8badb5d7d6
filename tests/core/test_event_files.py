"""Logistics events read from an uploaded file (core/event_files.py): CSV with a header row or
JSON, and every way a file can be wrong named by its row and column."""

from __future__ import annotations

import json

import pytest

from core.errors import InvalidArgument
from core.event_files import MAX_EVENTS_PER_FILE, parse_event_file
from swf.v1 import documents_pb2 as docs
from swf.v1 import logistics_pb2 as lpb

CSV = (
    "event_id,kind,occurred_at,place,container,mode\r\n"
    "e1,gate_in,2026-03-12T08:30:00+08:00,CNYTN,CSNU6391242,sea\r\n"
    "e2,EVENT_KIND_LOADED,2026-03-12T10:00:00Z,CNYTN,CSNU6391242,TRANSPORT_MODE_SEA\r\n"
)


def test_a_csv_file_gives_one_event_a_row() -> None:
    first, second = parse_event_file("events.csv", ("\ufeff" + CSV).encode())
    assert first.event_id == "e1" and first.kind == lpb.EVENT_KIND_GATE_IN
    assert first.occurred_at_unix_ms == 1_773_275_400_000  # 00:30 UTC
    assert first.mode == docs.TRANSPORT_MODE_SEA and first.container == "CSNU6391242"
    assert second.kind == lpb.EVENT_KIND_LOADED


def test_a_json_file_gives_its_event_or_events() -> None:
    one = {"eventId": "e1", "kind": "EVENT_KIND_ARRIVED", "place": "SGSIN"}
    assert parse_event_file("e.json", json.dumps(one).encode())[0].place == "SGSIN"
    assert len(parse_event_file("upload", json.dumps([one, one]).encode())) == 2


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("e.csv", "event_id,colour\ne1,red\n", "row 1: unknown columns 'colour'"),
        ("e.csv", "", "row 1: no header row"),
        ("e.csv", "event_id,kind\ne1,teleported\n", "row 2: kind: unknown value"),
        ("e.csv", "event_id,occurred_at\ne1,2026-03-12 08:30\n", "row 2: occurred_at: give"),
        ("e.csv", "event_id,occurred_at\ne1,yesterday\n", "row 2: occurred_at: not an ISO"),
        ("e.csv", "event_id\ne1,extra\n", "row 2: more cells than columns"),
        ("e.json", "[1]", "file[0]: not a logistics event"),
        ("e.json", '{"colour": "red"}', "file: not a logistics event"),
        ("e.json", "{", "file: not JSON"),
    ],
)
def test_a_bad_file_is_refused_naming_where(name: str, text: str, where: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        parse_event_file(name, text.encode())
    assert refused.value.reason == "event.file" and refused.value.field == "file"
    assert where in refused.value.message


def test_a_file_is_utf8_and_bounded() -> None:
    with pytest.raises(InvalidArgument, match="not UTF-8"):
        parse_event_file("e.csv", b"\xff\xfe")
    rows = "".join(f"e{i},gate_in\n" for i in range(MAX_EVENTS_PER_FILE + 1))
    with pytest.raises(InvalidArgument, match="more than"):
        parse_event_file("e.csv", ("event_id,kind\n" + rows).encode())
