"""The portal of real nodes over real HTTP: register at CN-GD, log in at CN-SH with the same
identity, see the declarations submitted through the API, and every security rule a visitor
could try to break: CSRF, cross-site posts, cookie flags, headers, logout, another party's
declaration."""

from __future__ import annotations

import datetime
import email.utils
import ipaddress
import json
import re
import secrets
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from identity.keys import private_pem, write_private
from node.config import write_config
from node.web.forms import form_values
from node.web.headers import CSP
from services.agencies import DEFAULT_ROUTES
from swf.v1 import declarations_pb2 as dpb
from swf.v1 import logistics_pb2 as lpb
from tests.declarations_client import example, office
from tests.harness import Network, NetworkSpec, eventually, refusal_of, swnode
from tests.identity_client import PASSWORD, IdentityClient, new_uscc, wrong_check_character
from tests.logistics_client import event, new_container, yard
from tests.web.portal_client import Visitor, csrf_of, logged_in, portal_url

pytestmark = [pytest.mark.network, pytest.mark.timeout(120)]

SPEC = NetworkSpec(provinces=2, foreign=0, simulator=False)


def declaration_of(uscc: str) -> dpb.Document:
    """The examples' goods declaration, declared by `uscc`."""
    document = example("goods_declaration")
    document.goods_declaration.declarant_uscc = uscc
    return document


@pytest.fixture(scope="module")
def net(module_network_factory) -> Network:  # type: ignore[no-untyped-def]
    network: Network = module_network_factory(SPEC)
    return network


@pytest.fixture
def visitor(net: Network) -> Iterator[Visitor]:
    v = Visitor(portal_url(net, "CN-GD"))
    yield v
    v.close()


def test_the_front_page_names_the_window_in_each_language(net: Network) -> None:
    for language, name in (
        ("zh-CN,zh;q=0.9", "中国（广东）国际贸易单一窗口"),
        ("en-GB,en;q=0.8", "China (Guangdong) International Trade Single Window"),
    ):
        v = Visitor(portal_url(net, "CN-GD"), language=language)
        page = v.get("/")
        assert page.status_code == 200
        assert "<title>" in page.text and name in page.text
        v.close()
    central = Visitor(portal_url(net, "CN"), language="zh-CN")
    assert "中国国际贸易单一窗口" in central.get("/").text
    central.close()


def test_the_language_switch_is_remembered(visitor: Visitor) -> None:
    assert "Log in" in visitor.get("/login").text
    switched = visitor.post("/language", {"lang": "zh_Hans", "next": "/login"}, token_from="/")
    assert switched.status_code == 303 and switched.headers["location"] == "/login"
    page = visitor.get("/login").text
    assert "统一社会信用代码" in page and "登录" in page and "密码" in page


def test_register_at_home_and_log_in_at_another_window(net: Network, visitor: Visitor) -> None:
    uscc = new_uscc()
    registered = visitor.register(uscc, password=PASSWORD)
    assert registered.status_code == 200, registered.text
    assert uscc in registered.text and "CN-GD" in registered.text
    elsewhere = Visitor(portal_url(net, "CN-SH"))
    try:
        answer = elsewhere.login(uscc, password=PASSWORD)
        assert answer.status_code == 303 and answer.headers["location"] == "/dashboard"
        dashboard = elsewhere.get("/dashboard")
        assert dashboard.status_code == 200 and uscc in dashboard.text
    finally:
        elsewhere.close()


def test_a_signed_out_visitor_is_sent_to_log_in_and_back(visitor: Visitor) -> None:
    uscc = new_uscc()
    assert visitor.register(uscc, password=PASSWORD).status_code == 200
    asked = visitor.get("/declarations?status=cleared")
    assert asked.status_code == 303 and asked.headers["location"] == "/login?next=/declarations"
    back = visitor.post(
        "/login",
        {"party": uscc, "user": "alice", "password": PASSWORD, "next": "/declarations"},
        token_from="/login?next=/declarations",
    )
    assert back.status_code == 303 and back.headers["location"] == "/declarations"
    elsewhere = visitor.post(
        "/login",
        {"party": uscc, "user": "alice", "password": PASSWORD, "next": "//evil.example/"},
        token_from="/login",
    )
    assert elsewhere.headers["location"] == "/dashboard"


def test_a_wrong_uscc_shows_the_apis_rule_at_its_field(visitor: Visitor) -> None:
    uscc = new_uscc()
    wrong = uscc[:-1] + ("0" if uscc[-1] != "0" else "1")
    answer = visitor.register(wrong, password=PASSWORD)
    assert answer.status_code == 400
    assert 'id="uscc-error"' in answer.text and 'href="#uscc"' in answer.text
    assert 'aria-invalid="true"' in answer.text


def test_a_chinese_page_shows_the_refusals_in_chinese(net: Network) -> None:
    """The API's English messages, shown by reason code and rule from the catalogs; a
    refusal's own text follows its sentence as the detail, on a line of its own."""
    visitor = Visitor(portal_url(net, "CN-GD"), language="zh-CN")
    try:
        uscc = new_uscc()
        bad_uscc = wrong_check_character(uscc)
        answer = visitor.register(bad_uscc, password=PASSWORD)
        assert answer.status_code == 400 and "校验码错误" in answer.text
        assert "(party.bad_uscc)" in answer.text
        detail = (
            f'<span class="refusal__detail" lang="en">uscc: &#39;{bad_uscc}&#39; fails the USCC'
            " check character (GB 32100)</span>"
        )
        assert detail in answer.text
        assert visitor.register(uscc, password=PASSWORD).status_code == 200
        refused = visitor.login(uscc, password="not the password")
        assert refused.status_code == 400 and "主体、用户名或密码错误。" in refused.text
        assert "wrong party, user or password</span>" in refused.text
        logged_in(visitor, uscc)
        values = form_values(declaration_of(uscc).goods_declaration)
        wrong = {**values, "declarant_uscc": wrong_check_character(uscc), "submit": "1"}
        form = visitor.post("/documents/new/goods_declaration", wrong)
        assert form.status_code == 422 and "统一社会信用代码的校验码错误。" in form.text
        assert "uscc_check_character" in form.text
    finally:
        visitor.close()


def test_the_dashboard_shows_declarations_submitted_through_the_api(
    net: Network, visitor: Visitor
) -> None:
    uscc = new_uscc()
    with office(net) as o:
        desk = o.enterprise(uscc, roles=("declarant", "exporter"))
        submitted = desk.submit(declaration_of(uscc))
    logged_in(visitor, uscc)
    dashboard = visitor.get("/dashboard").text
    assert submitted.id in dashboard
    page = visitor.get(f"/declarations/{submitted.id}")
    assert page.status_code == 200 and 'sse-connect="/declarations/' in page.text


def test_a_goods_declaration_through_its_generated_form(visitor: Visitor) -> None:
    """First with a wrong USCC check character (the API's rule at the field), then right."""
    uscc = new_uscc()
    logged_in(visitor, uscc, register=True)
    chooser = visitor.get("/documents/new")
    assert chooser.status_code == 200 and 'href="/documents/new/goods_declaration"' in chooser.text
    values = form_values(declaration_of(uscc).goods_declaration)
    wrong = {**values, "declarant_uscc": wrong_check_character(uscc), "submit": "1"}
    refused = visitor.post("/documents/new/goods_declaration", wrong)
    assert refused.status_code == 422
    assert 'href="#f-declarant_uscc"' in refused.text and "uscc_check_character" in refused.text
    submitted = visitor.post("/documents/new/goods_declaration", {**values, "submit": "1"})
    assert submitted.status_code == 303, submitted.text
    assert submitted.headers["location"].startswith("/declarations/")
    page = visitor.get(submitted.headers["location"])
    assert page.status_code == 200 and 'data-status="under_review"' in page.text
    # Another enterprise's USCC as declarant: refused as the API refuses it, at the field.
    theirs = {**values, "declarant_uscc": new_uscc(), "submit": "1"}
    other = visitor.post("/documents/new/goods_declaration", theirs)
    assert other.status_code == 422 and 'href="#f-declarant_uscc"' in other.text
    assert visitor.get("/documents/new/no_such_type").status_code == 404


def test_a_declaration_asked_about_is_amended_through_its_generated_form(
    net: Network, visitor: Visitor
) -> None:
    uscc = new_uscc()
    with office(net) as o:
        desk = o.enterprise(uscc, roles=("declarant", "exporter"))
        goods = desk.submit(declaration_of(uscc))
        logged_in(visitor, uscc)
        path = f"/declarations/{goods.id}/amend"
        assert f'href="{path}"' not in visitor.get(f"/declarations/{goods.id}").text
        # Under review, the service refuses an amendment as the API does.
        values = form_values(declaration_of(uscc).goods_declaration)
        early = visitor.post(path, {**values, "submit": "1"})
        assert early.status_code == 422 and "cannot amend" in early.text
        o.agency("CN-GD", "customs").decide(
            goods.id, dpb.DECISION_REQUEST_INFORMATION, "invoice number missing"
        )
        desk.wait_status(goods.id, "needs_information")
        page = visitor.get(f"/declarations/{goods.id}")
        assert f'href="{path}"' in page.text and "Amend" in page.text
        form = visitor.get(path)
        assert form.status_code == 200 and f'value="{uscc}"' in form.text  # filled in
        wrong = {**values, "declarant_uscc": wrong_check_character(uscc), "submit": "1"}
        refused = visitor.post(path, wrong)
        assert refused.status_code == 422 and 'href="#f-declarant_uscc"' in refused.text
        amended = visitor.post(path, {**values, "submit": "1"})
        assert (
            amended.status_code == 303
            and amended.headers["location"] == f"/declarations/{goods.id}"
        )
        now = desk.get(goods.id)
        assert (now.status, now.revision) == ("under_review", 1)
        stranger = new_uscc()
        o.enterprise(stranger, roles=("declarant",))
    other = Visitor(visitor.base)
    try:
        logged_in(other, stranger)
        assert other.get(path).status_code == 404
        assert other.post(path, {**values, "submit": "1"}).status_code == 404
    finally:
        other.close()


def test_an_assessed_duty_is_paid_from_the_declarations_page(
    net: Network, visitor: Visitor
) -> None:
    uscc = new_uscc()
    imported = example("goods_declaration", "goods_declaration_import")
    imported.goods_declaration.declarant_uscc = uscc
    with office(net) as o:
        importer = o.enterprise(uscc, roles=("declarant", "importer"))
        goods = importer.submit(imported)
        for agency in DEFAULT_ROUTES["goods_declaration"]:
            o.agency("CN-GD", agency).decide(goods.id, dpb.DECISION_ACCEPT)
        waiting = importer.wait_status(goods.id, "awaiting_payment")
        logged_in(visitor, uscc)
        page = visitor.get(f"/declarations/{goods.id}").text
        found = re.search(r'href="(/documents/new/duty_payment\?[^"]+)" id="pay"', page)
        assert found, "no way to pay on the declaration's page"
        link = found[1].replace("&amp;", "&")
        form = visitor.get(link).text
        assert f'value="{waiting.assessment.total}"' in form and f'value="{goods.id}"' in form
        values = dict(httpx.URL(link).params)
        paid = visitor.post(
            "/documents/new/duty_payment",
            {
                **values,
                "bank_reference": "ICBC2025032600087",
                "paid_on": "2025-03-26",
                "submit": "1",
            },
            token_from=link,
        )
        assert paid.status_code == 303, paid.text
        payment_id = paid.headers["location"].removeprefix("/declarations/")
        for agency in DEFAULT_ROUTES["duty_payment"]:
            o.agency("CN-GD", agency).decide(payment_id, dpb.DECISION_ACCEPT)
        importer.wait_status(goods.id, "cleared")
    assert 'data-status="cleared"' in visitor.get(f"/declarations/{goods.id}").text


def test_the_dashboard_shows_the_enterprises_certificates(net: Network, visitor: Visitor) -> None:
    uscc = new_uscc()
    application = example("certificate_of_origin_application")
    application.certificate_of_origin_application.exporter.uscc = uscc
    with office(net) as o:
        exporter = o.enterprise(uscc, roles=("declarant", "exporter"))
        applied = exporter.submit(application)
        logged_in(visitor, uscc)
        assert 'id="certificates"' not in visitor.get("/dashboard").text  # none yet
        for agency in DEFAULT_ROUTES["certificate_of_origin_application"]:
            o.agency("CN-GD", agency).decide(applied.id, dpb.DECISION_ACCEPT)
        exporter.wait_status(applied.id, "approved")
    dashboard = visitor.get("/dashboard").text
    assert 'id="certificates"' in dashboard and "RCEP-CN-GD-" in dashboard
    found = re.search(r'href="/certificates/([^"]+)"', dashboard)
    assert found
    page = visitor.get(f"/certificates/{found[1]}")
    assert page.status_code == 200 and 'id="certificate-history"' in page.text
    assert applied.id in page.text  # its application, linked
    other = Visitor(visitor.base)
    try:
        stranger = new_uscc()
        logged_in(other, stranger, register=True)
        assert other.get(f"/certificates/{found[1]}").status_code == 404
    finally:
        other.close()


def test_the_issuing_body_replaces_and_cancels_a_certificate_on_its_page(
    net: Network, visitor: Visitor
) -> None:
    """ReplaceCertificate's and CancelCertificate's rules on the portal: a replacement for
    another importing country refused, a corrected one issued in its place; a cancellation
    needs a reason at its field; the exporter has neither form; verifying by number is the
    importing window's agencies'."""
    uscc = new_uscc()
    application = example("certificate_of_origin_application")
    application.certificate_of_origin_application.exporter.uscc = uscc
    with office(net) as o:
        exporter = o.enterprise(uscc, roles=("declarant", "exporter"))
        applied = exporter.submit(application)
        for agency in DEFAULT_ROUTES["certificate_of_origin_application"]:
            o.agency("CN-GD", agency).decide(applied.id, dpb.DECISION_ACCEPT)
        exporter.wait_status(applied.id, "approved")
    logged_in(visitor, uscc)
    found = re.search(r'href="/certificates/([^"]+)"', visitor.get("/dashboard").text)
    assert found
    number = found[1]
    assert 'id="cancel-certificate"' not in visitor.get(f"/certificates/{number}").text
    mine = visitor.post(
        f"/certificates/{number}/cancel", {"reason": "mine"}, token_from="/dashboard"
    )
    assert mine.status_code in (400, 404) and "cancelled" not in mine.text
    refused = visitor.get(f"/certificates/verify?number={number}")
    assert refused.status_code == 403 and "certificate.not_agency" in refused.text
    assert visitor.get(f"/certificates/{number}/replace").status_code == 404  # not the exporter's
    body = officer(net, "ccpit")
    try:
        # Replaced with a corrected application, in its generated form filled from the old one.
        replace_at = f"/certificates/{number}/replace"
        form = body.get(replace_at)
        assert form.status_code == 200 and f'value="{uscc}"' in form.text
        values = form_values(application.certificate_of_origin_application)
        other = {**values, "importing_country": "TH", "importer.country": "TH", "submit": "1"}
        refused = body.post(replace_at, other)
        assert refused.status_code == 422 and "certificate.other_parties" in refused.text
        corrected = {**values, "invoice_number": "INV-2025-0042-R", "reason": "invoice number"}
        replaced = body.post(replace_at, {**corrected, "submit": "1"})
        assert replaced.status_code == 303, replaced.text
        new_page = replaced.headers["location"]
        assert new_page.startswith("/certificates/RCEP-CN-GD-") and number not in new_page
        old_page = body.get(f"/certificates/{number}").text
        assert 'data-status="replaced"' in old_page and 'id="replace"' not in old_page
        number = new_page.removeprefix("/certificates/")
        page = new_page
        assert 'id="cancel-certificate"' in body.get(page).text
        empty = body.post(f"{page}/cancel", {"reason": " "}, token_from=page)
        assert empty.status_code == 400 and 'id="reason-error"' in empty.text
        assert "certificate.reason_required" in empty.text
        done = body.post(f"{page}/cancel", {"reason": "issued in error"}, token_from=page)
        assert done.status_code == 303 and done.headers["location"] == page
        after = body.get(page).text
        assert 'data-status="cancelled"' in after and "issued in error" in after
        assert 'id="cancel-certificate"' not in after
    finally:
        body.close()
    customs = officer(net, "customs")
    try:
        unknown = customs.get("/certificates/verify?number=RCEP-CN-GD-999999&country=CN")
        assert unknown.status_code == 200 and 'data-authentic="no"' in unknown.text
    finally:
        customs.close()


def test_the_cargo_timeline_of_a_declaration_keeps_itself_up_to_date(
    net: Network, visitor: Visitor
) -> None:
    uscc, box, other_box = new_uscc(), new_container(), new_container()
    document = declaration_of(uscc)
    del document.goods_declaration.containers[:]
    document.goods_declaration.containers.append(box)
    with office(net) as o, yard(net) as y:
        goods = o.enterprise(uscc, roles=("declarant", "exporter")).submit(document)
        terminal = y.operator("CN-GD", f"yard-{secrets.token_hex(3)}", "terminal", "Yantian")
        y.report("CN-GD", terminal, [event("e1", lpb.EVENT_KIND_GATE_IN, container=box)])
        y.report("CN-GD", terminal, [event("e2", lpb.EVENT_KIND_GATE_IN, container=other_box)])
        logged_in(visitor, uscc)
        page = visitor.get(f"/timeline?declaration_id={goods.id}")
        assert page.status_code == 200 and "Gate in" in page.text and box in page.text
        # Another's container, named in none of its declarations: the API's refusal, at the field.
        theirs = visitor.get(f"/timeline?key=container&value={other_box}")
        assert theirs.status_code == 403 and "sharing.no_grant" in theirs.text
        found = re.search(r'sse-connect="([^"]+)"', page.text)
        assert found
        seen: list[str] = []

        def report_later() -> None:
            time.sleep(0.5)
            y.report("CN-GD", terminal, [event("e3", lpb.EVENT_KIND_LOADED, container=box)])

        reporter = threading.Thread(target=report_later)
        with visitor.http.stream("GET", found[1].replace("&amp;", "&")) as stream:
            reporter.start()
            for line in stream.iter_lines():
                seen.append(line)
                if "Loaded" in line:
                    break
        reporter.join()
    assert any("Loaded" in line for line in seen)


def operator_visitor(net: Network, kind: str = "terminal", party: str = "") -> Visitor:
    """A new logistics operator of CN-GD, added as its operator would, logged in on the portal."""
    party = party or f"op-{secrets.token_hex(3)}"
    done = swnode(
        "party", "add", "--dir", str(net.dir("CN-GD")), "--id", party,
        "--kind", kind, "--name", "Yantian Terminal", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    added = json.loads(done.stdout)
    user = added["user"].partition("/")[2]
    return logged_in(
        Visitor(portal_url(net, "CN-GD")), party, user=user, password=added["password"]
    )


def test_an_operators_csv_upload_reaches_the_enterprises_timeline(
    net: Network, visitor: Visitor
) -> None:
    uscc, box = new_uscc(), new_container()
    document = declaration_of(uscc)
    del document.goods_declaration.containers[:]
    document.goods_declaration.containers.append(box)
    with office(net) as o:
        goods = o.enterprise(uscc, roles=("declarant", "exporter")).submit(document)
    terminal = operator_visitor(net)
    try:
        assert terminal.get("/events").status_code == 200
        when = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
        bad = terminal.post(
            "/events",
            {
                "event_id": "x1",
                "kind": "EVENT_KIND_GATE_IN",
                "occurred_at": when.isoformat(),
                "place": "CNYTN",
                "container": box[:-1] + str((int(box[-1]) + 1) % 10),  # a wrong check digit
                "mode": "TRANSPORT_MODE_SEA",
            },
        )
        assert bad.status_code == 400 and 'id="container-error"' in bad.text
        empty = terminal.post("/events", {"event_id": "x2", "kind": "EVENT_KIND_GATE_IN"})
        assert 'id="occurred_at-error"' in empty.text and 'id="place-error"' in empty.text
        csv_text = (
            "event_id,kind,occurred_at,place,container,mode\n"
            f"c1,gate_in,{when.isoformat()},CNYTN,{box},sea\n"
            f"c2,loaded,{when.isoformat()},CNYTN,{box},sea\n"
        )
        page = terminal.get("/events")
        uploaded = terminal.http.post(
            "/events/upload",
            data={"csrf_token": csrf_of(page.text)},
            files={"file": ("events.csv", csv_text.encode(), "text/csv")},
            headers={"origin": terminal.base},
        )
        assert uploaded.status_code == 200, uploaded.text
        assert re.search(r'id="stored">[^<]*2', uploaded.text)
        broken = terminal.http.post(
            "/events/upload",
            data={"csrf_token": csrf_of(page.text)},
            files={"file": ("events.csv", b"event_id,colour\nc3,red\n", "text/csv")},
            headers={"origin": terminal.base},
        )
        assert broken.status_code == 400 and "unknown columns" in broken.text
    finally:
        terminal.close()
    logged_in(visitor, uscc)
    timeline = visitor.get(f"/timeline?declaration_id={goods.id}").text
    assert "Gate in" in timeline and "Loaded" in timeline
    assert visitor.get("/events").status_code == 403  # an enterprise reports no events


def test_an_operator_sees_its_own_reports_with_links_and_no_one_elses(
    net: Network, visitor: Visitor
) -> None:
    box = new_container()
    when = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    terminal, other = operator_visitor(net), operator_visitor(net)
    try:
        for v, event_id in ((terminal, "mine-1"), (other, "theirs-1")):
            form = {
                "event_id": event_id,
                "kind": "EVENT_KIND_GATE_IN",
                "occurred_at": when.isoformat(),
                "place": "CNYTN",
                "container": box,
                "mode": "TRANSPORT_MODE_SEA",
            }
            assert v.post("/events", form).status_code == 200
        assert 'href="/events/mine"' in terminal.get("/events").text
        listed = terminal.get(f"/events/mine?container={box}")
        assert listed.status_code == 200
        assert "mine-1" in listed.text and "theirs-1" not in listed.text
        assert f'href="/timeline?container={box}"' in listed.text and "Gate in" in listed.text
        later = terminal.get(f"/events/mine?container={box}&since=2999-01-01").text
        assert "mine-1" not in later and "No reports match." in later
        bad = terminal.get("/events/mine?since=2026-13-45")
        assert bad.status_code == 400 and 'id="since-error"' in bad.text
        assert "list.bad_date" in bad.text
    finally:
        terminal.close()
        other.close()
    uscc = new_uscc()
    logged_in(visitor, uscc, register=True)
    refused = visitor.get("/events/mine")
    assert refused.status_code == 403 and "logistics.not_operator" in refused.text


def test_access_to_an_operators_dataset_is_asked_granted_and_revoked(
    net: Network, visitor: Visitor
) -> None:
    party = f"op-{secrets.token_hex(3)}"
    terminal = operator_visitor(net, party=party)
    dataset = f"CN-GD/{party}/logistics-events"
    uscc = new_uscc()
    logged_in(visitor, uscc, register=True)
    try:
        assert visitor.get("/sharing").status_code == 200
        too_long = visitor.post(
            "/sharing/ask",
            {"dataset": dataset, "purpose": "our cargo", "days": "9999"},
            token_from="/sharing",
        )
        assert too_long.status_code == 400 and 'class="error-summary"' in too_long.text
        asked = visitor.post(
            "/sharing/ask",
            {"dataset": dataset, "purpose": "our cargo", "days": "30"},
            token_from="/sharing",
        )
        assert asked.status_code == 303, asked.text
        assert 'data-status="ACCESS_STATUS_PENDING"' in visitor.get("/sharing").text
        incoming = terminal.get("/sharing/incoming").text
        found = re.search(r'action="/sharing/requests/([^/"]+)/grant"', incoming)
        assert found and f"CN-GD/{uscc}" in incoming
        granted = terminal.post(
            f"/sharing/requests/{found[1]}/grant", {}, token_from="/sharing/incoming"
        )
        assert granted.status_code == 303
        assert 'data-status="ACCESS_STATUS_GRANTED"' in visitor.get("/sharing").text
        revoked = terminal.post(
            f"/sharing/requests/{found[1]}/revoke",
            {"reason": "contract ended"},
            token_from="/sharing/incoming",
        )
        assert revoked.status_code == 303
        mine = visitor.get("/sharing").text
        assert 'data-status="ACCESS_STATUS_REVOKED"' in mine and "contract ended" in mine
        # Only the owner decides: the enterprise cannot grant its own request.
        own = visitor.post(f"/sharing/requests/{found[1]}/grant", {}, token_from="/sharing")
        assert own.status_code in (400, 403)
    finally:
        terminal.close()


def test_an_administrator_publishes_a_dataset_with_the_apis_rules(visitor: Visitor) -> None:
    uscc = new_uscc()
    logged_in(visitor, uscc, register=True)
    assert 'href="/sharing/publish"' in visitor.get("/sharing").text
    form = {"description": "Monthly export prices", "fields": "hs_code, month\nprice"}
    bad = visitor.post("/sharing/publish", {**form, "name": "Prices!"})
    assert bad.status_code == 400 and 'id="name-error"' in bad.text
    assert "dataset.invalid" in bad.text and 'href="#name"' in bad.text
    name = f"prices-{secrets.token_hex(3)}"
    policy = "SHARING_POLICY_RESTRICTED"
    done = visitor.post("/sharing/publish", {**form, "name": name, "policy": policy})
    assert done.status_code == 303 and done.headers["location"] == "/sharing"
    assert name in visitor.get("/sharing").text


def test_a_declarations_events_stream_each_transition_until_it_is_final(
    net: Network, visitor: Visitor
) -> None:
    uscc = new_uscc()
    with office(net) as o:
        desk = o.enterprise(uscc, roles=("declarant", "exporter"))
        submitted = desk.submit(declaration_of(uscc))
        logged_in(visitor, uscc)
        page = visitor.get(f"/declarations/{submitted.id}").text
        found = re.search(r"/events\?after=(\d+)", page)
        assert found
        officers = [o.agency("CN-GD", a) for a in DEFAULT_ROUTES["goods_declaration"]]

        def decide() -> None:
            time.sleep(0.3)
            for officer in officers:
                officer.decide(submitted.id, dpb.DECISION_ACCEPT)

        deciding = threading.Thread(target=decide)
        events: list[str] = []
        path = f"/declarations/{submitted.id}/events?after={found[1]}"
        with visitor.http.stream("GET", path) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            deciding.start()
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    events.append(line.removeprefix("event: "))
                if 'data-status="cleared"' in line:
                    events.append("cleared")
                if events[-1:] == ["done"]:
                    break
        deciding.join()
    assert events[0] == "update" and "cleared" in events and events[-1] == "done"


def test_one_session_holds_at_most_its_limit_of_live_connections(
    net: Network, visitor: Visitor
) -> None:
    """[web] streams_per_session (4 by default): the fifth live page is refused with 429 and
    says why; once one is closed, another may open."""
    uscc = new_uscc()
    with office(net) as o:
        submitted = o.enterprise(uscc, roles=("declarant",)).submit(declaration_of(uscc))
    logged_in(visitor, uscc)
    path = f"/declarations/{submitted.id}/events"
    with ExitStack() as open_pages:
        for _ in range(4):
            held = open_pages.enter_context(visitor.http.stream("GET", path))
            assert held.status_code == 200
        refused = visitor.get(path)
        assert refused.status_code == 429 and "Too many live pages" in refused.text
        assert "Close some of its declaration or timeline pages" in refused.text
        # Another enterprise's session has its own connections.
        other = Visitor(visitor.base)
        try:
            stranger = new_uscc()
            with office(net) as o:
                theirs = o.enterprise(stranger, roles=("declarant",)).submit(
                    declaration_of(stranger)
                )
            logged_in(other, stranger)
            with other.http.stream("GET", f"/declarations/{theirs.id}/events") as answer:
                assert answer.status_code == 200
        finally:
            other.close()
        open_pages.close()  # the browser leaves the four pages

    def reopened() -> None:
        with visitor.http.stream("GET", path) as again:
            assert again.status_code == 200

    eventually(reopened, timeout_s=10)


def officer(net: Network, agency: str) -> Visitor:
    """An agency's officer of CN-GD, logged in on its portal."""
    user, password = net.devnet.agency_login("CN-GD", agency)
    party, _, name = user.partition("/")
    return logged_in(Visitor(portal_url(net, "CN-GD")), party, user=name, password=password)


def test_officers_claim_and_decide_their_agencys_work(net: Network, visitor: Visitor) -> None:
    uscc = new_uscc()
    with office(net) as o:
        submitted = o.enterprise(uscc, roles=("declarant",)).submit(declaration_of(uscc))
    customs, inspection = officer(net, "customs"), officer(net, "inspection")
    try:
        inbox = customs.get("/work").text
        found = re.search(rf'href="/work/([^"]+)">{submitted.id}<', inbox)
        assert found, "the declaration is not in customs' inbox"
        work = f"/work/{found[1]}"
        assert inspection.get(work).status_code == 404  # another agency's item
        assert customs.post(f"{work}/claim", {}, token_from=work).status_code == 303
        page = customs.get(work).text
        assert 'data-status="claimed"' in page and "Shenzhen" in page  # the document, readable
        no_reason = customs.post(f"{work}/decide", {"decision": "reject"}, token_from=work)
        assert no_reason.status_code == 400 and "work.reason_required" in no_reason.text
        assert 'id="reason-error"' in no_reason.text
        accepted = customs.post(f"{work}/decide", {"decision": "accept"}, token_from=work)
        assert accepted.status_code == 303
        assert 'data-status="decided"' in customs.get(work).text
    finally:
        customs.close()
        inspection.close()
    declarant = new_uscc()
    logged_in(visitor, declarant, register=True)
    refused = visitor.get("/work")
    assert refused.status_code == 403 and "work.not_agency" in refused.text


def test_another_partys_declaration_answers_404(net: Network, visitor: Visitor) -> None:
    with office(net) as o:
        owner = new_uscc()
        first = o.enterprise(owner, roles=("declarant", "exporter"))
        theirs = first.submit(declaration_of(owner))
    second = new_uscc()
    logged_in(visitor, second, register=True)
    for path in (f"/declarations/{theirs.id}", f"/declarations/{theirs.id}/events"):
        answer = visitor.get(path)
        assert answer.status_code == 404
        assert theirs.id not in answer.text or "not yours" in answer.text
    assert visitor.get("/declarations/no-such-declaration").status_code == 404


def test_a_post_without_or_with_a_wrong_csrf_token_is_refused(visitor: Visitor) -> None:
    visitor.get("/login")  # a session cookie, as a visitor has
    form = {"party": new_uscc(), "user": "alice", "password": PASSWORD}
    origin = {"origin": visitor.base}
    assert visitor.http.post("/login", data=form, headers=origin).status_code == 403
    wrong = {**form, "csrf_token": "0" * 64}
    assert visitor.http.post("/login", data=wrong, headers=origin).status_code == 403


def test_a_cross_site_post_is_refused_even_with_a_token(visitor: Visitor) -> None:
    token = csrf_of(visitor.get("/login").text)
    form = {"party": new_uscc(), "user": "alice", "password": PASSWORD, "csrf_token": token}
    for headers in (
        {"origin": "https://attacker.example"},
        {"sec-fetch-site": "cross-site", "origin": visitor.base},
    ):
        assert visitor.http.post("/login", data=form, headers=headers).status_code == 403


def test_an_oversized_body_is_refused_before_it_is_read(visitor: Visitor) -> None:
    token = csrf_of(visitor.get("/login").text)
    big = {"party": "x" * (2 * 1024 * 1024), "csrf_token": token}
    origin = {"origin": visitor.base}
    assert visitor.http.post("/login", data=big, headers=origin).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield f"csrf_token={token}&party=".encode()
        for _ in range(40):
            yield b"x" * 65536

    answer = visitor.http.post(
        "/login",
        content=chunks(),
        headers={**origin, "content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 413


def test_pages_say_how_long_the_portal_took(visitor: Visitor) -> None:
    timing = visitor.get("/login").headers["server-timing"]
    assert timing.startswith("app;dur=") and float(timing.removeprefix("app;dur=")) > 0


def test_the_session_cookie_is_httponly_and_samesite_strict(visitor: Visitor) -> None:
    answer = visitor.get("/")
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert "secure" not in cookie  # plain HTTP on the test network's loopback address


def test_every_page_carries_the_security_headers(visitor: Visitor) -> None:
    for path in ("/", "/login", "/register", "/dashboard", "/nowhere", "/static/portal.css"):
        answer = visitor.get(path)
        assert answer.headers["content-security-policy"] == CSP, path
        assert "default-src 'self'" in CSP and "frame-ancestors 'none'" in CSP
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"


def test_the_date_header_is_current_on_a_kept_connection(visitor: Visitor) -> None:
    """The portal's server has no timer refreshing it: the Date is made at each response."""
    for _ in range(2):
        answer = visitor.get("/static/portal.css")
        sent = email.utils.parsedate_to_datetime(answer.headers["date"]).timestamp()
        assert abs(sent - time.time()) < 2.0, answer.headers["date"]
        time.sleep(2.5)


def test_no_token_reaches_the_browser_and_logout_ends_the_session(visitor: Visitor) -> None:
    uscc = new_uscc()
    assert visitor.register(uscc, password=PASSWORD).status_code == 200
    login = visitor.login(uscc, password=PASSWORD)
    assert "eyJ" not in login.headers.get("set-cookie", "") and "eyJ" not in login.text
    old_cookies = dict(visitor.http.cookies)
    assert visitor.get("/dashboard").status_code == 200
    out = visitor.post("/logout", {}, token_from="/dashboard")
    assert out.status_code == 303
    assert visitor.get("/dashboard").status_code == 303  # to the login page
    # The old cookie, replayed after logout, is refused at the node.
    replay = Visitor(visitor.base)
    replay.http.cookies.update(old_cookies)
    assert replay.get("/dashboard").status_code == 303
    replay.close()


def test_administrators_add_disable_and_enable_users_with_the_apis_rules(
    net: Network, visitor: Visitor
) -> None:
    uscc = new_uscc()
    logged_in(visitor, uscc, register=True)
    too_short = visitor.post("/users", {"user": "bob", "password": "short", "roles": ["declarant"]})
    assert too_short.status_code == 400 and 'id="password-error"' in too_short.text
    added = visitor.post("/users", {"user": "bob", "password": PASSWORD, "roles": ["declarant"]})
    assert added.status_code == 303
    assert "bob" in visitor.get("/users").text
    identity = IdentityClient(net)
    try:
        assert visitor.post("/users/bob/disable", {}, token_from="/users").status_code == 303
        refused = refusal_of(lambda: identity.login("CN-GD", uscc, "bob"))
        assert refused.reason == "login.disabled"
        assert visitor.post("/users/bob/enable", {}, token_from="/users").status_code == 303
        assert identity.login("CN-GD", uscc, "bob").access_token
    finally:
        identity.close()
    # Tokens carry their issue time in whole seconds: those of the second bob was disabled in
    # are refused with the rest (identity/revocations.py).
    time.sleep(1.1)
    bob = Visitor(visitor.base)
    try:
        logged_in(bob, uscc, user="bob")
        page = bob.get("/users")
        assert page.status_code == 403 and "auth.missing_role" in page.text
        assert "/users" not in bob.get("/dashboard").text  # no link to what bob cannot do
    finally:
        bob.close()


def test_status_and_the_devnet_show_the_portal(net: Network) -> None:
    url = portal_url(net, "CN-GD")
    status = net.status("CN-GD")
    assert status["ports"]["web"] == net.config("CN-GD").web_port
    assert status["endpoints"]["web"] == url + "/"
    rows = {r["id"]: r for r in net.devnet.status()}
    assert rows["CN-SH"]["endpoints"]["web"] == portal_url(net, "CN-SH") + "/"


def test_the_lock_after_failed_logins_is_the_apis(net: Network) -> None:
    """Failed logins through the API lock the user; the portal then refuses the right
    password with the same reason. (Last in this module: it restarts CN-GD with a short lock.)"""
    config = net.config("CN-GD")
    net.stop("CN-GD")
    write_config(replace(config, lockout_after=3, lockout_delay_step_s=0.05))
    net.start("CN-GD")
    net.wait_healthy(["CN-GD"])
    uscc = new_uscc()
    identity = IdentityClient(net)
    try:
        identity.register("CN-GD", uscc)
        for _ in range(3):
            refusal = refusal_of(lambda: identity.login("CN-GD", uscc, password="wrong password!"))
            assert refusal.reason == "login.failed"
    finally:
        identity.close()
    visitor = Visitor(portal_url(net, "CN-GD"))
    try:
        answer = visitor.login(uscc, password=PASSWORD)
        assert answer.status_code == 400
        assert "login.locked" in answer.text and 'id="password-error"' in answer.text
    finally:
        visitor.close()


def _self_signed(directory: Path) -> Path:
    """A certificate for 127.0.0.1 as a browser-trusted one would be, and its key (0600)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    (directory / "portal.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    write_private(directory / "portal.key", private_pem(key))
    return directory / "portal.crt"


def test_with_a_certificate_the_portal_is_https_only_with_secure_cookies(net: Network) -> None:
    config = net.config("CN-SH")
    ca = _self_signed(config.dir)
    net.stop("CN-SH")
    write_config(replace(config, web_cert_file="portal.crt", web_key_file="portal.key"))
    net.start("CN-SH")
    net.wait_healthy(["CN-SH"])
    url = portal_url(net, "CN-SH")
    assert url.startswith("https://")
    with httpx.Client(verify=ssl.create_default_context(cafile=str(ca)), timeout=10) as https:
        answer = https.get(url + "/login")
        assert answer.status_code == 200
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("__Host-swnode=")
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert answer.headers["strict-transport-security"].startswith("max-age=")
    with pytest.raises(httpx.HTTPError):  # no plain HTTP beside it
        httpx.get(url.replace("https://", "http://") + "/login", timeout=5)
