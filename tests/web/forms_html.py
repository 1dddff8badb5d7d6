"""Rendering the document forms as the portal does (a plain Jinja2 environment with the i18n
extension) and reading the HTML back as a browser and a screen reader would see it: the
controls, their labels, what describes them, and the buttons."""

from __future__ import annotations

import gettext
import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2
from google.protobuf.message import Message

from core.documents import document_types, parse_json
from node.web.forms import BoundForm

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "node" / "web" / "templates"
EXAMPLES = ROOT / "examples"
DOCUMENT_TYPES = [info.name for info in document_types()]
ACTION = "/documents/new/{}"


class Marked:
    """Translations that mark every message they translate, so a test sees what went through
    gettext."""

    def gettext(self, message: str) -> str:
        return f"⟦{message}⟧"

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return f"⟦{singular if n == 1 else plural}⟧"


def environment(*, marked: bool = False, portal: bool = False) -> jinja2.Environment:
    """A plain Jinja2 environment with the i18n extension (old-style gettext: `_` takes one
    argument), or, with `portal`, the portal's own way: no extension, `_` handed in the context
    (node/web/templating.py), blocks trimmed."""
    if portal:
        return jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        extensions=["jinja2.ext.i18n"],
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    translations = Marked() if marked else gettext.NullTranslations()
    env.install_gettext_translations(translations, newstyle=False)  # type: ignore[attr-defined]
    return env


PAGE = (
    '{% from "forms/document.html" import document_form with context %}'
    "{% call document_form(form, action) %}"
    '<input type="hidden" name="csrf_token" value="t">'
    "{% endcall %}"
)


def render(form: BoundForm, *, marked: bool = False, portal: bool = False, action: str = "") -> str:
    template = environment(marked=marked, portal=portal).from_string(PAGE)
    context: dict[str, Any] = {}
    if portal:
        context["_"] = (Marked() if marked else gettext.NullTranslations()).gettext
    action = action or ACTION.format(form.spec.document_type)
    return template.render(form=form, action=action, **context)


def example(document_type: str) -> Message:
    """The valid example of a document type kept in examples/."""
    text = (EXAMPLES / f"{document_type}.json").read_text(encoding="utf-8")
    json.loads(text)
    return parse_json(document_type, text)


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""


@dataclass
class Page(HTMLParser):
    """The elements of a rendered page, with the text inside labels, legends and buttons."""

    elements: list[Element] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    _open: list[Element] = field(default_factory=list)

    def __post_init__(self) -> None:
        HTMLParser.__init__(self, convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v if v is not None else "" for k, v in attrs})
        self.elements.append(element)
        if tag not in ("input", "br", "meta", "link", "img"):
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data
        if data.strip():
            self.texts.append(data.strip())

    def by_id(self) -> dict[str, Element]:
        found: dict[str, Element] = {}
        for e in self.elements:
            if "id" in e.attrs:
                assert e.attrs["id"] not in found, f"id {e.attrs['id']} twice"
                found[e.attrs["id"]] = e
        return found

    def controls(self) -> list[Element]:
        return [
            e
            for e in self.elements
            if e.tag in ("input", "select", "textarea") and e.attrs.get("type") != "hidden"
        ]

    def buttons(self) -> list[Element]:
        return [e for e in self.elements if e.tag == "button"]

    def labels(self) -> dict[str, str]:
        return {e.attrs["for"]: " ".join(e.text.split()) for e in self.elements if e.tag == "label"}


def read(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def submitted(page: Page, button: str = "submit") -> list[tuple[str, str]]:
    """The data a browser sends when the form is submitted with the button named `button`: each
    control's name and value (a select's selected option, else its first), then the button's."""
    data: list[tuple[str, str]] = []
    select: Element | None = None
    chosen: str | None = None
    first: str | None = None
    for e in page.elements:
        if e.tag == "option" and select is not None:
            first = e.attrs["value"] if first is None else first
            chosen = e.attrs["value"] if "selected" in e.attrs else chosen
            continue
        if select is not None:
            data.append((select.attrs["name"], chosen if chosen is not None else first or ""))
            select = None
        if e.tag == "input":
            data.append((e.attrs["name"], e.attrs.get("value", "")))
        elif e.tag == "textarea":
            data.append((e.attrs["name"], e.text.removeprefix("\n")))
        elif e.tag == "select":
            select, chosen, first = e, None, None
    if select is not None:
        data.append((select.attrs["name"], chosen if chosen is not None else first or ""))
    pressed = [b for b in page.buttons() if b.attrs.get("name") == button]
    assert len(pressed) == 1, f"no button {button}"
    data.append((button, pressed[0].attrs.get("value", "")))
    return data


def names(page: Page) -> set[str]:
    return {e.attrs["name"] for e in page.controls()}


def attrs_of(page: Page, name: str) -> dict[str, Any]:
    return next(e.attrs for e in page.controls() if e.attrs.get("name") == name)
