"""The one table from error kinds to gRPC status codes, both ways.

A refusal leaves a node as a gRPC status with this table's code, the error's message as details,
and trailing metadata `swnode-reason` (the stable reason code) and, when an input was at fault,
`swnode-field`. A caller turns such a status back into the same typed error with `from_rpc_error`.
Exceptions that are not SwnodeErrors become INTERNAL with no detail: the detail stays in the log.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import grpc

from core import errors as e

TABLE: dict[e.Kind, grpc.StatusCode] = {
    e.Kind.INVALID_ARGUMENT: grpc.StatusCode.INVALID_ARGUMENT,
    e.Kind.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    e.Kind.ALREADY_EXISTS: grpc.StatusCode.ALREADY_EXISTS,
    e.Kind.PERMISSION_DENIED: grpc.StatusCode.PERMISSION_DENIED,
    e.Kind.UNAUTHENTICATED: grpc.StatusCode.UNAUTHENTICATED,
    e.Kind.FAILED_PRECONDITION: grpc.StatusCode.FAILED_PRECONDITION,
    e.Kind.RESOURCE_EXHAUSTED: grpc.StatusCode.RESOURCE_EXHAUSTED,
    e.Kind.UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
    e.Kind.INTERNAL: grpc.StatusCode.INTERNAL,
}

_CLASSES: dict[grpc.StatusCode, type[e.SwnodeError]] = {
    code: cls
    for cls in (
        e.InvalidArgument,
        e.NotFound,
        e.AlreadyExists,
        e.PermissionDenied,
        e.Unauthenticated,
        e.FailedPrecondition,
        e.ResourceExhausted,
        e.Unavailable,
    )
    for kind, code in TABLE.items()
    if cls.kind is kind
}

REASON_KEY = "swnode-reason"
FIELD_KEY = "swnode-field"


def status_of(error: e.SwnodeError) -> grpc.StatusCode:
    return TABLE[error.kind]


def trailers(error: e.SwnodeError) -> tuple[tuple[str, str | bytes], ...]:
    pairs: list[tuple[str, str | bytes]] = [(REASON_KEY, error.reason)]
    if error.field:
        pairs.append((FIELD_KEY, error.field))
    pairs.extend(error.details)
    return tuple(pairs)


def from_rpc_error(
    exc: grpc.aio.AioRpcError | grpc.RpcError, *, default_reason: str = "rpc.failed"
) -> e.SwnodeError:
    """The typed error a remote node refused with (or UNAVAILABLE for transport failures)."""
    code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
    details = exc.details() if hasattr(exc, "details") else str(exc)
    meta: dict[str, Any] = {}
    if hasattr(exc, "trailing_metadata"):
        meta = dict(cast(Iterable[tuple[str, Any]], exc.trailing_metadata() or ()))
    reason = str(meta.get(REASON_KEY, default_reason))
    field = meta.get(FIELD_KEY)
    cls = _CLASSES.get(code, e.Unavailable)
    return cls(reason, details or code.name, field=str(field) if field else None)
