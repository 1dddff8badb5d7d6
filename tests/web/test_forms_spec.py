"""The form of each document type comes from its proto message and the catalog alone: a field
for every data element, labelled in the locale, with the element's required flag, its format as
a hint, and code lists, countries and currencies as selects."""

from __future__ import annotations

from collections.abc import Iterator

import pycountry
import pytest

from core.catalog import build_catalog
from core.errors import InvalidArgument
from core.formats import check_format
from node.web.forms import FieldSpec, FormSpec, field_id, form_spec, locale_of
from node.web.forms.spec import HINTS
from swf.v1 import documents_pb2, options_pb2
from tests.web.forms_html import DOCUMENT_TYPES

F = options_pb2.Format


def walk(fields: tuple[FieldSpec, ...], prefix: str = "") -> Iterator[tuple[str, FieldSpec]]:
    """(catalog path, field) for every field, as core/catalog.py writes paths."""
    for f in fields:
        path = prefix + f.name + ("[]" if f.repeated else "")
        yield path, f
        yield from walk(f.fields, path + ".")


def test_there_are_nine_document_types() -> None:
    assert len(DOCUMENT_TYPES) == 9


@pytest.mark.parametrize("document_type", DOCUMENT_TYPES)
@pytest.mark.parametrize("locale", ["en", "zh"])
def test_every_element_of_a_document_is_a_field_labelled_in_the_locale(
    document_type: str, locale: str
) -> None:
    spec = form_spec(document_type, locale)
    catalog = build_catalog()
    document = next(d for d in catalog.documents if d.name == document_type)
    fields = dict(walk(spec.fields))
    assert list(fields) == [f.path for f in document.fields]
    for use in document.fields:
        element = catalog.element(use.element)
        assert element is not None
        field = fields[use.path]
        assert field.element == element.id
        assert field.label == (element.name_zh if locale == "zh" else element.name)
        assert field.label
        assert field.format == element.format
    assert spec.title == (document.title_zh if locale == "zh" else document.title)


def test_the_goods_declaration_in_both_languages() -> None:
    en, zh = form_spec("goods_declaration", "en"), form_spec("goods_declaration", "zh-CN")
    assert (en.title, zh.title) == ("Goods declaration (import or export)", "进出口货物报关单")
    pairs = {
        name: (en.find(name), zh.find(name))
        for name in ("declarant_uscc", "items.0.hs_code", "containers", "invoice_currency")
    }
    labels = {name: (a.label, b.label) for name, (a, b) in pairs.items() if a and b}
    assert labels == {
        "declarant_uscc": ("Declarant USCC", "申报单位统一社会信用代码"),
        "items.0.hs_code": ("Commodity code (HS)", "商品编号（HS）"),
        "containers": ("Container number", "集装箱号"),
        "invoice_currency": ("Invoice currency", "发票币制"),
    }
    assert zh.find("consignor.uscc") is not None
    assert zh.find("declaration_date") is not None
    assert zh.find("items.0.origin_country") is not None


def _field(spec: FormSpec, name: str) -> FieldSpec:
    found = spec.find(name)
    assert found is not None, name
    return found


def test_formats_give_hints_widgets_and_limits() -> None:
    spec = form_spec("goods_declaration")
    uscc = _field(spec, "declarant_uscc")
    assert (uscc.widget, uscc.required, uscc.hint) == (
        "text",
        True,
        "18 characters (GB 32100), the last one a check character",
    )
    assert _field(spec, "declaration_date").hint.startswith("YYYY-MM-DD")
    assert _field(spec, "items.0.hs_code").hint.startswith("6 digits")
    assert _field(spec, "containers.0").hint.startswith("ISO 6346")
    assert _field(spec, "port_of_loading").hint.startswith("UN/LOCODE")
    assert _field(spec, "items.0.value.amount").hint.startswith("A number")
    bill = _field(spec, "bill_of_lading")
    assert (bill.required, bill.max_length, bill.length_hint) == (False, 35, 35)
    description = _field(spec, "items.0.description")
    assert (description.widget, description.max_length) == ("textarea", 512)
    assert _field(spec, "consignor.name").widget == "text"
    email = _field(form_spec("qualification_filing"), "contact_email")
    assert (email.widget, email.hint) == ("email", "An e-mail address, e.g. name@example.cn")


def test_an_elements_description_is_shown_in_the_locale() -> None:
    en, zh = form_spec("conveyance_declaration", "en"), form_spec("conveyance_declaration", "zh")
    assert _field(en, "conveyance_id").description.startswith("IMO number for a vessel")
    assert _field(zh, "conveyance_id").description.startswith("船舶填 IMO 编号")
    assert _field(zh, "port").description == ""


def test_groups_and_repeated_groups() -> None:
    spec = form_spec("goods_declaration")
    items, containers, consignor = (_field(spec, n) for n in ("items", "containers", "consignor"))
    assert (items.is_group, items.repeated, items.required) == (True, True, True)
    assert [f.name for f in items.fields] == [
        "hs_code",
        "description",
        "quantity",
        "value",
        "origin_country",
        "net_weight_kg",
    ]
    assert (containers.is_group, containers.repeated, containers.required) == (False, True, False)
    assert (consignor.is_group, consignor.repeated) == (True, False)
    manifest = form_spec("cargo_manifest")
    assert _field(manifest, "bills.0.containers.3").format == "container"


@pytest.mark.parametrize("document_type", DOCUMENT_TYPES)
def test_code_lists_are_selects_of_the_enum_values_without_unspecified(
    document_type: str,
) -> None:
    for locale in ("en", "zh"):
        for _path, field in walk(form_spec(document_type, locale).fields):
            if field.format != "code":
                continue
            assert field.widget == "select"
            assert field.options
            assert all("UNSPECIFIED" not in o.value for o in field.options)
            assert all(o.label and o.label != o.value for o in field.options)


def test_a_code_list_offers_each_code_with_its_name() -> None:
    kind = _field(form_spec("goods_declaration", "zh"), "kind")
    assert [(o.value, o.label) for o in kind.options] == [("IMPORT", "进口"), ("EXPORT", "出口")]
    unit = _field(form_spec("goods_declaration", "en"), "items.0.quantity.unit")
    codes = [v.name.removeprefix("UNIT_") for v in documents_pb2.Unit.DESCRIPTOR.values][1:]
    assert [o.value for o in unit.options] == codes
    assert unit.options[0].label == "Kilogram"


def test_countries_and_currencies_are_selects_of_iso_codes_named_in_the_locale() -> None:
    en, zh = form_spec("goods_declaration", "en"), form_spec("goods_declaration", "zh")
    for spec in (en, zh):
        country = _field(spec, "consignor.country")
        assert country.widget == "select"
        assert {o.value for o in country.options} == {c.alpha_2 for c in pycountry.countries}
        currency = _field(spec, "invoice_currency")
        assert {o.value for o in currency.options} == {c.alpha_3 for c in pycountry.currencies}
    zh_country = {o.value: o.label for o in _field(zh, "consignor.country").options}
    en_country = {o.value: o.label for o in _field(en, "consignor.country").options}
    assert (zh_country["CN"], zh_country["SG"]) == ("中国 (CN)", "新加坡 (SG)")
    assert (en_country["CN"], en_country["SG"]) == ("China (CN)", "Singapore (SG)")
    zh_currency = {o.value: o.label for o in _field(zh, "invoice_currency").options}
    assert zh_currency["CNY"] == "CNY 人民币元"


def test_names_ids_and_locales() -> None:
    assert field_id("items.0.quantity.unit") == "f-items-0-quantity-unit"
    assert [locale_of(t) for t in ("zh", "zh-CN", "zh_Hans_CN", "ZH-tw", "en-GB", "fr", "")] == [
        "zh",
        "zh",
        "zh",
        "zh",
        "en",
        "en",
        "en",
    ]
    spec = form_spec("goods_declaration")
    assert spec.find("items.0.nothing") is None
    assert spec.find("nothing") is None
    assert spec.find("kind.0") is None


def test_an_unknown_document_type_is_refused_as_the_api_refuses_it() -> None:
    with pytest.raises(InvalidArgument) as caught:
        form_spec("goods_declaratio")
    assert (caught.value.reason, caught.value.field) == ("document.unknown_type", "type")


def test_every_typed_format_has_a_hint_and_its_example_is_valid() -> None:
    """A new Format needs a hint; an example in a hint passes the API's own check."""
    selects = {F.FORMAT_COUNTRY, F.FORMAT_CURRENCY, F.FORMAT_CODE, F.FORMAT_GROUP}
    typed = set(F.values()) - selects - {F.FORMAT_UNSPECIFIED, F.FORMAT_TEXT}
    assert typed == set(HINTS)
    for fmt, hint in HINTS.items():
        example = hint.rpartition("e.g. ")[2]
        if example != hint:
            assert check_format(fmt, example) == [], (hint, example)
