"""An enterprise's declarations: the list, and a declaration's page with its history, which
updates itself while open — server-sent events fed by the same watch as the API's
WatchDeclaration (services/declarations.py `watch`), so a change made through any replica
shows. Another party's declaration answers 404, as the API's NotFound does.

New documents are pages/documents.py's."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlencode

from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from core.declaration_status import FINAL, Status
from core.errors import NotFound, SwnodeError, Unauthenticated
from node.web.forms import bind_form, form_spec, form_values
from node.web.i18n import catalog
from node.web.pages.amend import amend_url
from node.web.pages.labels import N_, STATUS_LABELS
from node.web.refusals import refusal
from node.web.visit import Visit, page
from services.agencies import PAYMENT
from swf.v1 import declarations_pb2 as dpb

__all__ = ["live_stream", "routes", "sse_event"]

LIST_SIZE = 50


def sse_event(event: str, html: str) -> str:
    """One server-sent event carrying an HTML fragment (each line its own `data:` field)."""
    lines = "".join(f"data: {line}\n" for line in html.splitlines() or [""])
    return f"event: {event}\n{lines}\n"


TOO_MANY_STREAMS = N_(
    "This login already has as many live pages open as it may. Close some of its declaration"
    " or timeline pages in other tabs, then reload this one."
)


class _Held(StreamingResponse):
    """A stream that gives its connection back however it ends: finished, refused, or the
    browser gone before its first byte."""

    def __init__(self, events: AsyncIterator[str], release: Callable[[], None]) -> None:
        super().__init__(
            events,
            media_type="text/event-stream",
            headers={"cache-control": "no-store", "x-accel-buffering": "no"},
        )
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


def live_stream(visit: Visit, events: AsyncIterator[str]) -> Response:
    """`events` as a stream of server-sent events, holding one of the session's live-update
    connections ([web] streams_per_session) until it ends or the browser goes; beyond the
    limit, 429 with a message."""
    streams = visit.portal.streams
    if not streams.acquire(visit.session_id):
        detail = catalog(visit.locale).gettext(TOO_MANY_STREAMS)
        return visit.refuse(429, "Too many live pages", detail)
    return _Held(events, functools.partial(streams.release, visit.session_id))


@page(signed_in=True)
async def listing(visit: Visit) -> Response:
    assert visit.signed_in is not None
    status = visit.request.query_params.get("status", "")
    try:
        listed = await visit.portal.node.declarations.list_declarations(
            visit.signed_in.claims,
            dpb.ListDeclarationsRequest(
                status=status,
                page_size=LIST_SIZE,
                page_token=visit.request.query_params.get("page", ""),
            ),
        )
    except SwnodeError as exc:
        return visit.refuse(400, "This list cannot be shown", refusal(exc, visit.locale))
    return visit.render(
        "declarations/list.html",
        declarations=list(listed.declarations),
        next_page=listed.next_page_token,
        status=status,
        status_labels=STATUS_LABELS,
    )


async def _declaration(visit: Visit, declaration_id: str) -> dpb.Declaration | None:
    assert visit.signed_in is not None
    try:
        return await visit.portal.node.declarations.get(visit.signed_in.claims, declaration_id)
    except NotFound:
        return None


def _live_html(visit: Visit, declaration: dpb.Declaration) -> str:
    return visit.portal.templates.render_text(
        "declarations/_live.html",
        visit.locale,
        visit.portal.zone,
        declaration=declaration,
        status_labels=STATUS_LABELS,
        pay_url=_pay_url(visit, declaration),
        amend_url=amend_url(declaration),
    )


def _pay_url(visit: Visit, declaration: dpb.Declaration) -> str:
    """The new duty payment's form, filled in for a declaration that awaits it."""
    if declaration.status != Status.AWAITING_PAYMENT or not declaration.assessment.payment_due:
        return ""
    assert visit.signed_in is not None
    query = urlencode(
        {
            "declaration_id": declaration.id,
            "payer_uscc": visit.signed_in.claims.party,
            "amount.amount": declaration.assessment.total,
            "amount.currency": declaration.assessment.currency,
        }
    )
    return f"/documents/new/{PAYMENT}?{query}"


@page(signed_in=True)
async def detail(visit: Visit) -> Response:
    declaration = await _declaration(visit, visit.request.path_params["id"])
    if declaration is None:
        return visit.not_found()
    document = getattr(declaration.document, declaration.document_type)
    shown = bind_form(form_spec(declaration.document_type, visit.locale), form_values(document))
    return visit.render(
        "declarations/detail.html",
        declaration=declaration,
        document=shown,
        live=_live_html(visit, declaration),
        last_seq=max((e.seq for e in declaration.history), default=0),
        final=declaration.status in FINAL,
        status_labels=STATUS_LABELS,
    )


@page(signed_in=True)
async def events(visit: Visit) -> Response:
    """The declaration's live part, sent again at each transition after the one the page
    showed (`after`, its last event's seq) until a final status; then a `done` event, on which
    the page stops listening."""
    assert visit.signed_in is not None
    claims = visit.signed_in.claims
    declaration_id = visit.request.path_params["id"]
    if await _declaration(visit, declaration_id) is None:
        return visit.not_found()
    declarations = visit.portal.node.declarations
    after = visit.request.query_params.get("after", "0")
    shown = int(after) if after.isdigit() and len(after) < 19 else 0
    # No longer than the session's token is good for: then the page asks again, and is
    # answered as the session then deserves.
    lasts_s = max(1.0, (claims.expires_at_ms - visit.portal.node.clock_ms()) / 1000)

    async def stream() -> AsyncIterator[str]:
        try:
            async with asyncio.timeout(lasts_s):
                async for event in declarations.watch(claims, declaration_id):
                    if event.seq <= shown:  # already on the page
                        continue
                    fresh = await declarations.get(claims, declaration_id)
                    yield sse_event("update", _live_html(visit, fresh))
                    if fresh.status in FINAL:
                        yield sse_event("done", "")
                        return
        except (TimeoutError, Unauthenticated):  # the token's time is up: the page asks again
            return

    return live_stream(visit, stream())


routes = [
    Route("/declarations", listing, name="declarations"),
    Route("/declarations/{id}", detail, name="declaration"),
    Route("/declarations/{id}/events", events, name="declaration_events"),
]
