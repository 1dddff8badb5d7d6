"""Who is calling: the bearer token in a client call's metadata, checked by the identity layer."""

from __future__ import annotations

from typing import Any

import grpc

from core.access import Claims
from core.errors import Unauthenticated
from identity.accounts import Accounts

__all__ = ["bearer", "caller", "source_address"]

Context = grpc.aio.ServicerContext[Any, Any]


def bearer(context: Context) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            scheme, _, token = str(value).partition(" ")
            if scheme.lower() == "bearer" and token:
                return token.strip()
    raise Unauthenticated(
        "auth.missing", "this call needs `authorization: Bearer <access token>` metadata"
    )


async def caller(accounts: Accounts, context: Context) -> Claims:
    """The verified claims of the bearer, admitted to act at this node (core/access.py)."""
    return await accounts.authenticate(bearer(context))


def source_address(context: Context) -> str:
    """The caller's IP address (`ipv4:1.2.3.4:5678` → `1.2.3.4`), for login lockouts."""
    peer = context.peer() or ""
    kind, _, rest = peer.partition(":")
    if kind in ("ipv4", "ipv6"):
        return rest.rsplit(":", 1)[0].strip("[]")
    return peer
