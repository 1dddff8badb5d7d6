"""Logistics status for the whole journey and the data sharing pool, end to end on a network of
CN and its provinces CN-GD, CN-SH and CN-ZJ: a rail operator at CN-ZJ and a terminal at CN-SH
report; enterprises and agencies read one timeline at CN-GD; owners grant, revoke and read
their access logs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from core.grpc_status import REASON_KEY, VALIDATION_KEY
from core.sharing import sign_query
from core.signing import PURPOSE_SIGNING, key_id, raw_public
from swf.v1 import declarations_pb2 as dpb
from swf.v1 import documents_pb2 as docs
from swf.v1 import logistics_pb2 as lpb
from swf.v1 import logistics_pb2_grpc as lgrpc
from tests.declarations_client import Desk, Office, example
from tests.harness import Network, NetworkFactory, NetworkSpec, eventually, refusal_of, swnode
from tests.identity_client import new_uscc
from tests.logistics_client import Watch, Yard, event, new_bill, new_container, now_ms

pytestmark = pytest.mark.network

EXPORTER = "91440300MA5G1234XY"  # the examples' Shenzhen exporter
RAIL = "CN-ZJ/zj-rail/logistics-events"
TERMINAL = "CN-SH/yangshan/logistics-events"
HOUR_MS = 3_600_000
K = lpb


@dataclass
class World:
    net: Network
    yard: Yard
    office: Office
    rail: str  # tokens of the operators' users
    terminal: str


@pytest.fixture(scope="module")
def world(module_network_factory: NetworkFactory) -> Iterator[World]:
    net = module_network_factory(NetworkSpec(provinces=3, foreign=0))
    yard = Yard(net)
    office = Office(net)
    try:
        rail = yard.operator("CN-ZJ", "zj-rail", "rail", "Zhejiang Railway Freight")
        terminal = yard.operator("CN-SH", "yangshan", "terminal", "Yangshan Deep-Water Port")
        yield World(net, yard, office, rail, terminal)
    finally:
        office.close()
        yard.close()


def journey(w: World, container: str, bill: str) -> None:
    """By rail from Yiwu (CN-ZJ) to Ningbo, on to Shanghai's Yangshan terminal (CN-SH) and out to
    sea: six events at two nodes, reported out of order."""
    t = now_ms() - 10 * HOUR_MS
    w.yard.report(
        "CN-SH",
        w.terminal,
        [
            event(f"ys-{container}-1", K.EVENT_KIND_GATE_IN, container=container, bill=bill,
                  place="CNSHA", at_ms=t + 5 * HOUR_MS, mode=docs.TRANSPORT_MODE_ROAD),
            event(f"ys-{container}-2", K.EVENT_KIND_LOADED, container=container, bill=bill,
                  place="CNSHA", at_ms=t + 7 * HOUR_MS, mode=docs.TRANSPORT_MODE_SEA,
                  conveyance="IMO9795610"),
            event(f"ys-{container}-3", K.EVENT_KIND_DEPARTED, container=container, bill=bill,
                  place="CNSHA", at_ms=t + 8 * HOUR_MS, mode=docs.TRANSPORT_MODE_SEA,
                  conveyance="IMO9795610"),
        ],
    )  # fmt: skip
    w.yard.report(
        "CN-ZJ",
        w.rail,
        [event(f"zj-{container}-1", K.EVENT_KIND_GATE_IN, container=container, bill=bill,
               place="CNYIW", at_ms=t)],
        [event(f"zj-{container}-2", K.EVENT_KIND_LOADED, container=container, bill=bill,
               place="CNYIW", at_ms=t + HOUR_MS, conveyance="X8024")],
        [event(f"zj-{container}-3", K.EVENT_KIND_ARRIVED, container=container, bill=bill,
               place="CNNGB", at_ms=t + 3 * HOUR_MS, conveyance="X8024")],
    )  # fmt: skip


def enterprise(w: World, at: str = "CN-GD") -> tuple[str, Desk]:
    uscc = new_uscc()
    return uscc, w.office.enterprise(uscc, home="CN-GD", at=at, roles=("forwarder",))


def kinds(t: lpb.Timeline | list[lpb.TimelineEntry]) -> list[tuple[str, str]]:
    entries = t.entries if isinstance(t, lpb.Timeline) else t
    return [
        (e.node, lpb.EventKind.Name(e.event.kind).removeprefix("EVENT_KIND_").lower())
        for e in entries
        if e.HasField("event")
    ]


JOURNEY = [
    ("CN-ZJ", "gate_in"),
    ("CN-ZJ", "loaded"),
    ("CN-ZJ", "arrived"),
    ("CN-SH", "gate_in"),
    ("CN-SH", "loaded"),
    ("CN-SH", "departed"),
]


def grant_both(w: World, token: str, until_ms: int) -> dict[str, str]:
    """Ask both operators (from CN-GD) and have both grant; the request ids by owner node."""
    ids = {}
    for dataset, node, owner in ((RAIL, "CN-ZJ", w.rail), (TERMINAL, "CN-SH", w.terminal)):
        asked = w.yard.request_access("CN-GD", token, dataset, until_ms)
        assert asked.status == lpb.ACCESS_STATUS_PENDING and asked.node == node
        assert w.yard.grant(node, owner, asked.id).status == lpb.ACCESS_STATUS_GRANTED
        ids[node] = asked.id
    return ids


def logged(w: World, party: str, node: str, token: str, dataset: str) -> list[tuple[bool, str]]:
    return [
        (e.allowed, e.reason)
        for e in reversed(w.yard.access_log(node, token, dataset))
        if e.party == f"CN-GD/{party}"
    ]


# -- what it must show -----------------------------------------------------------------------


def test_a_journey_across_two_provinces_is_one_timeline_at_a_third_until_revoked(
    world: World,
) -> None:
    w = world
    container, bill = new_container(), new_bill()
    journey(w, container, bill)
    uscc, desk = enterprise(w)
    key = lpb.TimelineKey(container=container)

    # Without a grant: refused, and the refusal is in both owners' access logs.
    refusal = refusal_of(lambda: w.yard.timeline("CN-GD", desk.token, key))
    assert (refusal.code, refusal.reason) == (grpc.StatusCode.PERMISSION_DENIED, "sharing.no_grant")
    assert logged(w, uscc, "CN-ZJ", w.rail, RAIL) == [(False, "sharing.no_grant")]
    assert logged(w, uscc, "CN-SH", w.terminal, TERMINAL) == [(False, "sharing.no_grant")]

    # Both owners grant (the requests travel from CN-GD to their nodes): one timeline.
    ids = grant_both(w, desk.token, now_ms() + 24 * HOUR_MS)
    timeline = w.yard.timeline("CN-GD", desk.token, key, purpose="tracking for our customer")
    assert kinds(timeline) == JOURNEY
    assert list(timeline.withheld) == [] and list(timeline.missing) == []
    assert set(timeline.nodes) == {"CN", "CN-GD", "CN-SH", "CN-ZJ"}
    first = timeline.entries[0]
    assert first.dataset == RAIL and first.event.reporter == "CN-ZJ/zj-rail"
    assert first.event.place == "CNYIW" and first.event.reported_by == "CN-ZJ/zj-rail/operator"
    # ... and by bill of lading too.
    by_bill = w.yard.timeline("CN-GD", desk.token, lpb.TimelineKey(bill_of_lading=bill))
    assert kinds(by_bill) == JOURNEY
    # The owner sees who read it, through which node, for what, under which grant.
    entry = w.yard.access_log("CN-ZJ", w.rail, RAIL)[1]  # newest first: the bill, then this
    assert (entry.party, entry.via_node, entry.action) == (f"CN-GD/{uscc}", "CN-GD", "query_events")
    assert (entry.allowed, entry.reason, entry.detail, entry.rows) == (
        True,
        "grant",
        ids["CN-ZJ"],
        3,
    )
    assert entry.purpose == "tracking for our customer" and entry.key == f"container:{container}"
    assert entry.user == f"{uscc}/alice" and len(entry.nonce) == 32

    # The rail operator revokes: its part of the journey goes, the terminal's stays.
    assert w.yard.revoke("CN-ZJ", w.rail, ids["CN-ZJ"]).status == lpb.ACCESS_STATUS_REVOKED
    timeline = w.yard.timeline("CN-GD", desk.token, key)
    assert kinds(timeline) == JOURNEY[3:]
    assert [(x.node, x.dataset, x.reason) for x in timeline.withheld] == [
        ("CN-ZJ", RAIL, "sharing.grant_revoked")
    ]
    # The terminal revokes too: nothing may be shown.
    w.yard.revoke("CN-SH", w.terminal, ids["CN-SH"])
    refusal = refusal_of(lambda: w.yard.timeline("CN-GD", desk.token, key))
    assert (refusal.code, refusal.reason) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "sharing.grant_revoked",
    )
    assert logged(w, uscc, "CN-ZJ", w.rail, RAIL)[-2:] == [
        (False, "sharing.grant_revoked"),
        (False, "sharing.grant_revoked"),
    ]
    assert logged(w, uscc, "CN-SH", w.terminal, TERMINAL)[-1] == (False, "sharing.grant_revoked")


def test_an_expired_grant_is_refused_and_logged(world: World) -> None:
    w = world
    container, bill = new_container(), new_bill()
    journey(w, container, bill)
    uscc, desk = enterprise(w)
    key = lpb.TimelineKey(container=container)
    ids = grant_both(w, desk.token, now_ms() + 4000)
    assert kinds(w.yard.timeline("CN-GD", desk.token, key)) == JOURNEY

    def expired() -> None:
        refusal = refusal_of(lambda: w.yard.timeline("CN-GD", desk.token, key))
        assert (refusal.code, refusal.reason) == (
            grpc.StatusCode.PERMISSION_DENIED,
            "sharing.grant_expired",
        )

    eventually(expired, timeout_s=15, interval_s=0.5)
    assert logged(w, uscc, "CN-ZJ", w.rail, RAIL)[0] == (True, "grant")
    assert logged(w, uscc, "CN-ZJ", w.rail, RAIL)[-1] == (False, "sharing.grant_expired")
    assert logged(w, uscc, "CN-SH", w.terminal, TERMINAL)[-1] == (False, "sharing.grant_expired")
    mine = w.yard.sharing("CN-GD").ListRequests(
        lpb.ListRequestsRequest(), metadata=desk.meta, timeout=30
    )
    assert {(r.id, r.status) for r in mine.requests} == {
        (ids["CN-ZJ"], lpb.ACCESS_STATUS_EXPIRED),
        (ids["CN-SH"], lpb.ACCESS_STATUS_EXPIRED),
    }


def test_invalid_events_are_refused_naming_the_field(world: World) -> None:
    w = world
    good = event("bad-1", K.EVENT_KIND_GATE_IN, container=new_container(), place="CNNGB")
    cases = [
        ("container", "CSNU6391243", "events[0].container", "iso6346_check_digit"),
        ("place", "CN-NGB", "events[0].place", "unlocode_format"),
        ("occurred_at_unix_ms", now_ms() + 3_600_000, "events[0].occurred_at_unix_ms",
         "occurred_in_future"),
    ]  # fmt: skip
    for name, value, field, rule in cases:
        bad = lpb.LogisticsEvent()
        bad.CopyFrom(good)
        setattr(bad, name, value)
        refusal = refusal_of(lambda: w.yard.report("CN-ZJ", w.rail, [bad]))  # noqa: B023
        assert (refusal.code, refusal.reason, refusal.field) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "event.invalid",
            field,
        )
        assert rule in refusal.details
    # On a stream, the paths count from the first event of the call; earlier messages stand.
    first, second = new_container(), new_container()
    with pytest.raises(grpc.RpcError) as caught:
        w.yard.report(
            "CN-ZJ",
            w.rail,
            [event("s-1", K.EVENT_KIND_GATE_IN, container=first)],
            [event("s-2", K.EVENT_KIND_LOADED, container=second, place="SHANGHAI")],
        )
    error: grpc.Call = caught.value  # type: ignore[assignment]
    meta = dict(error.trailing_metadata() or ())
    detail = meta[VALIDATION_KEY]
    assert isinstance(detail, bytes)
    report = dpb.ValidationReport.FromString(detail)
    assert [(e.field, e.rule) for e in report.errors] == [("events[1].place", "unlocode_format")]
    assert meta[REASON_KEY] == "event.invalid"
    assert kinds(w.yard.timeline("CN-ZJ", w.rail, lpb.TimelineKey(container=first))) == [
        ("CN-ZJ", "gate_in")
    ]
    # Only operators report, and only at home.
    _, desk = enterprise(w)
    refusal = refusal_of(lambda: w.yard.report("CN-GD", desk.token, [good]))
    assert (refusal.code, refusal.reason) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "logistics.not_operator",
    )
    refusal = refusal_of(lambda: w.yard.report("CN-GD", w.rail, [good]))
    assert (refusal.code, refusal.reason) == (grpc.StatusCode.PERMISSION_DENIED, "token.not_local")


def test_a_repeated_event_id_is_stored_once(world: World) -> None:
    w = world
    container = new_container()
    once = event("rep-1", K.EVENT_KIND_DISCHARGED, container=container, place="CNSHA",
                 mode=docs.TRANSPORT_MODE_SEA)  # fmt: skip
    first = w.yard.report("CN-SH", w.terminal, [once])
    assert (first.stored, first.duplicates, first.dataset) == (1, 0, TERMINAL)
    again = w.yard.report("CN-SH", w.terminal, [once], [once, once])
    assert (again.stored, again.duplicates) == (0, 3)
    own = w.yard.timeline("CN-SH", w.terminal, lpb.TimelineKey(container=container))
    assert kinds(own) == [("CN-SH", "discharged")]
    other = lpb.LogisticsEvent()
    other.CopyFrom(once)
    other.place = "CNNGB"
    refusal = refusal_of(lambda: w.yard.report("CN-SH", w.terminal, [other]))
    assert (refusal.code, refusal.reason, refusal.field) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "event.conflict",
        "events[0].event_id",
    )


def test_an_operator_lists_its_own_reports_and_no_one_elses(world: World) -> None:
    w = world
    box, bill = new_container(), new_bill()
    t = now_ms() - 5 * HOUR_MS
    w.yard.report(
        "CN-ZJ",
        w.rail,
        [event(f"mine-{box}-1", K.EVENT_KIND_GATE_IN, container=box, at_ms=t),
         event(f"mine-{box}-2", K.EVENT_KIND_LOADED, container=box, bill=bill, at_ms=t + HOUR_MS),
         event(f"mine-{box}-3", K.EVENT_KIND_DEPARTED, bill=bill, at_ms=t + 2 * HOUR_MS)],
    )  # fmt: skip
    # Another operator reports about the same container: never in the rail operator's list.
    w.yard.report("CN-SH", w.terminal, [event(f"ys-mine-{box}", K.EVENT_KIND_GATE_IN,
                                              container=box, place="CNSHA")])  # fmt: skip
    by_box = w.yard.my_events("CN-ZJ", w.rail, container=box)
    assert [e.event_id for e in by_box.events] == [f"mine-{box}-2", f"mine-{box}-1"]
    assert {e.reporter for e in by_box.events} == {"CN-ZJ/zj-rail"}
    by_bill = w.yard.my_events("CN-ZJ", w.rail, bill_of_lading=bill, since_unix_ms=t + HOUR_MS)
    assert [e.event_id for e in by_bill.events] == [f"mine-{box}-3", f"mine-{box}-2"]
    first = w.yard.my_events("CN-ZJ", w.rail, page_size=1)
    assert first.next_page_token
    second = w.yard.my_events("CN-ZJ", w.rail, page_size=1, page_token=first.next_page_token)
    assert second.events[0].seq < first.events[0].seq
    theirs = w.yard.my_events("CN-SH", w.terminal, container=box)
    assert [e.event_id for e in theirs.events] == [f"ys-mine-{box}"]
    for bad, field in (({"page_size": 501}, "page_size"), ({"page_token": "x"}, "page_token")):
        refusal = refusal_of(lambda: w.yard.my_events("CN-ZJ", w.rail, **bad))  # noqa: B023
        assert (refusal.code, refusal.field) == (grpc.StatusCode.INVALID_ARGUMENT, field)
    # Only operators list reports, as only operators report.
    _, desk = enterprise(w)
    refusal = refusal_of(lambda: w.yard.my_events("CN-GD", desk.token))
    assert (refusal.code, refusal.reason) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "logistics.not_operator",
    )


def test_watch_pushes_new_events_as_they_arrive(world: World) -> None:
    w = world
    container, bill = new_container(), new_bill()
    journey(w, container, bill)
    _, desk = enterprise(w)
    grant_both(w, desk.token, now_ms() + HOUR_MS)
    watch = Watch(w.yard, "CN-GD", desk.token, lpb.TimelineKey(container=container))
    try:
        assert kinds(watch.next_entries(timeout_s=20)) == JOURNEY
        started = time.monotonic()
        w.yard.report(
            "CN-ZJ",
            w.rail,
            [event(f"zj-{container}-late", K.EVENT_KIND_INSPECTED, container=container,
                   place="CNNGB", at_ms=now_ms() - 1000)],
        )  # fmt: skip
        pushed = watch.next_entries(timeout_s=15)
        assert kinds(pushed) == [("CN-ZJ", "inspected")]
        assert time.monotonic() - started < 10
        w.yard.report(
            "CN-SH",
            w.terminal,
            [event(f"ys-{container}-late", K.EVENT_KIND_CUSTOMS_RELEASED, container=container,
                   place="CNSHA", mode=docs.TRANSPORT_MODE_SEA)],
        )  # fmt: skip
        assert kinds(watch.next_entries(timeout_s=15)) == [("CN-SH", "customs_released")]
    finally:
        watch.cancel()


def test_a_node_that_does_not_answer_is_missing_and_a_watch_resumes_when_it_returns(
    world: World,
) -> None:
    w = world
    container, bill = new_container(), new_bill()
    journey(w, container, bill)
    _, desk = enterprise(w)
    grant_both(w, desk.token, now_ms() + HOUR_MS)
    key = lpb.TimelineKey(container=container)
    watch = Watch(w.yard, "CN-GD", desk.token, key)
    try:
        assert kinds(watch.next_entries(timeout_s=20)) == JOURNEY
        w.net.stop("CN-ZJ")
        try:
            timeline = w.yard.timeline("CN-GD", desk.token, key)
            assert kinds(timeline) == JOURNEY[3:]
            assert list(timeline.missing) == ["CN-ZJ"]
            assert list(w.yard.timeline("CN-SH", desk.token, key).missing) == ["CN-ZJ"]
            watch.next_update(timeout_s=20, wanted=lambda u: list(u.missing) == ["CN-ZJ"])
        finally:
            w.net.start("CN-ZJ")
            w.net.wait_healthy(["CN-ZJ"])
        # Asked at once, from a node whose connection to CN-ZJ failed moments ago.
        there = w.yard.timeline("CN-SH", desk.token, key)
        assert kinds(there) == JOURNEY, list(there.missing)
        w.yard.report(
            "CN-ZJ",
            w.rail,
            [event(f"zj-{container}-back", K.EVENT_KIND_TRANSSHIPPED, container=container,
                   place="CNNGB", at_ms=now_ms() - 1000)],
        )  # fmt: skip
        assert kinds(watch.next_entries(timeout_s=30)) == [("CN-ZJ", "transshipped")]
        assert kinds(w.yard.timeline("CN-GD", desk.token, key)) == [
            *JOURNEY,
            ("CN-ZJ", "transshipped"),
        ]
    finally:
        watch.cancel()


# -- who may see what ------------------------------------------------------------------------


def test_own_declared_cargo_is_visible_with_its_statuses_at_any_node(world: World) -> None:
    w = world
    container, bill = new_container(), new_bill()
    journey(w, container, bill)
    goods = example("goods_declaration")
    goods.goods_declaration.bill_of_lading = bill
    del goods.goods_declaration.containers[:]
    goods.goods_declaration.containers.append(container)
    exporter = w.office.enterprise(EXPORTER, home="CN-GD", roles=("declarant", "exporter"))
    declared = exporter.submit(goods)
    exporter.wait_status(declared.id, "cleared")
    key = lpb.TimelineKey(container=container)
    timeline = w.yard.timeline("CN-GD", exporter.token, key)
    assert kinds(timeline) == JOURNEY  # no grant needed: it is the exporter's own cargo
    statuses = [e.declaration for e in timeline.entries if e.HasField("declaration")]
    assert [s.transition for s in statuses][:3] == ["submit", "validate", "route"]
    assert statuses[-1].to_status == "cleared"
    assert {s.declaration_id for s in statuses} == {declared.id}
    rail_log = w.yard.access_log("CN-ZJ", w.rail, RAIL)[0]
    assert (rail_log.reason, rail_log.detail) == ("declaration", f"CN-GD:{declared.id}")
    # By declaration id: its containers and bill, with the same journey and statuses.
    by_declaration = w.yard.timeline(
        "CN-GD", exporter.token, lpb.TimelineKey(declaration_id=declared.id)
    )
    assert kinds(by_declaration) == JOURNEY
    assert {
        (k.WhichOneof("key"), getattr(k, k.WhichOneof("key") or "")) for k in by_declaration.keys
    } == {
        ("declaration_id", declared.id),
        ("container", container),
        ("bill_of_lading", bill),
    }
    # Logged in at another province, the exporter still follows its cargo.
    elsewhere = w.office.enterprise(EXPORTER, home="CN-GD", at="CN-SH", roles=("declarant",))
    there = w.yard.timeline("CN-SH", elsewhere.token, key)
    assert kinds(there) == JOURNEY, (list(there.missing), list(there.withheld))
    # Another enterprise's declaration is nobody else's business.
    _, other = enterprise(w)
    assert refusal_of(lambda: w.yard.timeline("CN-GD", other.token, key)).reason == (
        "sharing.no_grant"
    )
    refusal = refusal_of(
        lambda: w.yard.timeline("CN-GD", other.token, lpb.TimelineKey(declaration_id=declared.id))
    )
    assert (refusal.code, refusal.reason) == (grpc.StatusCode.NOT_FOUND, "declaration.unknown")


def test_agencies_read_what_is_open_to_agencies_and_nothing_restricted(world: World) -> None:
    w = world
    trucks = w.yard.operator("CN-ZJ", "zj-trucking", "road", "Zhejiang Container Trucking")
    container = new_container()
    w.yard.report(
        "CN-ZJ",
        trucks,
        [event("tr-1", K.EVENT_KIND_GATE_OUT, container=container, place="CNNGB",
               mode=docs.TRANSPORT_MODE_ROAD)],
    )  # fmt: skip
    customs = w.office.agency("CN-GD", "customs")
    key = lpb.TimelineKey(container=container)
    assert kinds(w.yard.timeline("CN-GD", customs.token, key)) == [("CN-ZJ", "gate_out")]
    w.yard.sharing("CN-ZJ").PublishDataset(
        lpb.PublishDatasetRequest(
            name="logistics-events",
            description="Container trucking moves, for our customers only",
            policy=lpb.SHARING_POLICY_RESTRICTED,
        ),
        metadata=(("authorization", f"Bearer {trucks}"),),
        timeout=10,
    )
    refusal = refusal_of(lambda: w.yard.timeline("CN-GD", customs.token, key))
    assert refusal.reason == "sharing.no_grant"
    log = w.yard.access_log("CN-ZJ", trucks)
    assert [(e.party, e.allowed, e.reason) for e in log[:2]] == [
        ("CN-GD/customs", False, "sharing.no_grant"),
        ("CN-GD/customs", True, "policy"),
    ]


# -- the signed peer query -------------------------------------------------------------------


def test_the_peer_query_is_signed_checked_and_not_replayed(world: World) -> None:
    w = world
    keys = w.net.keys("CN-GD")
    query = lpb.PeerQuery(
        action="query_events",
        from_node="CN-GD",
        to_node="CN-ZJ",
        party="CN-GD/customs",
        party_kind="agency",
        user="customs/officer",
        keys=[lpb.TimelineKey(container=new_container())],
        purpose="audit",
        issued_at_unix_ms=now_ms(),
        nonce=b"n" * 16,
    )
    kid = key_id("CN-GD", PURPOSE_SIGNING, raw_public(keys.signing_key))
    signed = sign_query(query, keys.signing_key, kid)
    with w.net.peer_channel("CN-ZJ", as_node="CN-GD") as channel:
        stub = lgrpc.LogisticsPeerStub(channel)
        answer = stub.QueryEvents(signed, timeout=10)
        assert list(answer.entries) == [] and list(answer.withheld) == []
        replay = refusal_of(lambda: stub.QueryEvents(signed, timeout=10))
        assert (replay.code, replay.reason) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "query.replayed",
        )
        tampered = lpb.SignedQuery()
        tampered.CopyFrom(signed)
        query.party = "CN-GD/91440300MA5G1234XY"
        tampered.query = query.SerializeToString()
        refusal = refusal_of(lambda: stub.QueryEvents(tampered, timeout=10))
        assert (refusal.code, refusal.reason) == (
            grpc.StatusCode.UNAUTHENTICATED,
            "query.bad_signature",
        )
        wrong_call = refusal_of(lambda: stub.RequestAccess(signed, timeout=10))
        assert wrong_call.reason == "query.wrong_action"
    # CN-GD's signature presented by CN-SH (over CN-SH's own mutual TLS) is not CN-SH's query.
    query.nonce = b"m" * 16
    with w.net.peer_channel("CN-ZJ", as_node="CN-SH") as channel:
        relayed = sign_query(query, keys.signing_key, kid)
        refusal = refusal_of(
            lambda: lgrpc.LogisticsPeerStub(channel).QueryEvents(relayed, timeout=10)
        )
        assert (refusal.code, refusal.reason) == (
            grpc.StatusCode.UNAUTHENTICATED,
            "query.wrong_node",
        )


# -- the command line ------------------------------------------------------------------------


def client(w: World, at: str, *args: str) -> dict[str, object]:
    done = swnode("client", "--devnet", str(w.net.root), "--at", at, *args, "--json")
    assert done.returncode == 0, done.stderr
    parsed: dict[str, object] = json.loads(done.stdout)
    return parsed


def test_the_command_line_reports_reads_asks_grants_revokes_and_shows_the_log(
    world: World, tmp_path: Path
) -> None:
    w = world
    container = new_container()
    file = tmp_path / "events.json"
    gate_in = {
        "eventId": "cli-1",  # protobuf's JSON names, or the proto field names
        "kind": "EVENT_KIND_GATE_IN",
        "occurredAtUnixMs": now_ms() - 5000,
        "place": "CNYIW",
        "container": container,
        "mode": "TRANSPORT_MODE_RAIL",
    }
    departed = {
        "event_id": "cli-2",
        "kind": "EVENT_KIND_DEPARTED",
        "occurred_at_unix_ms": now_ms() - 1000,
        "place": "CNYIW",
        "container": container,
        "mode": "TRANSPORT_MODE_RAIL",
        "conveyance": "X8024",
    }
    file.write_text(json.dumps([gate_in, departed]))
    assert client(w, "CN-ZJ", "event", "report", "--file", str(file), "--token", w.rail) == {
        "stored": 2,
        "dataset": RAIL,
    }
    reports = client(w, "CN-ZJ", "event", "mine", "--container", container, "--token", w.rail)
    assert [e["event_id"] for e in reports["events"]] == ["cli-2", "cli-1"]  # type: ignore[attr-defined]
    listed = swnode(
        "client", "--devnet", str(w.net.root), "--at", "CN-ZJ", "event", "mine", "--container",
        container, "--limit", "1", "--token", w.rail,
    )  # fmt: skip
    assert listed.returncode == 0 and "cli-2" in listed.stdout
    assert "(more: --page " in listed.stdout
    uscc, desk = enterprise(w)
    catalog = client(w, "CN-GD", "dataset", "list", "--token", desk.token)
    ids = {d["id"] for d in catalog["datasets"]}  # type: ignore[attr-defined]
    assert {RAIL, TERMINAL} <= ids
    asked = client(
        w, "CN-GD", "dataset", "request", "--token", desk.token, "--dataset", RAIL,
        "--purpose", "following our containers", "--for", "2h",
    )  # fmt: skip
    incoming = client(w, "CN-ZJ", "dataset", "requests", "--incoming", "--token", w.rail)
    assert asked["id"] in {r["id"] for r in incoming["requests"]}  # type: ignore[attr-defined]
    client(w, "CN-ZJ", "dataset", "grant", "--token", w.rail, "--request", str(asked["id"]))
    timeline = client(w, "CN-GD", "timeline", "--container", container, "--token", desk.token)
    events = [e["event"]["kind"] for e in timeline["entries"]]  # type: ignore[attr-defined]
    assert events == ["EVENT_KIND_GATE_IN", "EVENT_KIND_DEPARTED"]
    text = swnode(
        "client", "--devnet", str(w.net.root), "--at", "CN-GD", "timeline", "--container",
        container.lower(), "--token", desk.token,
    )  # fmt: skip
    assert text.returncode == 0 and "gate_in" in text.stdout and "CNYIW" in text.stdout
    revoked = client(
        w, "CN-ZJ", "dataset", "revoke", "--token", w.rail, "--request", str(asked["id"])
    )
    assert revoked["status"] == "ACCESS_STATUS_REVOKED"
    denied = swnode(
        "client", "--devnet", str(w.net.root), "--at", "CN-GD", "timeline", "--container",
        container, "--token", desk.token,
    )  # fmt: skip
    assert denied.returncode == 2 and "revoked the grant" in denied.stderr
    log = client(w, "CN-ZJ", "dataset", "access-log", "--token", w.rail, "--dataset", RAIL)
    mine = [e for e in log["entries"] if e["party"] == f"CN-GD/{uscc}"]  # type: ignore[attr-defined]
    assert [(e.get("allowed", False), e["reason"]) for e in mine[:2]] == [
        (False, "sharing.grant_revoked"),
        (True, "grant"),
    ]
