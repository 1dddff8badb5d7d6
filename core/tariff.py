"""Duty and import VAT of a goods declaration, from a tariff: pure arithmetic on decimals.

A tariff is a CSV text with the columns `hs_code, description, duty_rate_percent,
vat_rate_percent` (services/tariff_sample.csv is a sample). A line's code may be any prefix of an
HS code (2 to 13 digits): an item takes the line with the longest code that begins its own.

For each goods item of an import, rounded half-up to 2 decimals per item:

    duty = value × duty rate
    VAT  = (value + duty) × VAT rate

The customs value is the sum of the items' values, as declared; the total is duty + VAT. An export
assesses zero duty and zero VAT (its customs value is still computed), and needs no tariff line.

No exchange conversion is done: the item values are taken in the invoice currency, and so is the
assessment. A node that collects in renminbi converts the result at the rate of its choosing.

Money is `decimal.Decimal` throughout, never float. The declaration is assumed valid
(core.validation): `assess` refuses, rather than guesses, what it cannot compute.
"""

from __future__ import annotations

import csv
import decimal
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from core.errors import InvalidArgument, quote
from core.validation import Problem, decimal_value, element_of
from swf.v1 import declarations_pb2, documents_pb2

__all__ = [
    "COLUMNS",
    "Assessment",
    "ItemAssessment",
    "Tariff",
    "TariffLine",
    "TariffLineMissing",
    "assess",
    "parse_tariff",
    "to_proto",
]

COLUMNS = ("hs_code", "description", "duty_rate_percent", "vat_rate_percent")
_CODE = re.compile(r"[0-9]{2,13}", re.ASCII)
_RATE = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,4})?", re.ASCII)
_CENT = Decimal("0.01")
_HUNDRED = Decimal(100)
# Enough digits that no product or sum of declared amounts (at most 32 characters) is rounded
# before the one rounding to cents.
_PRECISION = 80


@dataclass(frozen=True, kw_only=True)
class TariffLine:
    hs_code: str
    description: str
    duty_rate_percent: Decimal
    vat_rate_percent: Decimal


@dataclass(frozen=True)
class Tariff:
    """Tariff lines by code; `line_for` finds the longest code that prefixes an HS code."""

    lines: Mapping[str, TariffLine]

    def line_for(self, hs_code: str) -> TariffLine | None:
        for end in range(len(hs_code), 1, -1):
            line = self.lines.get(hs_code[:end])
            if line is not None:
                return line
        return None


def _rate(text: str, column: str) -> tuple[Decimal | None, str | None]:
    if not _RATE.fullmatch(text):
        return None, f"{column} {text!r} is not a percentage written as digits and a dot (6.5)"
    return Decimal(text), None


def parse_tariff(text: str) -> Tariff:
    """Parse a tariff CSV. The first row that is not blank or a `#` comment is the header, with
    exactly the `COLUMNS` in that order. Every malformed row is refused, all at once, in one
    InvalidArgument (reason `tariff.malformed`) naming each line by its number (1-based)."""
    errors: list[str] = []
    lines: dict[str, TariffLine] = {}
    header_seen = False
    for number, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        try:
            row = [cell.strip() for cell in next(csv.reader([raw], strict=True))]
        except csv.Error as exc:
            errors.append(f"line {number}: not a CSV row ({exc})")
            continue
        if not header_seen:
            header_seen = True
            if tuple(row) != COLUMNS:
                errors.append(f"line {number}: the header is {','.join(COLUMNS)}, not {raw!r}")
            continue
        if len(row) != len(COLUMNS):
            errors.append(f"line {number}: {len(row)} columns, expected {len(COLUMNS)}")
            continue
        code, description, duty_text, vat_text = row
        problems = []
        if not _CODE.fullmatch(code):
            problems.append(f"hs_code {code!r} is not 2 to 13 digits")
        elif code in lines:
            problems.append(f"hs_code {code} appears twice")
        if not description:
            problems.append("the description is empty")
        duty, duty_error = _rate(duty_text, "duty_rate_percent")
        vat, vat_error = _rate(vat_text, "vat_rate_percent")
        problems += [e for e in (duty_error, vat_error) if e is not None]
        if problems or duty is None or vat is None:
            errors.append(f"line {number}: " + "; ".join(problems))
            continue
        lines[code] = TariffLine(
            hs_code=code, description=description, duty_rate_percent=duty, vat_rate_percent=vat
        )
    if not header_seen:
        errors.append(f"line 1: no header; the first row is {','.join(COLUMNS)}")
    if errors:
        raise InvalidArgument("tariff.malformed", "tariff: " + "; ".join(errors), field="tariff")
    return Tariff(lines)


@dataclass(frozen=True, kw_only=True)
class ItemAssessment:
    """One goods item: its path in the declaration, the tariff line applied (None for an export)."""

    field: str
    hs_code: str
    tariff_code: str | None
    value: Decimal
    duty: Decimal
    vat: Decimal


@dataclass(frozen=True, kw_only=True)
class Assessment:
    customs_value: Decimal
    duty: Decimal
    vat: Decimal
    total: Decimal
    currency: str
    items: tuple[ItemAssessment, ...] = ()


class TariffLineMissing(InvalidArgument):
    """Goods items whose HS code has no tariff line: one `tariff_line_missing` problem each."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(
            "assessment.tariff_line_missing",
            "; ".join(f"{p.field}: {p.message}" for p in problems),
            field=problems[0].field,
        )
        self.problems = tuple(problems)


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(_CENT, rounding=ROUND_HALF_UP)


def _refuse(field: str, text: str) -> InvalidArgument:
    return InvalidArgument("assessment.invalid_declaration", f"{field}: {text}", field=field)


def assess(declaration: documents_pb2.GoodsDeclaration, tariff: Tariff) -> Assessment:
    """Duty and VAT of a goods declaration under `tariff`, in its invoice currency.

    Refuses a declaration it cannot compute (no kind, an item value that is not a positive
    decimal, an item in another currency than the invoice's) with InvalidArgument, and imported
    items without a tariff line with `TariffLineMissing` listing every one of them.
    """
    is_import = declaration.kind == documents_pb2.DECLARATION_KIND_IMPORT
    if not is_import and declaration.kind != documents_pb2.DECLARATION_KIND_EXPORT:
        raise _refuse("kind", "an import or an export is assessed, not an unspecified kind")
    currency = declaration.invoice_currency
    missing: list[Problem] = []
    items: list[ItemAssessment] = []
    with decimal.localcontext(prec=_PRECISION):
        for i, item in enumerate(declaration.items):
            path = f"items[{i}]"
            value = decimal_value(item.value.amount)
            if value is None:
                raise _refuse(f"{path}.value.amount", "not a positive decimal amount")
            if item.value.currency != currency:
                text = f"{quote(item.value.currency)} is not the invoice currency {quote(currency)}"
                raise _refuse(f"{path}.value.currency", text)
            line = tariff.line_for(item.hs_code) if is_import else None
            if is_import and line is None:
                element = element_of(documents_pb2.GoodsItem.DESCRIPTOR.fields_by_name["hs_code"])
                text = f"no tariff line for HS code {quote(item.hs_code)}"
                missing.append(Problem(f"{path}.hs_code", "tariff_line_missing", text, element.id))
                continue
            duty = vat = Decimal("0.00")
            if line is not None:
                duty = _cents(value * line.duty_rate_percent / _HUNDRED)
                vat = _cents((value + duty) * line.vat_rate_percent / _HUNDRED)
            items.append(
                ItemAssessment(
                    field=path,
                    hs_code=item.hs_code,
                    tariff_code=line.hs_code if line is not None else None,
                    value=value,
                    duty=duty,
                    vat=vat,
                )
            )
        if missing:
            raise TariffLineMissing(missing)
        customs_value = sum((a.value for a in items), Decimal(0))
        duty = sum((a.duty for a in items), Decimal("0.00"))
        vat = sum((a.vat for a in items), Decimal("0.00"))
        return Assessment(
            customs_value=customs_value,
            duty=duty,
            vat=vat,
            total=duty + vat,
            currency=currency,
            items=tuple(items),
        )


def to_proto(assessment: Assessment) -> declarations_pb2.Assessment:
    """The wire form; `payment_due` when anything is owed (the payment itself is tracked by the
    declaration's status, not here)."""
    return declarations_pb2.Assessment(
        customs_value=f"{assessment.customs_value:f}",
        duty=f"{assessment.duty:f}",
        vat=f"{assessment.vat:f}",
        total=f"{assessment.total:f}",
        currency=assessment.currency,
        payment_due=assessment.total > 0,
    )
