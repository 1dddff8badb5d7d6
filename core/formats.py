"""Values of one format (the `Format` of a data element, options.proto): what is wrong with a
single text, whatever field it is in. Code lists and check digits come from kept libraries
(python-stdnum, pycountry). Used by the document walk (core/validation.py) and by logistics
events (core/logistics.py)."""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Callable, Mapping
from decimal import Decimal

import pycountry
from stdnum import imo as stdnum_imo
from stdnum import iso6346 as stdnum_iso6346
from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import InvalidChecksum, ValidationError

from swf.v1 import options_pb2

__all__ = [
    "FORMAT_MAX_LENGTH",
    "MAX_DECIMAL_PLACES",
    "STRUCTURAL_FORMATS",
    "TAX_PERIOD",
    "as_date",
    "check_currency",
    "check_format",
    "check_imo",
    "check_unlocode",
    "country_known",
    "decimal_value",
    "show",
]

F = options_pb2.Format
_HS_CODE = re.compile(r"[0-9]{6}|[0-9]{8,13}", re.ASCII)
_CONTAINER = re.compile(r"[A-Z]{3}[UJZR][0-9]{7}", re.ASCII)
_UNLOCODE = re.compile(r"[A-Z]{2}[A-Z2-9]{3}", re.ASCII)
_COUNTRY = re.compile(r"[A-Z]{2}", re.ASCII)
_CURRENCY = re.compile(r"[A-Z]{3}", re.ASCII)
_DECIMAL = re.compile(r"-?[0-9]+(?:\.([0-9]+))?", re.ASCII)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_IMO = re.compile(r"(?:IMO)?[0-9]{7}", re.ASCII)
TAX_PERIOD = re.compile(r"[0-9]{4}-(?:0[1-9]|1[0-2])", re.ASCII)
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"(?=.{{1,64}}@){_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+", re.ASCII)
MAX_DECIMAL_PLACES = 4

# Where an element's max_length is 0, its format's own limit. The other formats are bounded by
# their own shape (a USCC is 18 characters, a UN/LOCODE 5, ...).
FORMAT_MAX_LENGTH: Mapping[int, int] = {
    F.FORMAT_TEXT: 512,
    F.FORMAT_IDENTIFIER: 35,  # UN/EDIFACT an..35, the usual length of a reference
    F.FORMAT_EMAIL: 254,  # RFC 5321
    F.FORMAT_DECIMAL: 32,
}

_Found = list[tuple[str, str]]


def show(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:37] + "...")


def as_date(value: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value) if _DATE.fullmatch(value) else None
    except ValueError:
        return None


def country_known(code: str) -> bool:
    return bool(_COUNTRY.fullmatch(code)) and pycountry.countries.get(alpha_2=code) is not None


def _check_text(value: str) -> _Found:
    if any(unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in value):
        return [("text_characters", "holds a control character")]
    return []


def _check_identifier(value: str) -> _Found:
    if all(c.isalnum() or c in "-/._" for c in value):
        return []
    return [("identifier_format", f"{show(value)} may hold only letters, digits and - / . _")]


def _check_uscc(value: str) -> _Found:
    try:
        if value != stdnum_uscc.compact(value):
            raise ValidationError
        stdnum_uscc.validate(value)
    except InvalidChecksum:
        return [("uscc_check_character", f"{show(value)} fails the USCC check character")]
    except ValidationError:
        return [
            ("uscc_format", f"{show(value)} is not a USCC: 18 characters (GB 32100), no spaces")
        ]
    return []


def _check_hs_code(value: str) -> _Found:
    if _HS_CODE.fullmatch(value):
        return []
    return [("hs_code_format", f"{show(value)} is not 6 digits, or 8 to 13 digits (China)")]


def _check_container(value: str) -> _Found:
    if not _CONTAINER.fullmatch(value):
        text = "owner code, U/J/Z/R, 6 digits, check digit, no spaces (MSKU1234565)"
        return [("iso6346_format", f"{show(value)} is not a container number: {text}")]
    if not stdnum_iso6346.is_valid(value):
        right = stdnum_iso6346.calc_check_digit(value[:10])
        return [("iso6346_check_digit", f"{show(value)} fails the check digit (would be {right})")]
    return []


def check_unlocode(value: str) -> _Found:
    if not _UNLOCODE.fullmatch(value):
        text = "5 characters, a country code and 3 of A-Z or 2-9 (CNSHA)"
        return [("unlocode_format", f"{show(value)} is not a UN/LOCODE: {text}")]
    if not country_known(value[:2]):
        return [("unlocode_country", f"{show(value)}: {value[:2]} is not an ISO 3166-1 country")]
    return []


def _check_country(value: str) -> _Found:
    if country_known(value):
        return []
    return [("iso3166_country", f"{show(value)} is not an ISO 3166-1 alpha-2 code (CN, SG)")]


def check_currency(value: str) -> _Found:
    if _CURRENCY.fullmatch(value) and pycountry.currencies.get(alpha_3=value) is not None:
        return []
    return [("iso4217_currency", f"{show(value)} is not an ISO 4217 currency code (CNY, USD)")]


def _check_decimal(value: str) -> _Found:
    match = _DECIMAL.fullmatch(value)
    if match is None:
        return [("decimal_format", f"{show(value)} is not digits with at most one dot (1234.50)")]
    found: _Found = []
    if Decimal(value) <= 0:
        found.append(("decimal_positive", f"{show(value)} is not greater than zero"))
    if len(match.group(1) or "") > MAX_DECIMAL_PLACES:
        found.append(("decimal_places", f"{show(value)} has more than 4 decimal places"))
    return found


def _check_date(value: str) -> _Found:
    if as_date(value) is not None:
        return []
    return [("iso_date", f"{show(value)} is not a calendar date written YYYY-MM-DD")]


def _check_email(value: str) -> _Found:
    if _EMAIL.fullmatch(value):
        return []
    return [("email_format", f"{show(value)} is not an e-mail address (name@example.cn)")]


def check_imo(
    value: str, rule_format: str = "imo_format", rule_check: str = "imo_check_digit"
) -> _Found:
    if not _IMO.fullmatch(value):
        return [(rule_format, f"{show(value)} is not an IMO number: IMO and 7 digits (IMO9795610)")]
    if not stdnum_imo.is_valid(value):
        return [(rule_check, f"{show(value)} fails the IMO number check digit")]
    return []


_FORMAT_CHECKS: Mapping[int, Callable[[str], _Found]] = {
    F.FORMAT_TEXT: _check_text,
    F.FORMAT_IDENTIFIER: _check_identifier,
    F.FORMAT_USCC: _check_uscc,
    F.FORMAT_HS_CODE: _check_hs_code,
    F.FORMAT_CONTAINER: _check_container,
    F.FORMAT_UNLOCODE: check_unlocode,
    F.FORMAT_COUNTRY: _check_country,
    F.FORMAT_CURRENCY: check_currency,
    F.FORMAT_DECIMAL: _check_decimal,
    F.FORMAT_DATE: _check_date,
    F.FORMAT_EMAIL: _check_email,
    F.FORMAT_IMO: check_imo,
}
# Checked by the field's type (an enum, a message), not by its text.
STRUCTURAL_FORMATS = frozenset({F.FORMAT_CODE, F.FORMAT_GROUP})


def check_format(fmt: options_pb2.Format.ValueType, value: str) -> list[tuple[str, str]]:
    """(rule, message) for everything wrong with a non-empty `value` written in format `fmt`."""
    check = _FORMAT_CHECKS.get(fmt)
    return check(value) if check is not None else []


def decimal_value(text: str) -> Decimal | None:
    """The value of a valid FORMAT_DECIMAL text (positive, at most 4 places), else None."""
    return None if _check_decimal(text) else Decimal(text)
