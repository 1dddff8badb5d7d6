"""One error hierarchy for the whole node.

Every refusal is a `SwnodeError` with a *kind* (which maps to exactly one gRPC status code, in
core/grpc_status.py) and a stable *reason* code (documented in docs/PROTOCOL.md) that clients and
other implementations can branch on. The message is for a person: it says what was wrong and, where
it can, what to do about it. `field` names the offending input when there is one.
"""

from __future__ import annotations

import enum
from typing import ClassVar

__all__ = [
    "QUOTE_LIMIT",
    "AlreadyExists",
    "ConfigError",
    "FailedPrecondition",
    "InvalidArgument",
    "Kind",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "SwnodeError",
    "Unauthenticated",
    "Unavailable",
    "quote",
]

QUOTE_LIMIT = 64


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """`value` as an error message may show it: repr-like, every control or non-printable
    character escaped, and no longer than about `limit` characters. Longer input is cut, with an
    ellipsis and its total length, so that a message never echoes unbounded input back.

    >>> quote("CN-GD")
    "'CN-GD'"
    >>> quote("x" * 100, limit=8)
    "'xxxxxxxx'… (100 chars)"
    """
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        shown = repr(data[:limit])
        return shown if len(data) <= limit else f"{shown}… ({len(data)} bytes)"
    text = value if isinstance(value, str) else str(value)
    # repr escapes control characters, lone surrogates and other non-printables
    shown = repr(text[:limit])
    return shown if len(text) <= limit else f"{shown}… ({len(text)} chars)"


class Kind(enum.Enum):
    INVALID_ARGUMENT = "invalid_argument"
    NOT_FOUND = "not_found"
    ALREADY_EXISTS = "already_exists"
    PERMISSION_DENIED = "permission_denied"
    UNAUTHENTICATED = "unauthenticated"
    FAILED_PRECONDITION = "failed_precondition"
    RESOURCE_EXHAUSTED = "resource_exhausted"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"


class SwnodeError(Exception):
    kind: ClassVar[Kind] = Kind.INTERNAL

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        field: str | None = None,
        details: tuple[tuple[str, bytes], ...] = (),
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.field = field
        # Extra binary trailing metadata for machines (keys end in "-bin"), e.g. every
        # validation error of a document.
        self.details = details

    def __str__(self) -> str:
        return f"{self.message} [{self.reason}]"


class InvalidArgument(SwnodeError):
    kind = Kind.INVALID_ARGUMENT


class NotFound(SwnodeError):
    kind = Kind.NOT_FOUND


class AlreadyExists(SwnodeError):
    kind = Kind.ALREADY_EXISTS


class PermissionDenied(SwnodeError):
    kind = Kind.PERMISSION_DENIED


class Unauthenticated(SwnodeError):
    kind = Kind.UNAUTHENTICATED


class FailedPrecondition(SwnodeError):
    kind = Kind.FAILED_PRECONDITION


class ResourceExhausted(SwnodeError):
    kind = Kind.RESOURCE_EXHAUSTED


class Unavailable(SwnodeError):
    kind = Kind.UNAVAILABLE


class ConfigError(SwnodeError):
    """A node folder or its node.toml is not usable; `field` is the config key."""

    kind = Kind.FAILED_PRECONDITION

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__("config.invalid", message, field=field)

    def __str__(self) -> str:
        return self.message
