"""The one table from error kinds to gRPC status codes, both ways.

A refusal leaves a node as a gRPC status with this table's code, the error's message as details,
and trailing metadata `swnode-reason` (the stable reason code) and, when an input was at fault,
`swnode-field`. A caller turns such a status back into the same typed error with `from_rpc_error`.
Exceptions that are not SwnodeErrors become INTERNAL with no detail: the detail stays in the log.

Whatever an error holds, what leaves the node is bounded (`public_message`, `trailers`): the
message, the field and the extra details are cut to fixed sizes, so that an error quoting some
huge input can never overflow the caller's metadata limit and lose its reason code on the way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import grpc

from core import errors as e

__all__ = [
    "FIELD_KEY",
    "MAX_CODE_CHARS",
    "MAX_DETAILS_BYTES",
    "MAX_MESSAGE_BYTES",
    "REASON_KEY",
    "TABLE",
    "VALIDATION_KEY",
    "from_rpc_error",
    "public_message",
    "status_of",
    "trailers",
]

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
# Every validation problem of a refused document or report, as a ValidationReport.
VALIDATION_KEY = "swnode-validation-bin"

# Bytes on the wire (after gRPC's percent-encoding of the message) that a refusal may take; the
# smallest metadata limit a gRPC client applies by default is 8 KiB for everything together.
MAX_MESSAGE_BYTES = 1024
MAX_CODE_CHARS = 128
MAX_DETAILS_BYTES = 5632


def _wire_size(text: str) -> int:
    """The size of `text` as a grpc-message header: UTF-8, every byte outside printable ASCII
    (and '%') percent-encoded as three."""
    return sum(1 if 0x20 <= b < 0x7F and b != 0x25 else 3 for b in text.encode("utf-8", "replace"))


def public_message(error: e.SwnodeError) -> str:
    """The error's message as the status details: cut, with an ellipsis, to MAX_MESSAGE_BYTES."""
    text = error.message
    if _wire_size(text) <= MAX_MESSAGE_BYTES:
        return text
    text = text[:MAX_MESSAGE_BYTES]
    while _wire_size(text) > MAX_MESSAGE_BYTES - 40:
        text = text[: len(text) * 3 // 4]
    return f"{text}… (message cut; {len(error.message)} chars)"


def _code(text: str) -> str:
    """A reason code or field name as an ASCII metadata value, whatever it was made of."""
    clean = "".join(c if " " <= c <= "~" else "?" for c in text[:MAX_CODE_CHARS])
    return clean + ("..." if len(text) > MAX_CODE_CHARS else "")


def status_of(error: e.SwnodeError) -> grpc.StatusCode:
    return TABLE[error.kind]


def trailers(error: e.SwnodeError) -> tuple[tuple[str, str | bytes], ...]:
    """The reason, the field and the details, each bounded; details that do not fit in
    MAX_DETAILS_BYTES are left out (the reason and message still say what was wrong)."""
    pairs: list[tuple[str, str | bytes]] = [(REASON_KEY, _code(error.reason))]
    if error.field:
        pairs.append((FIELD_KEY, _code(error.field)))
    budget = MAX_DETAILS_BYTES
    for key, value in error.details:
        size = len(key) + (len(value) + 2) // 3 * 4  # -bin values travel in base64
        if size > budget:
            break
        budget -= size
        pairs.append((key, value))
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
