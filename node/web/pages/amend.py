"""Amending a declaration that an agency asked information about: the form of its document type
(node/web/forms), filled in from the declaration as it stands, submitted through the same service
as the API's Amend with the visitor's claims — checked, authorized and refused exactly as the API
is, each problem at its field."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from core.declaration_status import TRANSITIONS, Status
from core.documents import wrap
from core.errors import NotFound, SwnodeError
from node.web.forms import as_values, bind_form, edit_rows, form_spec, form_values, parse_form
from node.web.forms.bind import BoundForm
from node.web.pages.documents import in_language, refusal_errors
from node.web.visit import Visit, page
from swf.v1 import declarations_pb2 as dpb

__all__ = ["amend_url", "routes"]


def amend_url(declaration: dpb.Declaration) -> str:
    """The amendment's form, for a declaration in a status the `amend` transition leaves."""
    if Status(declaration.status) not in TRANSITIONS["amend"][0]:
        return ""
    return f"/declarations/{declaration.id}/amend"


def _page(
    visit: Visit, declaration: dpb.Declaration, form: BoundForm, status: int = 200
) -> Response:
    return visit.render(
        "declarations/amend.html", status_code=status, declaration=declaration, form=form
    )


@page(signed_in=True)
async def amend(visit: Visit) -> Response:
    assert visit.signed_in is not None
    declaration_id = visit.request.path_params["id"][:64]
    try:
        declaration = await visit.portal.node.declarations.get(
            visit.signed_in.claims, declaration_id
        )
    except NotFound:
        return visit.not_found()
    document_type = declaration.document_type
    spec = form_spec(document_type, visit.locale)
    if visit.request.method == "GET":
        values = form_values(getattr(declaration.document, document_type))
        return _page(visit, declaration, bind_form(spec, values))
    data = await visit.request.form()
    edit = edit_rows(spec, data)
    if edit is not None:  # a row added or removed: the same form, nothing submitted
        return _page(visit, declaration, bind_form(spec, edit.values, focus=edit.focus))
    message, errors = parse_form(document_type, data)
    if not errors:
        try:
            await visit.portal.node.declarations.amend(
                visit.signed_in.claims, declaration_id, wrap(message)
            )
        except SwnodeError as exc:
            errors = refusal_errors(document_type, data, exc)
        else:
            return RedirectResponse(f"/declarations/{declaration_id}", status_code=303)
    form = bind_form(spec, as_values(data), in_language(errors, visit.locale))
    return _page(visit, declaration, form, status=422)


routes = [
    Route("/declarations/{id}/amend", amend, methods=["GET", "POST"], name="amend_declaration"),
]
