"""How a list of names is kept in one text column: comma-separated, no empty entries. Roles and
document types are stored this way; one place writes and reads the format."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["join_names", "split_names"]


def join_names(values: Sequence[str]) -> str:
    return ",".join(values)


def split_names(text: str) -> tuple[str, ...]:
    return tuple(v for v in text.split(",") if v)
