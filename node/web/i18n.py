"""The portal's two languages: Simplified Chinese (zh_Hans) and English (en).

Every visible string is a message in the Babel catalogs under node/web/locale/ (`messages.po`,
one per locale). The .po files are what is kept in the repository; they are compiled in memory
when the portal starts (no build step, no compiled file to fall out of step), and
tests/web/test_catalogs.py checks that every message the templates and pages use has a
translation in both. Dates, numbers and money are formatted per locale with Babel.

Which language a page speaks: the `lang` cookie set by the switch on every page, else the
browser's Accept-Language on the first visit, else the window's own (Chinese at a Chinese node).
"""

from __future__ import annotations

import gettext
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

__all__ = [
    "COOKIE",
    "LOCALES",
    "Formats",
    "catalog",
    "default_locale",
    "negotiate",
    "parse_accept_language",
]

LOCALE_DIR = Path(__file__).parent / "locale"
LOCALES = ("zh_Hans", "en")
COOKIE = "lang"
_BABEL = {"zh_Hans": "zh_Hans_CN", "en": "en"}


def default_locale(node_id: str) -> str:
    return "zh_Hans" if node_id.split("-")[0] == "CN" else "en"


def parse_accept_language(header: str) -> list[str]:
    """The language tags of an Accept-Language header, most wanted first (RFC 9110 §12.5.4)."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        if not tag or tag == "*":
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            weighted.append((-q, index, tag))
    return [tag for _, _, tag in sorted(weighted)]


def _locale_of(tag: str) -> str | None:
    primary = tag.replace("_", "-").split("-")[0].lower()
    if primary == "zh":
        return "zh_Hans"  # the only Chinese the portal speaks
    if primary == "en":
        return "en"
    return None


def negotiate(cookie: str | None, accept_language: str | None, node_id: str) -> str:
    """The locale of a page: the remembered choice, else the browser's, else the window's."""
    if cookie in LOCALES:
        assert cookie is not None
        return cookie
    for tag in parse_accept_language(accept_language or ""):
        found = _locale_of(tag)
        if found is not None:
            return found
    return default_locale(node_id)


@cache
def catalog(locale: str) -> gettext.GNUTranslations:
    """The compiled catalog of `locale`, from its messages.po."""
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        po = read_po(f, locale=_BABEL[locale])
    buffer = io.BytesIO()
    write_mo(buffer, po)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@dataclass(frozen=True)
class Formats:
    """Dates, numbers and money as a reader of `locale` expects them, in the window's zone."""

    locale: str
    zone: str = "UTC"

    @property
    def babel_locale(self) -> str:
        return _BABEL[self.locale]

    def datetime_ms(self, unix_ms: int) -> str:
        if unix_ms <= 0:
            return "—"
        moment = datetime.fromtimestamp(unix_ms / 1000, tz=UTC).astimezone(ZoneInfo(self.zone))
        return format_datetime(moment, "medium", locale=self.babel_locale)

    def number(self, value: int | float | Decimal) -> str:
        return format_decimal(value, locale=self.babel_locale)

    def money(self, amount: str, currency: str) -> str:
        """A decimal text and its ISO 4217 code, as the API gives them."""
        try:
            value = Decimal(amount)
        except InvalidOperation:
            return f"{amount} {currency}".strip()
        if not currency:
            return format_decimal(value, locale=self.babel_locale)
        return format_currency(value, currency, locale=self.babel_locale)
