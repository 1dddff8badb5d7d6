"""Cross-site request forgery: every state-changing request must prove it came from a page of
this portal, twice over.

1. The browser says where the request comes from: a request whose `Sec-Fetch-Site` is present
   and not `same-origin`, or whose `Origin` is present and not this portal's own, is refused
   (a cross-site form post carries both).
2. The form carries a token bound to the visitor's session cookie: HMAC-SHA256 of the cookie's
   id under a key derived from the node's local secret (keys/local.secret), so that every
   replica of the node checks it alike, through every key rotation, and no per-visitor state
   is kept. A missing or wrong token is refused.

The checks are pure functions of the request's headers and form; app.py applies them to every
POST, and a route opts out only by name (none does today).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

__all__ = [
    "FIELD",
    "SAFE_METHODS",
    "check_origin",
    "check_token",
    "derive_key",
    "token_for",
]

FIELD = "csrf_token"  # the form field that carries the token
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def derive_key(secret: bytes) -> bytes:
    """The CSRF key, from a node secret; domain-separated so it serves nothing else."""
    return hmac.new(secret, b"swnode portal csrf v1", hashlib.sha256).digest()


def token_for(key: bytes, session_id: str) -> str:
    return hmac.new(key, session_id.encode(), hashlib.sha256).hexdigest()


def check_token(key: bytes, session_id: str | None, token: str | None) -> str | None:
    """None when `token` is the one for this session; else why not (for the log)."""
    if not session_id:
        return "no session cookie"
    if not token:
        return "no CSRF token"
    if not hmac.compare_digest(token_for(key, session_id), token):
        return "wrong CSRF token"
    return None


def check_origin(headers: Mapping[str, str], own_origin: str) -> str | None:
    """None when the browser says the request comes from this portal (or says nothing: older
    browsers and non-browser clients, which the token still has to satisfy); else why not."""
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return f"Sec-Fetch-Site is {site}"
    origin = headers.get("origin")
    if origin is not None and origin.rstrip("/") != own_origin.rstrip("/"):
        return f"Origin {origin} is not {own_origin}"
    return None
