"""The agency simulator's rules (services/simulator.py): what it decides for which work, which
work it takes up, and that the same work always gets the same answer."""

from __future__ import annotations

from typing import Any

import pytest

from core.declaration_status import Review
from services.agencies import AGENCIES, DEFAULT_ROUTES
from services.simulator import actor, acts_on, decide
from storage.declarations import WorkRow
from swf.v1 import declarations_pb2 as dpb
from swf.v1 import documents_pb2 as docs
from tests.declarations_client import EXAMPLES, example
from tests.test_examples import example_type

ACCEPT = (dpb.DECISION_ACCEPT, "")
INSPECT = (dpb.DECISION_REQUIRE_INSPECTION, "agricultural or food goods: inspection required")
RELEASE = (dpb.DECISION_RELEASE, "inspected: conforms")
ASK_BILL = (dpb.DECISION_REQUEST_INFORMATION, "bill_of_lading: required for goods by sea")

STEMS = sorted(p.stem for p in EXAMPLES.glob("*.json"))
# The examples whose goods are food, animals or plants (HS chapters 01-24): beef and wine in the
# import, lychees in the phytosanitary certificate application.
AGRI_FOOD_EXAMPLES = {"goods_declaration_import", "phytosanitary_certificate_application"}


def _example(stem: str) -> dpb.Document:
    return example(example_type(stem), stem)


def _goods(**fields: Any) -> dpb.Document:
    """The example export (electronics, by sea with a bill of lading), with `fields` changed."""
    document = _example("goods_declaration")
    goods = document.goods_declaration
    for name, value in fields.items():
        if name == "hs_codes":
            for item, code in zip(goods.items, value, strict=True):
                item.hs_code = code
        else:
            setattr(goods, name, value)
    return document


@pytest.mark.parametrize(
    ("stem", "agency"),
    [(stem, agency) for stem in STEMS for agency in DEFAULT_ROUTES[example_type(stem)]],
)
def test_each_example_at_each_of_its_agencies(stem: str, agency: str) -> None:
    expected = INSPECT if stem in AGRI_FOOD_EXAMPLES and agency == "inspection" else ACCEPT
    assert decide(agency, Review.CLAIMED, _example(stem)) == expected


@pytest.mark.parametrize("agency", sorted(AGENCIES))
@pytest.mark.parametrize("stem", STEMS)
def test_goods_held_for_inspection_are_released(agency: str, stem: str) -> None:
    assert decide(agency, Review.INSPECTION, _example(stem)) == RELEASE


@pytest.mark.parametrize(
    ("hs_codes", "expected"),
    [
        (["0102290000", "8517130000"], INSPECT),  # live cattle: chapter 01
        (["8471300000", "2402200000"], INSPECT),  # cigarettes: chapter 24, any item
        (["2501001100", "8517130000"], ACCEPT),  # salt: chapter 25
        (["9999999999", "8471300000"], ACCEPT),
        (["XX01000000", "8471300000"], ACCEPT),  # no chapter to read
    ],
)
def test_inspection_depends_on_the_hs_chapter(
    hs_codes: list[str], expected: tuple[int, str]
) -> None:
    assert decide("inspection", Review.OPEN, _goods(hs_codes=hs_codes)) == expected
    assert decide("customs", Review.OPEN, _goods(hs_codes=hs_codes)) == ACCEPT


def test_food_in_a_licence_or_certificate_of_origin_is_inspected_too() -> None:
    licence = _example("licence_application")
    licence.licence_application.goods.hs_code = "0201300000"
    origin = _example("certificate_of_origin_application")
    origin.certificate_of_origin_application.items[0].hs_code = "080810"
    assert decide("inspection", Review.OPEN, licence) == INSPECT
    assert decide("inspection", Review.OPEN, origin) == INSPECT
    assert decide("commerce", Review.OPEN, licence) == ACCEPT


@pytest.mark.parametrize(
    ("mode", "bill", "agency", "expected"),
    [
        (docs.TRANSPORT_MODE_SEA, "", "customs", ASK_BILL),
        (docs.TRANSPORT_MODE_SEA, "COSU6381234560", "customs", ACCEPT),
        (docs.TRANSPORT_MODE_AIR, "", "customs", ACCEPT),
        (docs.TRANSPORT_MODE_SEA, "", "inspection", ACCEPT),
    ],
)
def test_customs_asks_for_the_bill_of_lading_of_goods_by_sea(
    mode: int, bill: str, agency: str, expected: tuple[int, str]
) -> None:
    document = _goods(transport_mode=mode, bill_of_lading=bill)
    assert decide(agency, Review.CLAIMED, document) == expected


def test_food_by_sea_without_a_bill_is_inspected_and_asked_for_its_bill() -> None:
    document = _goods(transport_mode=docs.TRANSPORT_MODE_SEA, bill_of_lading="")
    document.goods_declaration.items[0].hs_code = "0202300090"
    assert decide("inspection", Review.OPEN, document) == INSPECT
    assert decide("customs", Review.OPEN, document) == ASK_BILL


def test_the_same_work_always_gets_the_same_decision_and_the_document_is_untouched() -> None:
    cases = [
        (agency, review, stem)
        for stem in STEMS
        for agency in sorted(AGENCIES)
        for review in (Review.OPEN, Review.CLAIMED, Review.INSPECTION)
    ]
    documents = {stem: _example(stem) for stem in STEMS}
    before = {stem: d.SerializeToString(deterministic=True) for stem, d in documents.items()}
    first = [decide(a, r, documents[s]) for a, r, s in cases]
    again = [decide(a, r, documents[s]) for a, r, s in reversed(cases)]
    assert first == list(reversed(again))
    assert first == [decide(a, r, _example(s)) for a, r, s in cases]
    after = {stem: d.SerializeToString(deterministic=True) for stem, d in documents.items()}
    assert after == before


def _work(status: str, claimed_by: str = "", agency: str = "customs") -> WorkRow:
    return WorkRow(
        id="w1",
        declaration_id="d1",
        agency=agency,
        round=1,
        status=status,
        review={"open": "open", "claimed": "claimed", "decided": "accepted"}[status],
        claimed_by=claimed_by,
        decided_by="",
        reason="",
        note="",
        created_at_unix_ms=0,
        decided_at_unix_ms=None,
    )


def test_it_takes_up_open_work_and_its_own_claims_never_a_persons() -> None:
    assert actor("CN-GD", "customs") == "CN-GD/customs/simulator"
    assert acts_on(_work("open"), "CN-GD")
    # Its own claim: an inspection to release, or a claim a restart interrupted.
    assert acts_on(_work("claimed", "CN-GD/customs/simulator"), "CN-GD")
    assert not acts_on(_work("claimed", "CN-GD/customs/alice"), "CN-GD")
    assert not acts_on(_work("claimed", "CN-GD/inspection/simulator"), "CN-GD")
    assert not acts_on(_work("decided", "CN-GD/customs/simulator"), "CN-GD")
    # Another node's simulator is not this one.
    assert not acts_on(_work("claimed", "CN-SH/customs/simulator"), "CN-GD")
