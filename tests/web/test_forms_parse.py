"""What a user sends is read into the document and checked by the API's own validator, each
problem shown at the form field the user typed into."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf.message import Message
from hypothesis import given
from hypothesis import strategies as st

from core.validation import Problem, validate
from node.web.forms import (
    as_values,
    blank_values,
    edit_rows,
    form_errors,
    form_spec,
    form_values,
    parse_form,
)
from swf.v1 import documents_pb2
from tests.web.forms_html import DOCUMENT_TYPES, example

GOODS = "goods_declaration"


def goods(message: Message) -> documents_pb2.GoodsDeclaration:
    assert isinstance(message, documents_pb2.GoodsDeclaration)
    return message


def wrong_check_character(uscc: str) -> str:
    last = "0" if uscc[-1] != "0" else "1"
    return uscc[:-1] + last


@pytest.mark.parametrize("document_type", DOCUMENT_TYPES)
def test_a_valid_document_shown_in_its_form_and_sent_back_is_the_same(
    document_type: str,
) -> None:
    original = example(document_type)
    assert validate(original) == []
    message, errors = parse_form(document_type, form_values(original))
    assert errors == []
    assert message == original


@pytest.mark.parametrize("document_type", DOCUMENT_TYPES)
def test_an_empty_form_gives_the_apis_required_problems(document_type: str) -> None:
    message, errors = parse_form(document_type, blank_values(form_spec(document_type)))
    problems = validate(message)
    assert problems
    assert {e.rule for e in errors} == {"required"}
    assert len(errors) == len(problems)


def test_a_wrong_uscc_check_character_is_an_error_on_exactly_that_field() -> None:
    values = form_values(example(GOODS))
    values["declarant_uscc"] = wrong_check_character(values["declarant_uscc"])
    message, errors = parse_form(GOODS, values)
    assert [(e.name, e.rule) for e in errors] == [("declarant_uscc", "uscc_check_character")]
    # The same rule and message as the API gives.
    (problem,) = validate(message)
    assert (errors[0].rule, errors[0].message, errors[0].element) == (
        problem.rule,
        problem.message,
        problem.element,
    )
    assert errors[0].target == "f-declarant_uscc"


def test_errors_in_rows_name_the_row_the_user_typed_into() -> None:
    values = form_values(example(GOODS))
    # The first item removed (a gap), an empty row added: the second row is message item 0.
    values = {k: v for k, v in values.items() if not k.startswith("items.0.")}
    values.update({"items.5.hs_code": "", "items.5.description": " "})
    values["items.1.hs_code"] = "84713"
    values["containers.7"] = "CSNU6391243"  # a wrong check digit
    message, errors = parse_form(GOODS, values)
    assert len(goods(message).items) == 1 and len(goods(message).containers) == 4
    assert [(e.name, e.rule) for e in errors] == [
        ("containers.7", "iso6346_check_digit"),
        ("items.1.hs_code", "hs_code_format"),
    ]
    assert [p.field for p in validate(message)] == ["containers[3]", "items[0].hs_code"]


def test_wholly_empty_rows_are_dropped_and_a_required_list_left_empty_is_named() -> None:
    values = form_values(example(GOODS))
    for key in [k for k in values if k.startswith(("items.", "containers."))]:
        values[key] = "  " if key.endswith("description") else ""
    message, errors = parse_form(GOODS, values)
    assert (len(goods(message).items), len(goods(message).containers)) == (0, 0)
    assert [(e.name, e.rule) for e in errors] == [("items", "required")]


def test_an_optional_group_left_empty_is_absent_and_a_required_one_names_its_fields() -> None:
    values = form_values(example("qualification_filing"))
    values.update({"registered_capital.amount": "", "registered_capital.currency": ""})
    message, errors = parse_form("qualification_filing", values)
    assert errors == [] and not message.HasField("registered_capital")
    values = form_values(example(GOODS))
    values.update({k: "" for k in values if k.startswith("consignee.")})
    _message, errors = parse_form(GOODS, values)
    assert [(e.name, e.rule) for e in errors] == [
        ("consignee.name", "required"),
        ("consignee.country", "required"),
    ]


def test_a_code_the_list_does_not_hold_is_refused_once_at_its_field() -> None:
    values = form_values(example(GOODS))
    values["kind"] = "SMUGGLING"
    values["items.0.quantity.unit"] = "UNSPECIFIED"
    message, errors = parse_form(GOODS, values)
    assert [(e.name, e.rule) for e in errors] == [
        ("kind", "code_unknown"),
        ("items.0.quantity.unit", "code_unknown"),
    ]
    assert "SMUGGLING" in errors[0].message
    assert goods(message).kind == documents_pb2.DECLARATION_KIND_UNSPECIFIED


def test_text_is_trimmed_line_ends_made_unix_and_other_names_ignored() -> None:
    original = goods(example(GOODS))
    values: dict[str, Any] = form_values(original)
    values["declarant_uscc"] = f"  {values['declarant_uscc']}\t"
    values["items.0.description"] = "Notebook computers\r\n14-inch"
    values["csrf_token"] = "abc"
    values["upload"] = object()  # a file, not text
    message, errors = parse_form(GOODS, values)
    assert errors == []
    assert goods(message).declarant_uscc == original.declarant_uscc
    assert goods(message).items[0].description == "Notebook computers\n14-inch"


class MultiDict:
    """What Starlette's FormData offers: several values per name, `multi_items()`."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def multi_items(self) -> list[tuple[str, str]]:
        return list(self.pairs)


def test_form_data_may_be_a_multi_dict_or_pairs_the_last_value_winning() -> None:
    original = example("duty_payment")
    pairs = [("payer_uscc", "wrong"), *form_values(original).items()]
    assert parse_form("duty_payment", MultiDict(pairs)) == (original, [])
    assert parse_form("duty_payment", pairs) == (original, [])
    assert as_values([("a", "1"), ("a", "2")]) == {"a": "2"}


def test_a_services_problems_are_mapped_to_the_form_the_same_way() -> None:
    values = form_values(example(GOODS))
    values = {k.replace("items.0.", "items.4."): v for k, v in values.items()}
    problems = [
        Problem("items[1].hs_code", "tariff_line_missing", "no tariff line", "SW0021"),
        Problem("declarant_uscc", "declaration.not_your_party", "not your enterprise"),
        Problem("document", "document.bad_json", "not a document"),
    ]
    errors = form_errors(GOODS, values, problems)
    assert [(e.name, e.rule) for e in errors] == [
        ("items.4.hs_code", "tariff_line_missing"),
        ("declarant_uscc", "declaration.not_your_party"),
        ("", "document.bad_json"),
    ]
    assert errors[2].target == "document-form"


def test_add_and_remove_a_goods_item_row() -> None:
    spec = form_spec(GOODS)
    values = form_values(example(GOODS))
    assert edit_rows(spec, values) is None  # the submit button: parse it
    edit = edit_rows(spec, {**values, "add:items": "1"})
    assert edit is not None and edit.focus == "items.2.hs_code"
    added = edit.values
    assert "add:items" not in added
    new_row = {k: v for k, v in added.items() if k.startswith("items.2.")}
    assert new_row == {
        "items.2.hs_code": "",
        "items.2.description": "",
        "items.2.quantity.value": "",
        "items.2.quantity.unit": "",
        "items.2.value.amount": "",
        "items.2.value.currency": "",
        "items.2.origin_country": "",
        "items.2.net_weight_kg": "",
    }
    # The new row, left empty, is no goods item; filled in, it is the third.
    message, errors = parse_form(GOODS, added)
    assert errors == [] and len(goods(message).items) == 2
    filled = {**added, **{k.replace("items.0.", "items.2."): v for k, v in values.items()}}
    message, errors = parse_form(GOODS, filled)
    assert errors == [] and len(goods(message).items) == 3
    edit = edit_rows(spec, {**filled, "remove:items.0": "1"})
    assert edit is not None and edit.focus == "add:items"
    removed = edit.values
    assert not any(k.startswith("items.0.") for k in removed)
    message, errors = parse_form(GOODS, removed)
    assert errors == [] and len(goods(message).items) == 2
    assert goods(message).items[0] == goods(example(GOODS)).items[1]


def test_add_and_remove_rows_of_plain_values_and_nested_lists() -> None:
    spec = form_spec("cargo_manifest")
    values = form_values(example("cargo_manifest"))
    edit = edit_rows(spec, {**values, "add:bills.0.containers": ""})
    assert edit is not None
    added = edit.values
    rows = sorted(k for k in added if k.startswith("bills.0.containers."))
    before = sorted(k for k in values if k.startswith("bills.0.containers."))
    assert rows == sorted([*before, f"bills.0.containers.{len(before)}"])
    edit = edit_rows(spec, {**values, "remove:bills.0.containers.0": ""})
    assert edit is not None and edit.focus == "add:bills.0.containers"
    removed = edit.values
    assert "bills.0.containers.0" not in removed
    assert len(removed) == len(values) - 1


@pytest.mark.parametrize(
    "button",
    ["add:nothing", "add:kind", "remove:items", "remove:items.x", "remove:kind.0", "add:items.0"],
)
def test_a_button_naming_no_list_changes_nothing(button: str) -> None:
    values = form_values(example(GOODS))
    edit = edit_rows(form_spec(GOODS), {**values, button: ""})
    assert edit is not None and (edit.values, edit.focus) == (values, "")


def test_a_new_form_has_one_row_in_each_required_list() -> None:
    values = blank_values(form_spec(GOODS))
    assert "items.0.hs_code" in values and "items.0.quantity.unit" in values
    assert not any(k.startswith("containers") for k in values)
    assert set(values.values()) == {""}


@given(
    gaps=st.lists(st.integers(min_value=0, max_value=3), min_size=2, max_size=2),
    empty_rows=st.lists(st.integers(min_value=0, max_value=40), max_size=4, unique=True),
)
def test_gaps_and_empty_rows_anywhere_change_nothing(
    gaps: list[int], empty_rows: list[int]
) -> None:
    """However the rows are numbered, and wherever wholly empty rows are, the same document."""
    original = example(GOODS)
    values = form_values(original)
    # Renumber the two items with gaps (keeping their order), then add empty rows around them.
    first, second = gaps[0], gaps[0] + 1 + gaps[1]
    moved = {}
    for key, value in values.items():
        if key.startswith("items.0."):
            key = f"items.{first}." + key.removeprefix("items.0.")
        elif key.startswith("items.1."):
            key = f"items.{second}." + key.removeprefix("items.1.")
        moved[key] = value
    for row in empty_rows:
        if row not in (first, second):
            moved[f"items.{row}.hs_code"] = ""
            moved[f"items.{row}.quantity.unit"] = " "
    assert parse_form(GOODS, moved) == (original, [])


_NAMES = sorted(form_values(example(GOODS)))
_NAME = st.one_of(
    st.sampled_from(_NAMES),
    st.builds(
        lambda n, i: n.replace(".0.", f".{i}.").replace(".1.", f".{i}."),
        st.sampled_from(_NAMES),
        st.integers(min_value=0, max_value=20_000),
    ),
    st.text(max_size=30),
)


@given(st.dictionaries(_NAME, st.text(max_size=30), max_size=40))
def test_any_data_parses_and_its_errors_are_the_apis(data: dict[str, str]) -> None:
    """Whatever is sent, the result is a document and its errors: none exactly when the API
    finds none, each at a field of the form or at the form as a whole."""
    message, errors = parse_form(GOODS, data)
    spec = form_spec(GOODS)
    assert (errors == []) == (validate(message) == [])
    assert all(e.name == "" or spec.find(e.name) is not None for e in errors)


_TEXT = (
    st.text(
        st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\r"), max_size=20
    )
    .map(str.strip)
    .filter(bool)
)


@pytest.mark.parametrize("document_type", DOCUMENT_TYPES)
@given(data=st.data())
def test_any_text_in_any_field_comes_back_as_it_was(
    document_type: str, data: st.DataObject
) -> None:
    """Whatever text a document holds (valid or not), its form gives it back unchanged."""
    message = example(document_type)
    values = form_values(message)
    spec = form_spec(document_type)
    for name in values:
        field = spec.find(name)
        assert field is not None
        if field.widget in ("text", "textarea", "email") and data.draw(st.booleans()):
            values[name] = data.draw(_TEXT)
    changed, _errors = parse_form(document_type, values)
    assert form_values(changed) == values
