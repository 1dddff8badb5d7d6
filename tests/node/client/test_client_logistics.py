"""`swnode client event|timeline|dataset` without a node: reading event files and times, the
lines it prints, and its place among the client's commands."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from core.errors import InvalidArgument
from node.client import commands as client
from node.client.logistics import entry_line, parse_when, read_events
from swf.v1 import documents_pb2 as docs
from swf.v1 import logistics_pb2 as lpb

EVENT = {
    "eventId": "ZJR-1",
    "kind": "EVENT_KIND_GATE_IN",
    "occurredAtUnixMs": "1800000000000",
    "place": "CNYIW",
    "container": "CSNU6391242",
    "mode": "TRANSPORT_MODE_RAIL",
}


def test_an_events_file_holds_one_event_or_an_array(tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    one.write_text(json.dumps(EVENT))
    assert [e.event_id for e in read_events(one)] == ["ZJR-1"]
    many = tmp_path / "many.json"
    many.write_text(json.dumps([EVENT, {**EVENT, "event_id": "ZJR-2", "occurred_at_unix_ms": 5}]))
    events = read_events(many)
    assert [(e.event_id, e.kind, e.mode) for e in events] == [
        ("ZJR-1", lpb.EVENT_KIND_GATE_IN, docs.TRANSPORT_MODE_RAIL),
        ("ZJR-2", lpb.EVENT_KIND_GATE_IN, docs.TRANSPORT_MODE_RAIL),
    ]


@pytest.mark.parametrize(
    "text", ["not json", json.dumps([EVENT, {"kind": "EVENT_KIND_TELEPORTED"}]), "[1]"]
)
def test_a_bad_events_file_is_refused_naming_the_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(InvalidArgument) as caught:
        read_events(path)
    assert (caught.value.reason, caught.value.field) == ("client.file", "file")


def test_times_are_dates_or_times_with_their_zone() -> None:
    assert parse_when("2027-01-15", field="until") == 1_800_000_000_000 - 28_800_000
    assert parse_when("2027-01-15T16:00:00+08:00", field="until") == 1_800_000_000_000
    assert parse_when("2027-01-15T08:00:00Z", field="until") == 1_800_000_000_000
    for bad in ("2027-01-15T08:00:00", "tomorrow"):
        with pytest.raises(InvalidArgument) as caught:
            parse_when(bad, field="until")
        assert (caught.value.reason, caught.value.field) == ("client.when", "until")


def test_a_timeline_entry_is_one_line() -> None:
    entry = lpb.TimelineEntry(
        at_unix_ms=1_800_000_000_000,
        node="CN-ZJ",
        event=lpb.LogisticsEvent(
            kind=lpb.EVENT_KIND_DEPARTED,
            place="CNYIW",
            container="CSNU6391242",
            conveyance="X8024",
            mode=docs.TRANSPORT_MODE_RAIL,
            reporter="CN-ZJ/zj-rail",
        ),
    )
    assert entry_line(entry) == (
        "2027-01-15 08:00:00  CN-ZJ  departed         CNYIW  CSNU6391242  X8024  rail  "
        "by CN-ZJ/zj-rail"
    )
    status = lpb.TimelineEntry(
        at_unix_ms=1_800_000_000_000,
        node="CN-GD",
        declaration=lpb.DeclarationStatus(
            declaration_id="d1",
            document_type="goods_declaration",
            transition="clear",
            from_status="under_review",
            to_status="cleared",
            actor="node",
        ),
    )
    assert "clear" in entry_line(status) and "under_review -> cleared" in entry_line(status)


def test_the_commands_are_the_clients() -> None:
    parser = argparse.ArgumentParser()
    client.add_arguments(parser)
    args = parser.parse_args(
        ["--devnet", "D", "--at", "CN-GD", "timeline", "--bl", "B1", "--token", "T", "--watch"]
    )
    assert (args.client_command, args.bl, args.watch, args.json) == ("timeline", "B1", True, False)
    args = parser.parse_args(
        ["--at", "X", "dataset", "request", "--token", "T", "--dataset", "A/b/c", "--purpose",
         "p", "--for", "2h"]
    )  # fmt: skip
    assert (args.dataset_command, args.duration, args.until) == ("request", "2h", None)
    with pytest.raises(SystemExit):
        parser.parse_args(["timeline", "--container", "C", "--bl", "B", "--token", "T"])
