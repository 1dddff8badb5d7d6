"""Turning what handlers raise into gRPC statuses, in one place for every servicer.

Handlers raise `SwnodeError`s; `unary` and `stream` wrap servicer methods so that each becomes the
status the table in core/grpc_status.py gives, with the reason code in trailing metadata. Anything
else is a bug: it is logged with a reference and the caller sees INTERNAL and that reference only.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import grpc

from core.errors import SwnodeError
from core.grpc_status import public_message, status_of, trailers

__all__ = ["abort", "set_refusal_observer", "stream", "unary"]

log = logging.getLogger("swnode.rpc")

_observe: Callable[[str], None] = lambda _reason: None  # noqa: E731


def set_refusal_observer(observe: Callable[[str], None]) -> None:
    """Called with the reason code of every refusal (the node counts them in its metrics);
    one node runs per process, so this is set once, at start."""
    global _observe
    _observe = observe


Req = TypeVar("Req")
Resp = TypeVar("Resp")
S = TypeVar("S")


async def abort(context: grpc.aio.ServicerContext[Any, Any], exc: BaseException) -> NoReturn:
    """The status, message and trailers (core/grpc_status.py's, the one place that spells their
    keys) of a refusal; anything else becomes an `internal` refusal naming its log entry."""
    if not isinstance(exc, SwnodeError):
        ref = uuid.uuid4().hex[:12]
        log.error("internal error (ref %s)", ref, exc_info=exc)
        exc = SwnodeError(
            "internal", f"internal error; the node operator can find it in the log under ref {ref}"
        )
    _observe(exc.reason)
    await context.abort(status_of(exc), public_message(exc), trailers(exc))


def unary(
    method: Callable[[S, Req, grpc.aio.ServicerContext[Any, Any]], Awaitable[Resp]],
) -> Callable[[S, Req, grpc.aio.ServicerContext[Any, Any]], Awaitable[Resp]]:
    @functools.wraps(method)
    async def wrapper(self: S, request: Req, context: grpc.aio.ServicerContext[Any, Any]) -> Resp:
        try:
            return await method(self, request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await abort(context, exc)

    return wrapper


def stream(
    method: Callable[[S, Req, grpc.aio.ServicerContext[Any, Any]], AsyncIterator[Resp]],
) -> Callable[[S, Req, grpc.aio.ServicerContext[Any, Any]], AsyncIterator[Resp]]:
    @functools.wraps(method)
    async def wrapper(
        self: S, request: Req, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Resp]:
        try:
            async for item in method(self, request, context):
                yield item
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await abort(context, exc)

    return wrapper
