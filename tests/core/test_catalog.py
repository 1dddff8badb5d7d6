"""The data element catalog (core/catalog.py), generated from the protos, and `swnode catalog`
(node/operator/catalog.py). The protos must agree with themselves: one id, one meaning."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from google.protobuf import descriptor_pool

from core.catalog import FieldUse, build_catalog, catalog_to_dict, code_names, merge_uses
from core.documents import document_types
from node.operator import catalog as catalog_cli
from swf.v1 import documents_pb2, options_pb2

F = options_pb2.Format


def test_the_catalog_is_consistent() -> None:
    catalog = build_catalog()
    assert catalog.errors == ()


def test_every_field_of_every_document_is_in_the_catalog() -> None:
    catalog = build_catalog()
    assert [d.name for d in catalog.documents] == [i.name for i in document_types()]
    ids = [e.id for e in catalog.elements]
    assert ids == sorted(set(ids))
    for document in catalog.documents:
        for field in document.fields:
            element = catalog.element(field.element)
            assert element is not None
            assert (document.name, field.path) in {(u.document_type, u.path) for u in element.uses}
    goods = next(d for d in catalog.documents if d.name == "goods_declaration")
    assert goods.title == "Goods declaration (import or export)"
    assert goods.message == "swf.v1.GoodsDeclaration"
    assert [f.path for f in goods.fields][:4] == [
        "kind",
        "declarant_uscc",
        "consignor",
        "consignor.uscc",
    ]
    assert "items[].quantity.value" in [f.path for f in goods.fields]


def test_an_element_lists_its_attributes_and_uses() -> None:
    catalog = build_catalog()
    hs = catalog.element("SW0021")
    assert hs is not None
    assert (hs.name, hs.tded, hs.format, hs.max_length, hs.required) == (
        "Commodity code (HS)",
        "7357",
        "hs_code",
        0,
        True,
    )
    assert [(u.document_type, u.path) for u in hs.uses] == [
        ("goods_declaration", "items[].hs_code"),
        ("licence_application", "goods.hs_code"),
        ("certificate_of_origin_application", "items[].hs_code"),
        ("phytosanitary_certificate_application", "items[].hs_code"),
    ]
    assert hs.document_types == (
        "goods_declaration",
        "licence_application",
        "certificate_of_origin_application",
        "phytosanitary_certificate_application",
    )
    reference = catalog.element("SW0202")
    assert reference is not None
    assert reference.description.startswith("IMO number for a vessel")


def test_every_element_and_document_type_has_a_chinese_name() -> None:
    catalog = build_catalog()
    assert [e.id for e in catalog.elements if not e.name_zh] == []
    assert [d.name for d in catalog.documents if not d.title_zh] == []
    assert [i.name for i in document_types() if not i.title_zh] == []
    uscc, hs = catalog.element("SW0001"), catalog.element("SW0021")
    assert uscc is not None and uscc.name_zh == "统一社会信用代码"
    assert hs is not None and hs.name_zh == "商品编号（HS）"
    goods = next(d for d in catalog.documents if d.name == "goods_declaration")
    assert goods.title_zh == "进出口货物报关单"


def test_every_code_has_a_name_in_both_languages() -> None:
    enums = {
        field.enum_type.full_name: field.enum_type
        for info in document_types()
        for field in _all_fields(info.descriptor)
        if field.enum_type is not None
    }
    assert len(enums) >= 9
    for enum in enums.values():
        for _number, code, name, name_zh in code_names(enum):
            assert name and name_zh, f"{enum.full_name} {code}"
    assert code_names(documents_pb2.DeclarationKind.DESCRIPTOR) == (
        (1, "IMPORT", "Import", "进口"),
        (2, "EXPORT", "Export", "出口"),
    )


def test_two_chinese_names_for_one_id_are_a_catalog_error() -> None:
    other = options_pb2.DataElement(
        id="SW0104", name="Port of loading", tded="3225", format=F.FORMAT_UNLOCODE
    )
    _, errors = merge_uses([_use("a"), replace(_use("b"), element=other)])
    assert errors == (
        "element SW0104: name_zh '装货港' at goods_declaration a, but '' at goods_declaration b",
    )


def test_code_lists_are_the_enum_values_without_their_prefix() -> None:
    catalog = build_catalog()
    kind, unit = catalog.element("SW0100"), catalog.element("SW0013")
    assert kind is not None and unit is not None
    assert (kind.format, kind.code_list) == ("code", ("IMPORT", "EXPORT"))
    assert unit.code_list[:3] == ("KGM", "TNE", "PCE")
    text = catalog.element("SW0002")
    assert text is not None and text.code_list == ()


# One element of each kind: its value type, format, and the line `swnode catalog` prints for it.
KINDS = [
    ("SW0002", "string", "text", "type string, format text, TDED 3036, max 200, required"),
    (
        "SW0010",
        "string",
        "decimal",
        "type string, format decimal, TDED 5004, required in some uses",
    ),
    ("SW0111", "string", "date", "type string, format date, TDED 2380, required"),
    (
        "SW0100",
        "swf.v1.DeclarationKind",
        "code",
        "type swf.v1.DeclarationKind, format code, TDED 1001, required",
    ),
    ("SW0102", "swf.v1.Party", "group", "type swf.v1.Party, format group, required"),
]


@pytest.mark.parametrize(("element_id", "value_type", "fmt", "line"), KINDS)
def test_an_element_shows_its_value_type(
    element_id: str, value_type: str, fmt: str, line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    element = build_catalog().element(element_id)
    assert element is not None
    assert (element.type, element.format) == (value_type, fmt)
    assert _run(["--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    shown = next(e for e in data["elements"] if e["id"] == element_id)
    assert (shown["type"], shown["format"]) == (value_type, fmt)
    assert _run([]) == 0
    shown_line = f"{element_id}  {element.name} / {element.name_zh}\n        {line}\n"
    assert shown_line in capsys.readouterr().out


def test_every_value_type_is_string_or_the_enum_or_message_of_its_format() -> None:
    pool = descriptor_pool.Default()
    for element in build_catalog().elements:
        if element.format == "code":
            assert pool.FindEnumTypeByName(element.type).full_name == element.type
        elif element.format == "group":
            assert pool.FindMessageTypeByName(element.type).full_name == element.type
        else:
            assert element.type == "string", element.id


def test_a_use_is_required_only_inside_required_groups() -> None:
    catalog = build_catalog()
    amount = catalog.element("SW0010")
    assert amount is not None
    required = {(u.document_type, u.path): u.required for u in amount.uses}
    assert required[("goods_declaration", "items[].value.amount")] is True
    assert required[("qualification_filing", "registered_capital.amount")] is False
    assert amount.required is False
    uscc = catalog.element("SW0001")
    assert uscc is not None and not any(u.required for u in uscc.uses)


def _use(
    path: str,
    *,
    name: str = "Port of loading",
    fmt: options_pb2.Format.ValueType = F.FORMAT_UNLOCODE,
    description: str = "",
    value_type: str = "string",
) -> FieldUse:
    element = options_pb2.DataElement(
        id="SW0104",
        name=name,
        name_zh="装货港",
        tded="3225",
        format=fmt,
        description=description,
        description_zh=f"{description}（中文）" if description else "",
    )
    return FieldUse(
        document_type="goods_declaration",
        path=path,
        required=True,
        element=element,
        value_type=value_type,
    )


def test_one_id_with_two_names_or_formats_is_a_catalog_error() -> None:
    elements, errors = merge_uses(
        [
            _use("port_of_loading"),
            _use("port_of_discharge", name="Port of discharge"),
            _use("port_of_entry", fmt=F.FORMAT_TEXT),
        ]
    )
    assert len(elements) == 1 and len(elements[0].uses) == 3
    assert errors == (
        "element SW0104: name 'Port of loading' at goods_declaration port_of_loading, but "
        "'Port of discharge' at goods_declaration port_of_discharge",
        "element SW0104: format 'unlocode' at goods_declaration port_of_loading, but 'text' at "
        "goods_declaration port_of_entry",
    )


def test_one_id_with_two_value_types_is_a_catalog_error() -> None:
    _, errors = merge_uses([_use("a"), _use("b", value_type="swf.v1.Party")])
    assert errors == (
        "element SW0104: type 'string' at goods_declaration a, but 'swf.v1.Party' at "
        "goods_declaration b",
    )


def test_two_different_descriptions_are_a_catalog_error_one_is_not() -> None:
    _, errors = merge_uses([_use("a", description="one"), _use("b")])
    assert errors == ()
    _, errors = merge_uses([_use("a", description="one"), _use("b", description="two")])
    assert errors == (
        "element SW0104: different descriptions: ['one', 'two']",
        "element SW0104: different Chinese descriptions: ['one（中文）', 'two（中文）']",
    )


def test_a_description_in_one_language_only_is_a_catalog_error() -> None:
    english_only = replace(
        _use("a"),
        element=options_pb2.DataElement(
            id="SW0104",
            name="Port of loading",
            name_zh="装货港",
            tded="3225",
            format=F.FORMAT_UNLOCODE,
            description="one",
        ),
    )
    _, errors = merge_uses([english_only])
    assert errors == ("element SW0104: a description needs both description and description_zh",)
    reference = build_catalog().element("SW0202")
    assert reference is not None and reference.description_zh.startswith("船舶填 IMO 编号")


def test_catalog_to_dict_is_json() -> None:
    data = catalog_to_dict(build_catalog())
    assert set(data) == {"documents", "elements", "errors"}
    element = next(e for e in data["elements"] if e["id"] == "SW0100")
    assert element == {
        "id": "SW0100",
        "name": "Declaration kind",
        "name_zh": "进出口类别",
        "tded": "1001",
        "type": "swf.v1.DeclarationKind",
        "format": "code",
        "required": True,
        "max_length": 0,
        "description": "",
        "description_zh": "",
        "code_list": ["IMPORT", "EXPORT"],
        "code_names": [
            {"name": "Import", "name_zh": "进口"},
            {"name": "Export", "name_zh": "出口"},
        ],
        "document_types": ["goods_declaration"],
        "uses": [{"document_type": "goods_declaration", "path": "kind", "required": True}],
    }
    json.dumps(data)


def _all_fields(message: Any, seen: frozenset[str] = frozenset()) -> Iterator[Any]:
    """Every field of a message and of the messages inside it."""
    for field in message.fields:
        yield field
        nested = field.message_type
        if nested is not None and nested.full_name not in seen:
            yield from _all_fields(nested, seen | {message.full_name})


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="swnode catalog")
    catalog_cli.add_arguments(parser)
    return catalog_cli.main(parser.parse_args(argv))


def test_swnode_catalog_prints_every_element(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run([]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith(f"Data element catalog: {len(build_catalog().elements)} elements in 9 ")
    assert (
        "SW0101  Declarant USCC / 申报单位统一社会信用代码\n"
        "        type string, format uscc, TDED 3039, required\n" in out
    )
    assert "codes:\n          IMPORT  Import / 进口\n          EXPORT  Export / 出口\n" in out
    assert "goods_declaration: Goods declaration (import or export) / 进出口货物报关单" in out


def test_swnode_catalog_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == catalog_to_dict(build_catalog())
    assert documents_pb2.GoodsDeclaration.DESCRIPTOR.full_name in [
        d["message"] for d in data["documents"]
    ]


def test_swnode_catalog_fails_on_catalog_errors(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = replace(build_catalog(), errors=("element SW0104: name 'a' at x, but 'b' at y",))
    monkeypatch.setattr(catalog_cli, "build_catalog", lambda: broken)
    assert _run([]) == 1
    out, err = capsys.readouterr()
    assert out.endswith("1 catalog error(s):\n  element SW0104: name 'a' at x, but 'b' at y\n")
    assert err == "swnode catalog: element SW0104: name 'a' at x, but 'b' at y\n"
