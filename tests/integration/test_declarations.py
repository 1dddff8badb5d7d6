"""One submission, every agency, end to end on a test network."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any, cast

import grpc
import pytest

from core.grpc_status import REASON_KEY
from services.declarations import VALIDATION_KEY
from swf.v1 import declarations_pb2 as dpb
from tests.declarations_client import Office, example, office
from tests.harness import Network, NetworkFactory, NetworkSpec, refusal_of

pytestmark = pytest.mark.network

EXPORTER = "91440300MA5G1234XY"  # the examples' Shenzhen exporter (declarant, exporter)
CARRIER = "91440300MA5F8K3L7R"  # the examples' carrier
IMPORTER = "91310115MA1K4B2C3J"  # the examples' Shanghai importer

SUBMITTERS = {
    "goods_declaration": (EXPORTER, ("declarant", "exporter")),
    "conveyance_declaration": (CARRIER, ("carrier",)),
    "cargo_manifest": (CARRIER, ("carrier",)),
    "licence_application": (EXPORTER, ("declarant", "exporter")),
    "certificate_of_origin_application": (EXPORTER, ("declarant", "exporter")),
    "qualification_filing": (EXPORTER, ("declarant", "exporter")),
    "export_tax_rebate_application": (EXPORTER, ("declarant", "exporter")),
}


@pytest.fixture(scope="module")
def simulated(module_network_factory: NetworkFactory) -> Iterator[tuple[Network, Office]]:
    net = module_network_factory(NetworkSpec(provinces=1, foreign=0))
    with office(net) as o:
        yield net, o


@pytest.fixture
def manual(network_factory: NetworkFactory) -> Iterator[tuple[Network, Office]]:
    net = network_factory(NetworkSpec(provinces=1, foreign=0, simulator=False))
    with office(net) as o:
        yield net, o


def test_every_example_is_routed_decided_and_its_history_is_visible(
    simulated: tuple[Network, Office],
) -> None:
    _, o = simulated
    for document_type, (uscc, roles) in SUBMITTERS.items():
        desk = o.enterprise(uscc, roles=roles)
        submitted = desk.submit(example(document_type))
        assert submitted.status == "under_review"
        done = desk.wait_status(submitted.id, "cleared", "approved", "rejected")
        assert done.status == ("cleared" if document_type == "goods_declaration" else "approved")
        transitions = [e.transition for e in done.history]
        assert transitions[:3] == ["submit", "validate", "route"]
        assert transitions[-1] in ("clear", "approve")
        agencies = {r.agency for r in done.reviews}
        assert agencies and all(r.status in ("accepted", "released") for r in done.reviews)
        assert all(e.actor and e.at_unix_ms for e in done.history)


def test_an_import_is_assessed_paid_and_cleared(simulated: tuple[Network, Office]) -> None:
    _, o = simulated
    importer = o.enterprise(IMPORTER, roles=("declarant", "importer"))
    goods = importer.submit(example("goods_declaration", "goods_declaration_import"))
    assert goods.assessment.payment_due and goods.assessment.total
    waiting = importer.wait_status(goods.id, "awaiting_payment")
    payment = example("duty_payment")
    payment.duty_payment.declaration_id = waiting.id
    payment.duty_payment.amount.amount = waiting.assessment.total
    payment.duty_payment.amount.currency = waiting.assessment.currency
    paid = importer.submit(payment)
    importer.wait_status(paid.id, "approved")
    cleared = importer.wait_status(goods.id, "cleared")
    assert cleared.history[-1].transition == "pay"


def test_a_payment_of_the_wrong_amount_is_refused(simulated: tuple[Network, Office]) -> None:
    _, o = simulated
    importer = o.enterprise(IMPORTER, roles=("declarant", "importer"))
    goods = importer.submit(example("goods_declaration", "goods_declaration_import"))
    waiting = importer.wait_status(goods.id, "awaiting_payment")
    payment = example("duty_payment")
    payment.duty_payment.declaration_id = waiting.id
    payment.duty_payment.amount.amount = "1.00"
    refusal = refusal_of(lambda: importer.submit(payment))
    assert refusal.code == grpc.StatusCode.INVALID_ARGUMENT
    assert refusal.field == "amount" and "payment_amount_mismatch" in refusal.details


def test_a_document_with_several_errors_reports_all_of_them(
    simulated: tuple[Network, Office],
) -> None:
    _, o = simulated
    desk = o.enterprise(EXPORTER, roles=("declarant", "exporter"))
    bad = example("goods_declaration")
    bad.goods_declaration.items[0].hs_code = "12AB"
    bad.goods_declaration.invoice_currency = "XXZ"
    with pytest.raises(grpc.RpcError) as caught:
        desk.submit(bad)
    error = cast(grpc.Call, caught.value)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    meta = dict(cast(Iterable[tuple[str, Any]], error.trailing_metadata() or ()))
    assert meta[REASON_KEY] == "document.invalid"
    report = dpb.ValidationReport.FromString(meta[VALIDATION_KEY])
    got = {(e.field, e.rule) for e in report.errors}
    assert ("items[0].hs_code", "hs_code_format") in got
    assert ("invoice_currency", "iso4217_currency") in got


def test_enterprises_and_agencies_see_only_their_own(simulated: tuple[Network, Office]) -> None:
    _, o = simulated
    exporter = o.enterprise(EXPORTER, roles=("declarant", "exporter"))
    mine = exporter.submit(example("licence_application"))
    other = o.enterprise(CARRIER, roles=("carrier",))
    refused = refusal_of(lambda: other.get(mine.id))
    assert refused.code == grpc.StatusCode.NOT_FOUND and refused.reason == "declaration.unknown"
    listed = other.declarations.ListDeclarations(
        dpb.ListDeclarationsRequest(), metadata=other.meta, timeout=10
    )
    assert mine.id not in {d.id for d in listed.declarations}
    # A document declared for another enterprise is refused.
    forged = example("conveyance_declaration")
    refused = refusal_of(lambda: exporter.submit(forged))
    assert refused.code == grpc.StatusCode.PERMISSION_DENIED
    # A declarant cannot decide; an agency cannot touch another agency's work.
    refused = refusal_of(
        lambda: exporter.work.ListWork(dpb.ListWorkRequest(), metadata=exporter.meta, timeout=5)
    )
    assert refused.code == grpc.StatusCode.PERMISSION_DENIED and refused.reason == "work.not_agency"
    customs = o.agency("CN-GD", "customs")
    commerce_work = [
        w for w in o.agency("CN-GD", "commerce").inbox("all") if w.declaration_id == mine.id
    ]
    assert commerce_work
    assert all(w.declaration_id != mine.id for w in customs.inbox("all"))
    refused = refusal_of(
        lambda: customs.work.Decide(
            dpb.DecideRequest(
                work_id=commerce_work[0].id, decision=dpb.DECISION_REJECT, reason="x"
            ),
            metadata=customs.meta,
            timeout=5,
        )
    )
    assert refused.code == grpc.StatusCode.NOT_FOUND and refused.reason == "work.unknown"


def test_decisions_are_pushed_to_the_watcher_as_they_happen(manual: tuple[Network, Office]) -> None:
    _, o = manual
    exporter = o.enterprise(EXPORTER, roles=("declarant", "exporter"))
    customs, inspection = o.agency("CN-GD", "customs"), o.agency("CN-GD", "inspection")
    goods = exporter.submit(example("goods_declaration"))
    seen: list[tuple[float, str]] = []

    def watch() -> None:
        stream = exporter.declarations.WatchDeclaration(
            dpb.WatchDeclarationRequest(id=goods.id), metadata=exporter.meta, timeout=60
        )
        seen.extend((time.monotonic(), e.transition) for e in stream)

    watcher = threading.Thread(target=watch)
    watcher.start()
    time.sleep(0.5)
    customs.decide(goods.id, dpb.DECISION_ACCEPT)
    accepted_at = time.monotonic()
    time.sleep(1.0)
    assert [t for _, t in seen] == ["submit", "validate", "route", "agency_accept"]
    assert seen[-1][0] - accepted_at < 1.0, "the decision was not pushed as it happened"
    inspection.decide(goods.id, dpb.DECISION_REQUIRE_INSPECTION)
    inspection.decide(goods.id, dpb.DECISION_RELEASE)
    watcher.join(timeout=10)
    assert not watcher.is_alive(), "the watch did not end at the final status"
    assert [t for _, t in seen][4:] == [
        "agency_require_inspection",
        "require_inspection",
        "agency_release",
        "clear",
    ]


def test_a_request_for_information_is_answered_by_amending(manual: tuple[Network, Office]) -> None:
    _, o = manual
    exporter = o.enterprise(EXPORTER, roles=("declarant", "exporter"))
    customs, inspection = o.agency("CN-GD", "customs"), o.agency("CN-GD", "inspection")
    goods = exporter.submit(example("goods_declaration"))
    inspection.decide(goods.id, dpb.DECISION_ACCEPT)
    refused = refusal_of(lambda: customs.decide(goods.id, dpb.DECISION_REQUEST_INFORMATION))
    assert refused.reason == "work.reason_required"
    customs.decide(goods.id, dpb.DECISION_REQUEST_INFORMATION, "invoice number missing")
    waiting = exporter.wait_status(goods.id, "needs_information")
    assert any(r.reason == "invoice number missing" for r in waiting.reviews)
    amended = exporter.declarations.Amend(
        dpb.AmendRequest(declaration_id=goods.id, document=example("goods_declaration")),
        metadata=exporter.meta,
        timeout=10,
    )
    assert amended.status == "under_review" and amended.revision == 1
    # Only customs, which asked, gets the amended document; inspection's acceptance stands.
    assert all(w.declaration_id != goods.id for w in inspection.inbox("open"))
    customs.decide(goods.id, dpb.DECISION_ACCEPT)
    assert exporter.wait_status(goods.id, "cleared").revision == 1


def test_nothing_accepted_is_lost_when_the_node_is_killed_mid_review(
    manual: tuple[Network, Office],
) -> None:
    net, o = manual
    exporter = o.enterprise(EXPORTER, roles=("declarant", "exporter"))
    customs = o.agency("CN-GD", "customs")
    ids = [exporter.submit(example("goods_declaration")).id for _ in range(5)]
    customs.decide(ids[0], dpb.DECISION_ACCEPT)
    assert net.devnet.stop("CN-GD", kill=True) == ["CN-GD"]
    net.start("CN-GD")
    net.wait_healthy(["CN-GD"])
    o.close()
    with office(net) as again:
        exporter = again.enterprise(EXPORTER, roles=("declarant", "exporter"))
        for declaration_id in ids:
            d = exporter.get(declaration_id)
            assert d.status == "under_review"
        assert any(
            r.agency == "customs" and r.status == "accepted" for r in exporter.get(ids[0]).reviews
        )
        customs = again.agency("CN-GD", "customs")
        inspection = again.agency("CN-GD", "inspection")
        for declaration_id in ids:
            if declaration_id != ids[0]:
                customs.decide(declaration_id, dpb.DECISION_ACCEPT)
            inspection.decide(declaration_id, dpb.DECISION_ACCEPT)
        for declaration_id in ids:
            exporter.wait_status(declaration_id, "cleared")


def test_statistics_at_the_node_and_rolled_up_at_the_central(
    simulated: tuple[Network, Office],
) -> None:
    _, o = simulated
    exporter = o.enterprise(EXPORTER, roles=("declarant", "exporter"))
    goods = exporter.submit(example("goods_declaration"))
    exporter.wait_status(goods.id, "cleared")
    stats = exporter.declarations.GetStatistics(
        dpb.StatisticsRequest(), metadata=exporter.meta, timeout=10
    )
    cleared = sum(
        c.count
        for c in stats.counts
        if c.document_type == "goods_declaration" and c.status == "cleared"
    )
    assert cleared >= 1
    times = {c.document_type: c for c in stats.clearance}
    assert times["goods_declaration"].count >= 1 and times["goods_declaration"].p50_s > 0
    at_central = o.enterprise(EXPORTER, at="CN", roles=("declarant", "exporter"))
    rolled = at_central.declarations.GetStatistics(
        dpb.StatisticsRequest(federation=True), metadata=at_central.meta, timeout=30
    )
    assert set(rolled.nodes) == {"CN", "CN-GD"} and not rolled.missing
    assert sum(
        c.count for c in rolled.counts if c.node == "CN-GD" and c.status == "cleared"
    ) == sum(c.count for c in stats.counts if c.status == "cleared")
