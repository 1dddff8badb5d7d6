"""Who is at the console, and the rules every console page follows.

The console rides on the portal's visit (node/web/visit.py): the same cookie, the same CSRF
checks on every POST, the same security headers. Its sessions are its own: a row in
`console_sessions` (storage/operators.py) keyed, like the portal's, by the cookie id's SHA-256,
naming an operator of this node. Logging in replaces the cookie's id (no fixation); logging
out deletes the row and replaces it again. An operator whose password is still the one-time
one is sent to change it before anything else. Every page an operator acts through calls
`Desk.audit`, so that the log holds each action and its outcome."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from core.audit import audit_record
from core.signer import Signer
from core.trust import TrustView
from federation.outbox import Outbox
from federation.reachability import Reachability
from identity.authority import Authority
from identity.guards import LoginGuard
from identity.keys import NodeKeys
from identity.local_secret import LocalSecrets
from identity.operators import Operators
from node.web.portal import Parts
from node.web.visit import Visit, page
from storage.operators import Operator

__all__ = ["SESSION_LIFETIME_MS", "ConsoleParts", "Desk", "console_page", "session_key"]

SESSION_LIFETIME_MS = 8 * 3600 * 1000  # one working day; then sign in again


class ConsoleParts(Parts, Protocol):
    """What the console uses of a running node (node/runtime.py) besides the portal's parts."""

    outbox: Outbox
    reachability: Reachability
    authority: Authority | None
    keys: NodeKeys
    signer: Signer
    local_secrets: LocalSecrets

    @property
    def trust(self) -> TrustView: ...

    def status(self) -> dict[str, Any]: ...


def session_key(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


@dataclass
class Desk:
    """One console request: the portal's visit and the operator behind it."""

    visit: Visit
    operator: Operator | None

    @property
    def node(self) -> ConsoleParts:
        return cast(ConsoleParts, self.visit.portal.node)

    @property
    def name(self) -> str:
        return self.operator.username if self.operator else ""

    def now_ms(self) -> int:
        return self.node.clock_ms()

    def operators(self) -> Operators:
        node = self.node
        guard = LoginGuard(node.db, node.accounts.lockout, node.clock_ms)
        return Operators(
            node_id=node.config.id,
            db=node.db,
            guard=guard,
            clock_ms=node.clock_ms,
            secrets=node.local_secrets,
        )

    async def audit(
        self, action: str, obj: str, outcome: str, detail: str = "", *, who: str | None = None
    ) -> None:
        record = audit_record(
            at_unix_ms=self.now_ms(),
            operator=who or self.name or "-",
            action=action,
            obj=obj,
            outcome=outcome,
            detail=detail,
        )
        await self.node.db.audit.append(record)

    def render(self, template: str, *, status_code: int = 200, **context: Any) -> Response:
        return self.visit.render(
            template,
            status_code=status_code,
            operator=self.operator,
            is_central=self.node.config.is_central,
            node_id=self.node.config.id,
            **context,
        )


ConsoleHandler = Callable[[Desk], Awaitable[Response]]


def console_page(
    *, signed_in: bool = True, before_password: bool = False
) -> Callable[[ConsoleHandler], Callable[[Request], Awaitable[Response]]]:
    """A console page. `signed_in`: for an operator only (others go to the console's login);
    `before_password`: open to an operator who has not yet replaced the one-time password."""

    def wrap(handler: ConsoleHandler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(visit: Visit) -> Response:
            db = visit.portal.node.db
            name = (
                None
                if visit.new_cookie
                else await db.operators.session(
                    session_key(visit.session_id), visit.portal.node.clock_ms()
                )
            )
            operator = await db.operators.get(name) if name else None
            if signed_in and operator is None:
                path = visit.request.url.path
                return RedirectResponse(f"/console/login?next={quote(path)}", status_code=303)
            if operator is not None and operator.must_change_password and not before_password:
                return RedirectResponse("/console/password", status_code=303)
            return await handler(Desk(visit, operator))

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        return page()(endpoint)

    return wrap
