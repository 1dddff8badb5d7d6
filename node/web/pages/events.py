"""A logistics operator's reports: one event by form, or many by uploading a CSV or JSON file
(core/event_files.py), stored through the same service as the API's ReportEvents with the
operator's claims — all or none, each problem named with the API's rule; and the list of its
own reports, read as the API's ListMyEvents reads it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.datastructures import UploadFile
from starlette.responses import Response
from starlette.routing import Route

from core import access
from core.arguments import day_start_ms, parse_day
from core.errors import PermissionDenied, SwnodeError
from core.event_files import MAX_EVENTS_PER_FILE, event_from_cells, parse_event_file
from core.grpc_status import VALIDATION_KEY
from core.logistics import OPERATOR_KINDS
from node.web.pages.labels import EVENT_LABELS, MODE_LABELS
from node.web.refusals import refusal, rule_message
from node.web.visit import FieldErrors, Visit, page
from swf.v1 import declarations_pb2 as dpb
from swf.v1 import documents_pb2 as docs
from swf.v1 import logistics_pb2 as lpb

__all__ = ["routes"]

FIELDS = ("event_id", "kind", "occurred_at", "place", "container", "bill_of_lading", "mode")
_EVENT_FIELD = {"occurred_at_unix_ms": "occurred_at"}  # the API's field → the form's


def _errors(exc: SwnodeError, single: bool, locale: str) -> FieldErrors:
    """The API's refusal at the form's fields (one event), or listed by event (a file)."""
    for key, value in exc.details:
        if key == VALIDATION_KEY:
            errors: FieldErrors = {}
            for e in dpb.ValidationReport.FromString(value).errors:
                # "events[0].container" → the form's "container"; a file's rows keep their index
                name = e.field.split(".", 1)[-1] if single else "file"
                name = _EVENT_FIELD.get(name, name) if single else name
                # Markup: a message may hold its detail's markup (node/web/refusals.py)
                text = Markup("{}: {} ({})").format(
                    e.field, rule_message(e.rule, e.message, locale), e.rule
                )
                errors[name] = (
                    Markup("{}; {}").format(errors[name], text) if name in errors else text
                )
            return errors
    name = exc.field if single and exc.field in FIELDS else ("event_id" if single else "file")
    return {name: refusal(exc, locale)}


def _page(
    visit: Visit,
    *,
    errors: FieldErrors | None = None,
    values: dict[str, str] | None = None,
    stored: lpb.ReportEventsResponse | None = None,
    status: int = 200,
) -> Response:
    return visit.render(
        "events/report.html",
        status_code=status,
        errors=errors or {},
        values=values or {},
        stored=stored,
        kinds={n: EVENT_LABELS.get(n, n) for n in lpb.EventKind.keys()[1:]},
        modes={m: MODE_LABELS.get(m, m) for m in docs.TransportMode.keys()[1:]},
        max_events=MAX_EVENTS_PER_FILE,
    )


async def _report(visit: Visit, events: list[lpb.LogisticsEvent]) -> lpb.ReportEventsResponse:
    assert visit.signed_in is not None
    stored, duplicates = await visit.portal.node.logistics.report(visit.signed_in.claims, events)
    return lpb.ReportEventsResponse(stored=stored, duplicates=duplicates)


@page(signed_in=True)
async def report(visit: Visit) -> Response:
    assert visit.signed_in is not None
    if visit.request.method == "GET":
        # The service's own rule (core/access.py), asked before showing a form it would refuse.
        if not access.is_local(visit.signed_in.claims, OPERATOR_KINDS, visit.portal.node_id):
            return visit.refuse(
                403, "Only logistics operators report events", "logistics.not_operator"
            )
        return _page(visit)
    form = await visit.form()
    values = {k: form.get(k, "") for k in FIELDS}
    try:
        done = await _report(visit, [event_from_cells(values)])
    except PermissionDenied as exc:
        return visit.refuse(
            403, "Only logistics operators report events", refusal(exc, visit.locale)
        )
    except SwnodeError as exc:
        return _page(visit, errors=_errors(exc, True, visit.locale), values=values, status=400)
    return _page(visit, stored=done)


@page(signed_in=True)
async def upload(visit: Visit) -> Response:
    form = await visit.request.form()
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return _page(
            visit, errors={"file": "file: choose a CSV or JSON file (event.file)"}, status=400
        )
    try:
        events = parse_event_file(file.filename, await file.read())
        done = await _report(visit, events)
    except PermissionDenied as exc:
        return visit.refuse(
            403, "Only logistics operators report events", refusal(exc, visit.locale)
        )
    except SwnodeError as exc:
        return _page(visit, errors=_errors(exc, False, visit.locale), status=400)
    return _page(visit, stored=done)


MINE_FILTERS = ("container", "bill_of_lading", "since")


@page(signed_in=True)
async def mine(visit: Visit) -> Response:
    """The operator's own reports (the API's ListMyEvents), newest first, a page at a time."""
    assert visit.signed_in is not None
    params = visit.request.query_params
    values = {k: params.get(k, "").strip()[:64] for k in MINE_FILTERS}
    context: dict[str, Any] = {"values": values, "event_labels": EVENT_LABELS}
    try:
        since_ms = day_start_ms(parse_day(values["since"], field="since")) if values["since"] else 0
        found = await visit.portal.node.logistics.my_events(
            visit.signed_in.claims,
            lpb.ListMyEventsRequest(
                container=values["container"],
                bill_of_lading=values["bill_of_lading"],
                since_unix_ms=since_ms,
                page_token=params.get("page", "")[:32],
            ),
        )
    except PermissionDenied as exc:
        return visit.refuse(
            403, "Only logistics operators report events", refusal(exc, visit.locale)
        )
    except SwnodeError as exc:
        name = exc.field if exc.field in MINE_FILTERS else "since"
        errors = {name: refusal(exc, visit.locale)}
        return visit.render(
            "events/mine.html", status_code=400, errors=errors, events=[], next_url="", **context
        )
    next_url = ""
    if found.next_page_token:
        query = {k: v for k, v in values.items() if v} | {"page": found.next_page_token}
        next_url = "/events/mine?" + urlencode(query)
    return visit.render(
        "events/mine.html",
        errors={},
        events=list(found.events),
        next_url=next_url,
        kind_name=lpb.EventKind.Name,
        **context,
    )


routes = [
    Route("/events", report, methods=["GET", "POST"], name="events"),
    Route("/events/mine", mine, methods=["GET"], name="my_events"),
    Route("/events/upload", upload, methods=["POST"], name="upload_events"),
]
