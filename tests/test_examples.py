"""examples/<type>.json: one valid, realistic document of every type, in protobuf's JSON mapping.

A file is named after its document type, optionally with a suffix (`goods_declaration_import`).
Every example parses (core.documents.parse_json) and validates without a single problem; the goods
it names are in the sample tariff, and the duty payment pays exactly what the import was assessed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from google.protobuf.message import Message

from core.documents import document_types, parse_json
from core.tariff import Tariff, assess, parse_tariff
from core.validation import validate
from swf.v1 import documents_pb2

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SAMPLE_TARIFF = ROOT / "services" / "tariff_sample.csv"
TYPES = [info.name for info in document_types()]


def example_type(name: str) -> str:
    """The document type of an example file's stem: the longest type name it is or begins."""
    matches = [t for t in TYPES if name == t or name.startswith(t + "_")]
    assert matches, f"examples/{name}.json is named after no document type"
    return max(matches, key=len)


def load_example(name: str) -> Any:
    """The example `examples/<name>.json`, parsed (typed Any so tests may change any field)."""
    text = (EXAMPLES / f"{name}.json").read_text(encoding="utf-8")
    return parse_json(example_type(name), text)


def sample_tariff() -> Tariff:
    return parse_tariff(SAMPLE_TARIFF.read_text(encoding="utf-8"))


EXAMPLE_NAMES = sorted(p.stem for p in EXAMPLES.glob("*.json"))


def test_every_document_type_has_an_example() -> None:
    assert [t for t in TYPES if t not in EXAMPLE_NAMES] == []
    assert "goods_declaration_import" in EXAMPLE_NAMES


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_every_example_is_valid(name: str) -> None:
    message: Message = load_example(name)
    assert validate(message) == []


def test_the_goods_declaration_is_an_export_from_shenzhen() -> None:
    declaration: documents_pb2.GoodsDeclaration = load_example("goods_declaration")
    assert declaration.kind == documents_pb2.DECLARATION_KIND_EXPORT
    assert declaration.declarant_uscc == "91440300MA5G1234XY"
    assert declaration.declarant_uscc[2:4] == "44"  # registered in Guangdong
    assert declaration.port_of_loading.startswith("CN")


def test_every_goods_item_is_in_the_sample_tariff() -> None:
    tariff = sample_tariff()

    def in_tariff(hs_code: str) -> bool:
        # A 6-digit code on a certificate of origin is in the tariff when a line begins with it.
        return tariff.line_for(hs_code) is not None or any(
            code.startswith(hs_code) for code in tariff.lines
        )

    codes = []
    for name in EXAMPLE_NAMES:
        message = load_example(name)
        for field in ("items", "goods"):
            descriptor = message.DESCRIPTOR.fields_by_name.get(field)
            if descriptor is not None:
                value = getattr(message, field)
                codes += [i.hs_code for i in value] if descriptor.is_repeated else [value.hs_code]
    assert len(codes) >= 5
    assert [c for c in codes if not in_tariff(c)] == []


def test_the_import_owes_duty_and_the_payment_pays_it() -> None:
    assessment = assess(load_example("goods_declaration_import"), sample_tariff())
    assert assessment.duty > 0 and assessment.vat > 0
    payment: documents_pb2.DutyPayment = load_example("duty_payment")
    assert (payment.amount.amount, payment.amount.currency) == (
        f"{assessment.total:f}",
        assessment.currency,
    )
