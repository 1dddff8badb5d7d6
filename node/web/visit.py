"""One request to the portal, as every page sees it: who is visiting (session cookie, signed-in
claims), in which language, with which CSRF token; and the rules that apply to every page —
the CSRF checks on every POST, the cookie set on the way out. Pages are written as
`@page async def handler(visit: Visit) -> Response`."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from core.errors import SwnodeError
from core.parties import ADMIN
from node.web import csrf
from node.web.i18n import COOKIE as LANG_COOKIE
from node.web.i18n import negotiate
from node.web.portal import Portal
from node.web.refusals import refusal
from node.web.session import SignedIn, cookie_attributes, cookie_name, new_id, valid_id

__all__ = ["FieldErrors", "Visit", "field_errors", "page", "safe_next"]

log = logging.getLogger("swnode.web")

FieldErrors = dict[str, str]


def field_errors(exc: SwnodeError, default_field: str, locale: str = "en") -> FieldErrors:
    """The API's refusal as the form shows it: its message, in the page's language, at the
    field it names."""
    return {exc.field or default_field: refusal(exc, locale)}


def safe_next(value: str | None, default: str = "/dashboard") -> str:
    """A local path to go back to; anything else (another site, a scheme) is ignored."""
    if not value or not value.startswith("/") or value.startswith("//"):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or "\\" in value:
        return default
    return value


@dataclass
class Visit:
    request: Request
    portal: Portal
    session_id: str
    locale: str
    signed_in: SignedIn | None
    new_cookie: bool = False
    cookies: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    @property
    def csrf_token(self) -> str:
        return csrf.token_for(self.portal.csrf_key, self.session_id)

    @property
    def is_admin(self) -> bool:
        """An administrator at its home node, where its users are managed."""
        claims = self.signed_in.claims if self.signed_in else None
        return claims is not None and ADMIN in claims.roles and claims.issuer == self.portal.node_id

    def source(self) -> str:
        return self.request.client.host if self.request.client else "unknown"

    async def form(self) -> dict[str, str]:
        form = await self.request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}

    async def form_list(self, name: str) -> list[str]:
        form = await self.request.form()
        return [v for v in form.getlist(name) if isinstance(v, str)]

    def render(self, template: str, *, status_code: int = 200, **context: Any) -> Response:
        return self.portal.templates.render(
            template,
            self.locale,
            self.portal.zone,
            status_code=status_code,
            window=self.portal.branding.name(self.locale),
            csrf_field=csrf.FIELD,
            csrf_token=self.csrf_token,
            signed_in=self.signed_in,
            is_admin=self.is_admin,
            path=self.request.url.path,
            **context,
        )

    def replace_session(self, session_id: str) -> None:
        """A new session id from now on (at login and logout: no fixation, no reuse)."""
        self.session_id = session_id
        self.new_cookie = True

    def refuse(self, status_code: int, title: str, detail: str = "") -> Response:
        return self.render("error.html", status_code=status_code, title=title, detail=detail)

    def not_found(self) -> Response:
        return self.render("error.html", status_code=404, title="Page not found", detail="")


Handler = Callable[[Visit], Awaitable[Response]]


def page(
    *, signed_in: bool = False
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """A page of the portal. `signed_in`: only for a signed-in visitor; others are sent to
    the login page and come back after."""

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            portal: Portal = request.app.state.portal
            name = cookie_name(portal.https)
            existing = valid_id(request.cookies.get(name))
            visit = Visit(
                request=request,
                portal=portal,
                session_id=existing or new_id(),
                locale=negotiate(
                    request.cookies.get(LANG_COOKIE),
                    request.headers.get("accept-language"),
                    portal.node_id,
                ),
                signed_in=await portal.sessions.signed_in(existing),
                new_cookie=existing is None,
            )
            response = await _guarded(visit, handler, signed_in)
            if visit.new_cookie:
                response.set_cookie(name, visit.session_id, **cookie_attributes(portal.https))  # type: ignore[arg-type]
            for key, value, attributes in visit.cookies:
                response.set_cookie(key, value, **attributes)
            return response

        return endpoint

    return wrap


async def _guarded(visit: Visit, handler: Handler, signed_in: bool) -> Response:
    request = visit.request
    if request.method not in csrf.SAFE_METHODS:
        own = f"{request.url.scheme}://{request.headers.get('host', '')}"
        why = csrf.check_origin(request.headers, own)
        if why is None:
            form = await request.form()
            token = form.get(csrf.FIELD)
            why = csrf.check_token(
                visit.portal.csrf_key,
                None if visit.new_cookie else visit.session_id,
                token if isinstance(token, str) else None,
            )
        if why is not None:
            log.warning("portal: refused %s %s: %s", request.method, request.url.path, why)
            return visit.refuse(403, "This form has expired", "csrf")
    if signed_in and visit.signed_in is None:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    return await handler(visit)
