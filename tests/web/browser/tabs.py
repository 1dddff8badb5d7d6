"""A headless Chromium's tab on a node's portal, as the browser tests of the portal and the
console drive it: the browser launched, a tab with its own cookies, axe-core run on the page and
a screenshot kept, CSP violations caught; and the steps every portal flow starts with (register,
log in)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from swf.v1 import declarations_pb2 as dpb
from tests.declarations_client import example
from tests.identity_client import PASSWORD

__all__ = [
    "AXE_JS",
    "CHROMIUM",
    "LABELS",
    "SHOTS",
    "Tab",
    "browser_needed",
    "chromium",
    "declaration_of",
    "login",
    "register",
]

CHROMIUM = os.environ.get("SWNODE_CHROMIUM", "")
AXE_JS = os.environ.get("SWNODE_AXE_JS", "")
SHOTS = Path(__file__).parents[3] / ".screenshots"

browser_needed = pytest.mark.skipif(
    not (CHROMIUM and Path(CHROMIUM).exists() and AXE_JS and Path(AXE_JS).exists()),
    reason="no browser set up: run under scripts/with-browser (chromium, axe-core)",
)

LABELS = {
    "en": {
        "uscc": "USCC",
        "name": "Enterprise name",
        "user": "User name",
        "password": "Password",
        "register": "Register",
        "login": "Log in",
        "logout": "Log out",
    },
    "zh_Hans": {
        "uscc": "统一社会信用代码",
        "name": "企业名称",
        "user": "用户名",
        "password": "密码",
        "register": "注册",
        "login": "登录",
        "logout": "退出",
    },
}


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's headless Chromium, driven by Playwright, for as long as the block runs."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


class Tab:
    """A page in its own browser context (own cookies), that fails on any CSP violation."""

    size = (1000, 720)  # the viewport, width and height
    full_page = False  # screenshots of the viewport only

    def __init__(self, browser: Any, base: str, locale: str, **context: Any) -> None:
        self.context = browser.new_context(
            viewport={"width": self.size[0], "height": self.size[1]},
            locale="zh-CN" if locale == "zh_Hans" else "en-GB",
            **context,
        )
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.base = base
        self.locale = locale
        self.violations: list[str] = []
        self.page.on(
            "console",
            lambda m: (
                self.violations.append(m.text) if "Content Security Policy" in m.text else None
            ),
        )

    def close(self) -> None:
        self.context.close()

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)

    def label(self, key: str) -> str:
        return LABELS[self.locale][key]

    def check(self, name: str) -> None:
        """axe-core finds no serious or critical violation; a screenshot is kept."""
        self.page.evaluate(Path(AXE_JS).read_text() + "\n;void 0")
        found = self.page.evaluate(
            """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
                .filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"""
        )
        assert not found, f"{name} ({self.locale}): {found}"
        assert not self.violations, self.violations
        SHOTS.mkdir(exist_ok=True)
        self.page.screenshot(
            path=str(SHOTS / f"{name}-{self.locale}.png"), full_page=self.full_page
        )


def register(tab: Tab, uscc: str) -> None:
    tab.go("/register")
    page = tab.page
    page.get_by_label(tab.label("uscc"), exact=True).fill(uscc)
    page.get_by_label(tab.label("name"), exact=True).fill("Example Trading Co., Ltd.")
    page.get_by_label("Declarant" if tab.locale == "en" else "申报人").check()
    page.get_by_label(tab.label("user"), exact=True).fill("alice")
    page.get_by_label(tab.label("password"), exact=True).fill(PASSWORD)
    page.get_by_role("button", name=tab.label("register"), exact=True).click()
    page.wait_for_url("**/register")


def login(tab: Tab, uscc: str, password: str = PASSWORD, *, user: str = "alice") -> None:
    tab.go("/login")
    page = tab.page
    page.get_by_label(tab.label("uscc"), exact=True).fill(uscc)
    page.get_by_label(tab.label("user"), exact=True).fill(user)
    page.get_by_label(tab.label("password"), exact=True).fill(password)
    page.get_by_role("main").get_by_role("button", name=tab.label("login"), exact=True).click()


def declaration_of(uscc: str) -> dpb.Document:
    document = example("goods_declaration")
    document.goods_declaration.declarant_uscc = uscc
    return document
