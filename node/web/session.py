"""The portal's sessions: held at the node, never in the browser.

The browser holds one cookie, a random id (HttpOnly, SameSite=Strict, Path=/, and Secure with
the `__Host-` prefix over HTTPS). Every visitor has one, so that the CSRF token can be bound to
it before anyone logs in; logging in replaces it (no session fixation). A signed-in id names a
row in the node's database (storage/web_sessions.py, keyed by the id's SHA-256) holding the
tokens of an ordinary login through the identity layer: the same login as the API's, so the
same lock after failed logins, the same checks of every token on every request, and the same
revocation. Logging out revokes the login's session across the federation, as the API's
Logout does, and deletes the row. Tokens never reach the browser, a URL or a log.

A session ends by itself after `idle_ms` without a request ([web] idle_timeout_s) and
`lifetime_ms` after its login however busy ([web] session_lifetime_s), both kept in the row so
every replica ends it alike; its last request is written at most every `TOUCH_MS`, not at every
page. `Streams` counts each session's open live-update connections, in this process.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace

from core.access import Claims
from core.errors import PermissionDenied, Unauthenticated
from identity.accounts import Accounts
from identity.login_sessions import SESSION_LIFETIME_MS
from storage.web_sessions import WebSession, WebSessionStore
from swf.v1 import identity_pb2 as ipb

__all__ = [
    "TOUCH_MS",
    "Sessions",
    "SignedIn",
    "Streams",
    "cookie_attributes",
    "cookie_name",
    "new_id",
    "valid_id",
]

TOUCH_MS = 10_000  # how stale the row's last request may be: one write per 10 s of browsing

_ID = re.compile(r"^[A-Za-z0-9_-]{43}$")


def new_id() -> str:
    return secrets.token_urlsafe(32)


def valid_id(value: str | None) -> str | None:
    return value if value is not None and _ID.match(value) else None


def cookie_name(https: bool) -> str:
    return "__Host-swnode" if https else "swnode"


def cookie_attributes(https: bool) -> dict[str, object]:
    """What Starlette's set_cookie is given for the session cookie."""
    return {"httponly": True, "samesite": "strict", "secure": https, "path": "/"}


def _key(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


@dataclass(frozen=True)
class SignedIn:
    """Who is signed in on this visit: the verified claims of the session's token."""

    claims: Claims
    session: WebSession


class Sessions:
    def __init__(
        self,
        *,
        accounts: Accounts,
        store: WebSessionStore,
        clock_ms: Callable[[], int],
        idle_ms: int = 30 * 60_000,
        lifetime_ms: int = SESSION_LIFETIME_MS,
    ) -> None:
        self._accounts = accounts
        self._store = store
        self._clock_ms = clock_ms
        self.idle_ms = idle_ms
        self.lifetime_ms = min(lifetime_ms, SESSION_LIFETIME_MS)
        self._renewing: dict[bytes, asyncio.Lock] = {}

    def _now(self) -> int:
        return self._clock_ms()

    async def open(self, tokens: ipb.Tokens) -> str:
        """A new session for a login's tokens; the id for the cookie."""
        claims = await self._accounts.authenticate(tokens.access_token)
        session_id = new_id()
        now_ms = self._now()
        # Sessions that have ended by themselves go as new ones begin: work, not a timer.
        await self._store.forget_expired(now_ms)
        await self._store.open(
            _key(session_id),
            WebSession(
                access_token=tokens.access_token,
                refresh_token=tokens.refresh_token,
                party_id=claims.party,
                username=claims.user,
                created_at_unix_ms=now_ms,
                # A login here is refreshed here, for as long as the login session lasts; one
                # forwarded from another node cannot be, and ends with its token.
                expires_at_unix_ms=now_ms + self.lifetime_ms
                if claims.issuer == self._accounts.node_id
                else min(claims.expires_at_ms, now_ms + self.lifetime_ms),
                last_seen_unix_ms=now_ms,
            ),
        )
        return session_id

    async def signed_in(self, session_id: str | None) -> SignedIn | None:
        """The session behind the cookie, if it is one and its token is still good here. A
        token that is refused (expired, revoked: logged out elsewhere, user disabled, party
        suspended) ends the session, as does `idle_ms` without a request."""
        if session_id is None:
            return None
        key = _key(session_id)
        now_ms = self._now()
        session = await self._store.get(key, now_ms)
        if session is None:
            return None
        if now_ms - session.last_seen_unix_ms >= self.idle_ms:
            await self._store.end(key)
            return None
        if now_ms - session.last_seen_unix_ms >= TOUCH_MS:
            await self._store.touch(key, now_ms)
        try:
            claims = await self._accounts.authenticate(session.access_token)
        except Unauthenticated as exc:
            renewed = await self._renew(key, session) if exc.reason == "token.expired" else None
            if renewed is None:
                await self._store.end(key)
            return renewed
        except PermissionDenied:
            await self._store.end(key)
            return None
        return SignedIn(claims=claims, session=session)

    async def _renew(self, key: bytes, session: WebSession) -> SignedIn | None:
        """A session whose access token has expired, refreshed as the API's Refresh does —
        at the node that issued it only (a login forwarded from another node is asked to log
        in again). One refresh at a time per session in this process: a refresh token used
        twice would end the login."""
        lock = self._renewing.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                current = await self._store.get(key, 0)
                if current is None:
                    return None
                if current.refresh_token != session.refresh_token:  # renewed meanwhile
                    claims = await self._accounts.authenticate(current.access_token)
                    return SignedIn(claims=claims, session=current)
                try:
                    tokens = await self._accounts.sessions.refresh(session.refresh_token)
                    claims = await self._accounts.authenticate(tokens.access_token)
                except (Unauthenticated, PermissionDenied):
                    return None
                renewed = replace(
                    session, access_token=tokens.access_token, refresh_token=tokens.refresh_token
                )
                if not await self._store.renew(
                    key,
                    old_refresh_token=session.refresh_token,
                    access_token=renewed.access_token,
                    refresh_token=renewed.refresh_token,
                ):
                    return None
                return SignedIn(claims=claims, session=renewed)
        finally:
            if not lock.locked():
                self._renewing.pop(key, None)

    async def close(self, session_id: str, signed_in: SignedIn | None) -> None:
        """Log out: the login's tokens are refused everywhere, the row is gone."""
        if signed_in is not None:
            await self._accounts.logout(signed_in.claims)
        await self._store.end(_key(session_id))


class Streams:
    """Each session's open live-update connections in this process, at most `limit` at once:
    a page left open in many tabs holds a connection and a watch each, and one session may
    not hold them all."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[bytes, int] = {}

    def acquire(self, session_id: str) -> bool:
        """One more connection for the session, or False at its limit."""
        key = _key(session_id)
        held = self._open.get(key, 0)
        if held >= self.limit:
            return False
        self._open[key] = held + 1
        return True

    def release(self, session_id: str) -> None:
        key = _key(session_id)
        held = self._open.get(key, 0) - 1
        if held > 0:
            self._open[key] = held
        else:
            self._open.pop(key, None)

    def held(self, session_id: str) -> int:
        return self._open.get(_key(session_id), 0)
