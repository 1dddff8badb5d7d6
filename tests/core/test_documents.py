"""The document type registry (core/documents.py): type names, message classes, JSON, and the
`Document` wrapper, all read from the protos."""

from __future__ import annotations

import pytest
from google.protobuf.message import Message

from core.documents import (
    document_types,
    message_class,
    parse_json,
    to_json,
    type_name_of,
    unwrap,
    wrap,
)
from core.errors import InvalidArgument
from swf.v1 import declarations_pb2, documents_pb2

TYPES = [
    "goods_declaration",
    "conveyance_declaration",
    "cargo_manifest",
    "licence_application",
    "certificate_of_origin_application",
    "qualification_filing",
    "duty_payment",
    "export_tax_rebate_application",
    "phytosanitary_certificate_application",
]


def test_the_types_are_the_arms_of_document_in_order() -> None:
    infos = document_types()
    assert [i.name for i in infos] == TYPES
    assert all(i.title for i in infos)
    by_name = {i.name: i for i in infos}
    assert by_name["goods_declaration"].message_class is documents_pb2.GoodsDeclaration
    assert by_name["goods_declaration"].title == "Goods declaration (import or export)"
    assert by_name["duty_payment"].descriptor.full_name == "swf.v1.DutyPayment"


def test_message_class() -> None:
    assert message_class("cargo_manifest") is documents_pb2.CargoManifest


def test_an_unknown_type_names_the_field_and_lists_the_known_ones() -> None:
    with pytest.raises(InvalidArgument) as refused:
        message_class("invoice")
    assert refused.value.reason == "document.unknown_type"
    assert refused.value.field == "type"
    assert refused.value.message.startswith("type: 'invoice' is not a document type")
    assert all(t in refused.value.message for t in TYPES)


def test_parse_json_takes_proto_and_json_field_names() -> None:
    text = """{"kind": "DECLARATION_KIND_EXPORT", "declarantUscc": "91440300MA5G1234XY",
               "port_of_loading": "CNYTN", "items": [{"hs_code": "847130",
               "value": {"amount": "1.00", "currency": "USD"}}]}"""
    message = parse_json("goods_declaration", text)
    assert isinstance(message, documents_pb2.GoodsDeclaration)
    assert message.kind == documents_pb2.DECLARATION_KIND_EXPORT
    assert message.declarant_uscc == "91440300MA5G1234XY"
    assert message.items[0].value.amount == "1.00"
    assert parse_json("goods_declaration", text.encode()) == message


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"kind": "DECLARATION_KIND_EXPORT", "colour": "red"}', "colour"),
        ('{"consignor": {"name": "A", "vat": "1"}}', "vat"),
        ('{"kind": "EXPORT"}', "EXPORT"),
        ('{"items": [{"hs_code": 847130}]}', "Failed to parse hs_code field"),
        ('{"kind": 1, "kind": 2}', "duplicate key 'kind'"),
        ('{"kind": "DECLARATION_KIND_EXPORT",', "not valid JSON"),
        ("[]", "a goods_declaration is a JSON object, not list"),
        ("null", "not NoneType"),
        ("", "not valid JSON"),
        (b"\xff\xfe{", "not valid JSON"),
    ],
)
def test_bad_json_is_refused_clearly(text: str | bytes, says: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        parse_json("goods_declaration", text)
    assert refused.value.reason == "document.bad_json"
    assert refused.value.field == "document"
    assert says in refused.value.message
    assert "\n" not in refused.value.message


def test_parse_json_of_an_unknown_type() -> None:
    with pytest.raises(InvalidArgument) as refused:
        parse_json("invoice", "{}")
    assert (refused.value.reason, refused.value.field) == ("document.unknown_type", "type")


@pytest.mark.parametrize("type_name", TYPES)
def test_wrap_and_unwrap_round_trip(type_name: str) -> None:
    message = message_class(type_name)()
    first = message.DESCRIPTOR.fields[0]
    if first.message_type is None and first.enum_type is None and not first.is_repeated:
        setattr(message, first.name, "x")
    document = wrap(message)
    assert isinstance(document, declarations_pb2.Document)
    assert document.WhichOneof("body") == type_name
    name, inner = unwrap(document)
    assert (name, inner) == (type_name, message)
    assert type_name_of(message) == type_name


def test_unwrap_an_empty_document() -> None:
    with pytest.raises(InvalidArgument) as refused:
        unwrap(declarations_pb2.Document())
    assert (refused.value.reason, refused.value.field) == ("document.empty", "document")


def test_wrap_refuses_a_message_that_is_no_document() -> None:
    not_a_document: Message = documents_pb2.Party(name="x")
    with pytest.raises(InvalidArgument) as refused:
        wrap(not_a_document)
    assert refused.value.reason == "document.unknown_type"
    assert "swf.v1.Party" in refused.value.message


def test_to_json_is_read_back_by_parse_json() -> None:
    message = documents_pb2.DutyPayment(
        declaration_id="0195d0a4-7c1e-7b3a-9f2d-5e8c41a06b17",
        amount=documents_pb2.Money(amount="45980.16", currency="USD"),
    )
    text = to_json(message)
    assert '"declaration_id"' in text and text.endswith("\n")
    assert parse_json("duty_payment", text) == message
