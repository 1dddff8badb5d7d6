"""Submitted form data into a document message, checked by the API's own validator.

`parse_form(type, data)` reads the values the form sent (node/web/forms/values.py) into the
document's message, then validates it with core.validation.validate, the same function the gRPC
API runs, so a page refuses exactly what the API would, with the same rules and messages. Each
problem's field path (`items[1].hs_code`, proto indexes) is mapped back to the form name the user
typed into (`items.3.hs_code`, form rows), so the error shows at its field:

- Rows the user removed, or left wholly empty, are dropped, and the rows kept are renumbered in
  the message; the map from message index to form row is kept while reading.
- A group that is not required and left wholly empty is absent (the validator does not look
  into it); a required group is always there, so each of its empty required fields is named.
- Text is trimmed of surrounding white space, as a user does not see it.
- A select sent with a code its list does not hold is a `code_unknown` problem at its field; the
  validator's own problems at a field that already has one are left out, so one mistake shows once.

Problems a service reports later (the tariff, the submitter's party) name message paths too:
`form_errors` maps them to the form the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message

from core.documents import message_class
from core.validation import Problem, validate
from node.web.forms.spec import FieldSpec, FormSpec, field_id, form_spec
from node.web.forms.values import FormData, as_values, row_indexes

__all__ = ["FormError", "form_errors", "parse_form"]

_SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[([0-9]+)\])?")


@dataclass(frozen=True, kw_only=True)
class FormError:
    """A problem at a form field: its form name ("" for the document as a whole), the API's rule
    code and message, and the data element."""

    name: str
    rule: str
    message: str
    element: str = ""

    @property
    def target(self) -> str:
        """The id of the element the error summary links to."""
        return field_id(self.name) if self.name else "document-form"


@dataclass
class _Reading:
    values: dict[str, str]
    index_map: dict[str, str]  # message path prefix `items[0]` → form prefix `items.3`
    errors: list[FormError]


def parse_form(document_type: str, data: FormData) -> tuple[Message, list[FormError]]:
    """The document the form data describe, and every problem with it ([] means valid).

    Add and remove buttons in the data are ignored (node.web.forms.values.edit_rows handles them
    before); so is any name that is no field of the form (a CSRF token)."""
    message, reading = _read(document_type, data)
    return message, _merge(reading, validate(message))


def form_errors(document_type: str, data: FormData, problems: Iterable[Problem]) -> list[FormError]:
    """Problems with the document parsed from `data` (reported by a service, or by the API after
    submission) as errors at the form's fields."""
    _message, reading = _read(document_type, data)
    return [_at_field(reading, p) for p in problems]


def _read(document_type: str, data: FormData) -> tuple[Message, _Reading]:
    spec: FormSpec = form_spec(document_type)
    message = message_class(document_type)()
    reading = _Reading(values=as_values(data), index_map={}, errors=[])
    _fill(reading, spec.fields, message, "", "")
    return message, reading


def _merge(reading: _Reading, problems: Iterable[Problem]) -> list[FormError]:
    errors = list(reading.errors)
    named = {e.name for e in errors}
    errors += [e for e in (_at_field(reading, p) for p in problems) if e.name not in named]
    return errors


def _at_field(reading: _Reading, problem: Problem) -> FormError:
    return FormError(
        name=_form_name(reading.index_map, problem.field),
        rule=problem.rule,
        message=problem.message,
        element=problem.element,
    )


def _form_name(index_map: dict[str, str], path: str) -> str:
    """`items[1].quantity.value` → `items.3.quantity.value` by the rows read; "" for a path that
    is no field (`document`)."""
    form, proto = "", ""
    for segment in path.split("."):
        match = _SEGMENT.fullmatch(segment)
        if match is None:
            return ""
        name, index = match.groups()
        proto += ("." if proto else "") + name
        form += ("." if form else "") + name
        if index is not None:
            proto += f"[{index}]"
            form = index_map.get(proto, f"{form}.{index}")
    return "" if form == "document" else form


def _fill(
    reading: _Reading, fields: tuple[FieldSpec, ...], message: Any, prefix: str, path: str
) -> bool:
    """Read the fields under form prefix `prefix` into `message` (at message path `path`);
    True when any of them was given a value."""
    given = False
    for field in fields:
        name, at = prefix + field.name, path + field.name
        if field.repeated:
            given |= _fill_rows(reading, field, message, name, at)
        elif field.is_group:
            sub = getattr(message, field.name)
            if _fill(reading, field.fields, sub, name + ".", at + "."):
                given = True
            elif field.required:
                sub.SetInParent()
        else:
            text = reading.values.get(name, "").strip()
            if text:
                given = True
                _set_scalar(reading, field, message, name, text)
    return given


def _fill_rows(reading: _Reading, field: FieldSpec, message: Any, name: str, at: str) -> bool:
    items = getattr(message, field.name)
    for row in row_indexes(reading.values, name):
        form_row, message_row = f"{name}.{row}", f"{at}[{len(items)}]"
        if field.is_group:
            item = items.add()
            if _fill(reading, field.fields, item, form_row + ".", message_row + "."):
                reading.index_map[message_row] = form_row
            else:
                del items[-1]
        else:
            text = reading.values.get(form_row, "").strip()
            if text:
                reading.index_map[message_row] = form_row
                items.append(text)
    return len(items) > 0


def _set_scalar(reading: _Reading, field: FieldSpec, message: Any, name: str, text: str) -> None:
    descriptor = message.DESCRIPTOR.fields_by_name[field.name]
    enum = descriptor.enum_type
    if enum is None:
        setattr(message, field.name, text)
        return
    prefix = enum.values_by_number[0].name.removesuffix("UNSPECIFIED")
    known = {option.value for option in field.options}
    value = enum.values_by_name.get(prefix + text) if text in known else None
    if value is None:
        reading.errors.append(
            FormError(
                name=name,
                rule="code_unknown",
                message=f"{field.label}: {text[:40]!r} is not one of its codes",
                element=field.element,
            )
        )
        return
    setattr(message, field.name, value.number)
