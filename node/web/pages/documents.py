"""New documents: a page per document type whose form is generated from the protos and the
data element catalog (node/web/forms), submitted through the same service as the API's Submit
with the visitor's claims, so it is checked, authorized and refused exactly as the API is; each
problem is shown at the field it names."""

from __future__ import annotations

from dataclasses import replace

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from core.documents import document_types, wrap
from core.errors import SwnodeError
from core.grpc_status import VALIDATION_KEY
from core.validation import Problem
from node.web.forms import (
    FormData,
    FormError,
    as_values,
    bind_form,
    blank_values,
    edit_rows,
    form_errors,
    form_spec,
    parse_form,
)
from node.web.forms.bind import BoundForm
from node.web.refusals import rule_message
from node.web.visit import Visit, page
from swf.v1 import declarations_pb2 as dpb

__all__ = ["in_language", "refusal_errors", "routes"]


def in_language(errors: list[FormError], locale: str) -> list[FormError]:
    """The problems' messages in the page's language, by their rules (node/web/refusals.py)."""
    return [replace(e, message=rule_message(e.rule, e.message, locale)) for e in errors]


def refusal_errors(document_type: str, data: FormData, exc: SwnodeError) -> list[FormError]:
    """The service's refusal at the form's fields: every problem of a refused document (the
    ValidationReport the API puts in its trailers), or the one field a refusal names."""
    for key, value in exc.details:
        if key == VALIDATION_KEY:
            report = dpb.ValidationReport.FromString(value)
            problems = [Problem(e.field, e.rule, e.message, e.element) for e in report.errors]
            return form_errors(document_type, data, problems)
    problem = Problem(exc.field or "", exc.reason, exc.message)
    return form_errors(document_type, data, [problem])


def _types() -> dict[str, str]:
    return {t.name: t.title for t in document_types()}


@page(signed_in=True)
async def choose(visit: Visit) -> Response:
    titles = {name: form_spec(name, visit.locale).title for name in _types()}
    return visit.render("documents/choose.html", titles=titles)


def _form_page(visit: Visit, form: BoundForm, status: int = 200) -> Response:
    return visit.render("documents/new.html", status_code=status, form=form)


@page(signed_in=True)
async def new_document(visit: Visit) -> Response:
    assert visit.signed_in is not None
    document_type = visit.request.path_params["type"]
    if document_type not in _types():
        return visit.not_found()
    spec = form_spec(document_type, visit.locale)
    if visit.request.method == "GET":
        # A link may fill fields in (a declaration's "Pay" link: the declaration and amount).
        values = blank_values(spec)
        values.update(
            (name, value[:500])
            for name, value in visit.request.query_params.items()
            if name in values
        )
        return _form_page(visit, bind_form(spec, values))
    data = await visit.request.form()
    edit = edit_rows(spec, data)
    if edit is not None:  # a row added or removed: the same form, nothing submitted
        return _form_page(visit, bind_form(spec, edit.values, focus=edit.focus))
    message, errors = parse_form(document_type, data)
    if not errors:
        try:
            declaration = await visit.portal.node.declarations.submit(
                visit.signed_in.claims, wrap(message)
            )
        except SwnodeError as exc:
            errors = refusal_errors(document_type, data, exc)
        else:
            return RedirectResponse(f"/declarations/{declaration.id}", status_code=303)
    errors = in_language(errors, visit.locale)
    return _form_page(visit, bind_form(spec, as_values(data), errors), status=422)


routes = [
    Route("/documents/new", choose, name="documents"),
    Route("/documents/new/{type}", new_document, methods=["GET", "POST"], name="new_document"),
]
