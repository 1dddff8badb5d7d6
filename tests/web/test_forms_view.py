"""A document as a readable page, from the same spec as its form: every value it holds under its
label in the page's language, codes, countries and currencies by their names."""

from __future__ import annotations

import pytest

from node.web.forms import BoundField, bind_form, form_spec, form_values
from tests.web.forms_html import DOCUMENT_TYPES, environment, example, read
from tests.web.test_forms_render import check_no_inline_code, nodes

VIEW = '{% from "forms/view.html" import document_view %}{{ document_view(form) }}'


@pytest.mark.parametrize("document_type", DOCUMENT_TYPES)
@pytest.mark.parametrize("locale", ["en", "zh"])
def test_every_value_of_a_document_is_shown_under_its_label(
    document_type: str, locale: str
) -> None:
    form = bind_form(form_spec(document_type, locale), form_values(example(document_type)))
    html = environment().from_string(VIEW).render(form=form)
    page = read(html)
    check_no_inline_code(html, page)
    keys = [" ".join(e.text.split()) for e in page.elements if e.tag == "dt"]
    shown = {" ".join(e.text.split()) for e in page.elements if e.tag in ("dd", "li")}
    fields = [n for n in nodes(form.children) if isinstance(n, BoundField) and n.filled]
    assert fields
    for field in fields:
        assert field.shown in shown, field.name
        if not field.name.split(".")[-1].isdigit():  # a plain list's rows are under its legend
            assert field.label in keys, field.name


def test_the_goods_declaration_reads_in_chinese() -> None:
    form = bind_form(
        form_spec("goods_declaration", "zh"), form_values(example("goods_declaration"))
    )
    page = read(environment().from_string(VIEW).render(form=form))
    rows: dict[str, str] = {}
    for i, e in enumerate(page.elements):
        if e.tag == "dt":
            rows.setdefault(e.text.strip(), " ".join(page.elements[i + 1].text.split()))
    assert rows["进出口类别"] == "出口"
    assert rows["运输方式"] == "水路运输"
    assert rows["发票币制"] == "USD 美元"
    assert rows["申报日期"] == "2025-03-10"
    # The consignee gives no USCC: only the consignor's is shown.
    assert [e.text for e in page.elements if e.tag == "dt"].count("统一社会信用代码") == 1
    headings = [e.text for e in page.elements if e.tag == "h2"]
    assert headings == ["商品项 1", "商品项 2"]
    page = read(
        environment()
        .from_string('{% from "forms/view.html" import document_view %}{{ document_view(f, 3) }}')
        .render(f=form)
    )
    assert [e.text for e in page.elements if e.tag == "h3"] == ["商品项 1", "商品项 2"]
