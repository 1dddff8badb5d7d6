"""The enterprise's flows of the portal in a real headless Chromium, on the network the other
browser tests use (conftest.py): a goods declaration typed into its generated form (a wrong USCC
check character shown at the field and linked from the error summary, then right); a duty paid
from an import declaration's page; a certificate of origin applied for on the portal, issued,
and followed until SG has accepted and used it, SG's officer verifying it on SG's portal. The
pages are checked by axe-core and photographed as they go (.screenshots/); the certificate's
page, the issuing body's page to replace it and SG's page to verify it in both languages.

Registering at CN-GD and logging in at CN-SH with the same identity is test_browser.py's
test_every_page_in_both_languages. Needs `scripts/with-browser`; without it these tests skip."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf.message import Message

from node.web.forms import form_values
from services.agencies import DEFAULT_ROUTES
from swf.v1 import certificates_pb2 as cpb
from swf.v1 import certificates_pb2_grpc as cgrpc
from swf.v1 import declarations_pb2 as dpb
from tests.declarations_client import Desk, example, office
from tests.harness import Network
from tests.identity_client import new_uscc, wrong_check_character
from tests.web.browser.tabs import Tab, browser_needed, declaration_of, login
from tests.web.portal_client import portal_url

pytestmark = [pytest.mark.network, pytest.mark.timeout(60), browser_needed]


def fill(tab: Tab, values: dict[str, str]) -> None:
    """Type each value into its field of the generated form, or choose it from its list, as a
    user does; values of rows the blank form does not have (a second goods item) are left out."""
    for name, value in values.items():
        field = tab.page.locator(f'#document-form [name="{name}"]')
        if field.count() != 1:
            continue
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)


def submit(tab: Tab) -> None:
    tab.page.locator("#document-form").get_by_role("button", name="Submit", exact=True).click()


def signed_in(net: Network, browser: Any, uscc: str, at: str = "CN-GD") -> Tab:
    tab = Tab(browser, portal_url(net, at), "en")
    login(tab, uscc)
    tab.page.wait_for_url("**/dashboard")
    return tab


def officer_tab(net: Network, browser: Any, at: str, agency: str, locale: str) -> Tab:
    user, password = net.devnet.agency_login(at, agency)
    party, _, name = user.partition("/")
    tab = Tab(browser, portal_url(net, at), locale)
    login(tab, party, password, user=name)
    tab.page.wait_for_url("**/dashboard")
    return tab


def values_of(message: Message, **changes: str) -> dict[str, str]:
    return {**form_values(message), **changes}


def test_a_goods_declaration_typed_into_its_generated_form(net: Network, browser: Any) -> None:
    uscc = new_uscc()
    with office(net) as o:
        o.enterprise(uscc, roles=("declarant",))
    tab = signed_in(net, browser, uscc)
    try:
        tab.page.get_by_role("link", name="New document").first.click()
        tab.page.locator('main a[href="/documents/new/goods_declaration"]').click()
        tab.page.wait_for_url("**/documents/new/goods_declaration")
        right = values_of(declaration_of(uscc).goods_declaration, **{"consignor.uscc": uscc})
        fill(tab, {**right, "declarant_uscc": wrong_check_character(uscc)})
        submit(tab)
        summary = tab.page.locator(".error-summary")
        summary.wait_for()
        field = tab.page.locator('[name="declarant_uscc"]')
        # At the field: it is invalid and described by the API's rule.
        assert field.get_attribute("aria-invalid") == "true"
        described = (field.get_attribute("aria-describedby") or "").split()
        told = " ".join(tab.page.locator(f"#{i}").inner_text() for i in described)
        assert "uscc_check_character" in told, told
        # The summary links to the field: following the link puts the focus on it.
        link = summary.locator(f'a[href="#{field.get_attribute("id")}"]')
        assert link.count() == 1
        tab.check("goods-declaration-uscc-error")
        link.click()
        assert field.evaluate("e => e === document.activeElement")
        field.fill(uscc)
        submit(tab)
        tab.page.wait_for_url("**/declarations/*")
        assert tab.page.locator("#declaration-status").get_attribute("data-status") in (
            "submitted",
            "under_review",
        )
        tab.check("goods-declaration-submitted")
    finally:
        tab.close()


def test_a_duty_is_paid_on_an_import_declaration(net: Network, browser: Any) -> None:
    uscc = new_uscc()
    imported = example("goods_declaration", "goods_declaration_import")
    imported.goods_declaration.declarant_uscc = uscc
    with office(net) as o:
        importer = o.enterprise(uscc, roles=("declarant", "importer"))
        goods = importer.submit(imported)
        for agency in DEFAULT_ROUTES["goods_declaration"]:
            o.agency("CN-GD", agency).decide(goods.id, dpb.DECISION_ACCEPT)
        waiting = importer.wait_status(goods.id, "awaiting_payment")
        tab = signed_in(net, browser, uscc)
        try:
            tab.go(f"/declarations/{goods.id}")
            tab.check("declaration-awaiting-payment")
            tab.page.locator("#pay").click()
            tab.page.wait_for_url("**/documents/new/duty_payment?*")
            amount = tab.page.locator('[name="amount.amount"]')
            assert amount.input_value() == waiting.assessment.total
            tab.page.locator('[name="bank_reference"]').fill("ICBC2025032600087")
            tab.page.locator('[name="paid_on"]').fill("2025-03-26")
            tab.check("duty-payment-form")
            submit(tab)
            tab.page.wait_for_url("**/declarations/*")
            payment_id = tab.page.url.rsplit("/", 1)[1]
            assert payment_id != goods.id
            for agency in DEFAULT_ROUTES["duty_payment"]:
                o.agency("CN-GD", agency).decide(payment_id, dpb.DECISION_ACCEPT)
            tab.go(f"/declarations/{goods.id}")
            tab.page.wait_for_selector('#declaration-status[data-status="cleared"]')
        finally:
            tab.close()


def decide_at_sg(desk: Desk, number: str, decision: cpb.CertificateDecision.ValueType) -> str:
    stub = cgrpc.CertificatesStub(desk.network.client_channel(desk.at))
    record = stub.DecideCertificate(
        cpb.DecideCertificateRequest(
            certificate=cpb.CertificateRef(number=number, issuing_country="CN"),
            decision=decision,
            import_declaration="SG-IMP-7" if decision == cpb.CERTIFICATE_DECISION_USE else "",
        ),
        metadata=desk.meta,
        timeout=10,
    )
    return str(record.status)


def wait_status(tab: Tab, status: str, attempts: int = 50) -> None:
    """Reload the certificate's page until it shows `status` (the answer crosses two borders)."""
    for _ in range(attempts):
        tab.page.reload()
        if tab.page.locator("#certificate-status").get_attribute("data-status") == status:
            return
        tab.page.wait_for_timeout(200)
    raise AssertionError(f"the certificate's page never showed {status}")


def test_a_certificate_of_origin_is_applied_for_and_used_at_sg(net: Network, browser: Any) -> None:
    uscc = new_uscc()
    application = example("certificate_of_origin_application")
    with office(net) as o:
        o.enterprise(uscc, roles=("declarant", "exporter"))
        tab = signed_in(net, browser, uscc)
        try:
            tab.go("/documents/new/certificate_of_origin_application")
            content = application.certificate_of_origin_application
            fill(tab, values_of(content, **{"exporter.uscc": uscc}))
            submit(tab)
            tab.page.wait_for_url("**/declarations/*")
            applied = tab.page.url.rsplit("/", 1)[1]
            for agency in DEFAULT_ROUTES["certificate_of_origin_application"]:
                o.agency("CN-GD", agency).decide(applied, dpb.DECISION_ACCEPT)
            tab.page.wait_for_selector('#declaration-status[data-status="approved"]')
            tab.go("/dashboard")
            tab.page.locator('#certificates a[href^="/certificates/"]').first.click()
            tab.page.wait_for_url("**/certificates/*")
            number = tab.page.url.rsplit("/", 1)[1]
            assert number.startswith("RCEP-CN-GD-")
            wait_status(tab, "delivered")
            for locale in ("en", "zh_Hans"):  # the issuing body's replace page, not sent
                body = officer_tab(net, browser, "CN-GD", "ccpit", locale)
                try:
                    body.go(f"/certificates/{number}")
                    body.page.locator("#replace").click()
                    body.page.wait_for_url("**/replace")
                    body.check("replace-certificate")
                finally:
                    body.close()
            sg = o.agency("SG", "customs")
            assert decide_at_sg(sg, number, cpb.CERTIFICATE_DECISION_ACCEPT) == "accepted"
            wait_status(tab, "accepted")
            assert decide_at_sg(sg, number, cpb.CERTIFICATE_DECISION_USE) == "used"
            wait_status(tab, "used")
            history = tab.page.locator("#certificate-history").inner_text()
            assert "SG" in history
            tab.check("certificate")
        finally:
            tab.close()
    # SG's customs officer verifies it by number on SG's own portal.
    words = {"en": ("Verify a certificate", "Certificate number", "Verify"),
             "zh_Hans": ("核验证书", "证书编号", "核验")}  # fmt: skip
    for locale, (link, label, button) in words.items():
        officer = officer_tab(net, browser, "SG", "customs", locale)
        try:
            officer.page.get_by_role("link", name=link).click()
            officer.page.get_by_label(label, exact=True).fill(number)
            officer.page.get_by_role("button", name=button, exact=True).click()
            officer.page.wait_for_selector('#verification[data-authentic="yes"]')
            officer.check("verify-certificate")
        finally:
            officer.close()
    chinese = Tab(browser, portal_url(net, "CN-GD"), "zh_Hans")
    try:
        login(chinese, uscc)
        chinese.page.wait_for_url("**/dashboard")
        chinese.go(f"/certificates/{number}")
        assert chinese.page.locator("#certificate-status").get_attribute("data-status") == "used"
        chinese.check("certificate")
    finally:
        chinese.close()
