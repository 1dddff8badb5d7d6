"""Validation (core/validation.py): every rule has a failing example here, each starting from a
valid example (examples/) with a few fields changed, and expecting the exact set of
(field path, rule) found. A document with many errors reports every one of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from core.validation import (
    AGREEMENT_PARTIES,
    RULES,
    STRUCTURAL_FORMATS,
    Problem,
    check_format,
    decimal_value,
    to_proto,
    validate,
)
from swf.v1 import declarations_pb2, documents_pb2, options_pb2
from tests.test_examples import load_example

F = options_pb2.Format
CLEAR = object()


def _step(part: str) -> tuple[str, int | None]:
    if part.endswith("]"):
        name, index = part[:-1].split("[")
        return name, int(index)
    return part, None


def change(message: Any, path: str, value: object) -> None:
    """Set the field at `path` (`items[1].value.currency`); CLEAR clears it; an index one past
    the end of a repeated field appends."""
    *parents, last = path.split(".")
    for part in parents:
        name, index = _step(part)
        message = getattr(message, name) if index is None else getattr(message, name)[index]
    name, index = _step(last)
    if index is None:
        if value is CLEAR:
            message.ClearField(name)
        else:
            setattr(message, name, value)
        return
    container = getattr(message, name)
    if index == len(container):
        container.append(value)
    else:
        container[index] = value


def found(message: Any) -> set[tuple[str, str]]:
    return {(p.field, p.rule) for p in validate(message)}


@dataclass(frozen=True)
class Case:
    example: str
    changes: dict[str, object]
    expected: set[tuple[str, str]]
    id: str = field(default="")


GD, IMP = "goods_declaration", "goods_declaration_import"
CV, CM, LA = "conveyance_declaration", "cargo_manifest", "licence_application"
CO, QF, RB = (
    "certificate_of_origin_application",
    "qualification_filing",
    "export_tax_rebate_application",
)
DP = "duty_payment"

CASES = [
    # -- required -------------------------------------------------------------------------------
    Case(GD, {"declarant_uscc": CLEAR}, {("declarant_uscc", "required")}),
    Case(GD, {"consignor.name": "   "}, {("consignor.name", "required")}),
    Case(GD, {"consignee": CLEAR}, {("consignee", "required")}),
    Case(GD, {"items": CLEAR}, {("items", "required")}),
    Case(GD, {"kind": 0}, {("kind", "required")}),
    Case(GD, {"items[1].quantity.unit": 0}, {("items[1].quantity.unit", "required")}),
    Case(GD, {"items[0].value": CLEAR}, {("items[0].value", "required")}),
    Case(GD, {"containers[1]": ""}, {("containers[1]", "required")}),
    Case(RB, {"declaration_ids": CLEAR}, {("declaration_ids", "required")}),
    Case(QF, {"registered_capital.currency": CLEAR}, {("registered_capital.currency", "required")}),
    # An optional group that is absent is not looked into.
    Case(QF, {"registered_capital": CLEAR}, set()),
    Case(GD, {"transport_mode": 99}, {("transport_mode", "code_unknown")}),
    # -- max_length and text ----------------------------------------------------------------------
    Case(GD, {"bill_of_lading": "C" * 36}, {("bill_of_lading", "max_length")}),
    Case(GD, {"items[0].description": "x" * 513}, {("items[0].description", "max_length")}),
    Case(QF, {"legal_representative": "陈" * 101}, {("legal_representative", "max_length")}),
    Case(GD, {"consignor.address": "Keji Road\x00"}, {("consignor.address", "text_characters")}),
    Case(GD, {"bill_of_lading": "COSU 638"}, {("bill_of_lading", "identifier_format")}),
    # -- USCC -----------------------------------------------------------------------------------
    Case(GD, {"declarant_uscc": "91440300ma5g1234xy"}, {("declarant_uscc", "uscc_format")}),
    Case(GD, {"declarant_uscc": "9144 0300 MA5G 1234XY"}, {("declarant_uscc", "uscc_format")}),
    Case(GD, {"declarant_uscc": "9144030"}, {("declarant_uscc", "uscc_format")}),
    Case(
        GD, {"declarant_uscc": "91440300MA5G1234XA"}, {("declarant_uscc", "uscc_check_character")}
    ),
    Case(
        GD, {"consignor.uscc": "91440300MA5G1234XA"}, {("consignor.uscc", "uscc_check_character")}
    ),
    # -- HS codes -------------------------------------------------------------------------------
    Case(GD, {"items[0].hs_code": "8471.30"}, {("items[0].hs_code", "hs_code_format")}),
    Case(GD, {"items[0].hs_code": "8471300"}, {("items[0].hs_code", "hs_code_format")}),
    Case(GD, {"items[1].hs_code": "85171300000000"}, {("items[1].hs_code", "hs_code_format")}),
    Case(LA, {"goods.hs_code": "74O311"}, {("goods.hs_code", "hs_code_format")}),
    # -- containers -----------------------------------------------------------------------------
    Case(GD, {"containers[0]": "CSNU 639124 2"}, {("containers[0]", "iso6346_format")}),
    Case(GD, {"containers[0]": "csnu6391242"}, {("containers[0]", "iso6346_format")}),
    Case(GD, {"containers[0]": "CSNX6391242"}, {("containers[0]", "iso6346_format")}),
    Case(GD, {"containers[0]": "CSNU6391243"}, {("containers[0]", "iso6346_check_digit")}),
    Case(
        CM,
        {"bills[0].containers[1]": "CBHU5529073"},
        {("bills[0].containers[1]", "iso6346_check_digit")},
    ),
    # -- UN/LOCODE, country, currency -----------------------------------------------------------
    Case(GD, {"port_of_discharge": "SG-SIN"}, {("port_of_discharge", "unlocode_format")}),
    Case(GD, {"port_of_discharge": "SGSI1"}, {("port_of_discharge", "unlocode_format")}),
    Case(GD, {"port_of_discharge": "sgsin"}, {("port_of_discharge", "unlocode_format")}),
    Case(GD, {"port_of_discharge": "XXSIN"}, {("port_of_discharge", "unlocode_country")}),
    # A malformed port of loading is not also reported as not in China.
    Case(GD, {"port_of_loading": "QQYTN"}, {("port_of_loading", "unlocode_country")}),
    Case(GD, {"consignee.country": "SGP"}, {("consignee.country", "iso3166_country")}),
    Case(GD, {"consignee.country": "sg"}, {("consignee.country", "iso3166_country")}),
    Case(GD, {"items[0].origin_country": "XX"}, {("items[0].origin_country", "iso3166_country")}),
    # An unknown invoice currency is not also compared with the items' currency.
    Case(GD, {"invoice_currency": "RMB"}, {("invoice_currency", "iso4217_currency")}),
    Case(GD, {"invoice_currency": "usd"}, {("invoice_currency", "iso4217_currency")}),
    # -- decimals -------------------------------------------------------------------------------
    Case(
        GD, {"items[0].value.amount": "420,000.00"}, {("items[0].value.amount", "decimal_format")}
    ),
    Case(GD, {"items[0].value.amount": "4.2e5"}, {("items[0].value.amount", "decimal_format")}),
    Case(GD, {"items[0].value.amount": "420000."}, {("items[0].value.amount", "decimal_format")}),
    Case(GD, {"items[0].value.amount": " 42"}, {("items[0].value.amount", "decimal_format")}),
    Case(GD, {"items[0].value.amount": "NaN"}, {("items[0].value.amount", "decimal_format")}),
    Case(GD, {"items[0].value.amount": "0"}, {("items[0].value.amount", "decimal_positive")}),
    Case(GD, {"items[0].value.amount": "-5.00"}, {("items[0].value.amount", "decimal_positive")}),
    Case(
        GD, {"items[1].quantity.value": "1.23456"}, {("items[1].quantity.value", "decimal_places")}
    ),
    Case(
        GD,
        {"items[1].net_weight_kg": "-0.00001"},
        {
            ("items[1].net_weight_kg", "decimal_positive"),
            ("items[1].net_weight_kg", "decimal_places"),
        },
    ),
    Case(GD, {"items[1].net_weight_kg": "1" * 33}, {("items[1].net_weight_kg", "max_length")}),
    # -- dates and e-mail -------------------------------------------------------------------------
    Case(GD, {"declaration_date": "2025-02-30"}, {("declaration_date", "iso_date")}),
    Case(GD, {"declaration_date": "20250310"}, {("declaration_date", "iso_date")}),
    Case(GD, {"declaration_date": "2025-W11-1"}, {("declaration_date", "iso_date")}),
    Case(GD, {"movement_date": "12/03/2025"}, {("movement_date", "iso_date")}),
    Case(QF, {"contact_email": "customs@"}, {("contact_email", "email_format")}),
    Case(QF, {"contact_email": "customs office@pengcheng.cn"}, {("contact_email", "email_format")}),
    Case(QF, {"contact_email": "customs@localhost"}, {("contact_email", "email_format")}),
    Case(QF, {"contact_email": ".customs@pengcheng.cn"}, {("contact_email", "email_format")}),
    # -- parties --------------------------------------------------------------------------------
    Case(GD, {"consignor.uscc": CLEAR}, {("consignor.uscc", "uscc_required_in_china")}),
    Case(
        CM,
        {"bills[1].shipper.uscc": ""},
        {("bills[1].shipper.uscc", "uscc_required_in_china")},
    ),
    # -- goods declaration ----------------------------------------------------------------------
    Case(GD, {"port_of_loading": "HKHKG"}, {("port_of_loading", "export_from_chinese_port")}),
    Case(IMP, {"port_of_discharge": "KRPUS"}, {("port_of_discharge", "import_to_chinese_port")}),
    Case(GD, {"consignor.country": "HK"}, {("consignor.country", "domestic_party_in_china")}),
    Case(
        IMP,
        {"consignee.country": "AU", "consignee.uscc": ""},
        {("consignee.country", "domestic_party_in_china")},
    ),
    Case(GD, {"port_of_discharge": "CNYTN"}, {("port_of_discharge", "ports_differ")}),
    Case(
        GD,
        {"items[1].value.currency": "EUR"},
        {("items[1].value.currency", "item_currency_is_invoice_currency")},
    ),
    Case(
        GD, {"movement_date": "2025-03-09"}, {("movement_date", "movement_not_before_declaration")}
    ),
    Case(GD, {"containers[3]": "CSNU6391242"}, {("containers[3]", "duplicate_container")}),
    # -- conveyance declaration and cargo manifest ----------------------------------------------
    Case(CV, {"port": "SGSIN"}, {("port", "port_of_call_in_china")}),
    Case(CV, {"previous_or_next_port": "CNYTN"}, {("previous_or_next_port", "ports_differ")}),
    Case(CV, {"conveyance_id": "IMO9795611"}, {("conveyance_id", "vessel_imo_number")}),
    Case(CV, {"conveyance_id": "COSCO-UNIVERSE"}, {("conveyance_id", "vessel_imo_number")}),
    Case(CV, {"conveyance_id": "979561"}, {("conveyance_id", "vessel_imo_number")}),
    # Only a vessel's identifier is an IMO number.
    Case(
        CV,
        {"conveyance_kind": documents_pb2.CONVEYANCE_KIND_AIRCRAFT, "conveyance_id": "CZ3101"},
        set(),
    ),
    Case(CV, {"crew_count": "24.5"}, {("crew_count", "whole_number")}),
    Case(CM, {"port_of_discharge": "CNYTN"}, {("port_of_discharge", "ports_differ")}),
    Case(CM, {"bills[0].packages": "420.5"}, {("bills[0].packages", "whole_number")}),
    Case(
        CM,
        {"bills[1].number": "COSU6381234560"},
        {("bills[1].number", "duplicate_bill_of_lading")},
    ),
    Case(
        CM,
        {"bills[0].containers[3]": "FCIU4102382"},
        {("bills[0].containers[3]", "duplicate_container")},
    ),
    # -- licences and qualifications ------------------------------------------------------------
    Case(LA, {"valid_to": "2025-02-28"}, {("valid_to", "valid_from_not_after_valid_to")}),
    Case(LA, {"valid_to": "2025-03-01"}, set()),  # one day is a period
    Case(QF, {"valid_from": "2028-01-01"}, {("valid_to", "valid_from_not_after_valid_to")}),
    Case(LA, {"trading_country": "CN"}, {("trading_country", "trading_country_not_china")}),
    # -- certificate of origin ------------------------------------------------------------------
    Case(CO, {"exporter.country": "HK"}, {("exporter.country", "exporter_in_china")}),
    Case(CO, {"importer.country": "MY"}, {("importer.country", "importer_in_importing_country")}),
    Case(
        CO,
        {"importing_country": "CN"},
        {
            ("importing_country", "importing_country_not_china"),
            ("importer.country", "importer_in_importing_country"),
        },
    ),
    Case(
        CO,
        {"importing_country": "US", "importer.country": "US"},
        {("importing_country", "agreement_party_country")},
    ),
    Case(
        CO,
        {"agreement": documents_pb2.AGREEMENT_CHINA_ASEAN, "importing_country": "JP"},
        {
            ("importing_country", "agreement_party_country"),
            ("importer.country", "importer_in_importing_country"),
        },
    ),
    Case(CO, {"port_of_loading": "SGSIN"}, {("port_of_loading", "export_from_chinese_port")}),
    Case(CO, {"invoice_date": "2025-03-13"}, {("invoice_date", "invoice_not_after_departure")}),
    Case(CO, {"invoice_date": "2025-03-12"}, set()),
    # -- duty payment and tax rebate ------------------------------------------------------------
    Case(DP, {"amount.amount": "0.00"}, {("amount.amount", "decimal_positive")}),
    Case(
        RB, {"rebate_amount.amount": "-898560.00"}, {("rebate_amount.amount", "decimal_positive")}
    ),
    Case(RB, {"rebate_amount.currency": "USD"}, {("rebate_amount.currency", "rebate_in_cny")}),
    Case(RB, {"tax_period": "2025-13"}, {("tax_period", "tax_period_format")}),
    Case(RB, {"tax_period": "2025-3"}, {("tax_period", "tax_period_format")}),
    Case(RB, {"tax_period": "202503"}, {("tax_period", "tax_period_format")}),
    Case(
        RB,
        {"declaration_ids[1]": "0195804b-3f2a-7e61-8c4d-2b7a90e1f3c5"},
        {("declaration_ids[1]", "duplicate_declaration_id")},
    ),
]


def _case_id(case: Case) -> str:
    return f"{case.example}:{','.join(case.changes)}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_each_rule_names_the_field_and_the_rule(case: Case) -> None:
    message = load_example(case.example)
    for path, value in case.changes.items():
        change(message, path, value)
    assert found(message) == case.expected


# (format, value, rules) for the checks of one value; FORMAT_IMO is used by no field yet.
FORMAT_CASES = [
    (F.FORMAT_IMO, "IMO9795610", []),
    (F.FORMAT_IMO, "9795610", []),
    (F.FORMAT_IMO, "IMO9795611", ["imo_check_digit"]),
    (F.FORMAT_IMO, "IMO 9795610", ["imo_format"]),
    (F.FORMAT_IMO, "979561", ["imo_format"]),
    (F.FORMAT_HS_CODE, "847130", []),
    (F.FORMAT_HS_CODE, "8471300000123", []),
    (F.FORMAT_HS_CODE, "８４７１３０", ["hs_code_format"]),  # fullwidth digits
    (F.FORMAT_CONTAINER, "CSNU6391242", []),
    (F.FORMAT_UNLOCODE, "CNSZX", []),
    (F.FORMAT_UNLOCODE, "CNSZ0", ["unlocode_format"]),
    (F.FORMAT_DECIMAL, "0.5", []),
    (F.FORMAT_DECIMAL, "1234.5678", []),
    (F.FORMAT_DATE, "2024-02-29", []),
    (F.FORMAT_DATE, "2025-02-29", ["iso_date"]),
    (F.FORMAT_EMAIL, "trade.desk+cn@pengcheng-tech.com.cn", []),
    (F.FORMAT_IDENTIFIER, "粤B12345", []),
    (F.FORMAT_IDENTIFIER, "CN-GD/2025_01.a", []),
    (F.FORMAT_TEXT, "Line 1\nLine 2\tend", []),
    (F.FORMAT_CURRENCY, "CNY", []),
    (F.FORMAT_CURRENCY, "ZZZ", ["iso4217_currency"]),
]


@pytest.mark.parametrize(("fmt", "value", "rules"), FORMAT_CASES)
def test_check_format(fmt: options_pb2.Format.ValueType, value: str, rules: list[str]) -> None:
    assert [rule for rule, _ in check_format(fmt, value)] == rules


def test_every_format_has_a_check() -> None:
    for fmt in options_pb2.Format.values():
        if fmt != F.FORMAT_UNSPECIFIED and fmt not in STRUCTURAL_FORMATS:
            assert check_format(fmt, "\x00"), options_pb2.Format.Name(fmt)


def test_every_rule_has_a_failing_example() -> None:
    covered = {rule for case in CASES for _, rule in case.expected}
    covered |= {rule for _, _, rules in FORMAT_CASES for rule in rules}
    covered.add("tariff_line_missing")  # tests/core/test_tariff.py
    assert covered == set(RULES)


def test_a_document_with_many_errors_reports_them_all() -> None:
    message = load_example(GD)
    for path, value in {
        "kind": documents_pb2.DECLARATION_KIND_IMPORT,  # ... but it arrives in Singapore
        "declarant_uscc": "91440300MA5G1234XA",
        "consignor.country": "XX",
        "consignee.uscc": "",  # the consignee is in Singapore: no USCC needed
        "transport_mode": 0,
        "containers[1]": "CBHU5529073",
        "containers[3]": "CSNU6391242",
        "items[0].hs_code": "84713",
        "items[0].value.currency": "EUR",
        "items[1].quantity.value": "0",
        "items[1].quantity.unit": 0,
        "items[1].description": "",
        "movement_date": "2025-03-01",
    }.items():
        change(message, path, value)
    problems = validate(message)
    assert {(p.field, p.rule) for p in problems} == {
        ("declarant_uscc", "uscc_check_character"),
        ("consignor.country", "iso3166_country"),
        ("transport_mode", "required"),
        ("containers[1]", "iso6346_check_digit"),
        ("containers[3]", "duplicate_container"),
        ("items[0].hs_code", "hs_code_format"),
        ("items[1].description", "required"),
        ("items[1].quantity.value", "decimal_positive"),
        ("items[1].quantity.unit", "required"),
        ("port_of_discharge", "import_to_chinese_port"),
        ("consignee.country", "domestic_party_in_china"),
        ("items[0].value.currency", "item_currency_is_invoice_currency"),
        ("movement_date", "movement_not_before_declaration"),
    }
    assert len(problems) == 13
    # Generic checks come in field order, then the rules across fields.
    assert [p.field for p in problems[:3]] == [
        "declarant_uscc",
        "consignor.country",
        "transport_mode",
    ]


def test_a_problem_carries_its_element_and_a_message_for_a_person() -> None:
    message = load_example(GD)
    change(message, "items[0].quantity.value", "1,200")
    change(message, "items[0].value.currency", "EUR")
    first, second = validate(message)
    assert first == Problem(
        "items[0].quantity.value",
        "decimal_format",
        "Quantity: '1,200' is not digits with at most one dot (1234.50)",
        "SW0012",
    )
    assert second.element == "SW0011"
    assert "USD" in second.message and "EUR" in second.message
    assert str(first) == f"items[0].quantity.value: {first.message} [decimal_format]"


def test_an_empty_document_reports_every_required_element() -> None:
    problems = validate(documents_pb2.GoodsDeclaration())
    assert {p.rule for p in problems} == {"required"}
    assert [p.field for p in problems] == [
        "kind",
        "declarant_uscc",
        "consignor",
        "consignee",
        "port_of_loading",
        "port_of_discharge",
        "transport_mode",
        "invoice_currency",
        "items",
        "declaration_date",
    ]
    assert problems[0].element == "SW0100"


def test_to_proto() -> None:
    problems = [Problem("items[0].hs_code", "hs_code_format", "not an HS code", "SW0021")]
    report = to_proto(problems)
    assert report == declarations_pb2.ValidationReport(
        errors=[
            declarations_pb2.ValidationError(
                field="items[0].hs_code",
                rule="hs_code_format",
                message="not an HS code",
                element="SW0021",
            )
        ]
    )
    assert to_proto([]) == declarations_pb2.ValidationReport()


def test_decimal_value_is_a_decimal_or_none() -> None:
    value = decimal_value("1234.50")
    assert value is not None and value.as_tuple() == (0, (1, 2, 3, 4, 5, 0), -2)
    assert [decimal_value(t) for t in ("0", "-1", "1.23456", "1e3", "")] == [None] * 5


def test_agreement_parties_use_iso_codes_and_include_china() -> None:
    assert set(AGREEMENT_PARTIES) == {
        v for v in documents_pb2.Agreement.values() if v != documents_pb2.AGREEMENT_UNSPECIFIED
    }
    for parties in AGREEMENT_PARTIES.values():
        assert "CN" in parties
        assert all(check_format(F.FORMAT_COUNTRY, code) == [] for code in parties)
