"""Refusals in the page's language (node/web/refusals.py): every reason code and validation
rule a portal page can show has its message in both catalogs, the codes are the API's own, an
English page keeps the API's exact text, and a Chinese page shows the code's sentence (a general
one for a code without its own) with the API's text under it as the detail."""

from __future__ import annotations

import re
from pathlib import Path

from core import logistics, validation
from core.errors import InvalidArgument
from node.web.i18n import LOCALES, catalog
from node.web.refusals import REASONS, RULES, UNKNOWN_REASON, explain, refusal, rule_message

ROOT = Path(__file__).parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")

# What the forms and the login can answer with: every one has its message in both languages.
FORMS_AND_LOGIN = {
    "login.incomplete", "login.failed", "login.locked", "login.disabled",
    "login.home_unreachable", "party.not_active", "party.bad_uscc", "party.bad_name",
    "party.no_roles", "party.bad_role", "party.exists", "party.registered_elsewhere",
    "registration.rate_limited", "registry.unreachable", "user.bad_name", "user.weak_password",
    "user.exists", "user.bad_role", "user.last_admin", "users.not_home", "document.invalid",
    "declaration.not_your_party", "declaration.not_enterprise", "auth.missing_role",
    "routing.none", "work.reason_required", "work.bad_decision", "sharing.bad_request",
    "event.invalid", "event.conflict", "timeline.bad_key",
}  # fmt: skip


def test_every_code_is_one_the_api_gives() -> None:
    protocol = (ROOT / "docs" / "PROTOCOL.md").read_text()
    unknown = [code for code in REASONS if f"`{code}`" not in protocol]
    assert not unknown, f"not reason codes of docs/PROTOCOL.md: {unknown}"
    assert set(RULES) == set(validation.RULES) | set(logistics.RULES)


def test_the_forms_and_the_login_have_every_message_in_both_languages() -> None:
    assert set(REASONS) >= FORMS_AND_LOGIN, FORMS_AND_LOGIN - set(REASONS)
    chinese = catalog("zh_Hans")
    for table in (REASONS, RULES, {"unknown": UNKNOWN_REASON}):
        for code, message in table.items():
            for locale in LOCALES:
                assert catalog(locale)._catalog.get(message), f"{locale} lacks {code}"  # type: ignore[attr-defined]
            assert CJK.search(chinese.gettext(message)), f"{code} is not in Chinese"


def test_a_chinese_page_shows_the_catalogs_message_and_an_english_one_the_apis() -> None:
    exc = InvalidArgument("party.bad_uscc", "'91440300MA5G1234XZ': wrong check character")
    assert refusal(exc, "en") == f"{exc.message} (party.bad_uscc)"
    assert refusal(exc, "zh_Hans") == (
        "不是有效的统一社会信用代码，或校验码错误。 (party.bad_uscc)"
        ' <span class="refusal__detail" lang="en">'
        "&#39;91440300MA5G1234XZ&#39;: wrong check character</span>"
    )
    assert rule_message("uscc_check_character", "Declarant: wrong", "zh_Hans") == (
        "统一社会信用代码的校验码错误。"
    )
    # A refusal at one field of a form gives its reason code as the rule.
    assert rule_message("declaration.not_your_party", "declarant_uscc: x", "zh_Hans") == (
        "申报主体必须是您自己的企业。"
        ' <span class="refusal__detail" lang="en">declarant_uscc: x</span>'
    )
    assert rule_message("uscc_check_character", "Declarant: wrong", "en") == "Declarant: wrong"


def test_a_code_without_a_message_keeps_the_apis_text_under_a_general_sentence() -> None:
    assert explain("internal", "something broke", "zh_Hans") == "something broke"
    assert rule_message("no_such_rule", "as the API said", "en") == "as the API said"
    assert rule_message("no_such_rule", "as the API said", "zh_Hans") == (
        '请求被拒绝。 <span class="refusal__detail" lang="en">as the API said</span>'
    )


def test_a_chinese_page_shows_a_codes_sentence_first_and_the_apis_detail_escaped_under_it() -> None:
    """A code without its own sentence gets the general one, never the English text alone; the
    detail is the API's text, escaped, in its own element marked English."""
    exc = InvalidArgument("query.malformed", "query: <b>not</b> a signed query & more")
    shown = refusal(exc, "zh_Hans")
    assert shown.startswith("请求被拒绝。 (query.malformed) ")
    assert shown.endswith(
        '<span class="refusal__detail" lang="en">'
        "query: &lt;b&gt;not&lt;/b&gt; a signed query &amp; more</span>"
    )
    assert refusal(exc, "en") == "query: <b>not</b> a signed query & more (query.malformed)"
