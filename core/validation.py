"""Validation of documents (design §6): a pure function of the document, every error at once.

`validate(message)` walks a document message and returns a `Problem` for everything wrong with
it, never only the first. Each problem names the field by its path (proto field names, 0-based
indexes: `items[2].quantity.value`), the rule it breaks (a stable code clients may branch on; the
whole list is `RULES`), a sentence for a person, and the data element id the field carries.

Two kinds of check, in this order:

1. Generic checks, driven by the `(swf.v1.element)` option of every field (options.proto), for
   every nested message and every element of a repeated field: `required` (a required repeated
   field needs one element, a required group must be present, a required enum must not be its
   UNSPECIFIED value), `max_length` (characters), and the check of the element's `Format`
   (`check_format`). A group that is absent and not required is not looked into.
2. Rules across fields, per message type (a rule on `Party` applies to every party of every
   document). They compare only values that passed their own checks, so one mistake is reported
   once: an export's port of loading written `CN-SZX` is a `unlocode_format` problem, not also an
   `export_from_chinese_port` one.

The checks of one value's format live in core/formats.py. Code lists and check digits come from
kept libraries (python-stdnum, pycountry), never from lists kept here. The one table kept here is
`AGREEMENT_PARTIES`, which no library holds.
Money and quantities are `decimal.Decimal`, never float.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from core.errors import InvalidArgument
from core.formats import (
    FORMAT_MAX_LENGTH,
    STRUCTURAL_FORMATS,
    TAX_PERIOD,
    as_date,
    check_currency,
    check_format,
    check_imo,
    check_unlocode,
    country_known,
    decimal_value,
    show,
)
from core.grpc_status import VALIDATION_KEY
from swf.v1 import declarations_pb2, documents_pb2, options_pb2

if TYPE_CHECKING:
    from google._upb._message import FieldDescriptor as _UpbFieldDescriptor

    AnyField: TypeAlias = FieldDescriptor | _UpbFieldDescriptor

__all__ = [
    "AGREEMENT_PARTIES",
    "RULES",
    "STRUCTURAL_FORMATS",
    "Problem",
    "check_format",
    "decimal_value",
    "element_of",
    "refused",
    "to_proto",
    "validate",
]

# Every rule code `validate` can report, with what it asks. Codes are stable: clients branch on
# them, and tests/core/test_validation.py holds a failing example for each.
RULES: Mapping[str, str] = {
    # Generic, from the element options.
    "required": "a required element is present (a repeated one has an element; a code is set)",
    "max_length": "at most the element's max_length characters",
    "code_unknown": "a code is one of the values its enum defines",
    "text_characters": "free text holds no control characters other than tab and newline",
    "identifier_format": "a reference is letters, digits and - / . _ only",
    "uscc_format": "a USCC is 18 characters (GB 32100), upper case, no separators",
    "uscc_check_character": "a USCC's check character is right",
    "hs_code_format": "an HS code is 6 digits, or 8 to 13 digits (China's tariff codes)",
    "iso6346_format": "a container number is owner code, category U/J/Z/R, 6 digits, check digit",
    "iso6346_check_digit": "a container number's check digit is right (ISO 6346)",
    "unlocode_format": "a UN/LOCODE is 5 characters: country + 3 of A-Z or 2-9",
    "unlocode_country": "a UN/LOCODE's country is an ISO 3166-1 code",
    "iso3166_country": "a country is an ISO 3166-1 alpha-2 code",
    "iso4217_currency": "a currency is an ISO 4217 alphabetic code",
    "decimal_format": "a number is written with digits and at most one dot, e.g. 1234.50",
    "decimal_positive": "a number is greater than zero",
    "decimal_places": "a number has at most 4 decimal places",
    "iso_date": "a date is a calendar date written YYYY-MM-DD",
    "email_format": "an e-mail address is local-part@domain",
    "imo_format": "an IMO number is 7 digits, optionally after IMO",
    "imo_check_digit": "an IMO number's check digit is right",
    # Across fields, per message type.
    "uscc_required_in_china": "a party in China (country CN) gives its USCC",
    "export_from_chinese_port": "an export (or a certificate of origin) loads at a port in China",
    "import_to_chinese_port": "an import is discharged at a port in China",
    "domestic_party_in_china": "an export's consignor, or an import's consignee, is in China",
    "ports_differ": "the two ports of a movement are different places",
    "item_currency_is_invoice_currency": "every goods item is valued in the invoice currency",
    "movement_not_before_declaration": "the movement date is not before the declaration date",
    "duplicate_container": "a container number appears once per declaration or bill of lading",
    "port_of_call_in_china": "a conveyance declaration is for a call at a port in China",
    "vessel_imo_number": "a vessel is identified by its IMO number (IMO + 7 digits, check digit)",
    "whole_number": "a count (packages, crew) is a whole number",
    "duplicate_bill_of_lading": "a bill of lading number appears once per manifest",
    "valid_from_not_after_valid_to": "a validity period does not end before it starts",
    "trading_country_not_china": "a licence's trading country is a country other than China",
    "exporter_in_china": "a certificate of origin's exporter is in China",
    "importer_in_importing_country": "the importer is in the importing country",
    "importing_country_not_china": "a certificate of origin is for goods leaving China",
    "agreement_party_country": "the importing country is a party to the trade agreement",
    "invoice_not_after_departure": "the invoice date is not after the departure date",
    "rebate_in_cny": "an export tax rebate is claimed in renminbi (CNY)",
    "tax_period_format": "a tax period is a month written YYYY-MM",
    "duplicate_declaration_id": "a declaration is claimed once per rebate application",
    # Assessment (core/tariff.py), reported with the same Problem type.
    "tariff_line_missing": "every imported goods item's HS code has a line in the tariff",
}

# Parties to each agreement (ISO 3166-1 alpha-2). Treaty membership is in no code-list library,
# so it is kept here; update it when a country accedes.
AGREEMENT_PARTIES: Mapping[int, frozenset[str]] = {
    # RCEP: the ten ASEAN members, Australia, China, Japan, Korea, New Zealand.
    documents_pb2.AGREEMENT_RCEP: frozenset(
        ["AU", "BN", "CN", "ID", "JP", "KH", "KR", "LA", "MM", "MY", "NZ", "PH", "SG", "TH", "VN"]
    ),
    # China–ASEAN Free Trade Area (certificate Form E).
    documents_pb2.AGREEMENT_CHINA_ASEAN: frozenset(
        ["BN", "CN", "ID", "KH", "LA", "MM", "MY", "PH", "SG", "TH", "VN"]
    ),
}

CHINA = "CN"
CNY = "CNY"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document: where (field path), which rule, why, and the element.

    `validate` and `core.tariff.assess` report only the rules in `RULES`; a service may report its
    own rules (about state the document cannot see) with the same type."""

    field: str
    rule: str
    message: str
    element: str = ""

    def __str__(self) -> str:
        return f"{self.field}: {self.message} [{self.rule}]"


def to_proto(problems: Iterable[Problem]) -> declarations_pb2.ValidationReport:
    return declarations_pb2.ValidationReport(
        errors=[
            declarations_pb2.ValidationError(
                field=p.field, rule=p.rule, message=p.message, element=p.element
            )
            for p in problems
        ]
    )


def refused(problems: Sequence[Problem], *, events: bool = False) -> InvalidArgument:
    """Every problem of a document (or, with `events`, of a report of logistics events), in one
    error: listed in the message for people, and as a ValidationReport in trailing metadata for
    programs."""
    lines = "; ".join(f"{p.field}: {p.message} [{p.rule}]" for p in problems)
    text, field = f"{len(problems)} error(s): {lines}", problems[0].field
    details = ((VALIDATION_KEY, to_proto(problems).SerializeToString()),)
    if events:
        return InvalidArgument("event.invalid", text, field=field, details=details)
    return InvalidArgument("document.invalid", text, field=field, details=details)


def element_of(field: AnyField) -> options_pb2.DataElement:
    """The data element a field carries (an empty one if the field has no option)."""
    return field.GetOptions().Extensions[options_pb2.element]


# -- the walk ----------------------------------------------------------------------------------


def validate(message: Message) -> list[Problem]:
    """Every problem with a document (or any message of documents.proto): the generic checks in
    field order, each message's rules across fields after its own fields. [] means valid."""
    found: list[Problem] = []
    _walk(message, "", found)
    return found


def _walk(message: Message, prefix: str, found: list[Problem]) -> None:
    for field in message.DESCRIPTOR.fields:
        element = element_of(field)
        path = prefix + field.name
        value = getattr(message, field.name)
        if field.is_repeated:
            if element.required and len(value) == 0:
                found.append(_required(path, element, "at least one {} is required"))
            for i, item in enumerate(value):
                if field.message_type is not None:
                    _walk(item, f"{path}[{i}].", found)
                else:  # an element that is there must be a value, required or not
                    found.extend(_check_scalar(field, element, item, f"{path}[{i}]", True))
        elif field.message_type is not None:
            if message.HasField(field.name):
                _walk(value, path + ".", found)
            elif element.required:
                found.append(_required(path, element, "{} is required"))
        else:
            found.extend(_check_scalar(field, element, value, path, element.required))
    for rule in _RULES_BY_TYPE.get(message.DESCRIPTOR.full_name, ()):
        found.extend(rule(message, _At(message, prefix)))


def _required(path: str, element: options_pb2.DataElement, text: str) -> Problem:
    return Problem(path, "required", text.format(element.name or path), element.id)


def _check_scalar(
    field: AnyField, element: options_pb2.DataElement, value: Any, path: str, required: bool
) -> Iterator[Problem]:
    name = element.name or field.name
    if field.enum_type is not None:
        if value == 0 and required:
            yield _required(path, element, "{} is required: choose one of its codes")
        elif value != 0 and value not in field.enum_type.values_by_number:
            yield Problem(
                path, "code_unknown", f"{name}: {value} is not one of its codes", element.id
            )
        return
    if not isinstance(value, str):  # no document has one yet; only `required` applies
        if required and value == field.default_value:
            yield _required(path, element, "{} is required")
        return
    if not value.strip():
        if required:
            yield _required(path, element, "{} is required")
        if required or not value:
            return
    limit = element.max_length or FORMAT_MAX_LENGTH.get(element.format, 0)
    if limit and len(value) > limit:
        text = f"{name}: {len(value)} characters, at most {limit}"
        yield Problem(path, "max_length", text, element.id)
    for rule, text in check_format(element.format, value):
        yield Problem(path, rule, f"{name}: {text}", element.id)


# -- rules across fields -----------------------------------------------------------------------
# Each rule compares only values that passed their own checks (`_country_of` and friends return
# None for a malformed value), so one mistake is one problem.


@dataclass(frozen=True)
class _At:
    """A message inside a document and its path prefix: where a rule's problems point."""

    message: Any
    prefix: str

    def __call__(self, name: str, rule: str, text: str, index: int = -1) -> Problem:
        element = element_of(self.message.DESCRIPTOR.fields_by_name[name])
        path = self.prefix + name + (f"[{index}]" if index >= 0 else "")
        return Problem(path, rule, text, element.id)

    def sub(self, name: str, index: int = -1) -> _At:
        value = getattr(self.message, name)
        if index >= 0:
            return _At(value[index], f"{self.prefix}{name}[{index}].")
        return _At(value, f"{self.prefix}{name}.")

    def value(self, name: str) -> str:
        text: str = getattr(self.message, name)
        return text


M = TypeVar("M", bound=Message)
_Rule = Callable[[Any, _At], Iterable[Problem]]
_RULES_BY_TYPE: dict[str, list[_Rule]] = {}


def _rules_for(
    cls: type[M],
) -> Callable[[Callable[[M, _At], Iterator[Problem]]], Callable[[M, _At], Iterator[Problem]]]:
    def register(
        rule: Callable[[M, _At], Iterator[Problem]],
    ) -> Callable[[M, _At], Iterator[Problem]]:
        _RULES_BY_TYPE.setdefault(cls.DESCRIPTOR.full_name, []).append(rule)
        return rule

    return register


def _country_of(at: _At, name: str) -> str | None:
    """The country of a well-formed country or UN/LOCODE field, else None."""
    value = at.value(name)
    fmt = element_of(at.message.DESCRIPTOR.fields_by_name[name]).format
    if fmt == options_pb2.Format.FORMAT_UNLOCODE:
        return None if check_unlocode(value) else value[:2]
    return value if country_known(value) else None


def _in_china(at: _At, name: str, rule: str, text: str) -> Iterator[Problem]:
    country = _country_of(at, name)
    if country is not None and country != CHINA:
        yield at(name, rule, f"{text}, not {at.value(name)}")


def _ports_differ(at: _At, first: str, second: str) -> Iterator[Problem]:
    if _country_of(at, first) is not None and at.value(first) == at.value(second):
        yield at(second, "ports_differ", f"the same port as {first}: {at.value(first)}")


def _not_before(at: _At, first: str, second: str, rule: str) -> Iterator[Problem]:
    """Date `second` is not before date `first`; reported on `second`."""
    a, b = as_date(at.value(first)), as_date(at.value(second))
    if a is not None and b is not None and b < a:
        yield at(second, rule, f"{b} is before {first} {a}")


def _unique(at: _At, name: str, rule: str) -> Iterator[Problem]:
    seen: set[str] = set()
    for i, value in enumerate(getattr(at.message, name)):
        if value and value in seen:
            yield at(name, rule, f"{value} is given twice", i)
        seen.add(value)


def _whole_number(at: _At, name: str) -> Iterator[Problem]:
    value = decimal_value(at.value(name))
    if value is not None and value != value.to_integral_value():
        yield at(name, "whole_number", f"a count is a whole number, not {value}")


@_rules_for(documents_pb2.Party)
def _party(party: documents_pb2.Party, at: _At) -> Iterator[Problem]:
    if party.country == CHINA and not party.uscc:
        text = "a party in China gives its Unified Social Credit Code"
        yield at("uscc", "uscc_required_in_china", text)


@_rules_for(documents_pb2.GoodsDeclaration)
def _goods_declaration(d: documents_pb2.GoodsDeclaration, at: _At) -> Iterator[Problem]:
    if d.kind == documents_pb2.DECLARATION_KIND_EXPORT:
        yield from _in_china(
            at, "port_of_loading", "export_from_chinese_port", "an export leaves from China"
        )
        yield from _in_china(
            at.sub("consignor"),
            "country",
            "domestic_party_in_china",
            "an export's consignor is in China",
        )
    elif d.kind == documents_pb2.DECLARATION_KIND_IMPORT:
        yield from _in_china(
            at, "port_of_discharge", "import_to_chinese_port", "an import arrives in China"
        )
        yield from _in_china(
            at.sub("consignee"),
            "country",
            "domestic_party_in_china",
            "an import's consignee is in China",
        )
    yield from _ports_differ(at, "port_of_loading", "port_of_discharge")
    yield from _unique(at, "containers", "duplicate_container")
    invoice = d.invoice_currency
    for i, item in enumerate(d.items):
        currency = item.value.currency
        if not check_currency(invoice) and not check_currency(currency) and currency != invoice:
            text = f"valued in the invoice currency {invoice}, not {currency}"
            yield at.sub("items", i).sub("value")(
                "currency", "item_currency_is_invoice_currency", text
            )
    yield from _not_before(
        at, "declaration_date", "movement_date", "movement_not_before_declaration"
    )


@_rules_for(documents_pb2.ConveyanceDeclaration)
def _conveyance(d: documents_pb2.ConveyanceDeclaration, at: _At) -> Iterator[Problem]:
    yield from _in_china(at, "port", "port_of_call_in_china", "the port of call is in China")
    yield from _ports_differ(at, "port", "previous_or_next_port")
    if d.conveyance_kind == documents_pb2.CONVEYANCE_KIND_VESSEL and d.conveyance_id:
        for rule, text in check_imo(d.conveyance_id, "vessel_imo_number", "vessel_imo_number"):
            yield at("conveyance_id", rule, f"a vessel: {text}")
    yield from _whole_number(at, "crew_count")


@_rules_for(documents_pb2.CargoManifest)
def _cargo_manifest(m: documents_pb2.CargoManifest, at: _At) -> Iterator[Problem]:
    yield from _ports_differ(at, "port_of_loading", "port_of_discharge")
    seen: set[str] = set()
    for i, bill in enumerate(m.bills):
        if bill.number and bill.number in seen:
            text = f"{bill.number} is given twice in the manifest"
            yield at.sub("bills", i)("number", "duplicate_bill_of_lading", text)
        seen.add(bill.number)


@_rules_for(documents_pb2.BillOfLading)
def _bill_of_lading(b: documents_pb2.BillOfLading, at: _At) -> Iterator[Problem]:
    yield from _whole_number(at, "packages")
    yield from _unique(at, "containers", "duplicate_container")


@_rules_for(documents_pb2.LicenceApplication)
def _licence(d: documents_pb2.LicenceApplication, at: _At) -> Iterator[Problem]:
    yield from _not_before(at, "valid_from", "valid_to", "valid_from_not_after_valid_to")
    if d.trading_country == CHINA:
        text = "the country the goods come from or go to, not China"
        yield at("trading_country", "trading_country_not_china", text)


@_rules_for(documents_pb2.QualificationFiling)
def _qualification(d: documents_pb2.QualificationFiling, at: _At) -> Iterator[Problem]:
    yield from _not_before(at, "valid_from", "valid_to", "valid_from_not_after_valid_to")


def _leaving_china(at: _At) -> Iterator[Problem]:
    """The parties of a certificate application (of origin, phytosanitary): the exporter in
    China, the importer in the importing country, and that country not China."""
    yield from _in_china(
        at.sub("exporter"), "country", "exporter_in_china", "the exporter is in China"
    )
    importing = _country_of(at, "importing_country")
    importer = _country_of(at.sub("importer"), "country")
    if importing is not None and importer is not None and importer != importing:
        text = f"in the importing country {importing}, not {importer}"
        yield at.sub("importer")("country", "importer_in_importing_country", text)
    if importing == CHINA:
        text = "the goods leave China for another country"
        yield at("importing_country", "importing_country_not_china", text)


def _from_chinese_port(at: _At) -> Iterator[Problem]:
    yield from _in_china(
        at, "port_of_loading", "export_from_chinese_port", "the goods leave from China"
    )


@_rules_for(documents_pb2.CertificateOfOriginApplication)
def _origin(d: documents_pb2.CertificateOfOriginApplication, at: _At) -> Iterator[Problem]:
    yield from _leaving_china(at)
    importing = _country_of(at, "importing_country")
    parties = AGREEMENT_PARTIES.get(d.agreement)
    if importing not in (None, CHINA) and parties is not None and importing not in parties:
        agreement = documents_pb2.Agreement.Name(d.agreement).removeprefix("AGREEMENT_")
        text = f"{importing} is not a party to {agreement}"
        yield at("importing_country", "agreement_party_country", text)
    yield from _from_chinese_port(at)
    invoice, departure = as_date(d.invoice_date), as_date(d.departure_date)
    if invoice is not None and departure is not None and invoice > departure:
        text = f"{invoice} is after departure_date {departure}"
        yield at("invoice_date", "invoice_not_after_departure", text)


@_rules_for(documents_pb2.PhytosanitaryCertificateApplication)
def _phyto(d: documents_pb2.PhytosanitaryCertificateApplication, at: _At) -> Iterator[Problem]:
    yield from _leaving_china(at)
    yield from _from_chinese_port(at)


@_rules_for(documents_pb2.ExportTaxRebateApplication)
def _tax_rebate(d: documents_pb2.ExportTaxRebateApplication, at: _At) -> Iterator[Problem]:
    currency = d.rebate_amount.currency
    if not check_currency(currency) and currency != CNY:
        text = f"a rebate is claimed in renminbi (CNY), not {currency}"
        yield at.sub("rebate_amount")("currency", "rebate_in_cny", text)
    if d.tax_period and not TAX_PERIOD.fullmatch(d.tax_period):
        text = f"{show(d.tax_period)} is not a month written YYYY-MM (2025-03)"
        yield at("tax_period", "tax_period_format", text)
    yield from _unique(at, "declaration_ids", "duplicate_declaration_id")
