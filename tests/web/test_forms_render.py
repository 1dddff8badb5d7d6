"""The document forms as a browser gets them: every control labelled, hints and errors tied to
their fields for screen readers, groups in fieldsets with legends, rows added and removed with
plain buttons (and htmx), no inline script or style, and every word of the templates through
gettext."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from core.catalog import build_catalog
from node.web.forms import (
    BoundField,
    BoundForm,
    BoundGroup,
    BoundList,
    bind_form,
    blank_values,
    edit_rows,
    form_spec,
    form_values,
    parse_form,
)
from tests.web.forms_html import (
    ACTION,
    DOCUMENT_TYPES,
    TEMPLATES,
    Page,
    attrs_of,
    environment,
    example,
    names,
    read,
    render,
    submitted,
)
from tests.web.test_forms_parse import goods, wrong_check_character

GOODS = "goods_declaration"
LOCALES = ["en", "zh"]


def sample_form(document_type: str, locale: str) -> BoundForm:
    return bind_form(form_spec(document_type, locale), form_values(example(document_type)))


def nodes(children: tuple[BoundField | BoundGroup | BoundList, ...]) -> Iterator[object]:
    for node in children:
        yield node
        if isinstance(node, BoundGroup):
            yield from nodes(node.children)
        elif isinstance(node, BoundList):
            for row in node.rows:
                yield row
                yield from nodes(row.children)


def check_accessible(page: Page) -> None:
    """What an accessibility checker asks of a form, checked on the HTML itself."""
    ids = page.by_id()
    labels = page.labels()
    for control in page.controls():
        attrs = control.attrs
        assert attrs.get("id") and attrs.get("name"), attrs
        assert labels.get(attrs["id"]), f"{attrs['id']} has no label"
        for described in attrs.get("aria-describedby", "").split():
            assert described in ids, f"{attrs['id']} is described by a missing {described}"
        if attrs.get("aria-invalid") == "true":
            assert f"{attrs['id']}-error" in attrs["aria-describedby"].split()
    for i, element in enumerate(page.elements):
        if element.tag == "fieldset":
            legend = page.elements[i + 1]
            assert legend.tag == "legend" and legend.text.strip(), element.attrs
        if element.tag == "a" and element.attrs.get("href", "").startswith("#"):
            assert element.attrs["href"][1:] in ids, element.attrs["href"]
    for button in page.buttons():
        assert button.attrs["type"] == "submit" and " ".join(button.text.split())
        target = button.attrs.get("hx-target")
        if target is not None:
            assert target.startswith("#") and target[1:] in ids
            assert button.attrs["hx-select"] == target
            assert "formnovalidate" in button.attrs


def check_no_inline_code(html: str, page: Page) -> None:
    """Content-Security-Policy default-src 'self': no inline script or style of any kind."""
    assert not [e.tag for e in page.elements if e.tag in ("script", "style", "link")]
    for element in page.elements:
        assert "style" not in element.attrs
        assert not [a for a in element.attrs if a.startswith("on")], element.attrs
    assert "javascript:" not in html.lower()


@pytest.mark.parametrize("document_type", DOCUMENT_TYPES)
@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("portal", [False, True], ids=["i18n", "portal"])
def test_every_element_of_every_document_is_a_labelled_control(
    document_type: str, locale: str, portal: bool
) -> None:
    spec = form_spec(document_type, locale)
    shown = [sample_form(document_type, locale), bind_form(spec, blank_values(spec))]
    pages = [(form, render(form, portal=portal)) for form in shown]
    rendered: set[str] = set()
    buttons: set[str] = set()
    for form, html in pages:
        page = read(html)
        check_accessible(page)
        check_no_inline_code(html, page)
        rendered |= names(page)
        buttons |= {b.attrs["name"] for b in page.buttons()}
        labels = page.labels()
        for node in nodes(form.children):
            if isinstance(node, BoundField):
                assert labels[node.id].startswith(node.label)
    document = next(d for d in build_catalog().documents if d.name == document_type)
    for use in document.fields:
        spec_field = spec.find(use.path.replace("[]", ".0"))
        assert spec_field is not None
        if spec_field.is_group:
            continue
        name = use.path.replace("[]", ".0")
        lists = [use.path[: m.start()] for m in re.finditer(r"\[\]", use.path)]
        # A control, or (for an optional list shown with no row) the button that adds one.
        assert name in rendered or f"add:{lists[-1].replace('[]', '.0')}" in buttons, name


@pytest.mark.parametrize("document_type", DOCUMENT_TYPES)
@pytest.mark.parametrize("locale", LOCALES)
def test_a_valid_document_rendered_and_submitted_by_a_browser_is_the_same(
    document_type: str, locale: str
) -> None:
    original = example(document_type)
    page = read(render(sample_form(document_type, locale)))
    data = submitted(page)
    assert ("csrf_token", "t") in data
    assert edit_rows(form_spec(document_type), data) is None
    assert parse_form(document_type, data) == (original, [])


def test_adding_and_removing_a_goods_item_in_the_browser() -> None:
    spec = form_spec(GOODS, "en")
    page = read(render(sample_form(GOODS, "en")))
    edit = edit_rows(spec, submitted(page, "add:items"))
    assert edit is not None
    page = read(render(bind_form(spec, edit.values, focus=edit.focus)))
    check_accessible(page)
    assert "items.2.hs_code" in names(page)
    # The keyboard goes on in the new row; one element of the page has the focus.
    assert [e.attrs["id"] for e in page.elements if "autofocus" in e.attrs] == ["f-items-2-hs_code"]
    assert page.labels()["f-items-2-hs_code"] == "Commodity code (HS)"
    assert page.by_id()["f-items-2"].text.strip().startswith("Goods item 3")
    # Submitted with the new row left empty: the two items of before.
    assert parse_form(GOODS, submitted(page)) == (example(GOODS), [])
    edit = edit_rows(spec, submitted(page, "remove:items.0"))
    assert edit is not None
    page = read(render(bind_form(spec, edit.values, focus=edit.focus)))
    assert not [n for n in names(page) if n.startswith("items.0.")]
    focused = [e for e in page.elements if "autofocus" in e.attrs]
    assert [(e.tag, e.attrs["name"]) for e in focused] == [("button", "add:items")]
    assert page.by_id()["f-items-1"].text.strip().startswith("Goods item 1")
    message, errors = parse_form(GOODS, submitted(page))
    assert errors == [] and list(goods(message).items) == [goods(example(GOODS)).items[1]]


@pytest.mark.parametrize("locale", LOCALES)
def test_the_goods_declaration_shows_its_values_labels_and_hints(locale: str) -> None:
    form = sample_form(GOODS, locale)
    page = read(render(form))
    labels, ids = page.labels(), page.by_id()
    values = form_values(example(GOODS))
    for control in page.controls():
        name = control.attrs["name"]
        if control.tag == "input":
            assert control.attrs["value"] == values[name]
        elif control.tag == "textarea":
            assert control.text == values[name]
    kind = attrs_of(page, "kind")
    assert kind["aria-required"] == "true"
    options = [e for e in page.elements if e.tag == "option"]
    assert not [o for o in options if "UNSPECIFIED" in o.attrs["value"]]
    selected = {o.attrs["value"] for o in options if "selected" in o.attrs}
    assert {"EXPORT", "SEA", "PCE", "CN", "SG", "USD"} <= selected
    uscc = attrs_of(page, "declarant_uscc")
    hint = ids[uscc["aria-describedby"]].text
    if locale == "zh":
        assert labels["f-declarant_uscc"] == "申报单位统一社会信用代码"
        assert labels["f-items-0-hs_code"] == "商品编号（HS）"
        assert labels["f-containers-1"] == "集装箱号 2"
        assert ids["f-items-1"].text.strip().startswith("商品项 2")
    else:
        assert labels["f-declarant_uscc"] == "Declarant USCC"
        assert labels["f-bill_of_lading"] == "Transport document number (optional)"
    assert "the last one a check character" in hint
    date_hint = ids[attrs_of(page, "declaration_date")["aria-describedby"]].text
    assert "YYYY-MM-DD" in date_hint
    assert attrs_of(page, "items.0.value.amount")["inputmode"] == "decimal"


def test_a_wrong_uscc_shows_at_its_field_and_in_the_summary() -> None:
    values = form_values(example(GOODS))
    values["declarant_uscc"] = wrong_check_character(values["declarant_uscc"])
    _message, errors = parse_form(GOODS, values)
    form = bind_form(form_spec(GOODS, "zh"), values, errors)
    page = read(render(form))
    check_accessible(page)
    invalid = [c.attrs["name"] for c in page.controls() if c.attrs.get("aria-invalid") == "true"]
    assert invalid == ["declarant_uscc"]
    ids = page.by_id()
    message = ids["f-declarant_uscc-error"].text
    assert errors[0].message in message and "uscc_check_character" in message
    summary = ids["error-summary-title"]
    assert summary.tag == "h2"
    links = [e for e in page.elements if e.tag == "a"]
    assert [(a.attrs["href"], a.text) for a in links] == [("#f-declarant_uscc", errors[0].message)]
    assert attrs_of(page, "declarant_uscc")["value"] == values["declarant_uscc"]


def test_errors_at_a_list_and_at_no_field_are_shown_too() -> None:
    values = {k: v for k, v in form_values(example(GOODS)).items() if not k.startswith("items.")}
    _message, errors = parse_form(GOODS, values)
    assert [e.name for e in errors] == ["items"]
    form = bind_form(form_spec(GOODS), values, errors)
    page = read(render(form))
    check_accessible(page)
    ids = page.by_id()
    assert ids["f-items"].tag == "fieldset"
    assert ids["f-items"].attrs["aria-describedby"] == "f-items-error"
    assert "at least one Goods item is required" in ids["f-items-error"].text
    assert [b.attrs["name"] for b in page.buttons() if b.attrs["name"].endswith("items")] == [
        "add:items"
    ]


def test_rows_have_add_and_remove_buttons_that_htmx_sends_to_the_same_page() -> None:
    form = sample_form(GOODS, "en")
    page = read(render(form))
    buttons = {b.attrs["name"]: b for b in page.buttons()}
    assert {"add:items", "remove:items.0", "remove:items.1", "add:containers"} <= set(buttons)
    assert "remove:containers.2" in buttons and "submit" in buttons
    remove = buttons["remove:items.1"]
    assert " ".join(remove.text.split()) == "Remove Goods item 2"
    assert remove.attrs["hx-post"] == ACTION.format(GOODS)
    assert remove.attrs["hx-target"] == "#f-items"
    assert buttons["add:containers"].attrs["hx-target"] == "#f-containers"
    assert "hx-post" not in buttons["submit"].attrs
    form_tag = next(e for e in page.elements if e.tag == "form")
    assert (form_tag.attrs["method"], form_tag.attrs["action"]) == ("post", ACTION.format(GOODS))


def test_a_lists_fieldset_renders_alone_as_htmx_swaps_it() -> None:
    form = sample_form(GOODS, "en")
    node = form.find("items")
    assert isinstance(node, BoundList) and len(node.rows) == 2
    template = environment().from_string(
        '{% from "forms/document.html" import render_list %}{{ render_list(node, action) }}'
    )
    page = read(template.render(node=node, action="/x"))
    assert page.elements[0].tag == "fieldset" and page.elements[0].attrs["id"] == "f-items"
    assert len(page.controls()) == 2 * 8


@pytest.mark.parametrize("template", ["document.html", "view.html"])
def test_the_templates_hold_no_bare_word(template: str) -> None:
    source = (TEMPLATES / "forms" / template).read_text(encoding="utf-8")
    # Attributes assembled in a {% set %} block are markup, not words.
    bare = re.sub(r"\{%-? set \w+ -?%\}.*?\{%-? endset -?%\}", " ", source, flags=re.S)
    bare = re.sub(r"\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}", " ", bare, flags=re.S)
    bare = re.sub(r"<[^>]*>", " ", bare, flags=re.S)
    assert bare.split() == []


@pytest.mark.parametrize("portal", [False, True], ids=["i18n", "portal"])
def test_every_visible_word_of_the_form_goes_through_gettext(portal: bool) -> None:
    # Rendered with marking translations: every text is marked, or comes from the spec (labels
    # in the locale), the values, or the API's error messages.
    values = form_values(example(GOODS))
    values["declarant_uscc"] = wrong_check_character(values["declarant_uscc"])
    _message, errors = parse_form(GOODS, values)
    form = bind_form(form_spec(GOODS, "zh"), values, errors)
    page = read(render(form, marked=True, portal=portal))
    dynamic = {e.message for e in errors} | {e.rule for e in errors} | set(values.values())
    for node in nodes(form.children):
        for attr in ("label", "legend"):
            dynamic.add(getattr(node, attr, ""))
        if isinstance(node, BoundField):
            dynamic |= {o.label for o in node.options} | {node.spec.description}
    unmarked = [t for t in page.texts if not (t.startswith("⟦") and t.endswith("⟧"))]
    assert [t for t in unmarked if t not in dynamic] == []
    assert "⟦Submit⟧" in page.texts and "⟦(optional)⟧" in page.texts


def test_what_a_user_typed_is_shown_escaped() -> None:
    values = form_values(example(GOODS))
    hostile = '"><script>alert(1)</script><b onclick="x">'
    values.update({"consignor.name": hostile, "consignor.address": "</textarea>" + hostile})
    values["kind"] = hostile  # not one of the codes: shown as the user's own option
    _message, errors = parse_form(GOODS, values)
    html = render(bind_form(form_spec(GOODS), values, errors))
    page = read(html)
    check_no_inline_code(html, page)
    assert attrs_of(page, "consignor.name")["value"] == hostile
    assert next(e for e in page.controls() if e.attrs["name"] == "consignor.address").text == (
        "</textarea>" + hostile
    )
    assert any(e.tag == "option" and e.attrs["value"] == hostile for e in page.elements)
