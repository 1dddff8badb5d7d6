"""The generated forms in a real headless Chromium: axe-core finds no serious or critical
violation in any document type's form in either language; rows are added and removed from the
keyboard, with htmx (the page stays, only the list is swapped) and without JavaScript (a plain
submit), the focus going on where the row was; and the page runs under the portal's
Content-Security-Policy without a refusal.

The pages are served by a small HTTP server on 127.0.0.1 that does what the portal's page does
with node/web/forms (edit_rows, parse_form, bind_form). Needs `scripts/with-browser` (Debian's
chromium, axe-core) and Playwright; without them these tests skip and say why."""

from __future__ import annotations

import html
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from node.web.forms import (
    BoundForm,
    as_values,
    bind_form,
    edit_rows,
    form_spec,
    form_values,
    parse_form,
)
from tests.web.forms_html import DOCUMENT_TYPES, ROOT, example, render
from tests.web.test_forms_parse import wrong_check_character

CHROMIUM = os.environ.get("SWNODE_CHROMIUM", "")
AXE_JS = os.environ.get("SWNODE_AXE_JS", "")
HTMX = sorted((ROOT / "node" / "web" / "static").glob("htmx-2.*.min.js"))
CSP = "default-src 'self'"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(120),
    pytest.mark.skipif(
        not (CHROMIUM and Path(CHROMIUM).exists() and AXE_JS and Path(AXE_JS).exists()),
        reason="no browser set up: run under scripts/with-browser (chromium, axe-core)",
    ),
]


def page_html(form: BoundForm, result: str = "") -> str:
    """A page around a form, as bare as the portal's base: the htmx release, configured as the
    portal configures it (no indicator styles, no eval), and no inline script or style."""
    lang = "zh-Hans" if form.spec.locale == "zh" else "en"
    htmx = f'<script src="/static/{HTMX[-1].name}" defer></script>' if HTMX else ""
    config = '{"includeIndicatorStyles": false, "allowEval": false, "allowScriptTags": false}'
    title = html.escape(form.spec.title)
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<meta name=\"htmx-config\" content='{config}'>"
        f"<title>{title}</title>{htmx}</head><body><main>"
        f'<h1>{title}</h1><p id="result">{html.escape(result)}</p>'
        f"{render(form, action=f'/{form.spec.document_type}/{form.spec.locale}')}"
        "</main></body></html>"
    )


class Handler(BaseHTTPRequestHandler):
    """GET /<type>/<locale>[/errors]: the form; POST /<type>/<locale>: a row edited or the
    document parsed, as the portal's page does it."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send(self, body: bytes, content_type: str = "text/html; charset=utf-8") -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        parts = urlsplit(self.path).path.strip("/").split("/")
        if parts == ["static", "axe.min.js"]:  # from the page's own origin, as CSP allows
            self.send(Path(AXE_JS).read_bytes(), "text/javascript")
            return
        if parts[0] == "static" and HTMX:
            self.send(HTMX[-1].read_bytes(), "text/javascript")
            return
        if len(parts) < 2 or parts[0] not in DOCUMENT_TYPES:
            self.send_error(404)
            return
        document_type, locale = parts[0], parts[1]
        values = form_values(example(document_type))
        errors: list[Any] = []
        if parts[2:] == ["errors"]:
            values["declarant_uscc"] = wrong_check_character(values["declarant_uscc"])
            _message, errors = parse_form(document_type, values)
        self.send(page_html(bind_form(form_spec(document_type, locale), values, errors)).encode())

    def do_POST(self) -> None:
        document_type, locale = self.path.strip("/").split("/")[:2]
        length = int(self.headers.get("Content-Length", "0"))
        data = parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True)
        spec = form_spec(document_type, locale)
        edit = edit_rows(spec, data)
        if edit is not None:
            self.send(page_html(bind_form(spec, edit.values, focus=edit.focus)).encode())
            return
        message, errors = parse_form(document_type, data)
        items = len(getattr(message, "items", ()))
        form = bind_form(spec, as_values(data), errors)
        self.send(page_html(form, f"items={items} errors={len(errors)}").encode())


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


def open_page(browser: Any, url: str, *, javascript: bool = True) -> tuple[Any, list[str]]:
    page = browser.new_page(java_script_enabled=javascript)
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    page.goto(url)
    return page, refused


def wait_until(page: Any, expression: str, timeout_s: float = 10) -> None:
    """Poll an expression (wait_for_function would evaluate a string, which CSP refuses)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still not {expression}"
        page.wait_for_timeout(50)


AXE = "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"


def serious(page: Any) -> list[tuple[str, str]]:
    page.add_script_tag(url="/static/axe.min.js")
    violations = page.evaluate(AXE)
    return [
        (v["id"], v["nodes"][0]["target"][0])
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("locale", ["en", "zh"])
def test_every_documents_form_passes_axe(browser: Any, site: str, locale: str) -> None:
    found = {}
    for document_type in DOCUMENT_TYPES:
        page, refused = open_page(browser, f"{site}/{document_type}/{locale}")
        found[document_type] = serious(page) + [("csp", r) for r in refused]
        page.close()
    page, refused = open_page(browser, f"{site}/goods_declaration/{locale}/errors")
    assert page.evaluate("document.activeElement.className") == "error-summary"
    found["goods_declaration with an error"] = serious(page) + [("csp", r) for r in refused]
    page.close()
    assert {k: v for k, v in found.items() if v} == {}


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_a_goods_item_is_added_and_removed_from_the_keyboard(
    browser: Any, site: str, javascript: bool
) -> None:
    if javascript and not HTMX:
        pytest.skip("htmx is not vendored in node/web/static")
    page, refused = open_page(browser, f"{site}/goods_declaration/en", javascript=javascript)
    if javascript:
        wait_until(page, "window.htmx !== undefined")
        page.evaluate("window.stayed = true")
    page.focus("button[name='add:items']")
    page.keyboard.press("Enter")
    page.wait_for_selector("#f-items-2-hs_code")
    wait_until(page, "document.activeElement.id === 'f-items-2-hs_code'")
    page.keyboard.type("8471300000")
    page.fill("#f-items-2-description", "Tablet computers")
    page.fill("#f-items-2-quantity-value", "10")
    page.select_option("#f-items-2-quantity-unit", "PCE")
    page.fill("#f-items-2-value-amount", "1000.00")
    page.select_option("#f-items-2-value-currency", "USD")
    page.select_option("#f-items-2-origin_country", "CN")
    page.focus("button[name='remove:items.0']")
    page.keyboard.press("Enter")
    page.wait_for_selector("#f-items-0-hs_code", state="detached")
    wait_until(page, "document.activeElement.name === 'add:items'")
    if javascript:  # the same page all along: htmx swapped only the list
        assert page.evaluate("window.stayed") is True
    assert page.input_value("#f-items-2-hs_code") == "8471300000"
    page.focus("button[name='submit']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.text_content("#result") == "items=2 errors=0"
    assert refused == []
    page.close()
