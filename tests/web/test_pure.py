"""The portal's pure parts without a browser or a node: window names, CSRF checks, the header
policy, language negotiation, and the catalogs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from node.web import csrf
from node.web.branding import branding_for
from node.web.headers import CSP, security_headers
from node.web.i18n import LOCALES, Formats, catalog, negotiate, parse_accept_language
from node.web.visit import safe_next

WEB = Path(__file__).parents[2] / "node" / "web"


@pytest.mark.parametrize(
    ("node_id", "zh", "en"),
    [
        (
            "CN-GD",
            "中国（广东）国际贸易单一窗口",
            "China (Guangdong) International Trade Single Window",
        ),
        (
            "CN-SH",
            "中国（上海）国际贸易单一窗口",
            "China (Shanghai) International Trade Single Window",
        ),
        (
            "CN-GX",
            "中国（广西）国际贸易单一窗口",
            "China (Guangxi) International Trade Single Window",
        ),
        ("CN", "中国国际贸易单一窗口", "China International Trade Single Window"),
        ("SG", "新加坡国际贸易单一窗口", "Singapore International Trade Single Window"),
    ],
)
def test_a_window_is_named_from_iso_3166_data(node_id: str, zh: str, en: str) -> None:
    branding = branding_for(node_id)
    assert (branding.name("zh_Hans"), branding.name("en")) == (zh, en)


def test_the_configured_names_win_and_fill_what_the_data_lacks() -> None:
    assert branding_for("SG", name_en="TradeNet").name("en") == "TradeNet"
    # pycountry keeps no Chinese name for Ningxia: the configured one is used.
    assert branding_for("CN-NX", name_zh="中国（宁夏）国际贸易单一窗口").name("zh_Hans") == (
        "中国（宁夏）国际贸易单一窗口"
    )


def test_a_csrf_token_is_bound_to_its_session_and_key() -> None:
    key = csrf.derive_key(b"node secret")
    token = csrf.token_for(key, "session-a")
    assert csrf.check_token(key, "session-a", token) is None
    assert csrf.check_token(key, "session-b", token) == "wrong CSRF token"
    assert csrf.check_token(csrf.derive_key(b"other"), "session-a", token) == "wrong CSRF token"
    assert csrf.check_token(key, "session-a", None) == "no CSRF token"
    assert csrf.check_token(key, None, token) == "no session cookie"


def test_a_cross_site_request_is_refused_by_its_headers() -> None:
    own = "http://127.0.0.1:7104"
    assert csrf.check_origin({"origin": own, "sec-fetch-site": "same-origin"}, own) is None
    assert csrf.check_origin({}, own) is None  # the token still has to match
    assert csrf.check_origin({"sec-fetch-site": "cross-site"}, own) is not None
    assert csrf.check_origin({"sec-fetch-site": "same-site"}, own) is not None
    assert csrf.check_origin({"origin": "http://127.0.0.1:9999"}, own) is not None
    assert csrf.check_origin({"origin": "null"}, own) is not None


def test_the_header_policy_allows_only_the_portal_itself() -> None:
    assert CSP.startswith("default-src 'self'")
    assert "'unsafe-inline'" not in CSP and "'unsafe-eval'" not in CSP
    assert "frame-ancestors 'none'" in CSP and "object-src 'none'" in CSP
    plain, tls = security_headers(https=False), security_headers(https=True)
    assert "strict-transport-security" not in plain
    assert tls["strict-transport-security"].startswith("max-age=")
    assert plain["x-frame-options"] == "DENY" and plain["x-content-type-options"] == "nosniff"


def test_the_language_is_the_choice_then_the_browsers_then_the_windows() -> None:
    assert parse_accept_language("en;q=0.5, zh-CN, fr;q=0.9, *;q=0.1") == ["zh-cn", "fr", "en"]
    assert negotiate("en", "zh-CN", "CN-GD") == "en"
    assert negotiate(None, "fr, en-GB;q=0.8", "CN-GD") == "en"
    assert negotiate(None, "zh-TW", "SG") == "zh_Hans"
    assert negotiate(None, "fr", "CN-GD") == "zh_Hans"
    assert negotiate(None, None, "SG") == "en"
    assert negotiate("xx", "q=bad;;", "CN-SH") == "zh_Hans"


def test_dates_numbers_and_money_follow_the_locale() -> None:
    zh, en = Formats("zh_Hans", "Asia/Shanghai"), Formats("en", "Asia/Shanghai")
    moment = 1_764_800_000_000  # 2025-12-03 22:13:20 UTC, 12-04 06:13:20 in Shanghai
    assert zh.datetime_ms(moment).startswith("2025年12月4日")
    assert en.datetime_ms(moment).startswith("Dec 4, 2025")
    assert zh.money("1234.5", "CNY") == "¥1,234.50"
    assert en.money("1234.5", "CNY") == "CN¥1,234.50"
    assert en.number(12345) == "12,345"


def test_a_next_page_is_a_local_path_only() -> None:
    assert safe_next("/declarations/D1") == "/declarations/D1"
    for bad in ("//evil.example/", "https://evil.example/", "/\\evil", "javascript:x", ""):
        assert safe_next(bad) == "/dashboard"


def _messages_used() -> set[str]:
    used = set()
    for path in WEB.rglob("*.html"):
        used |= {m[1] for m in re.finditer(r"""_\(\s*["'](.+?)["']\s*\)""", path.read_text())}
    for path in WEB.rglob("*.py"):
        text = path.read_text()
        used |= {m[1] for m in re.finditer(r"""N_\(\s*["'](.+?)["']\s*\)""", text)}
        used |= {m[1] for m in re.finditer(r"""refuse\(\s*\d+,\s*["'](.+?)["']""", text)}
    return used | {"Page not found"}


def test_every_message_has_a_translation_in_both_catalogs() -> None:
    used = _messages_used()
    assert "USCC" in used and "Log out" in used
    for locale in LOCALES:
        translations = catalog(locale)
        missing = [m for m in used if not translations._catalog.get(m)]  # type: ignore[attr-defined]
        assert not missing, f"{locale} lacks {missing}"


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("USCC", "统一社会信用代码"),
        ("Enterprise name", "企业名称"),
        ("User name", "用户名"),
        ("Password", "密码"),
        ("Register", "注册"),
        ("Log in", "登录"),
        ("Submit", "提交"),
        ("Log out", "退出"),
    ],
)
def test_the_labels_users_rely_on(english: str, chinese: str) -> None:
    assert catalog("zh_Hans").gettext(english) == chinese
    assert catalog("en").gettext(english) == english


def test_no_template_holds_visible_text_of_its_own() -> None:
    """Between tags, a template shows only expressions: `{{ ... }}`, never words."""
    for path in WEB.rglob("*.html"):
        text = re.sub(r"{#.*?#}|{%.*?%}|{{.*?}}", "", path.read_text(), flags=re.S)
        text = re.sub(r"<(script|style)\b.*?</\1>", "", text, flags=re.S)
        words = [
            w.strip()
            for w in re.sub(r"<[^>]*>", "\n", text).splitlines()
            if re.search(r"[A-Za-z\u4e00-\u9fff]", w)
        ]
        assert not words, f"{path.name}: {words}"
