"""What a node's portal is called: "中国（广东）国际贸易单一窗口" at CN-GD, from ISO 3166 data.

The names come from pycountry: the English name of the country or subdivision, and the Chinese
one from the gettext catalogs pycountry ships (domains `iso3166-1` and `iso3166-2`, locale
zh_CN). A Chinese province is named in the window's title without its kind ("广东省" → "广东",
"Guangdong Sheng" → "Guangdong"), as the national single window names its local platforms. A
name the catalogs lack, and any name an operator sets in `[web] name_en` / `name_zh`, comes
from the node's configuration.
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from functools import cache

import pycountry

__all__ = ["Branding", "branding_for", "short_name_en", "short_name_zh"]

# Kinds of Chinese subdivision as the names carry them, longest first.
_ZH_SUFFIXES = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市")
_EN_SUFFIXES = (
    " Zhuangzu Zizhiqu",
    " Huizu Zizhiqu",
    " Uygur Zizhiqu",
    " Zizhiqu",
    " Sheng",
    " Shi",
    " SAR",
)


@dataclass(frozen=True)
class Branding:
    """The window's name in each language the portal speaks."""

    name_en: str
    name_zh: str

    def name(self, locale: str) -> str:
        return self.name_zh if locale.startswith("zh") else self.name_en


@cache
def _translations(domain: str) -> gettext.NullTranslations:
    return gettext.translation(domain, pycountry.LOCALES_DIR, languages=["zh_CN"], fallback=True)


def _strip(name: str, suffixes: tuple[str, ...]) -> str:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def short_name_en(name: str) -> str:
    return _strip(name, _EN_SUFFIXES)


def short_name_zh(name: str) -> str:
    return _strip(name, _ZH_SUFFIXES)


def _zh(domain: str, english: str) -> str | None:
    """The Chinese name pycountry's catalogs hold for `english`, if they hold one."""
    translated = _translations(domain).gettext(english)
    return translated if translated != english else None


def branding_for(
    node_id: str, *, name_en: str | None = None, name_zh: str | None = None
) -> Branding:
    """The portal's name for `node_id` (ISO 3166-1 alpha-2 or ISO 3166-2); the configured names,
    where given, win."""
    country_code, _, _ = node_id.partition("-")
    country = pycountry.countries.get(alpha_2=country_code)
    country_en = country.name if country is not None else country_code
    country_zh = (_zh("iso3166-1", country_en) if country is not None else None) or country_en
    if country_code == "CN":
        country_en, country_zh = "China", "中国"
    place_en = place_zh = None
    if "-" in node_id:
        subdivision = pycountry.subdivisions.get(code=node_id)  # type: ignore[no-untyped-call]
        english = subdivision.name if subdivision is not None else node_id
        place_en = short_name_en(english)
        found = _zh("iso3166-2", english) if subdivision is not None else None
        place_zh = short_name_zh(found) if found else None
    default_en = (
        f"{country_en} ({place_en}) International Trade Single Window"
        if place_en
        else f"{country_en} International Trade Single Window"
    )
    if place_en and place_zh is None:
        default_zh = name_zh or default_en  # no kept Chinese name: the configured one
    else:
        default_zh = (
            f"{country_zh}（{place_zh}）国际贸易单一窗口"
            if place_zh
            else (f"{country_zh}国际贸易单一窗口")
        )
    return Branding(name_en=name_en or default_en, name_zh=name_zh or default_zh)
