"""Node ids, federations and party addresses (design §2).

A central node's id is an ISO 3166-1 alpha-2 country code (`CN`, `SG`); a province node's id is an
ISO 3166-2 subdivision code of that country (`CN-GD`). The federation of a node is the country part.
"""

from __future__ import annotations

import enum
import re

import pycountry

from core.errors import InvalidArgument, quote

__all__ = ["Role", "federation_of", "role_of", "tls_name", "validate_node_id"]

_SHAPE = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")


def _subdivision(code: str) -> object | None:
    found: object | None = pycountry.subdivisions.get(code=code)  # type: ignore[no-untyped-call]
    return found


def _country(code: str) -> object | None:
    return pycountry.countries.get(alpha_2=code)


class Role(enum.Enum):
    CENTRAL = "central"
    PROVINCE = "province"


def validate_node_id(node_id: str, role: Role | None = None, *, field: str = "id") -> str:
    """Return `node_id` if it is a valid id (for `role`, when given), else raise InvalidArgument."""
    if not _SHAPE.match(node_id):
        raise InvalidArgument(
            "id.malformed",
            f"{field}: {quote(node_id)} is not a node id; use an ISO 3166-1 alpha-2 country code "
            "(e.g. CN) for a central node or an ISO 3166-2 code (e.g. CN-GD) for a province",
            field=field,
        )
    is_province = "-" in node_id
    if is_province:
        if _subdivision(node_id) is None:
            raise InvalidArgument(
                "id.unknown_subdivision",
                f"{field}: {quote(node_id)} is not an ISO 3166-2 subdivision code",
                field=field,
            )
    elif _country(node_id) is None:
        raise InvalidArgument(
            "id.unknown_country",
            f"{field}: {quote(node_id)} is not an ISO 3166-1 alpha-2 country code",
            field=field,
        )
    if role is Role.CENTRAL and is_province:
        raise InvalidArgument(
            "id.role_mismatch",
            f"{field}: a central node's id is a country code (e.g. {federation_of(node_id)}), "
            f"not the subdivision {quote(node_id)}",
            field=field,
        )
    if role is Role.PROVINCE and not is_province:
        raise InvalidArgument(
            "id.role_mismatch",
            f"{field}: a province node's id is an ISO 3166-2 code such as {node_id}-XX, "
            f"not the country code {quote(node_id)}",
            field=field,
        )
    return node_id


def federation_of(node_id: str) -> str:
    """The federation (country code) a node id belongs to."""
    return node_id.split("-", 1)[0]


def role_of(node_id: str) -> Role:
    return Role.PROVINCE if "-" in node_id else Role.CENTRAL


def tls_name(node_id: str) -> str:
    """The DNS name a node's TLS certificate carries and peers check: `cn-gd.swnode`."""
    return f"{node_id.lower()}.swnode"
