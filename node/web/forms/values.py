"""A form's values: what a browser sends (form name → text), from a document or to one.

A browser sends every input of a form, empty ones too, so the values say which rows a form has:
row `items.2` exists when some name starts with `items.2.` (or is `containers.2` for a list of
plain values). `form_values(message)` gives the values that show a document in its form, and
`edit_rows` applies the buttons that add a row (`add:items`) or remove one (`remove:items.1`),
which are plain submit buttons so that rows are added and removed without JavaScript; htmx sends
the same buttons and re-renders only the list's fieldset.

Submitted data may be a Starlette `FormData` (a multi-dict), any mapping, or (name, value) pairs;
only text values count (a file upload is not a document field), and the last of a name wins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

from google.protobuf.message import Message

from core.documents import type_name_of
from node.web.forms.spec import FieldSpec, FormSpec, form_spec

__all__ = [
    "ADD",
    "REMOVE",
    "FormData",
    "RowEdit",
    "as_values",
    "blank_values",
    "edit_rows",
    "form_values",
    "row_indexes",
]

ADD = "add:"
REMOVE = "remove:"
_INDEX = re.compile(r"(0|[1-9][0-9]{0,3})")  # at most 10,000 rows: a bound on what a form makes


class _MultiDict(Protocol):
    def multi_items(self) -> list[tuple[str, Any]]: ...


FormData: TypeAlias = _MultiDict | Mapping[str, Any] | Iterable[tuple[str, Any]]


def as_values(data: FormData) -> dict[str, str]:
    """Submitted data as one text per name. Line ends are made `\\n` (browsers send CR LF)."""
    if hasattr(data, "multi_items"):
        pairs: Iterable[tuple[str, Any]] = data.multi_items()
    elif isinstance(data, Mapping):
        pairs = data.items()
    else:
        pairs = data
    return {
        str(name): value.replace("\r\n", "\n").replace("\r", "\n")
        for name, value in pairs
        if isinstance(value, str)
    }


def row_indexes(values: Mapping[str, str], name: str) -> list[int]:
    """The rows of the list `name` present in the values, in order."""
    prefix = name + "."
    found: set[int] = set()
    for key in values:
        if key.startswith(prefix):
            head = key[len(prefix) :].split(".", 1)[0]
            if _INDEX.fullmatch(head):
                found.add(int(head))
    return sorted(found)


def form_values(message: Message) -> dict[str, str]:
    """The values that show `message` (a document) in its form: every field, empty ones as ""."""
    spec = form_spec(type_name_of(message))
    values: dict[str, str] = {}
    _message_values(spec.fields, message, "", values)
    return values


def _message_values(
    fields: tuple[FieldSpec, ...], message: Message | None, prefix: str, out: dict[str, str]
) -> None:
    for field in fields:
        name = prefix + field.name
        if message is None:  # an absent group: its fields are shown empty
            if field.is_group and not field.repeated:
                _message_values(field.fields, None, name + ".", out)
            elif not field.repeated:
                out[name] = ""
            continue
        value = getattr(message, field.name)
        enum = message.DESCRIPTOR.fields_by_name[field.name].enum_type
        if field.repeated:
            for i, item in enumerate(value):
                if field.is_group:
                    _message_values(field.fields, item, f"{name}.{i}.", out)
                else:
                    out[f"{name}.{i}"] = _text(item, enum)
        elif field.is_group:
            present = message.HasField(field.name)
            _message_values(field.fields, value if present else None, name + ".", out)
        else:
            out[name] = _text(value, enum)


def _text(value: object, enum: Any) -> str:
    """A scalar as the form shows it: text as it is, an enum as its code without the prefix
    (as the select's options are), an enum's zero value as no choice."""
    if isinstance(value, str) or enum is None:
        return str(value)
    if value == 0:
        return ""
    known = enum.values_by_number.get(value)
    if known is None:  # a number this version does not know: kept, and refused when parsed
        return str(value)
    prefix: str = enum.values_by_number[0].name.removesuffix("UNSPECIFIED")
    name: str = known.name
    return name.removeprefix(prefix)


def _blank_row(field: FieldSpec, name: str, out: dict[str, str]) -> None:
    if not field.is_group:
        out[name] = ""
        return
    for sub in field.fields:
        if sub.repeated:
            if sub.required:  # a required list starts with one row
                _blank_row(sub, f"{name}.{sub.name}.0", out)
        elif sub.is_group:
            _blank_row(sub, f"{name}.{sub.name}", out)
        else:
            out[f"{name}.{sub.name}"] = ""


def blank_values(spec: FormSpec) -> dict[str, str]:
    """The values of an empty form: one row in each required list."""
    out: dict[str, str] = {}
    for field in spec.fields:
        if field.repeated:
            if field.required:
                _blank_row(field, f"{field.name}.0", out)
        elif field.is_group:
            _blank_row(field, field.name, out)
        else:
            out[field.name] = ""
    return out


@dataclass(frozen=True)
class RowEdit:
    """A form after its add or remove button: its values, and the form name to put the focus
    on (the new row's first field, or after a removal the list's add button), so a keyboard
    user goes on where the row was."""

    values: dict[str, str]
    focus: str = ""


def edit_rows(spec: FormSpec, data: FormData) -> RowEdit | None:
    """The form after the add or remove button that was pressed, or None when the data were
    sent by another button (a submission to parse). A button naming no list of the form is
    ignored (the values are returned unchanged): a form rendered by an older version of it."""
    values = as_values(data)
    action = next((k for k in values if k.startswith((ADD, REMOVE))), None)
    if action is None:
        return None
    del values[action]
    for key in [k for k in values if k.startswith((ADD, REMOVE))]:
        del values[key]
    if action.startswith(ADD):
        name = action.removeprefix(ADD)
        field = spec.find(name)
        if field is None or not field.repeated or name.split(".")[-1].isdigit():
            return RowEdit(values)
        rows = row_indexes(values, name)
        row: dict[str, str] = {}
        _blank_row(field, f"{name}.{rows[-1] + 1 if rows else 0}", row)
        values.update(row)
        return RowEdit(values, focus=next(iter(row)))
    name = action.removeprefix(REMOVE)
    list_name, _, index = name.rpartition(".")
    field = spec.find(list_name)
    if field is None or not field.repeated or not _INDEX.fullmatch(index):
        return RowEdit(values)
    kept = {k: v for k, v in values.items() if k != name and not k.startswith(name + ".")}
    return RowEdit(kept, focus=ADD + list_name)
