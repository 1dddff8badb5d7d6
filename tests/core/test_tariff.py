"""Duty and VAT (core/tariff.py): the tariff file, the longest-prefix lookup, and the arithmetic,
in decimals rounded half-up to cents per item."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from core.errors import InvalidArgument
from core.tariff import (
    COLUMNS,
    Assessment,
    TariffLineMissing,
    assess,
    parse_tariff,
    to_proto,
)
from core.validation import Problem
from swf.v1 import declarations_pb2, documents_pb2
from tests.test_examples import SAMPLE_TARIFF, load_example, sample_tariff

HEADER = ",".join(COLUMNS)
TARIFF = f"""{HEADER}
# duty and VAT in percent
8471,"Automatic data processing machines, other",0,13
84713000,Portable computers,0,13
22042100,Wine in containers of 2 l or less,14,13
02023000,"Frozen boneless beef",12,9
6109,T-shirts,6.5,13
"""


def goods(
    kind: documents_pb2.DeclarationKind.ValueType, *items: tuple[str, str], currency: str = "USD"
) -> Any:
    declaration = documents_pb2.GoodsDeclaration(kind=kind, invoice_currency=currency)
    for hs_code, amount in items:
        item = declaration.items.add(hs_code=hs_code)
        item.value.amount, item.value.currency = amount, currency
    return declaration


IMPORT, EXPORT = documents_pb2.DECLARATION_KIND_IMPORT, documents_pb2.DECLARATION_KIND_EXPORT


def test_the_sample_tariff_parses() -> None:
    tariff = sample_tariff()
    assert len(tariff.lines) >= 30
    assert all(isinstance(line.duty_rate_percent, Decimal) for line in tariff.lines.values())
    assert tariff.lines["39011000"].duty_rate_percent == Decimal("6.5")
    assert SAMPLE_TARIFF.name == "tariff_sample.csv"


def test_the_longest_code_that_prefixes_the_hs_code_wins() -> None:
    tariff = parse_tariff(TARIFF)
    found = tariff.line_for("8471300000")
    assert found is not None and found.hs_code == "84713000"
    found = tariff.line_for("8471410000")
    assert found is not None and found.hs_code == "8471"
    assert tariff.line_for("847") is None
    assert tariff.line_for("8517130000") is None


def test_blank_lines_comments_and_a_byte_order_mark_are_skipped() -> None:
    tariff = parse_tariff("\ufeff# sample\n\n" + HEADER + "\n\n847130,Laptops,0,13\n")
    assert list(tariff.lines) == ["847130"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "line 1: no header"),
        ("# only a comment\n", "line 1: no header"),
        ("hs_code,description,duty,vat\n", "line 1: the header is hs_code,description,"),
        (f"# c\n{HEADER}\n847130,Laptops,0\n", "line 3: 3 columns, expected 4"),
        (f"{HEADER}\n8471.30,Laptops,0,13\n", "line 2: hs_code '8471.30' is not 2 to 13 digits"),
        (f"{HEADER}\n847130,Laptops,5%,13\n", "line 2: duty_rate_percent '5%' is not a percentage"),
        (f"{HEADER}\n847130,Laptops,0,-13\n", "line 2: vat_rate_percent '-13'"),
        (f"{HEADER}\n847130,Laptops,0,1e1\n", "line 2: vat_rate_percent '1e1'"),
        (f"{HEADER}\n847130,,0,13\n", "line 2: the description is empty"),
        (f"{HEADER}\n847130,A,0,13\n847130,B,0,13\n", "line 3: hs_code 847130 appears twice"),
        (f'{HEADER}\n847130,"Laptops,0,13\n', "line 2: not a CSV row"),
    ],
)
def test_malformed_rows_are_refused_with_their_line_number(text: str, says: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        parse_tariff(text)
    assert refused.value.reason == "tariff.malformed"
    assert says in refused.value.message


def test_every_malformed_row_is_reported_at_once() -> None:
    with pytest.raises(InvalidArgument) as refused:
        parse_tariff(f"{HEADER}\n847130,Laptops,0,13\nx,Bad,0,13\n851713,Phones,0,y\n")
    assert "line 3: hs_code 'x'" in refused.value.message
    assert "line 4: vat_rate_percent 'y'" in refused.value.message


def test_the_import_example_is_assessed() -> None:
    assessment = assess(load_example("goods_declaration_import"), sample_tariff())
    assert (assessment.customs_value, assessment.duty, assessment.vat, assessment.total) == (
        Decimal("184800.00"),
        Decimal("23712.00"),  # 76800 × 14 % + 108000 × 12 %
        Decimal("22268.16"),  # (76800 + 10752) × 13 % + (108000 + 12960) × 9 %
        Decimal("45980.16"),
    )
    assert assessment.currency == "USD"
    assert [(i.field, i.tariff_code, i.duty, i.vat) for i in assessment.items] == [
        ("items[0]", "22042100", Decimal("10752.00"), Decimal("11381.76")),
        ("items[1]", "02023000", Decimal("12960.00"), Decimal("10886.40")),
    ]


def test_each_item_is_rounded_to_cents_then_summed() -> None:
    # 10.07 × 6.5 % = 0.65455 → 0.65 per item, so 1.30 in all (rounding the sum would give 1.31);
    # VAT (10.07 + 0.65) × 13 % = 1.3936 → 1.39 per item.
    declaration = goods(IMPORT, ("6109100000", "10.07"), ("6109900000", "10.07"))
    assessment = assess(declaration, parse_tariff(TARIFF))
    assert [(i.tariff_code, i.duty, i.vat) for i in assessment.items] == [
        ("6109", Decimal("0.65"), Decimal("1.39")),
        ("6109", Decimal("0.65"), Decimal("1.39")),
    ]
    assert (assessment.duty, assessment.vat, assessment.total) == (
        Decimal("1.30"),
        Decimal("2.78"),
        Decimal("4.08"),
    )


def test_half_a_cent_rounds_up() -> None:
    # 0.50 × 13 % = 0.065 exactly: half-up gives 0.07 where banker's rounding would give 0.06.
    tariff = parse_tariff(f"{HEADER}\n847130,Laptops,0,13\n")
    assessment = assess(goods(IMPORT, ("847130", "0.50")), tariff)
    assert (assessment.duty, assessment.vat) == (Decimal("0.00"), Decimal("0.07"))


def test_large_amounts_stay_exact() -> None:
    amount = "9" * 27 + ".9999"
    assessment = assess(goods(IMPORT, ("2204210000", amount)), parse_tariff(TARIFF))
    assert assessment.customs_value == Decimal(amount)
    # 999…9.9999 × 14 % = 139…9.999986: 33 digits, more than decimal's default precision (28).
    assert f"{assessment.duty:f}" == "140000000000000000000000000.00"
    assert f"{assessment.vat:f}" == "148200000000000000000000000.00"


def test_an_export_pays_neither_duty_nor_vat() -> None:
    declaration = load_example("goods_declaration")
    empty = parse_tariff(HEADER)
    assessment = assess(declaration, empty)
    assert assessment == Assessment(
        customs_value=Decimal("960000.00"),
        duty=Decimal("0.00"),
        vat=Decimal("0.00"),
        total=Decimal("0.00"),
        currency="USD",
        items=assessment.items,
    )
    assert all(i.tariff_code is None for i in assessment.items)


def test_every_item_without_a_tariff_line_is_named() -> None:
    declaration = goods(IMPORT, ("8471300000", "1.00"), ("9999999999", "1.00"), ("01", "1.00"))
    with pytest.raises(TariffLineMissing) as refused:
        assess(declaration, parse_tariff(TARIFF))
    assert refused.value.reason == "assessment.tariff_line_missing"
    assert refused.value.field == "items[1].hs_code"
    assert [(p.field, p.rule, p.element) for p in refused.value.problems] == [
        ("items[1].hs_code", "tariff_line_missing", "SW0021"),
        ("items[2].hs_code", "tariff_line_missing", "SW0021"),
    ]
    assert all(isinstance(p, Problem) for p in refused.value.problems)
    assert "9999999999" in refused.value.message


@pytest.mark.parametrize(
    ("declaration", "field"),
    [
        (goods(documents_pb2.DECLARATION_KIND_UNSPECIFIED, ("847130", "1.00")), "kind"),
        (goods(IMPORT, ("847130", "1,00")), "items[0].value.amount"),
        (goods(IMPORT, ("847130", "0")), "items[0].value.amount"),
    ],
)
def test_what_cannot_be_computed_is_refused(declaration: Any, field: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        assess(declaration, parse_tariff(TARIFF))
    assert (refused.value.reason, refused.value.field) == ("assessment.invalid_declaration", field)


def test_no_exchange_conversion_an_item_in_another_currency_is_refused() -> None:
    declaration = goods(IMPORT, ("847130", "1.00"))
    declaration.items[0].value.currency = "EUR"
    with pytest.raises(InvalidArgument) as refused:
        assess(declaration, parse_tariff(TARIFF))
    assert refused.value.field == "items[0].value.currency"


def test_to_proto() -> None:
    assessment = assess(load_example("goods_declaration_import"), sample_tariff())
    assert to_proto(assessment) == declarations_pb2.Assessment(
        customs_value="184800.00",
        duty="23712.00",
        vat="22268.16",
        total="45980.16",
        currency="USD",
        payment_due=True,
    )
    export = assess(load_example("goods_declaration"), sample_tariff())
    assert to_proto(export).payment_due is False
    assert to_proto(export).total == "0.00"
