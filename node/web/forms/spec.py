"""The form of a document type, built from its proto message and the data element catalog.

No form is written by hand: every field of the message (core/documents.py finds the message of a
type) becomes a field of the form, with what its `(swf.v1.element)` option says: its label in
English or Chinese (`name` / `name_zh`), whether it is required, its format (which gives the input
hint and the widget), its length limit, and for a coded element its code list as a select with
each code's own name (`(swf.v1.code)`, core.catalog.code_names). Countries (ISO 3166-1) and
currencies (ISO 4217) are selects too, named by pycountry's own Chinese catalogs. A nested message
is a group (a fieldset); a repeated field is a list of rows the user adds and removes in place.

A field's form name is its path of proto field names joined by dots, with a row's 0-based index as
a segment: `items.0.quantity.unit`, `containers.2`. Only the spec (the shape) lives here; the rows
of a given form come from its values (node/web/forms/bind.py).

Hints are English message ids (marked with `N_` for Babel's extractor); the templates translate
them with gettext, so every visible word but the labels goes through the message catalogs.
The spec is pure and cached: one per document type and locale.
"""

from __future__ import annotations

import functools
import gettext
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

import pycountry

from core.catalog import code_names, format_name
from core.documents import document_types
from core.errors import InvalidArgument, quote
from core.formats import FORMAT_MAX_LENGTH
from core.validation import element_of
from swf.v1 import options_pb2

if TYPE_CHECKING:
    from google._upb._message import Descriptor as _UpbDescriptor
    from google._upb._message import FieldDescriptor as _UpbFieldDescriptor
    from google.protobuf.descriptor import Descriptor, FieldDescriptor

__all__ = [
    "LOCALES",
    "FieldSpec",
    "FormSpec",
    "Locale",
    "Option",
    "Widget",
    "field_id",
    "form_spec",
    "locale_of",
]

Locale = Literal["en", "zh"]
LOCALES: tuple[Locale, ...] = ("en", "zh")
Widget = Literal["text", "textarea", "email", "select", "group"]
F = options_pb2.Format

# Free text this long or longer gets a text area rather than a one-line input.
TEXTAREA_FROM = 300


def N_(message: str) -> str:
    """Mark a message id for extraction (the name Babel knows, gettext_noop); the templates
    translate it."""
    return message


# Hints by format, as message ids. A format missing here needs no hint (a select, a group, free
# text whose only limit is its length, which the templates add).
HINTS: dict[options_pb2.Format.ValueType, str] = {
    F.FORMAT_USCC: N_("18 characters (GB 32100), the last one a check character"),
    F.FORMAT_HS_CODE: N_("6 digits, or 8 to 13 digits for China's tariff codes"),
    F.FORMAT_CONTAINER: N_(
        "ISO 6346: owner code, U, J, Z or R, 6 digits and a check digit, e.g. MSKU1234565"
    ),
    F.FORMAT_UNLOCODE: N_(
        "UN/LOCODE: 5 characters, the country code and 3 letters or digits, e.g. CNSHA"
    ),
    F.FORMAT_DECIMAL: N_("A number: digits and at most one dot, e.g. 1234.50"),
    F.FORMAT_DATE: N_("YYYY-MM-DD, e.g. 2025-03-10"),
    F.FORMAT_EMAIL: N_("An e-mail address, e.g. name@example.cn"),
    F.FORMAT_IMO: N_("IMO and 7 digits, e.g. IMO9795610"),
    F.FORMAT_IDENTIFIER: N_("Letters, digits and - / . _ only"),
}


@dataclass(frozen=True, kw_only=True)
class Option:
    """One choice of a select: the value the form sends and the label shown for it."""

    value: str
    label: str


@dataclass(frozen=True, kw_only=True)
class FieldSpec:
    """One field of a document (a proto field) and how the form shows it.

    `name` is the proto field name, one segment of a form name. A group (`widget == "group"`)
    holds its own `fields`; a `repeated` field is shown as rows, each one value or one group.
    `required` is the element's own flag: required when the group around it is there.
    `max_length` is the element's limit or its format's (0: bounded by the format's shape).
    `hint` is a message id or ""; `description` the element's own, in the locale ("" for none).
    `options` are a select's choices, UNSPECIFIED never among them.
    """

    name: str
    label: str
    element: str
    format: str
    widget: Widget
    required: bool
    repeated: bool
    max_length: int = 0
    hint: str = ""
    description: str = ""
    options: tuple[Option, ...] = ()
    fields: tuple[FieldSpec, ...] = ()

    @property
    def is_group(self) -> bool:
        return self.widget == "group"

    @property
    def length_hint(self) -> int:
        """The limit worth telling the user (0: none): text's and references', not the bound a
        number or an address has anyway."""
        return self.max_length if self.format in ("text", "identifier") else 0


@dataclass(frozen=True, kw_only=True)
class FormSpec:
    """The form of one document type in one locale."""

    document_type: str
    title: str
    locale: Locale
    fields: tuple[FieldSpec, ...]

    def find(self, name: str) -> FieldSpec | None:
        """The spec of a form name (`items.3.value.amount`, `items`), row indexes ignored."""
        fields, found = self.fields, None
        for segment in name.split("."):
            if segment.isdigit() and found is not None and found.repeated:
                continue
            found = next((f for f in fields if f.name == segment), None)
            if found is None:
                return None
            fields = found.fields
        return found


def locale_of(tag: str) -> Locale:
    """`zh`, `zh-CN`, `zh_Hans_CN` → zh; anything else → en."""
    return "zh" if tag.lower().replace("_", "-").split("-")[0] == "zh" else "en"


def field_id(name: str) -> str:
    """The HTML id of a form name: `items.0.hs_code` → `f-items-0-hs_code` (error summary links
    and `<label for>` point at it)."""
    return "f-" + name.replace(".", "-")


def form_spec(document_type: str, locale: str = "en") -> FormSpec:
    """The form of `document_type` in `locale` (a language tag; Chinese or English).

    An unknown type is an InvalidArgument `document.unknown_type` on field `type`, as the API
    says it."""
    return _form_spec(document_type, locale_of(locale))


@functools.cache
def _form_spec(document_type: str, locale: Locale) -> FormSpec:
    info = next((i for i in document_types() if i.name == document_type), None)
    if info is None:
        raise InvalidArgument(
            "document.unknown_type",
            f"type: {quote(document_type)} is not a document type; known types: "
            + ", ".join(i.name for i in document_types()),
            field="type",
        )
    title = info.title_zh if locale == "zh" and info.title_zh else info.title
    return FormSpec(
        document_type=info.name,
        title=title,
        locale=locale,
        fields=_fields(info.descriptor, locale, ()),
    )


def _fields(
    message: Descriptor | _UpbDescriptor, locale: Locale, seen: tuple[str, ...]
) -> tuple[FieldSpec, ...]:
    if message.full_name in seen:  # the catalog reports such a message; the form stops there
        return ()
    return tuple(_field(f, locale, (*seen, message.full_name)) for f in message.fields)


def _field(
    field: FieldDescriptor | _UpbFieldDescriptor, locale: Locale, seen: tuple[str, ...]
) -> FieldSpec:
    element = element_of(field)
    label = (element.name_zh if locale == "zh" else element.name) or element.name or field.name
    description = element.description_zh if locale == "zh" else element.description
    common = FieldSpec(
        name=field.name,
        label=label,
        element=element.id,
        format=format_name(element.format),
        widget="text",
        required=element.required,
        repeated=field.is_repeated,
        description=description or element.description,
    )
    if field.message_type is not None:
        return replace(common, widget="group", fields=_fields(field.message_type, locale, seen))
    if field.enum_type is not None:
        codes = code_names(field.enum_type)
        options = tuple(
            Option(value=code, label=(zh if locale == "zh" else en) or en or code)
            for _number, code, en, zh in codes
        )
        return replace(common, widget="select", options=options)
    fmt = element.format
    if fmt == F.FORMAT_COUNTRY:
        return replace(common, widget="select", options=_countries(locale))
    if fmt == F.FORMAT_CURRENCY:
        return replace(common, widget="select", options=_currencies(locale))
    limit = element.max_length or FORMAT_MAX_LENGTH.get(fmt, 0)
    widget: Widget = "text"
    if fmt == F.FORMAT_EMAIL:
        widget = "email"
    elif fmt == F.FORMAT_TEXT and limit >= TEXTAREA_FROM:
        widget = "textarea"
    return replace(common, widget=widget, max_length=limit, hint=HINTS.get(fmt, ""))


@functools.cache
def _translation(domain: str, locale: Locale) -> gettext.NullTranslations:
    """pycountry's own catalog of names (iso3166-1, iso4217) for the locale."""
    if locale == "en":
        return gettext.NullTranslations()
    return gettext.translation(domain, pycountry.LOCALES_DIR, languages=["zh_CN"], fallback=True)


@functools.cache
def _countries(locale: Locale) -> tuple[Option, ...]:
    """ISO 3166-1 countries by alpha-2 code, named in the locale; sorted by name in English and
    by code in Chinese (whose names sort by no order a reader would search in)."""
    names = _translation("iso3166-1", locale)
    options = [
        Option(
            value=c.alpha_2,
            label=f"{names.gettext(getattr(c, 'common_name', c.name))} ({c.alpha_2})"
            if locale == "en"
            else f"{names.gettext(c.name)} ({c.alpha_2})",
        )
        for c in pycountry.countries
    ]
    if locale == "en":
        return tuple(sorted(options, key=lambda o: o.label.casefold()))
    return tuple(sorted(options, key=lambda o: o.value))


@functools.cache
def _currencies(locale: Locale) -> tuple[Option, ...]:
    """ISO 4217 currencies by alphabetic code, in code order, named in the locale."""
    names = _translation("iso4217", locale)
    return tuple(
        sorted(
            (
                Option(value=c.alpha_3, label=f"{c.alpha_3} {names.gettext(c.name)}")
                for c in pycountry.currencies
            ),
            key=lambda o: o.value,
        )
    )
