"""Parties (enterprises, agencies, logistics operators) and their users: what makes a valid id,
name, role and password. Pure checks; each failure names the field and the rule."""

from __future__ import annotations

import re
from collections.abc import Iterable

from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import InvalidChecksum, ValidationError

from core.errors import FailedPrecondition, InvalidArgument, quote

__all__ = [
    "ADMIN",
    "ENTERPRISE_ROLES",
    "MIN_PASSWORD",
    "PARTY_KINDS",
    "check_administrators_remain",
    "subject",
    "validate_enterprise_roles",
    "validate_kind",
    "validate_name",
    "validate_party_id",
    "validate_password",
    "validate_uscc",
    "validate_user_roles",
    "validate_username",
]

ENTERPRISE_ROLES = frozenset(
    {"declarant", "customs_broker", "carrier", "forwarder", "exporter", "importer"}
)
# Roles a user may hold inside its party, besides the party's own roles.
ADMIN = "admin"
PARTY_KINDS = frozenset({"enterprise", "agency", "terminal", "airport", "rail", "road"})
_LOCAL_ID = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")
_USER = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MIN_PASSWORD = 10


def validate_uscc(value: str, *, field: str = "uscc") -> str:
    """The compact USCC if valid (GB 32100: 18 characters, check character), else a refusal."""
    try:
        return str(stdnum_uscc.validate(value))
    except InvalidChecksum as exc:
        raise InvalidArgument(
            "party.bad_uscc",
            f"{field}: {quote(value)} fails the USCC check character (GB 32100)",
            field=field,
        ) from exc
    except ValidationError as exc:
        raise InvalidArgument(
            "party.bad_uscc",
            f"{field}: {quote(value)} is not a Unified Social Credit Code "
            "(18 characters, GB 32100)",
            field=field,
        ) from exc


def validate_party_id(value: str, kind: str, *, field: str = "id") -> str:
    """An enterprise is its USCC; agencies and operators have short lowercase ids."""
    if kind == "enterprise":
        return validate_uscc(value, field=field)
    if not _LOCAL_ID.match(value):
        raise InvalidArgument(
            "party.bad_id",
            f"{field}: {quote(value)} must be 2-32 lowercase letters, digits, - or _, "
            "starting with a letter (e.g. customs)",
            field=field,
        )
    return value


def validate_kind(value: str, *, field: str = "kind") -> str:
    if value not in PARTY_KINDS:
        raise InvalidArgument(
            "party.bad_kind",
            f"{field}: must be one of {', '.join(sorted(PARTY_KINDS))}",
            field=field,
        )
    return value


def validate_name(value: str, *, field: str = "name") -> str:
    if not value.strip() or len(value) > 200:
        raise InvalidArgument(
            "party.bad_name", f"{field}: required, at most 200 characters", field=field
        )
    return value.strip()


def validate_enterprise_roles(roles: Iterable[str], *, field: str = "roles") -> tuple[str, ...]:
    roles = tuple(dict.fromkeys(roles))
    if not roles:
        raise InvalidArgument(
            "party.no_roles",
            f"{field}: at least one of {', '.join(sorted(ENTERPRISE_ROLES))}",
            field=field,
        )
    unknown = [r for r in roles if r not in ENTERPRISE_ROLES]
    if unknown:
        raise InvalidArgument(
            "party.bad_role",
            f"{field}: {', '.join(unknown)} not an enterprise role "
            f"({', '.join(sorted(ENTERPRISE_ROLES))})",
            field=field,
        )
    return roles


def validate_user_roles(
    roles: Iterable[str], party_roles: Iterable[str], *, field: str = "roles"
) -> tuple[str, ...]:
    """A user holds `admin` and/or roles of its party, nothing else."""
    allowed = set(party_roles) | {ADMIN}
    roles = tuple(dict.fromkeys(roles))
    unknown = [r for r in roles if r not in allowed]
    if unknown:
        raise InvalidArgument(
            "user.bad_role",
            f"{field}: {', '.join(unknown)} is not a role of this party "
            f"(allowed: {', '.join(sorted(allowed))})",
            field=field,
        )
    return roles


def validate_username(value: str, *, field: str = "user") -> str:
    if not _USER.match(value):
        raise InvalidArgument(
            "user.bad_name",
            f"{field}: {quote(value)} must be 1-64 lowercase letters, digits, '.', '_' or '-'",
            field=field,
        )
    return value


def validate_password(value: str, *, field: str = "password") -> str:
    if len(value) < MIN_PASSWORD or len(value) > 1024:
        raise InvalidArgument(
            "user.weak_password",
            f"{field}: must be {MIN_PASSWORD} to 1024 characters",
            field=field,
        )
    if len(set(value)) < 4:
        raise InvalidArgument(
            "user.weak_password", f"{field}: too repetitive; use a passphrase", field=field
        )
    return value


def subject(party: str, user: str) -> str:
    """How tokens name a user: `<party>/<user>`."""
    return f"{party}/{user}"


def check_administrators_remain(
    party: str, users: Iterable[tuple[Iterable[str], bool]], *, field: str = "user"
) -> None:
    """`users`: every user of `party` as it would be after a change, as (roles, disabled).
    Refuses a change that leaves the party with no enabled administrator, since nobody could
    then manage its users (and a disabled one could never be enabled again)."""
    if not any(ADMIN in roles and not disabled for roles, disabled in users):
        raise FailedPrecondition(
            "user.last_admin",
            f"{field}: this would leave {party} without an administrator; make another user"
            " administrator first",
            field=field,
        )
