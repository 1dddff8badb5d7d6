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
    autofocus: bool = False
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
            "autofocus": "" if self.autofocus else None,
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
    add_autofocus: bool = False
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
    spec: FormSpec,
    values: Mapping[str, str],
    errors: Iterable[FormError] = (),
    *,
    focus: str = "",
) -> BoundForm:
    """The spec with these values and errors, ready to render; `focus` names the control or the
    add button that gets `autofocus` (RowEdit.focus)."""
    binder = _Binder(values=values, focus=focus)
    for error in errors:
        binder.errors.setdefault(error.name, []).append(error)
    children = binder.children(spec.fields, "")
    index, by_error = binder.index, binder.errors
    placed = [e for name in index for e in by_error.get(name, ())]
    unplaced = tuple(e for name, found in by_error.items() if name not in index for e in found)
    return BoundForm(
        spec=spec,
        children=children,
        errors=(*placed, *unplaced),
        unplaced=unplaced,
        _by_name=index,
    )


_Node = BoundField | BoundGroup | BoundList


@dataclass
class _Binder:
    values: Mapping[str, str]
    focus: str
    errors: dict[str, list[FormError]] = field(default_factory=dict)
    index: dict[str, _Node] = field(default_factory=dict)  # in form order

    def children(self, fields: tuple[FieldSpec, ...], prefix: str) -> tuple[_Node, ...]:
        return tuple(self.node(f, prefix + f.name) for f in fields)

    def node(self, spec: FieldSpec, name: str) -> _Node:
        node: _Node
        own = tuple(self.errors.get(name, ()))
        if spec.repeated or spec.is_group:
            # Reserve the node's place before what is inside, so `index` keeps form order.
            self.index[name] = BoundField(spec=spec, name=name, id="", value="")
        if spec.repeated:
            rows = tuple(
                self.row(spec, f"{name}.{row}", number)
                for number, row in enumerate(row_indexes(self.values, name), start=1)
            )
            node = BoundList(
                spec=spec,
                name=name,
                id=field_id(name),
                legend=spec.label,
                rows=rows,
                add=ADD + name,
                errors=own,
                add_autofocus=self.focus == ADD + name,
            )
        elif spec.is_group:
            node = BoundGroup(
                spec=spec,
                name=name,
                id=field_id(name),
                legend=spec.label,
                children=self.children(spec.fields, name + "."),
                errors=own,
            )
        else:
            node = self.leaf(spec, name, spec.label, required=spec.required)
        self.index[name] = node
        return node

    def row(self, spec: FieldSpec, name: str, number: int) -> BoundRow:
        legend = f"{spec.label} {number}"
        if spec.is_group:
            children = self.children(spec.fields, name + ".")
        else:
            row_field = self.leaf(spec, name, legend, required=True)
            self.index[name] = row_field
            children = (row_field,)
        return BoundRow(
            name=name,
            id=field_id(name),
            number=number,
            legend=legend,
            remove=REMOVE + name,
            children=children,
        )

    def leaf(self, spec: FieldSpec, name: str, label: str, *, required: bool) -> BoundField:
        value = self.values.get(name, "")
        options = spec.options
        if spec.widget == "select" and value and value not in {o.value for o in options}:
            # A value the list does not hold (sent by hand, or a code retired): shown, not lost.
            options = (Option(value=value, label=value), *options)
        return BoundField(
            spec=spec,
            name=name,
            id=field_id(name),
            value=value,
            errors=tuple(self.errors.get(name, ())),
            options=options,
            label=label,
            required=required,
            autofocus=self.focus == name,
        )
