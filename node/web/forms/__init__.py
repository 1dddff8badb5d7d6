"""The portal's document forms, generated from the protos and the data element catalog.

No form is written by hand: a document type's form is its proto message read with the
`(swf.v1.element)` options of its fields (labels in English and Chinese, required flags, formats
as hints and widgets, code lists as selects, repeated groups as rows added and removed in place),
and what a user sends is checked by the API's own validator. A page calls:

    spec = form_spec("goods_declaration", "zh_Hans")        # the shape, per locale (spec.py)
    edit = edit_rows(spec, data)                             # an add/remove button (values.py)?
    if edit is not None:                                     # the same form, a row more or less
        form = bind_form(spec, edit.values, focus=edit.focus)
    else:
        message, errors = parse_form("goods_declaration", data)   # the document (parse.py)
        form = bind_form(spec, as_values(data), errors)           # shown again if errors

and renders `form` with the `document_form` macro of templates/forms/document.html (bind.py
decides everything the template prints). An empty form is `bind_form(spec, blank_values(spec))`;
a document shown read-only, `bind_form(spec, form_values(message))` with templates/forms/view.html.
docs/portal-forms.md tells the whole story.
"""

from node.web.forms.bind import BoundField, BoundForm, BoundGroup, BoundList, BoundRow, bind_form
from node.web.forms.parse import FormError, form_errors, parse_form
from node.web.forms.spec import FieldSpec, FormSpec, Option, field_id, form_spec, locale_of
from node.web.forms.values import (
    FormData,
    RowEdit,
    as_values,
    blank_values,
    edit_rows,
    form_values,
)

__all__ = [
    "BoundField",
    "BoundForm",
    "BoundGroup",
    "BoundList",
    "BoundRow",
    "FieldSpec",
    "FormData",
    "FormError",
    "FormSpec",
    "Option",
    "RowEdit",
    "as_values",
    "bind_form",
    "blank_values",
    "edit_rows",
    "field_id",
    "form_errors",
    "form_spec",
    "form_values",
    "locale_of",
    "parse_form",
]
