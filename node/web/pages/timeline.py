"""The cargo timeline: one list of what happened to a container, a bill of lading or one of the
enterprise's declarations, across the federation's nodes, as the API's GetTimeline gives it and
read with the same rules (the enterprise's own declared cargo, and what grants allow); it keeps
itself up to date while open, fed by the same watch as WatchTimeline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response
from starlette.routing import Route

from core.errors import SwnodeError, Unauthenticated
from node.web.pages.declarations import live_stream, sse_event
from node.web.pages.labels import EVENT_LABELS, N_, STATUS_LABELS
from node.web.refusals import refusal
from node.web.visit import Visit, page
from swf.v1 import logistics_pb2 as lpb

__all__ = ["routes"]

KEYS = {
    "container": N_("Container number"),
    "bill_of_lading": N_("Bill of lading"),
    "declaration_id": N_("Declaration"),
}


def _key(visit: Visit) -> tuple[str, str]:
    """The key asked for: the form's `key` and `value`, or a link's `container=…` (etc.)."""
    params = visit.request.query_params
    if params.get("key") in KEYS and params.get("value", "").strip():
        return params["key"], params["value"].strip()[:64]
    for name in KEYS:
        value = visit.request.query_params.get(name, "").strip()
        if value:
            return name, value[:64]
    return "", ""


def _entries_html(visit: Visit, entries: list[lpb.TimelineEntry], timeline: object) -> str:
    return visit.portal.templates.render_text(
        "timeline/_entries.html",
        visit.locale,
        visit.portal.zone,
        entries=entries,
        timeline=timeline,
        event_labels=EVENT_LABELS,
        status_labels=STATUS_LABELS,
        kind_name=lpb.EventKind.Name,
    )


@page(signed_in=True)
async def timeline(visit: Visit) -> Response:
    assert visit.signed_in is not None
    name, value = _key(visit)
    context: dict[str, Any] = {"keys": KEYS, "chosen": name or "container", "value": value}
    if not name:
        return visit.render(
            "timeline/page.html", errors={}, entries_html="", events_url="", **context
        )
    try:
        found = await visit.portal.node.logistics.timeline(
            visit.signed_in.claims, lpb.TimelineRequest(key=lpb.TimelineKey(**{name: value}))
        )
    except SwnodeError as exc:
        errors = {"value": refusal(exc, visit.locale)}
        return visit.render(
            "timeline/page.html",
            status_code=400 if exc.kind.value == "invalid_argument" else 403,
            errors=errors,
            entries_html="",
            events_url="",
            **context,
        )
    return visit.render(
        "timeline/page.html",
        errors={},
        entries_html=_entries_html(visit, list(found.entries), found),
        events_url=f"/timeline/events?{urlencode({name: value})}",
        **context,
    )


@page(signed_in=True)
async def events(visit: Visit) -> Response:
    """The timeline's entries, sent again whole each time new ones arrive, for as long as the
    session's token is good."""
    assert visit.signed_in is not None
    claims = visit.signed_in.claims
    name, value = _key(visit)
    if not name:
        return visit.not_found()
    request = lpb.TimelineRequest(key=lpb.TimelineKey(**{name: value}))
    logistics = visit.portal.node.logistics
    lasts_s = max(1.0, (claims.expires_at_ms - visit.portal.node.clock_ms()) / 1000)

    async def stream() -> AsyncIterator[str]:
        entries: list[lpb.TimelineEntry] = []
        first = True
        try:
            async with asyncio.timeout(lasts_s):
                async for update in logistics.watch(claims, request):
                    entries = sorted([*entries, *update.entries], key=lambda e: e.at_unix_ms)
                    if first:  # the page already shows the timeline so far
                        first = False
                        continue
                    yield sse_event("update", _entries_html(visit, entries, update))
        except (TimeoutError, Unauthenticated):  # the token's time is up: the page asks again
            return
        except SwnodeError:  # refused now (a grant revoked): the page stops listening
            yield sse_event("done", "")

    return live_stream(visit, stream())


routes = [
    Route("/timeline", timeline, name="timeline"),
    Route("/timeline/events", events, name="timeline_events"),
]
