"""One error hierarchy for the whole node.

Every refusal is a `SwnodeError` with a *kind* (which maps to exactly one gRPC status code, in
core/grpc_status.py) and a stable *reason* code (documented in docs/PROTOCOL.md) that clients and
other implementations can branch on. The message is for a person: it says what was wrong and, where
it can, what to do about it. `field` names the offending input when there is one.
"""

from __future__ import annotations

import enum
from typing import ClassVar


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
