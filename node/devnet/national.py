"""Which node ids a test network of a given size gets, taken from ISO 3166 (pycountry), never
from a hand-written list.

- CN's provinces: the provincial-level divisions ISO 3166-2 lists for CN, less those ISO 3166-1
  also codes as countries of their own (Hong Kong, Macao and Taiwan: separate customs territories
  with single windows of their own, which join as foreign windows, HK, MO, TW) — 31 in all.
- Foreign windows: ISO 3166-1 alpha-2 countries other than CN.
- A foreign federation's provinces: that country's top-level ISO 3166-2 subdivisions.

Each list is in ISO code order, except that the ids the tests and the demo have always used come
first (CN-GD, CN-SH, CN-ZJ; SG, TH), so a small network keeps its names as it grows.
"""

from __future__ import annotations

from functools import cache

import pycountry

from core.errors import InvalidArgument
from core.ids import validate_node_id

__all__ = ["foreign_provinces", "foreign_windows", "network_ids", "provinces"]

HOME = "CN"
_FIRST_PROVINCES = ("CN-GD", "CN-SH", "CN-ZJ")
_FIRST_FOREIGN = ("SG", "TH")


def _leading(first: tuple[str, ...], ids: list[str]) -> tuple[str, ...]:
    return (*[i for i in first if i in ids], *[i for i in ids if i not in first])


def _subdivisions(country: str) -> list[str]:
    """Top-level ISO 3166-2 codes of `country` that are valid node ids, in code order."""
    found = pycountry.subdivisions.get(country_code=country) or []  # type: ignore[no-untyped-call]
    codes = []
    for s in found:
        if getattr(s, "parent_code", None):
            continue
        try:
            codes.append(validate_node_id(s.code))
        except InvalidArgument:
            continue  # a code longer than a node id's suffix allows
    return sorted(codes)


def _own_country(subdivision: str) -> bool:
    """Whether ISO 3166-1 also codes this subdivision as a country, under the same name
    (CN-HK "Hong Kong SAR" and HK "Hong Kong"; CN-GD "Guangdong Sheng" is not GD "Grenada")."""
    country = pycountry.countries.get(alpha_2=subdivision.split("-", 1)[1])
    entry = pycountry.subdivisions.get(code=subdivision)  # type: ignore[no-untyped-call]
    if country is None or entry is None:
        return False
    return bool(country.name.split()[0].rstrip(",") == entry.name.split()[0])


@cache
def provinces() -> tuple[str, ...]:
    """CN's provincial-level divisions that are provinces of its single window (31)."""
    return _leading(_FIRST_PROVINCES, [c for c in _subdivisions(HOME) if not _own_country(c)])


@cache
def foreign_windows() -> tuple[str, ...]:
    countries = sorted(c.alpha_2 for c in pycountry.countries if c.alpha_2 != HOME)
    return _leading(_FIRST_FOREIGN, countries)


@cache
def foreign_provinces(federation: str) -> tuple[str, ...]:
    return tuple(_subdivisions(federation))


def network_ids(provinces_n: int, foreign_n: int, foreign_provinces_n: int = 0) -> list[str]:
    """CN, its first `provinces_n` provinces, the first `foreign_n` foreign windows, and the
    first `foreign_provinces_n` provinces of each of those; a size beyond the data is refused,
    naming the field and its bound."""
    home, abroad = provinces(), foreign_windows()
    if not 0 <= provinces_n <= len(home):
        raise InvalidArgument(
            "devnet.size", f"provinces: 0 to {len(home)}, not {provinces_n}", field="provinces"
        )
    if not 0 <= foreign_n <= len(abroad):
        raise InvalidArgument(
            "devnet.size", f"foreign: 0 to {len(abroad)}, not {foreign_n}", field="foreign"
        )
    windows = abroad[:foreign_n]
    ids = [HOME, *home[:provinces_n], *windows]
    if foreign_provinces_n < 0:
        raise InvalidArgument(
            "devnet.size",
            f"foreign_provinces: 0 or more, not {foreign_provinces_n}",
            field="foreign_provinces",
        )
    for window in windows:
        theirs = foreign_provinces(window)
        if foreign_provinces_n > len(theirs):
            raise InvalidArgument(
                "devnet.size",
                f"foreign_provinces: {window} has {len(theirs)} subdivisions in ISO 3166-2, "
                f"not {foreign_provinces_n}",
                field="foreign_provinces",
            )
        ids += theirs[:foreign_provinces_n]
    return ids
