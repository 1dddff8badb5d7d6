"""The operator console in a real headless Chromium (the portal's tabs, tests/web/browser/tabs.py):
an operator signs in with the second factor, finds a dead message by its id, sees its last
error, redrives it once the peer is back and sees it delivered, every step in the audit log; and
every console page, in both languages, passes axe-core with no CSP violation.

Needs `scripts/with-browser` (CI runs the suite under it); without it these tests skip."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import Network, NetworkSpec, swnode
from tests.web.browser.tabs import Tab, browser_needed, chromium
from tests.web.console.console_client import NEW_PASSWORD, Enrolled, add_operator
from tests.web.portal_client import portal_url

pytestmark = [pytest.mark.network, pytest.mark.timeout(180), browser_needed]

SPEC = NetworkSpec(provinces=2, foreign=0, simulator=False)
LABELS = {
    "en": {
        "user": "User name",
        "password": "Password",
        "code": "Authenticator code",
        "current": "Current password",
        "new": "New password",
        "submit": "Submit",
        "login": "Log in",
        "message_id": "Message id",
        "status": "Status",
        "search": "Search",
        "redrive": "Redrive",
    },
    "zh_Hans": {
        "user": "用户名",
        "password": "密码",
        "code": "验证器动态码",
        "current": "当前密码",
        "new": "新密码",
        "submit": "提交",
        "login": "登录",
        "message_id": "报文编号",
        "status": "状态",
        "search": "搜索",
        "redrive": "重新投递",
    },
}


@pytest.fixture(scope="module")
def net(module_network_factory: Any) -> Network:
    network: Network = module_network_factory(SPEC)
    return network


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


class Console(Tab):
    """A console tab: wider, downloads accepted (the audit export), whole pages shot."""

    size = (1100, 760)
    full_page = True

    def __init__(self, browser: Any, base: str, locale: str) -> None:
        super().__init__(browser, base, locale, accept_downloads=True)

    def field(self, key: str) -> Any:
        return self.page.get_by_label(LABELS[self.locale][key], exact=True)

    def press(self, key: str) -> None:
        name = LABELS[self.locale][key]
        self.page.get_by_role("main").get_by_role("button", name=name, exact=True).click()

    def sign_in(self, who: Enrolled, *, check: bool = False) -> None:
        """The first sign-in with both factors, and the new password it asks for."""
        self.go("/console")
        self.page.wait_for_url("**/console/login**")
        if check:
            self.check("console-login")
        self.field("user").fill(who.user)
        self.field("password").fill(who.password)
        self.field("code").fill(who.totp.now())
        self.press("login")
        self.page.wait_for_url("**/console/password")
        if check:
            self.check("console-password")
        self.field("current").fill(who.password)
        self.field("new").fill(NEW_PASSWORD)
        self.press("submit")
        self.page.wait_for_url(self.base + "/console")


def test_a_dead_message_found_by_its_id_is_redriven_and_delivered(
    net: Network, browser: Any, tmp_path: Path
) -> None:
    who = add_operator(net.dir("CN-GD"))
    payload = tmp_path / "doc.txt"
    payload.write_text("licence application")
    tab = Console(browser, portal_url(net, "CN-GD"), "en")
    try:
        tab.sign_in(who)
        net.stop("CN-SH")
        try:
            sent = swnode(
                "send", "--dir", str(net.dir("CN-GD")), "--to", "CN-SH",
                "--type", "licence.application", "--file", str(payload), "--ttl", "2s",
            )  # fmt: skip
            assert sent.returncode == 0, sent.stderr
            mid = sent.stdout.strip()
            tab.page.get_by_role("link", name="Messages", exact=True).click()
            deadline = time.monotonic() + 30
            while True:  # the operator searches until the expiry sweep has made it dead
                tab.field("message_id").fill(mid)
                tab.field("status").select_option("dead")
                tab.press("search")
                tab.page.wait_for_load_state()
                if tab.page.get_by_role("link", name=mid, exact=True).count():
                    break
                assert time.monotonic() < deadline, "the message did not go dead"
                tab.page.wait_for_timeout(500)
            tab.check("console-messages")
            tab.page.get_by_role("link", name=mid, exact=True).click()
            tab.page.wait_for_url(f"**/console/messages/{mid}")
            assert "expired" in tab.page.locator("#last-error-out").inner_text()
            assert tab.page.locator("#status-out").inner_text() == "dead"
            tab.check("console-message-dead")
        finally:
            net.start("CN-SH")
            net.wait_healthy(["CN-SH"])
        tab.press("redrive")
        tab.page.wait_for_url(f"**/console/messages/{mid}?done=redriven")
        # The page follows the message by itself (htmx), without a reload.
        tab.page.wait_for_selector("#status-out:text-is('delivered')", timeout=30_000)
        assert tab.page.locator("#receipts").get_by_text("delivery").count() == 1
        tab.check("console-message-delivered")
        tab.page.get_by_role("link", name="Audit log", exact=True).click()
        rows = [
            " | ".join(r.split("\t")[1:5])
            for r in tab.page.locator("#audit tbody tr").all_inner_texts()
        ]
        mine = [r for r in rows if r.startswith(f"{who.user} |")][::-1]  # oldest first
        assert mine[0] == f"{who.user} | login | {who.user} | Done"
        assert f"{who.user} | password.change | {who.user} | Done" in mine
        assert f"{who.user} | messages.search | message_id={mid} status=dead | Done" in mine
        views = [r for r in mine if r.startswith(f"{who.user} | message.view | {mid}")]
        assert len(views) >= 2  # dead, then delivered
        assert f"{who.user} | message.redrive | {mid} | Done" in mine
        tab.check("console-audit")
    finally:
        tab.close()


@pytest.mark.parametrize("locale", ["en", "zh_Hans"])
def test_every_console_page_in_both_languages(net: Network, browser: Any, locale: str) -> None:
    who = add_operator(net.dir("CN"))
    tab = Console(browser, portal_url(net, "CN"), locale)
    try:
        tab.sign_in(who, check=True)
        for path, name in (
            ("/console", "console-directory"),
            ("/console/peers", "console-peers"),
            ("/console/messages", "console-messages-empty"),
            ("/console/parties", "console-parties"),
            ("/console/revocation", "console-revocation"),
            ("/console/charts", "console-charts"),
            ("/console/audit", "console-audit-page"),
        ):
            tab.go(path)
            assert tab.page.locator("h1").count() == 1
            tab.check(name)
    finally:
        tab.close()
