"""Logistics events and timelines (core/logistics.py): what a report may hold, each problem
named by its field; keys as people type them; what declarations name; one merged timeline."""

from __future__ import annotations

import pytest

from core.errors import InvalidArgument
from core.logistics import (
    RULES,
    Key,
    check_key,
    declaration_refs,
    events_dataset,
    kind_name,
    merge,
    mode_name,
    parse_dataset_id,
    validate_events,
)
from swf.v1 import documents_pb2 as docs
from swf.v1 import logistics_pb2 as lpb
from tests.test_examples import load_example

NOW = 1_800_000_000_000
SKEW = 300_000


def event(**changes: object) -> lpb.LogisticsEvent:
    e = lpb.LogisticsEvent(
        event_id="ZJR-2027-000123",
        kind=lpb.EVENT_KIND_DEPARTED,
        occurred_at_unix_ms=NOW - 3_600_000,
        place="CNNGB",
        container="CSNU6391242",
        bill_of_lading="COSU6381234560",
        conveyance="X8024",
        mode=docs.TRANSPORT_MODE_RAIL,
    )
    for name, value in changes.items():
        setattr(e, name, value)
    return e


def problems(*events: lpb.LogisticsEvent) -> set[tuple[str, str]]:
    return {(p.field, p.rule) for p in validate_events(events, now_ms=NOW, skew_ms=SKEW)}


def test_a_good_event_has_no_problem() -> None:
    assert problems(event()) == set()
    assert problems(event(container="")) == set()  # a bill of lading alone
    assert problems(event(bill_of_lading="")) == set()  # a container alone


def test_a_container_with_a_wrong_check_digit_is_named() -> None:
    assert problems(event(container="CSNU6391243")) == {
        ("events[0].container", "iso6346_check_digit")
    }
    assert problems(event(container="CSNU 639124")) == {("events[0].container", "iso6346_format")}


def test_a_place_that_is_no_unlocode_is_named() -> None:
    assert problems(event(place="CN-SHA")) == {("events[0].place", "unlocode_format")}
    assert problems(event(place="XXSHA")) == {("events[0].place", "unlocode_country")}
    assert problems(event(place="")) == {("events[0].place", "required")}


def test_time_in_the_future_beyond_the_skew_is_refused_and_within_it_allowed() -> None:
    assert problems(event(occurred_at_unix_ms=NOW + SKEW)) == set()
    assert problems(event(occurred_at_unix_ms=NOW + SKEW + 1000)) == {
        ("events[0].occurred_at_unix_ms", "occurred_in_future")
    }
    assert problems(event(occurred_at_unix_ms=0)) == {("events[0].occurred_at_unix_ms", "required")}


def test_every_problem_of_every_event_at_once_numbered_from_the_first_index() -> None:
    found = validate_events(
        [event(), event(event_id="", kind=0, mode=0, container="", bill_of_lading="")],
        now_ms=NOW,
        skew_ms=SKEW,
        first_index=5,
    )
    assert {(p.field, p.rule) for p in found} == {
        ("events[6].event_id", "required"),
        ("events[6].kind", "required"),
        ("events[6].mode", "required"),
        ("events[6].container", "container_or_bill"),
    }
    assert all(p.rule in RULES for p in found)
    assert [p.message for p in found][:2] == [
        "Event id: required: the operator's own id for the event",
        "Event kind: required: one of gate_in, gate_out, loaded, discharged, departed, arrived, "
        "transshipped, customs_released, inspected",
    ]


def test_ids_references_and_remarks_are_checked() -> None:
    assert problems(event(event_id="a" * 65)) == {("events[0].event_id", "max_length")}
    assert problems(event(event_id="no spaces")) == {("events[0].event_id", "identifier_format")}
    assert problems(event(bill_of_lading="B" * 36)) == {("events[0].bill_of_lading", "max_length")}
    assert problems(event(remarks="x" * 201)) == {("events[0].remarks", "max_length")}
    assert problems(event(remarks="bell\x07")) == {("events[0].remarks", "text_characters")}
    assert problems(event(kind=99)) == {("events[0].kind", "code_unknown")}


def test_one_id_twice_in_a_message_is_fine_when_equal_and_a_problem_when_not() -> None:
    assert problems(event(), event()) == set()
    assert problems(event(), event(place="CNSHA")) == {("events[1].event_id", "duplicate_event_id")}


def test_names_of_kinds_and_modes() -> None:
    assert kind_name(lpb.EVENT_KIND_CUSTOMS_RELEASED) == "customs_released"
    assert mode_name(docs.TRANSPORT_MODE_MULTIMODAL) == "multimodal"
    assert kind_name(0) == mode_name(0) == ""


# -- keys ------------------------------------------------------------------------------------


def test_keys_as_people_type_them() -> None:
    assert check_key(lpb.TimelineKey(container=" csnu 639124-2 ")) == Key(
        "container", "CSNU6391242"
    )
    assert check_key(lpb.TimelineKey(bill_of_lading="COSU6381234560")).text() == (
        "bill_of_lading:COSU6381234560"
    )
    declaration = "01a3185c-5000-7001-8203-040506070809"
    assert check_key(lpb.TimelineKey(declaration_id=declaration)).value == declaration


@pytest.mark.parametrize(
    ("key", "field"),
    [
        (lpb.TimelineKey(), "key"),
        (lpb.TimelineKey(container="CSNU6391243"), "key.container"),
        (lpb.TimelineKey(bill_of_lading=""), "key.bill_of_lading"),
        (lpb.TimelineKey(bill_of_lading="has space"), "key.bill_of_lading"),
        (lpb.TimelineKey(declaration_id="42"), "key.declaration_id"),
    ],
)
def test_a_bad_key_is_refused_naming_the_field(key: lpb.TimelineKey, field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        check_key(key)
    assert caught.value.reason == "timeline.bad_key"
    assert caught.value.field == field


def test_keys_round_trip_through_protos() -> None:
    key = Key("bill_of_lading", "COSU6381234560")
    assert Key.from_proto(key.to_proto()) == key
    assert Key.from_proto(lpb.TimelineKey()) is None
    with pytest.raises(ValueError, match="no key kind"):
        Key("vessel", "IMO9795610")


def test_what_a_declaration_names() -> None:
    goods = load_example("goods_declaration")
    assert declaration_refs("goods_declaration", goods) == [
        Key("bill_of_lading", "COSU6381234560"),
        Key("container", "CSNU6391242"),
        Key("container", "CBHU5529072"),
        Key("container", "FCIU4102382"),
    ]
    manifest = load_example("cargo_manifest")
    refs = declaration_refs("cargo_manifest", manifest)
    assert Key("bill_of_lading", "COSU6381234571") in refs
    assert Key("container", "OOLU8742153") in refs
    assert len(refs) == len(set(refs)) == 6
    assert declaration_refs("licence_application", load_example("licence_application")) == []


def test_dataset_ids() -> None:
    assert events_dataset("CN-ZJ", "zj-rail") == "CN-ZJ/zj-rail/logistics-events"
    assert parse_dataset_id("CN-ZJ/zj-rail/logistics-events") == (
        "CN-ZJ",
        "zj-rail",
        "logistics-events",
    )
    assert parse_dataset_id("CN-ZJ/zj-rail") is None
    assert parse_dataset_id("CN-ZJ//x") is None


# -- merging ---------------------------------------------------------------------------------


def entry(node: str, at: int, event_id: str = "", seq: int = 1) -> lpb.TimelineEntry:
    if event_id:
        return lpb.TimelineEntry(
            at_unix_ms=at,
            node=node,
            event=lpb.LogisticsEvent(event_id=event_id, reporter=f"{node}/op", seq=seq),
        )
    return lpb.TimelineEntry(
        at_unix_ms=at, node=node, declaration=lpb.DeclarationStatus(declaration_id="d", seq=seq)
    )


def test_answers_merge_into_one_timeline_oldest_first_each_entry_once() -> None:
    zj = [entry("CN-ZJ", 100, "a", 1), entry("CN-ZJ", 300, "b", 2)]
    sh = [entry("CN-SH", 200, "c", 7), entry("CN-SH", 400, "d", 8)]
    gd = [entry("CN-GD", 50, seq=3), entry("CN-GD", 300, seq=4)]
    merged = merge([zj, sh, gd, zj])  # an answer twice: its entries once
    assert [(e.node, e.at_unix_ms) for e in merged] == [
        ("CN-GD", 50),
        ("CN-ZJ", 100),
        ("CN-SH", 200),
        ("CN-GD", 300),
        ("CN-ZJ", 300),
        ("CN-SH", 400),
    ]


def test_the_same_event_id_of_two_operators_is_two_entries() -> None:
    a = entry("CN-ZJ", 100, "same", 1)
    b = lpb.TimelineEntry()
    b.CopyFrom(a)
    b.event.reporter = "CN-ZJ/other-op"
    assert len(merge([[a, b]])) == 2
