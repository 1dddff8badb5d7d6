"""The data element catalog (design §6), generated from the document protos, never kept by hand.

Every field of every document carries a `(swf.v1.element)` option (options.proto). Reading them
all gives the catalog: each element once (id, name, UN/TDED number, value type, format, max
length, description, and for a coded element its code list), with every document field that uses
it. The value type is what the field holds on the wire: `string` for every plain value (decimals
and dates included, which documents carry as text; the format says how it is written), or the
full name of the enum (a code) or message (a group) the field is declared with.

One id means one meaning: an id used in two places with a different name, TDED number, format,
max length, code list, group type or description is a catalog error, as is a field without an
element, a format that does not fit the field's type, or a document type whose `Document` oneof
arm and `(swf.v1.document)` name disagree. `build_catalog()` collects every such error in
`Catalog.errors` instead of raising, so `swnode catalog` can show them; a test keeps the list
empty.

Every name is given in English (`name`, `title`) and in Simplified Chinese (`name_zh`,
`title_zh`), as is a description (`description_zh`), and every code of a code list has a name in
both (`(swf.v1.code)`, `code_names`): the portal's forms take their labels from here, so a
missing one is a catalog error too.

Paths use proto field names; `[]` marks a repeated field (`items[].quantity.value`). A use is
`required` when the field and every group around it are required: what a declarant must fill in.
Code lists are the enum's value names without its prefix (IMPORT, EXPORT); in protobuf JSON a
value is written in full (DECLARATION_KIND_EXPORT).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.documents import document_types
from core.validation import element_of
from swf.v1 import declarations_pb2, documents_pb2, options_pb2

if TYPE_CHECKING:
    from google._upb._message import Descriptor as _UpbDescriptor
    from google._upb._message import EnumDescriptor as _UpbEnumDescriptor
    from google._upb._message import EnumValueDescriptor as _UpbEnumValueDescriptor
    from google.protobuf.descriptor import Descriptor, EnumDescriptor, EnumValueDescriptor

__all__ = [
    "Catalog",
    "CatalogDocument",
    "CatalogElement",
    "DocumentField",
    "ElementUse",
    "FieldUse",
    "build_catalog",
    "catalog_to_dict",
    "code_list",
    "code_names",
    "format_name",
    "merge_uses",
]

_ID = re.compile(r"SW[0-9]{4}", re.ASCII)
F = options_pb2.Format
_STRING_TYPE = "string"


def format_name(fmt: options_pb2.Format.ValueType) -> str:
    """`FORMAT_USCC` → `uscc`."""
    return options_pb2.Format.Name(fmt).removeprefix("FORMAT_").lower()


@dataclass(frozen=True, kw_only=True)
class ElementUse:
    document_type: str
    path: str
    required: bool


@dataclass(frozen=True, kw_only=True)
class CatalogElement:
    id: str
    name: str
    name_zh: str
    tded: str
    type: str  # "string", or the full name of the enum or message (see the module docstring)
    format: str
    max_length: int
    description: str
    description_zh: str
    code_list: tuple[str, ...]
    uses: tuple[ElementUse, ...]
    # Each code's name in English and Chinese, in code_list's order.
    code_names: tuple[tuple[str, str], ...] = ()

    @property
    def required(self) -> bool:
        """Required in every document that uses it (each use says for itself)."""
        return all(use.required for use in self.uses)

    @property
    def document_types(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(use.document_type for use in self.uses))


@dataclass(frozen=True, kw_only=True)
class DocumentField:
    path: str
    element: str
    required: bool


@dataclass(frozen=True, kw_only=True)
class CatalogDocument:
    name: str
    title: str
    title_zh: str
    message: str
    fields: tuple[DocumentField, ...]


@dataclass(frozen=True, kw_only=True)
class Catalog:
    documents: tuple[CatalogDocument, ...]
    elements: tuple[CatalogElement, ...]
    errors: tuple[str, ...]

    def element(self, element_id: str) -> CatalogElement | None:
        return next((e for e in self.elements if e.id == element_id), None)


@dataclass(frozen=True, kw_only=True)
class FieldUse:
    """One field of one document as read from the protos, before uses are merged by id."""

    document_type: str
    path: str
    required: bool
    element: options_pb2.DataElement
    value_type: str  # "string", or the full name of the field's enum or message
    code_list: tuple[str, ...] = ()
    code_names: tuple[tuple[str, str], ...] = ()


def code_list(enum: EnumDescriptor | _UpbEnumDescriptor) -> tuple[tuple[str, ...], list[str]]:
    """The codes of an enum without its prefix and UNSPECIFIED value, and any errors in it."""
    zero = enum.values_by_number.get(0)
    if zero is None or not zero.name.endswith("_UNSPECIFIED"):
        return (), [f"enum {enum.full_name}: value 0 must be <PREFIX>_UNSPECIFIED"]
    prefix = zero.name.removesuffix("UNSPECIFIED")
    errors = [
        f"enum {enum.full_name}: {v.name} does not start with {prefix}"
        for v in enum.values
        if not v.name.startswith(prefix)
    ]
    codes = tuple(v.name.removeprefix(prefix) for v in enum.values if v.number != 0)
    errors.extend(
        f"enum {enum.full_name}: {v.name} has no (swf.v1.code) name in English and Chinese"
        for v in enum.values
        if v.number != 0 and not (_code_option(v).name and _code_option(v).name_zh)
    )
    return codes, errors


def _code_option(value: EnumValueDescriptor | _UpbEnumValueDescriptor) -> options_pb2.Code:
    return value.GetOptions().Extensions[options_pb2.code]


def code_names(
    enum: EnumDescriptor | _UpbEnumDescriptor,
) -> tuple[tuple[int, str, str, str], ...]:
    """Each code of an enum but UNSPECIFIED: (number, code without the prefix, English name,
    Chinese name), in the enum's order; the names from its `(swf.v1.code)` option."""
    zero = enum.values_by_number.get(0)
    prefix = zero.name.removesuffix("UNSPECIFIED") if zero is not None else ""
    return tuple(
        (v.number, v.name.removeprefix(prefix), _code_option(v).name, _code_option(v).name_zh)
        for v in enum.values
        if v.number != 0
    )


def _field_uses(
    document_type: str,
    message: Descriptor | _UpbDescriptor,
    prefix: str,
    required: bool,
    errors: list[str],
    seen: tuple[str, ...] = (),
) -> Iterator[FieldUse]:
    if message.full_name in seen:
        errors.append(f"{document_type}: {prefix} nests {message.full_name} in itself")
        return
    for field in message.fields:
        element = element_of(field)
        where = f"{message.full_name}.{field.name}"
        path = prefix + field.name + ("[]" if field.is_repeated else "")
        use_required = required and element.required
        codes: tuple[str, ...] = ()
        names: tuple[tuple[str, str], ...] = ()
        if field.message_type is not None:
            value_type, expected = field.message_type.full_name, F.FORMAT_GROUP
        elif field.enum_type is not None:
            value_type, expected = field.enum_type.full_name, F.FORMAT_CODE
            codes, enum_errors = code_list(field.enum_type)
            names = tuple((en, zh) for _n, _c, en, zh in code_names(field.enum_type))
            errors.extend(enum_errors)
        else:
            value_type, expected = _STRING_TYPE, None
            if field.type != field.TYPE_STRING:
                errors.append(f"{where}: documents carry text; use string, not a number or bool")
        if not field.GetOptions().HasExtension(options_pb2.element):
            errors.append(f"{where}: carries no (swf.v1.element) option")
        elif not _ID.fullmatch(element.id):
            errors.append(f"{where}: element id {element.id!r} is not SW and 4 digits")
        elif not element.name:
            errors.append(f"{where}: element {element.id} has no name")
        elif not element.name_zh:
            errors.append(f"{where}: element {element.id} has no Chinese name (name_zh)")
        elif element.format == F.FORMAT_UNSPECIFIED:
            errors.append(f"{where}: element {element.id} has no format")
        elif expected is not None and element.format != expected:
            errors.append(
                f"{where}: element {element.id} is format {format_name(element.format)}; "
                f"a field of type {value_type} is format {format_name(expected)}"
            )
        elif expected is None and element.format in (F.FORMAT_GROUP, F.FORMAT_CODE):
            errors.append(
                f"{where}: element {element.id} is format {format_name(element.format)}, "
                "but the field is a string"
            )
        yield FieldUse(
            document_type=document_type,
            path=path,
            required=use_required,
            element=element,
            value_type=value_type,
            code_list=codes,
            code_names=names,
        )
        if field.message_type is not None:
            yield from _field_uses(
                document_type,
                field.message_type,
                path + ".",
                use_required,
                errors,
                (*seen, message.full_name),
            )


def _identity(use: FieldUse) -> dict[str, Any]:
    e = use.element
    return {
        "name": e.name,
        "name_zh": e.name_zh,
        "tded": e.tded,
        "format": format_name(e.format),
        "max_length": e.max_length,
        "type": use.value_type,
        "code_list": use.code_list,
    }


def merge_uses(uses: Iterable[FieldUse]) -> tuple[tuple[CatalogElement, ...], tuple[str, ...]]:
    """The catalog's elements (by id) from field uses, and every disagreement between uses."""
    by_id: dict[str, list[FieldUse]] = {}
    for use in uses:
        if use.element.id:
            by_id.setdefault(use.element.id, []).append(use)
    elements: list[CatalogElement] = []
    errors: list[str] = []
    for element_id in sorted(by_id):
        group = by_id[element_id]
        first = group[0]
        where = f"{first.document_type} {first.path}"
        ours = _identity(first)
        for other in group[1:]:
            theirs = _identity(other)
            errors.extend(
                f"element {element_id}: {key} {ours[key]!r} at {where}, but "
                f"{theirs[key]!r} at {other.document_type} {other.path}"
                for key in ours
                if ours[key] != theirs[key]
            )
        descriptions = {u.element.description for u in group if u.element.description}
        if len(descriptions) > 1:
            errors.append(f"element {element_id}: different descriptions: {sorted(descriptions)!r}")
        descriptions_zh = {u.element.description_zh for u in group if u.element.description_zh}
        if len(descriptions_zh) > 1:
            errors.append(
                f"element {element_id}: different Chinese descriptions: {sorted(descriptions_zh)!r}"
            )
        if bool(descriptions) != bool(descriptions_zh):
            errors.append(
                f"element {element_id}: a description needs both description and description_zh"
            )
        elements.append(
            CatalogElement(
                id=element_id,
                name=first.element.name,
                name_zh=first.element.name_zh,
                tded=first.element.tded,
                type=first.value_type,
                format=format_name(first.element.format),
                max_length=first.element.max_length,
                description=min(descriptions, default=""),
                description_zh=min(descriptions_zh, default=""),
                code_list=first.code_list,
                code_names=first.code_names,
                uses=tuple(
                    ElementUse(document_type=u.document_type, path=u.path, required=u.required)
                    for u in group
                ),
            )
        )
    return tuple(elements), tuple(errors)


def _document_errors() -> list[str]:
    errors = []
    arms = declarations_pb2.Document.DESCRIPTOR.oneofs_by_name["body"].fields
    in_oneof = {arm.message_type.full_name for arm in arms if arm.message_type is not None}
    for arm in arms:
        message = arm.message_type
        if message is None:
            errors.append(f"Document.{arm.name}: not a message")
            continue
        option = message.GetOptions().Extensions[options_pb2.document]
        if option.name != arm.name:
            errors.append(
                f"Document.{arm.name}: {message.full_name} names itself {option.name!r} in its "
                "(swf.v1.document) option; the two must be the same"
            )
        if not option.title:
            errors.append(f"{message.full_name}: its (swf.v1.document) option has no title")
        if not option.title_zh:
            errors.append(
                f"{message.full_name}: its (swf.v1.document) option has no Chinese title (title_zh)"
            )
    errors.extend(
        f"{message.full_name}: a document type missing from Document.body"
        for message in documents_pb2.DESCRIPTOR.message_types_by_name.values()
        if message.GetOptions().HasExtension(options_pb2.document)
        and message.full_name not in in_oneof
    )
    return errors


def build_catalog() -> Catalog:
    """The catalog of every document type (core.documents), with any errors found in it."""
    errors = _document_errors()
    uses: list[FieldUse] = []
    documents = []
    for info in document_types():
        found = list(_field_uses(info.name, info.descriptor, "", True, errors))
        uses += found
        documents.append(
            CatalogDocument(
                name=info.name,
                title=info.title,
                title_zh=info.title_zh,
                message=info.descriptor.full_name,
                fields=tuple(
                    DocumentField(path=u.path, element=u.element.id, required=u.required)
                    for u in found
                ),
            )
        )
    elements, merge_errors = merge_uses(uses)
    # An enum used in many places reports its own errors once.
    unique_errors = tuple(dict.fromkeys([*errors, *merge_errors]))
    return Catalog(documents=tuple(documents), elements=elements, errors=unique_errors)


def catalog_to_dict(catalog: Catalog) -> dict[str, Any]:
    """A JSON-ready form: `documents`, `elements` (each with its `uses`) and `errors`."""
    return {
        "documents": [
            {
                "name": d.name,
                "title": d.title,
                "title_zh": d.title_zh,
                "message": d.message,
                "fields": [
                    {"path": f.path, "element": f.element, "required": f.required} for f in d.fields
                ],
            }
            for d in catalog.documents
        ],
        "elements": [
            {
                "id": e.id,
                "name": e.name,
                "name_zh": e.name_zh,
                "tded": e.tded,
                "type": e.type,
                "format": e.format,
                "required": e.required,
                "max_length": e.max_length,
                "description": e.description,
                "description_zh": e.description_zh,
                "code_list": list(e.code_list),
                "code_names": [{"name": en, "name_zh": zh} for en, zh in e.code_names],
                "document_types": list(e.document_types),
                "uses": [
                    {"document_type": u.document_type, "path": u.path, "required": u.required}
                    for u in e.uses
                ],
            }
            for e in catalog.elements
        ],
        "errors": list(catalog.errors),
    }
