"""The portal's ASGI application, assembled: every room's routes, the static assets, the
security headers on every response, and the pages for a path that is not there or a failure.

The rooms: pages/ (one module per kind of page, each exporting `routes`, listed in PAGES);
forms/ (the document forms generated from the catalog, which pages/documents.py serves).
Whatever a route does, it is a `@page` (node/web/visit.py), so CSRF is checked on every POST and
the session read the same way."""

from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path
from types import ModuleType

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from node.web import console
from node.web.headers import security_headers
from node.web.pages import (
    account,
    agency,
    amend,
    certificates,
    dashboard,
    declarations,
    documents,
    events,
    sharing,
    timeline,
    users,
)
from node.web.portal import Portal
from node.web.visit import Visit, page

__all__ = ["PAGES", "STATIC_DIR", "build_app"]

log = logging.getLogger("swnode.web")

STATIC_DIR = Path(__file__).parent / "static"
MAX_BODY_BYTES = 1024 * 1024  # a form, even a long declaration's
PAGES: tuple[ModuleType, ...] = (
    account,
    agency,
    amend,
    certificates,
    dashboard,
    declarations,
    documents,
    events,
    sharing,
    timeline,
    users,
)


class SecurityHeaders:
    """Adds node/web/headers.py's headers to every response, assets and errors included."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.headers = [(k.encode(), v.encode()) for k, v in security_headers(https=https).items()]
        self.static_headers = [(k, v) for k, v in self.headers if k != b"cache-control"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")
        extra = self.static_headers if static else self.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *((k, v) for k, v in extra if k not in present),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Refuses a request body over `limit` bytes (413) before a page reads it, whether or not
    it announced its length; and says how long the portal took (`Server-Timing: app`), for
    scripts/bench-web and a browser's developer tools."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        declared = dict(scope.get("headers", [])).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.limit:
            await PlainTextResponse("413", status_code=413)(scope, receive, send)
            return
        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise HTTPException(413)
            return message

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                took_ms = (time.perf_counter() - started) * 1000
                message["headers"] = [
                    *message.get("headers", []),
                    (b"server-timing", f"app;dur={took_ms:.2f}".encode()),
                ]
            await send(message)

        await self.app(scope, bounded_receive, timed_send)


@page()
async def _not_found(visit: Visit) -> Response:
    return visit.not_found()


async def _http_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException) and exc.status_code == 404:
        return await _not_found(request)
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    return PlainTextResponse(str(status), status_code=status)


async def _internal(request: Request, exc: Exception) -> Response:
    ref = uuid.uuid4().hex[:12]
    log.error("portal: internal error (ref %s)", ref, exc_info=exc)
    return PlainTextResponse(
        f"internal error; the node operator can find it in the log under ref {ref}",
        status_code=500,
    )


def build_app(portal: Portal) -> ASGIApp:
    routes: list[BaseRoute] = [r for module in PAGES for r in module.routes]
    routes += console.routes  # the operator console, at /console
    routes.append(Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"))
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error, Exception: _internal},
    )
    app.state.portal = portal
    return SecurityHeaders(BodyLimit(app, limit=MAX_BODY_BYTES), https=portal.https)
