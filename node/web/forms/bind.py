"""A form spec with its values and errors: what the templates render, decided here.

The templates (node/web/templates/forms/) only print: every name, id, value, selected option,
row and error is worked out by `bind_form`, so the logic is tested without rendering. Each node
knows its form name (`items.0.hs_code`), its HTML id (`f-items-0-hs_code`), and the ids that
`aria-describedby` lists (its hint and its error message, when it has them).

Rows come from the values (node/web/forms/values.py): a list shows the rows its values hold,
numbered from 1 in order (a removed row leaves a gap in the names, not in the numbers).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from node.web.forms.parse import FormError
from node.web.forms.spec import FieldSpec, FormSpec, Option, field_id
from node.web.forms.values import ADD, REMOVE, row_indexes

__all__ = ["BoundField", "BoundForm", "BoundGroup", "BoundList", "BoundRow", "bind_form"]


@dataclass(frozen=True, kw_only=True)
class BoundField:
    """One input or select with its value."""

    spec: FieldSpec
    name: str
    id: str
    value: str
    errors: tuple[FormError, ...] = ()
    options: tuple[Option, ...] = ()  # a select's, with the value among them
    label: str = ""  # the spec's label, or the row's ("Container number 2")
    required: bool = False  # the spec's flag; a row's value is always required
    kind: Literal["field"] = "field"

    @property
    def filled(self) -> bool:
        return bool(self.value.strip())

    @property
    def shown(self) -> str:
        """The value as a reader sees it: a select's option label, else the text itself."""
        return next((o.label for o in self.options if o.value == self.value), self.value)

    @property
    def hint_id(self) -> str:
        spec = self.spec
        return f"{self.id}-hint" if spec.hint or spec.length_hint or spec.description else ""

    @property
    def error_id(self) -> str:
        return f"{self.id}-error" if self.errors else ""

    @property
    def describedby(self) -> str:
        return " ".join(i for i in (self.hint_id, self.error_id) if i)

    @property
    def attributes(self) -> dict[str, str | None]:
        """The control's attributes that tie it to its label, hint and error (Jinja's
        `xmlattr` leaves out the None ones)."""
        return {
            "id": self.id,
            "name": self.name,
            "aria-describedby": self.describedby or None,
            "aria-invalid": "true" if self.errors else None,
            "aria-required": "true" if self.required else None,
        }


@dataclass(frozen=True, kw_only=True)
class BoundGroup:
    """A group of fields (a nested message): a fieldset with the group's label as its legend."""

    spec: FieldSpec
    name: str
    id: str
    legend: str
    children: tuple[BoundField | BoundGroup | BoundList, ...]
    errors: tuple[FormError, ...] = ()
    kind: Literal["group"] = "group"

    @property
    def filled(self) -> bool:
        """Some field inside holds a value (a readable page leaves an empty group out)."""
        return any(child.filled for child in self.children)

    @property
    def error_id(self) -> str:
        return f"{self.id}-error" if self.errors else ""


@dataclass(frozen=True, kw_only=True)
class BoundRow:
    """One row of a list: a group of fields, or one field; `remove` is its button's name."""

    name: str
    id: str
    number: int
    legend: str
    remove: str
    children: tuple[BoundField | BoundGroup | BoundList, ...]


@dataclass(frozen=True, kw_only=True)
class BoundList:
    """A repeated field: its rows and the name of the button that adds one."""

    spec: FieldSpec
    name: str
    id: str
    legend: str
    rows: tuple[BoundRow, ...]
    add: str
    errors: tuple[FormError, ...] = ()
    kind: Literal["list"] = "list"

    @property
    def filled(self) -> bool:
        return any(child.filled for row in self.rows for child in row.children)

    @property
    def error_id(self) -> str:
        return f"{self.id}-error" if self.errors else ""


@dataclass(frozen=True, kw_only=True)
class BoundForm:
    """A whole document form. `errors` are all of them in form order, for the error summary;
    `unplaced` the ones at no field of the form (shown in the summary only)."""

    spec: FormSpec
    children: tuple[BoundField | BoundGroup | BoundList, ...]
    errors: tuple[FormError, ...] = ()
    unplaced: tuple[FormError, ...] = ()
    _by_name: Mapping[str, BoundField | BoundGroup | BoundList] = field(
        default_factory=dict, repr=False, compare=False
    )

    def find(self, name: str) -> BoundField | BoundGroup | BoundList | None:
        """The node of a form name: a list's fieldset is what htmx re-renders after a row is
        added or removed."""
        return self._by_name.get(name)


def bind_form(
    spec: FormSpec, values: Mapping[str, str], errors: Iterable[FormError] = ()
) -> BoundForm:
    """The spec with these values and errors, ready to render."""
    by_error: dict[str, list[FormError]] = {}
    for error in errors:
        by_error.setdefault(error.name, []).append(error)
    index: dict[str, BoundField | BoundGroup | BoundList] = {}
    children = _children(spec.fields, values, by_error, "", index)
    placed = [e for name in index for e in by_error.get(name, ())]
    unplaced = tuple(e for name, found in by_error.items() if name not in index for e in found)
    return BoundForm(
        spec=spec,
        children=children,
        errors=(*placed, *unplaced),
        unplaced=unplaced,
        _by_name=index,
    )


def _children(
    fields: tuple[FieldSpec, ...],
    values: Mapping[str, str],
    errors: dict[str, list[FormError]],
    prefix: str,
    index: dict[str, BoundField | BoundGroup | BoundList],
) -> tuple[BoundField | BoundGroup | BoundList, ...]:
    return tuple(_node(f, values, errors, prefix + f.name, index) for f in fields)


def _node(
    spec: FieldSpec,
    values: Mapping[str, str],
    errors: dict[str, list[FormError]],
    name: str,
    index: dict[str, BoundField | BoundGroup | BoundList],
) -> BoundField | BoundGroup | BoundList:
    node: BoundField | BoundGroup | BoundList
    own = tuple(errors.get(name, ()))
    if spec.repeated:
        # Reserve the list's place before its rows, so `index` keeps form order.
        index[name] = BoundField(spec=spec, name=name, id="", value="")
        rows = tuple(
            _row(spec, values, errors, f"{name}.{row}", number, index)
            for number, row in enumerate(row_indexes(values, name), start=1)
        )
        node = BoundList(
            spec=spec,
            name=name,
            id=field_id(name),
            legend=spec.label,
            rows=rows,
            add=ADD + name,
            errors=own,
        )
    elif spec.is_group:
        index[name] = BoundField(spec=spec, name=name, id="", value="")
        node = BoundGroup(
            spec=spec,
            name=name,
            id=field_id(name),
            legend=spec.label,
            children=_children(spec.fields, values, errors, name + ".", index),
            errors=own,
        )
    else:
        node = _field(spec, values, own, name, spec.label, required=spec.required)
    index[name] = node
    return node


def _row(
    spec: FieldSpec,
    values: Mapping[str, str],
    errors: dict[str, list[FormError]],
    name: str,
    number: int,
    index: dict[str, BoundField | BoundGroup | BoundList],
) -> BoundRow:
    legend = f"{spec.label} {number}"
    if spec.is_group:
        children = _children(spec.fields, values, errors, name + ".", index)
    else:
        row_field = _field(spec, values, tuple(errors.get(name, ())), name, legend, required=True)
        index[name] = row_field
        children = (row_field,)
    return BoundRow(
        name=name,
        id=field_id(name),
        number=number,
        legend=legend,
        remove=REMOVE + name,
        children=children,
    )


def _field(
    spec: FieldSpec,
    values: Mapping[str, str],
    errors: tuple[FormError, ...],
    name: str,
    label: str,
    *,
    required: bool,
) -> BoundField:
    value = values.get(name, "")
    options = spec.options
    if spec.widget == "select" and value and value not in {o.value for o in options}:
        # A value the list does not hold (sent by hand, or a code retired): shown, not lost.
        options = (Option(value=value, label=value), *options)
    return BoundField(
        spec=spec,
        name=name,
        id=field_id(name),
        value=value,
        errors=errors,
        options=options,
        label=label,
        required=required,
    )
