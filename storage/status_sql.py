"""Statuses as SQL literals, spelt from the enums of the core's state tables (core/states.py).

Queries keep statuses as literals, not parameters, so that a partial or status index still
serves them; these helpers write those literals from the enum values, so the SQL says what the
table says and nothing else.
"""

from __future__ import annotations

import enum
import re

__all__ = ["listed", "literal"]

_SAFE = re.compile(r"^[a-z_]+$")


def literal(status: enum.StrEnum) -> str:
    """`status` as an SQL string literal: 'queued'."""
    if not _SAFE.match(status.value):
        raise ValueError(f"not a status: {status.value!r}")
    return f"'{status.value}'"


def listed(*statuses: enum.StrEnum) -> str:
    """`statuses` as a parenthesised SQL list for IN: ('queued', 'failed')."""
    return "(" + ", ".join(literal(s) for s in statuses) + ")"
