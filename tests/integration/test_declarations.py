"""One submission, every agency, end to end on a test network."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format

from swf.v1 import declarations_pb2 as dpb
from tests.declarations_client import EXAMPLES, Office, example, office, validation_errors
from tests.harness import Network, NetworkFactory, NetworkSpec, refusal_of, swnode
from tests.identity_client import PASSWORD

pytestmark = pytest.mark.network

EXPORTER = "91440300MA5G1234XY"  # the examples' Shenzhen exporter (declarant, exporter)
CARRIER = "91440300MA5F8K3L7R"  # the examples' carrier
IMPORTER = "91310115MA1K4B2C3J"  # the examples' Shanghai importer

# Every example file but the duty payment (which pays for the import): its document type, and
# the enterprise that submits it with its roles.
SUBMITTERS: Mapping[str, tuple[str, str, tuple[str, ...]]] = {
    "goods_declaration": ("goods_declaration", EXPORTER, ("declarant", "exporter")),
    "goods_declaration_import": ("goods_declaration", IMPORTER, ("declarant", "importer")),
    "conveyance_declaration": ("conveyance_declaration", CARRIER, ("carrier",)),
    "cargo_manifest": ("cargo_manifest", CARRIER, ("carrier",)),
    "licence_application": ("licence_application", EXPORTER, ("declarant", "exporter")),
    "certificate_of_origin_application": (
        "certificate_of_origin_application",
        EXPORTER,
        ("declarant", "exporter"),
    ),
    "qualification_filing": ("qualification_filing", EXPORTER, ("declarant", "exporter")),
    "export_tax_rebate_application": (
        "export_tax_rebate_application",
        EXPORTER,
        ("declarant", "exporter"),
    ),
    "phytosanitary_certificate_application": (
        "phytosanitary_certificate_application",
        EXPORTER,
        ("declarant", "exporter"),
    ),
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


def assert_decided_by_its_agencies(d: dpb.Declaration, routing: Mapping[str, Any]) -> None:
    """Reviewed by exactly the agencies the node's routing names for its type, each of which
    accepted (or released); routed, and every step recorded with who and when."""
    agencies = list(routing[d.document_type])
    assert sorted(r.agency for r in d.reviews) == sorted(agencies), d.document_type
    assert all(r.status in ("accepted", "released") for r in d.reviews), d.reviews
    transitions = [e.transition for e in d.history]
    assert transitions[:3] == ["submit", "validate", "route"]
    assert d.history[2].note == f"to {', '.join(agencies)}"
    assert all(e.actor and e.at_unix_ms for e in d.history)


def test_every_example_is_routed_decided_and_its_history_is_visible(
    simulated: tuple[Network, Office],
) -> None:
    net, o = simulated
    routing = net.config("CN-GD").routing  # what the node routes by (its node.toml)
    assert {p.stem for p in EXAMPLES.glob("*.json")} == set(SUBMITTERS) | {"duty_payment"}
    for stem, (document_type, uscc, roles) in SUBMITTERS.items():
        desk = o.enterprise(uscc, roles=roles)
        submitted = desk.submit(example(document_type, stem))
        assert submitted.status == "under_review"
        if stem == "goods_declaration_import":
            waiting = desk.wait_status(submitted.id, "awaiting_payment")
            payment = example("duty_payment")
            payment.duty_payment.declaration_id = waiting.id
            payment.duty_payment.amount.amount = waiting.assessment.total
            payment.duty_payment.amount.currency = waiting.assessment.currency
            paid = desk.wait_status(desk.submit(payment).id, "approved", "rejected")
            assert paid.status == "approved"
            assert_decided_by_its_agencies(paid, routing)
            assert paid.history[-1].transition == "approve"
        done = desk.wait_status(submitted.id, "cleared", "approved", "rejected")
        assert done.status == ("cleared" if document_type == "goods_declaration" else "approved")
        assert_decided_by_its_agencies(done, routing)
        assert done.history[-1].transition == {
            "goods_declaration": "clear",
            "goods_declaration_import": "pay",
        }.get(stem, "approve")


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
    got = validation_errors(lambda: desk.submit(bad))
    assert ("items[0].hs_code", "hs_code_format") in got
    assert ("invoice_currency", "iso4217_currency") in got


def test_a_payment_for_no_due_goods_declaration_is_refused(
    simulated: tuple[Network, Office],
) -> None:
    _, o = simulated
    exporter = o.enterprise(EXPORTER, roles=("declarant", "exporter"))
    importer = o.enterprise(IMPORTER, roles=("declarant", "importer"))
    export = exporter.submit(example("goods_declaration"))
    licence = exporter.submit(example("licence_application"))
    exporter.wait_status(export.id, "cleared")  # an export: nothing to pay

    def paying(declaration_id: str, payer: str) -> dpb.Document:
        payment = example("duty_payment")
        payment.duty_payment.declaration_id = declaration_id
        payment.duty_payment.payer_uscc = payer
        return payment

    unknown = {("declaration_id", "payment_unknown_declaration")}
    # No such declaration; another enterprise's; one of the payer's that is not goods.
    never = example("duty_payment").duty_payment.declaration_id
    assert validation_errors(lambda: importer.submit(paying(never, IMPORTER))) == unknown
    assert validation_errors(lambda: importer.submit(paying(export.id, IMPORTER))) == unknown
    assert validation_errors(lambda: exporter.submit(paying(licence.id, EXPORTER))) == unknown
    # The payer's own goods declaration, cleared with nothing to pay.
    assert validation_errors(lambda: exporter.submit(paying(export.id, EXPORTER))) == {
        ("declaration_id", "payment_not_due")
    }
    assert exporter.get(export.id).status == "cleared"


def test_one_payment_at_a_time_and_a_rejected_one_can_be_paid_again(
    manual: tuple[Network, Office],
) -> None:
    net, o = manual
    importer = o.enterprise(IMPORTER, roles=("declarant", "importer"))
    goods = importer.submit(example("goods_declaration", "goods_declaration_import"))
    for agency in net.config("CN-GD").routing["goods_declaration"]:
        o.agency("CN-GD", agency).decide(goods.id, dpb.DECISION_ACCEPT)
    waiting = importer.wait_status(goods.id, "awaiting_payment")
    payment = example("duty_payment")
    payment.duty_payment.declaration_id = waiting.id
    payment.duty_payment.amount.amount = waiting.assessment.total
    payment.duty_payment.amount.currency = waiting.assessment.currency
    first = importer.submit(payment)
    # While the first is under review, a second payment of the same declaration is refused.
    assert validation_errors(lambda: importer.submit(payment)) == {
        ("declaration_id", "payment_pending")
    }
    (tax,) = net.config("CN-GD").routing["duty_payment"]
    cashier = o.agency("CN-GD", tax)
    cashier.decide(first.id, dpb.DECISION_REJECT, reason="no funds received")
    assert importer.wait_status(first.id, "rejected").status == "rejected"
    assert importer.get(goods.id).status == "awaiting_payment"
    second = importer.submit(payment)  # the first was rejected: paying again is allowed
    cashier.decide(second.id, dpb.DECISION_ACCEPT)
    cleared = importer.wait_status(goods.id, "cleared")
    assert [(e.transition, e.from_status, e.to_status) for e in cleared.history][-1] == (
        "pay",
        "awaiting_payment",
        "cleared",
    )


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
    customs.decide(
        goods.id, dpb.DECISION_REQUEST_INFORMATION, "invoice number missing", "call the broker"
    )
    waiting = exporter.wait_status(goods.id, "needs_information")
    assert any(
        (r.agency, r.reason, r.note) == ("customs", "invoice number missing", "call the broker")
        for r in waiting.reviews
    )
    # The history keeps both the reason and the note of the decision.
    asked = [e for e in waiting.history if e.transition == "agency_request_information"]
    assert [(e.agency, e.note) for e in asked] == [
        ("customs", "invoice number missing — call the broker")
    ]
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


def test_an_agency_is_pushed_its_own_new_work_and_no_other_agencys(
    manual: tuple[Network, Office],
) -> None:
    _, o = manual
    exporter = o.enterprise(EXPORTER, roles=("declarant", "exporter"))
    customs, commerce = o.agency("CN-GD", "customs"), o.agency("CN-GD", "commerce")
    earlier = exporter.submit(example("goods_declaration"))
    with customs.watch_work() as at_customs, commerce.watch_work() as at_commerce:
        # First the open work of now; once it has come, the stream is live.
        at_customs.next_item(lambda w: w.declaration_id == earlier.id)
        licence = exporter.submit(example("licence_application"))  # commerce's only
        goods = exporter.submit(example("goods_declaration"))  # customs' and inspection's
        pushed = at_customs.next_item(lambda w: w.declaration_id == goods.id)
        assert (pushed.agency, pushed.status, pushed.document_type, pushed.party) == (
            "customs",
            "open",
            "goods_declaration",
            EXPORTER,
        )
        assert pushed.document.goods_declaration == example("goods_declaration").goods_declaration
        assert at_commerce.next_item(lambda w: w.declaration_id == licence.id).agency == "commerce"
    assert [w.declaration_id for w in at_customs.seen] == [earlier.id, goods.id]
    assert [w.declaration_id for w in at_commerce.seen] == [licence.id]


def test_a_declarant_cannot_claim_or_decide_nor_an_agency_claim_anothers_work(
    manual: tuple[Network, Office],
) -> None:
    _, o = manual
    exporter = o.enterprise(EXPORTER, roles=("declarant", "exporter"))
    commerce, customs = o.agency("CN-GD", "commerce"), o.agency("CN-GD", "customs")
    licence = exporter.submit(example("licence_application"))
    item = commerce.item_for(licence.id)
    as_declarant: dict[str, Any] = {
        "Claim": lambda: exporter.work.Claim(
            dpb.ClaimRequest(work_id=item.id), metadata=exporter.meta, timeout=5
        ),
        "Decide": lambda: exporter.work.Decide(
            dpb.DecideRequest(work_id=item.id, decision=dpb.DECISION_ACCEPT),
            metadata=exporter.meta,
            timeout=5,
        ),
        "WatchWork": lambda: next(
            iter(exporter.work.WatchWork(dpb.WatchWorkRequest(), metadata=exporter.meta, timeout=5))
        ),
    }
    for name, call in as_declarant.items():
        refused = refusal_of(call)
        assert (refused.code, refused.reason) == (
            grpc.StatusCode.PERMISSION_DENIED,
            "work.not_agency",
        ), name
    refused = refusal_of(
        lambda: customs.work.Claim(dpb.ClaimRequest(work_id=item.id), metadata=customs.meta)
    )
    assert (refused.code, refused.reason, refused.field) == (
        grpc.StatusCode.NOT_FOUND,
        "work.unknown",
        "work_id",
    )
    # Nobody took it: commerce's item is still open, and the declaration still under review.
    untouched = commerce.item_for(licence.id)
    assert (untouched.status, untouched.claimed_by) == ("open", "")
    assert [(r.agency, r.status) for r in exporter.get(licence.id).reviews] == [
        ("commerce", "open")
    ]


def test_the_declarant_lists_by_status_and_date_page_by_page(
    manual: tuple[Network, Office],
) -> None:
    _, o = manual
    exporter = o.enterprise(EXPORTER, roles=("declarant", "exporter"))
    commerce = o.agency("CN-GD", "commerce")
    ids = [exporter.submit(example("licence_application")).id for _ in range(5)]
    commerce.decide(ids[1], dpb.DECISION_REJECT, "quota exhausted")
    exporter.wait_status(ids[1], "rejected")

    listed: list[dpb.Declaration] = []
    token, pages = "", 0
    while True:
        page = exporter.page(page_size=2, page_token=token)
        pages += 1
        assert len(page.declarations) <= 2 and pages <= 5
        listed += page.declarations
        token = page.next_page_token
        if not token:
            break
    assert pages == 3
    assert sorted(d.id for d in listed) == sorted(ids)  # none twice, none lost
    created = [d.created_at_unix_ms for d in listed]
    assert created == sorted(created, reverse=True)  # newest first

    assert [d.id for d in exporter.page(status="rejected").declarations] == [ids[1]]
    assert {d.id for d in exporter.page(status="under_review").declarations} == set(ids) - {ids[1]}
    assert not exporter.page(status="cleared").declarations

    days = sorted({datetime.fromtimestamp(ms / 1000, tz=UTC).date() for ms in created})
    first, last = days[0], days[-1]
    in_range = exporter.page(from_date=first.isoformat(), to_date=last.isoformat())
    assert sorted(d.id for d in in_range.declarations) == sorted(ids)
    before = exporter.page(to_date=(first - timedelta(days=1)).isoformat())
    after = exporter.page(from_date=(last + timedelta(days=1)).isoformat())
    assert not before.declarations and not after.declarations
    rejected_on_day = exporter.page(status="rejected", from_date=first.isoformat())
    assert [d.id for d in rejected_on_day.declarations] == [ids[1]]

    for field in ("from_date", "to_date"):
        refused = refusal_of(partial(exporter.page, **{field: "2026-02-30"}))
        assert (refused.code, refused.reason, refused.field) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "list.bad_date",
            field,
        )
        assert field in refused.details


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


def run_client(net: Network, *args: str) -> str:
    """`swnode client` at CN-GD as a user runs it; what it printed (it must succeed)."""
    done = swnode("client", "--devnet", str(net.root), "--at", "CN-GD", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def client_json(net: Network, *args: str) -> Any:
    return json.loads(run_client(net, *args, "--json"))


def login_cli(net: Network, user: str, *flags: str) -> str:
    """`swnode client login`, the password on standard input."""
    done = swnode(
        "client", "--devnet", str(net.root), "--at", "CN-GD",
        "login", "--user", user, "--password-stdin", *flags,
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_command_line_logs_in_submits_decides_tracks_lists_and_counts(
    manual: tuple[Network, Office], tmp_path: Path
) -> None:
    net, o = manual
    o.enterprise(EXPORTER, roles=("declarant", "exporter"))  # registered, user alice
    printed = login_cli(net, f"{EXPORTER}/alice")
    labelled = dict(line.split(": ", 1) for line in printed.splitlines())
    token, refresh = labelled["access_token"], labelled["refresh_token"]
    assert token and refresh and token != refresh
    assert o.identity.refresh("CN-GD", refresh).access_token  # the refresh token printed works
    as_json = json.loads(login_cli(net, f"{EXPORTER}/alice", "--json"))
    assert as_json["access_token"] and as_json["refresh_token"]

    # submit: the id, or every error of the document.
    goods_file = str(EXAMPLES / "goods_declaration.json")
    submit = ("submit", "--type", "goods_declaration", "--token", token, "--file")
    cleared_id = run_client(net, *submit, goods_file).strip()
    rejected_id = run_client(net, *submit, goods_file).strip()
    assert cleared_id and rejected_id and cleared_id != rejected_id
    bad = json.loads((EXAMPLES / "goods_declaration.json").read_text())
    bad["items"][0]["hsCode"] = "12AB"
    bad["invoiceCurrency"] = "XXZ"
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    refused = swnode(
        "client", "--devnet", str(net.root), "--at", "CN-GD", *submit, str(tmp_path / "bad.json")
    )
    assert refused.returncode == 2 and not refused.stdout
    assert "items[0].hs_code" in refused.stderr and "[hs_code_format]" in refused.stderr
    assert "invoice_currency" in refused.stderr and "[iso4217_currency]" in refused.stderr

    # agency inbox, claim, decide.
    customs, inspection = o.agency("CN-GD", "customs"), o.agency("CN-GD", "inspection")
    work = {
        w["declaration_id"]: w
        for w in client_json(net, "agency", "inbox", "--token", customs.token)["items"]
    }
    assert set(work) == {cleared_id, rejected_id}
    assert {w["agency"] for w in work.values()} == {"customs"}
    inbox_text = run_client(net, "agency", "inbox", "--token", customs.token)
    assert all(w["id"] in inbox_text for w in work.values())
    commerce = o.agency("CN-GD", "commerce")
    assert not client_json(net, "agency", "inbox", "--token", commerce.token).get("items")

    def decide(token: str, work_id: str, decision: str, *more: str) -> Any:
        claimed = client_json(net, "agency", "claim", "--token", token, "--work", work_id)
        assert claimed["status"] == "claimed"
        return client_json(
            net, "agency", "decide", "--token", token, "--work", work_id, "--decision", decision,
            *more,
        )  # fmt: skip

    assert decide(customs.token, work[cleared_id]["id"], "accept")["decision"] == "accepted"
    at_inspection = client_json(net, "agency", "inbox", "--token", inspection.token)["items"]
    inspection_work = next(w for w in at_inspection if w["declaration_id"] == cleared_id)
    decide(inspection.token, inspection_work["id"], "accept", "--note", "seals intact")
    decide(
        customs.token, work[rejected_id]["id"], "reject",
        "--reason", "value understated", "--note", "see valuation ruling 12",
    )  # fmt: skip

    # track: status, reviews and the history; --watch prints it all and ends at the final status.
    cleared = client_json(net, "track", "--id", cleared_id, "--token", token)
    assert cleared["status"] == "cleared"
    assert [e["transition"] for e in cleared["history"]] == [
        "submit", "validate", "route", "agency_accept", "agency_accept", "clear",
    ]  # fmt: skip
    text = run_client(net, "track", "--id", cleared_id, "--token", token)
    assert text.splitlines()[0].startswith(f"{cleared_id}  goods_declaration  cleared")
    assert "seals intact" in text
    watched = run_client(net, "track", "--id", cleared_id, "--token", token, "--watch")
    assert [line.split()[2] for line in watched.splitlines()] == [
        e["transition"] for e in cleared["history"]
    ]
    rejected = json_format.ParseDict(
        client_json(net, "track", "--id", rejected_id, "--token", token), dpb.Declaration()
    )
    assert rejected.status == "rejected"
    assert [(r.agency, r.reason, r.note) for r in rejected.reviews if r.agency == "customs"] == [
        ("customs", "value understated", "see valuation ruling 12")
    ]
    assert [e.note for e in rejected.history if e.transition == "agency_reject"] == [
        "value understated — see valuation ruling 12"
    ]

    # list, one page at a time.
    first = client_json(net, "list", "--token", token, "--limit", "1")
    second = client_json(
        net, "list", "--token", token, "--limit", "1", "--page-token", first["next_page_token"]
    )
    assert {first["declarations"][0]["id"], second["declarations"][0]["id"]} == {
        cleared_id,
        rejected_id,
    }
    assert "next_page_token" not in second
    listed = run_client(net, "list", "--token", token, "--limit", "1")
    assert listed.splitlines()[-1] == f"next page: --page-token {first['next_page_token']}"

    # stats: this node's counts.
    stats = client_json(net, "stats", "--token", token)
    counts: dict[str, int] = {}
    for c in stats["counts"]:
        if c["document_type"] == "goods_declaration":
            counts[c["status"]] = counts.get(c["status"], 0) + int(c["count"])
    assert counts == {"cleared": 1, "rejected": 1}
    text = run_client(net, "stats", "--token", token)
    assert any(line.split() == ["goods_declaration", "cleared", "1"] for line in text.splitlines())
    (clearance,) = [ln.split() for ln in text.splitlines() if ln.split()[:1] == ["clearance"]]
    assert clearance[:3] == ["clearance", "goods_declaration", "n=1"], clearance
    assert all(re.fullmatch(r"p(50|90|99)(<=[\d.]+[smhd]|>90d)", p) for p in clearance[3:])
