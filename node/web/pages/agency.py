"""An agency officer's work at this node: the inbox, a work item with its document shown as a
readable page, claiming it and deciding (accept, reject with a reason, request information,
require inspection, release after inspection) — through the same service as the API's
AgencyWork, so only this node's agencies see their own items, and another's answers 404."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from core.errors import NotFound, PermissionDenied, SwnodeError
from node.web.forms import bind_form, form_spec, form_values
from node.web.pages.labels import N_
from node.web.refusals import refusal
from node.web.visit import FieldErrors, Visit, field_errors, page
from swf.v1 import declarations_pb2 as dpb

__all__ = ["DECISIONS", "routes"]

DECISIONS: dict[str, tuple[dpb.Decision.ValueType, str]] = {
    "accept": (dpb.DECISION_ACCEPT, N_("Accept")),
    "reject": (dpb.DECISION_REJECT, N_("Reject")),
    "request_information": (dpb.DECISION_REQUEST_INFORMATION, N_("Request information")),
    "require_inspection": (dpb.DECISION_REQUIRE_INSPECTION, N_("Require inspection")),
    "release": (dpb.DECISION_RELEASE, N_("Release after inspection")),
}
WORK_STATUSES = {
    "open": N_("Open"),
    "claimed": N_("Claimed"),
    "decided": N_("Decided"),
    "all": N_("All"),
}


def _refused(visit: Visit, exc: SwnodeError) -> Response:
    if isinstance(exc, NotFound):
        return visit.not_found()
    code = 403 if isinstance(exc, PermissionDenied) else 409
    return visit.refuse(code, "This is agency work", refusal(exc, visit.locale))


@page(signed_in=True)
async def inbox(visit: Visit) -> Response:
    assert visit.signed_in is not None
    status = visit.request.query_params.get("status", "open")
    status = status if status in WORK_STATUSES else "open"
    try:
        listed = await visit.portal.node.declarations.list_work(visit.signed_in.claims, status, 200)
    except SwnodeError as exc:
        return _refused(visit, exc)
    return visit.render(
        "agency/inbox.html", items=list(listed.items), status=status, statuses=WORK_STATUSES
    )


async def _item_page(
    visit: Visit, *, errors: FieldErrors, values: dict[str, str], status: int = 200
) -> Response:
    assert visit.signed_in is not None
    try:
        item = await visit.portal.node.declarations.work_item(
            visit.signed_in.claims, visit.request.path_params["id"]
        )
    except SwnodeError as exc:
        return _refused(visit, exc)
    document = getattr(item.document, item.document_type)
    shown = bind_form(form_spec(item.document_type, visit.locale), form_values(document))
    return visit.render(
        "agency/item.html",
        status_code=status,
        item=item,
        document=shown,
        decisions={k: label for k, (_, label) in DECISIONS.items()},
        statuses=WORK_STATUSES,
        errors=errors,
        values=values,
        mine=item.claimed_by == visit.signed_in.claims.actor,
    )


@page(signed_in=True)
async def item(visit: Visit) -> Response:
    return await _item_page(visit, errors={}, values={})


@page(signed_in=True)
async def claim(visit: Visit) -> Response:
    assert visit.signed_in is not None
    work_id = visit.request.path_params["id"]
    try:
        await visit.portal.node.declarations.claim(visit.signed_in.claims, work_id)
    except SwnodeError as exc:
        if isinstance(exc, NotFound | PermissionDenied):
            return _refused(visit, exc)
        return await _item_page(
            visit, errors=field_errors(exc, "claim", visit.locale), values={}, status=409
        )
    return RedirectResponse(f"/work/{work_id}", status_code=303)


@page(signed_in=True)
async def decide(visit: Visit) -> Response:
    assert visit.signed_in is not None
    work_id = visit.request.path_params["id"]
    form = await visit.form()
    values = {k: form.get(k, "") for k in ("decision", "reason", "note")}
    chosen = DECISIONS.get(values["decision"])
    request = dpb.DecideRequest(
        work_id=work_id,
        decision=chosen[0] if chosen else dpb.DECISION_UNSPECIFIED,
        reason=values["reason"],
        note=values["note"],
    )
    try:
        await visit.portal.node.declarations.decide(visit.signed_in.claims, request)
    except SwnodeError as exc:
        if isinstance(exc, NotFound | PermissionDenied):
            return _refused(visit, exc)
        return await _item_page(
            visit, errors=field_errors(exc, "decision", visit.locale), values=values, status=400
        )
    return RedirectResponse("/work", status_code=303)


routes = [
    Route("/work", inbox, name="work"),
    Route("/work/{id}", item, name="work_item"),
    Route("/work/{id}/claim", claim, methods=["POST"], name="claim"),
    Route("/work/{id}/decide", decide, methods=["POST"], name="decide"),
]
