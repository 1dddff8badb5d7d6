"""The data sharing pool: browse the federation's datasets, ask for access and follow one's own
requests; publish a dataset (an administrator, at its home node); for a dataset's owner, the
requests made to it (grant, refuse, revoke) and its access log. All through the same service as
the API's DataSharing, with the visitor's claims."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from core.errors import SwnodeError
from node.web.pages.labels import N_
from node.web.refusals import refusal
from node.web.visit import FieldErrors, Visit, field_errors, page
from swf.v1 import logistics_pb2 as lpb

__all__ = ["routes"]

ACCESS_LABELS = {
    "ACCESS_STATUS_PENDING": N_("Waiting for the owner"),
    "ACCESS_STATUS_GRANTED": N_("Granted"),
    "ACCESS_STATUS_REFUSED": N_("Refused"),
    "ACCESS_STATUS_REVOKED": N_("Revoked"),
    "ACCESS_STATUS_EXPIRED": N_("Expired"),
}
DAY_MS = 86_400_000
POLICY_LABELS = {
    "SHARING_POLICY_OPEN_TO_AGENCIES": N_("Open to the federation's agencies"),
    "SHARING_POLICY_RESTRICTED": N_("Restricted: each party asks and the owner grants"),
}


def _context() -> dict[str, object]:
    return {"access_labels": ACCESS_LABELS, "status_name": lpb.AccessStatus.Name}


@page(signed_in=True)
async def pool(visit: Visit) -> Response:
    return await _pool(visit)


async def _pool(visit: Visit, *, errors: FieldErrors | None = None, status: int = 200) -> Response:
    assert visit.signed_in is not None
    claims = visit.signed_in.claims
    sharing = visit.portal.node.sharing
    try:
        datasets = await sharing.list_datasets(claims, lpb.ListDatasetsRequest())
        mine = await sharing.list_requests(claims, lpb.ListRequestsRequest())
    except SwnodeError as exc:
        return visit.refuse(403, "The data sharing pool", refusal(exc, visit.locale))
    return visit.render(
        "sharing/pool.html",
        status_code=status,
        datasets=list(datasets.datasets),
        missing=list(datasets.missing),
        requests=list(mine.requests),
        errors=errors or {},
        **_context(),
    )


@page(signed_in=True)
async def ask(visit: Visit) -> Response:
    assert visit.signed_in is not None
    form = await visit.form()
    days = form.get("days", "").strip()
    now_ms = visit.portal.node.clock_ms()
    request = lpb.RequestAccessRequest(
        dataset=form.get("dataset", ""),
        purpose=form.get("purpose", ""),
        valid_from_unix_ms=now_ms,
        valid_until_unix_ms=now_ms + int(days) * DAY_MS if days.isdigit() and len(days) < 5 else 0,
    )
    try:
        await visit.portal.node.sharing.request_access(visit.signed_in.claims, request)
    except SwnodeError as exc:
        errors = field_errors(exc, "purpose", visit.locale)
        if "valid_until_unix_ms" in errors:
            errors["days"] = errors.pop("valid_until_unix_ms")
        return await _pool(visit, errors=errors, status=400)
    return RedirectResponse("/sharing", status_code=303)


@page(signed_in=True)
async def incoming(visit: Visit) -> Response:
    return await _incoming(visit)


async def _incoming(
    visit: Visit, *, errors: FieldErrors | None = None, status: int = 200
) -> Response:
    assert visit.signed_in is not None
    claims = visit.signed_in.claims
    sharing = visit.portal.node.sharing
    try:
        asked = await sharing.list_requests(claims, lpb.ListRequestsRequest(incoming=True))
        log = await sharing.access_log(claims, lpb.AccessLogRequest(page_size=50))
    except SwnodeError as exc:
        return visit.refuse(403, "The data sharing pool", refusal(exc, visit.locale))
    return visit.render(
        "sharing/incoming.html",
        status_code=status,
        requests=list(asked.requests),
        log=list(log.entries),
        errors=errors or {},
        **_context(),
    )


@page(signed_in=True)
async def decide(visit: Visit) -> Response:
    assert visit.signed_in is not None
    form = await visit.form()
    action = visit.request.path_params["action"]
    if action not in ("grant", "refuse", "revoke"):
        return visit.not_found()
    try:
        await visit.portal.node.sharing.decide_request(
            visit.signed_in.claims,
            visit.request.path_params["id"],
            action,
            reason="" if action == "grant" else form.get("reason", ""),
        )
    except SwnodeError as exc:
        return await _incoming(visit, errors={"requests": refusal(exc, visit.locale)}, status=400)
    return RedirectResponse("/sharing/incoming", status_code=303)


@page(signed_in=True)
async def publish(visit: Visit) -> Response:
    """PublishDataset: a name, a description, its fields (one per line or comma-separated)
    and its policy."""
    assert visit.signed_in is not None
    if visit.request.method == "GET":
        return _publish_form(visit, {}, {})
    form = await visit.form()
    values = {k: form.get(k, "") for k in ("name", "description", "fields", "policy")}
    policy = values["policy"]
    request = lpb.PublishDatasetRequest(
        name=values["name"].strip(),
        description=values["description"],
        fields=[f for f in values["fields"].replace(",", "\n").splitlines() if f.strip()],
        policy=lpb.SharingPolicy.Value(policy)
        if policy in POLICY_LABELS
        else lpb.SHARING_POLICY_UNSPECIFIED,
    )
    try:
        await visit.portal.node.sharing.publish(visit.signed_in.claims, request)
    except SwnodeError as exc:
        return _publish_form(visit, values, field_errors(exc, "name", visit.locale), status=400)
    return RedirectResponse("/sharing", status_code=303)


def _publish_form(
    visit: Visit, values: dict[str, str], errors: FieldErrors, status: int = 200
) -> Response:
    return visit.render(
        "sharing/publish.html",
        status_code=status,
        values=values,
        errors=errors,
        policy_labels=POLICY_LABELS,
    )


routes = [
    Route("/sharing", pool, name="sharing"),
    Route("/sharing/publish", publish, methods=["GET", "POST"], name="publish_dataset"),
    Route("/sharing/ask", ask, methods=["POST"], name="ask_access"),
    Route("/sharing/incoming", incoming, name="incoming_requests"),
    Route("/sharing/requests/{id}/{action}", decide, methods=["POST"], name="decide_access"),
]
