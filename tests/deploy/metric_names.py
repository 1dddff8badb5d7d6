"""The metric names a node exports (node/metrics.py's registry, as Prometheus sees them) and
those a PromQL expression asks for."""

from __future__ import annotations

import re

from node.metrics import Metrics

# Words of PromQL that look like metric names: functions, aggregations, keywords.
_PROMQL_WORDS = {"by", "without", "and", "or", "unless", "on", "ignoring", "group_left", "bool"}


def exported_names() -> set[str]:
    """Every sample name the node's registry can produce (a counter's `_total`, an info's
    `_info`), whether or not a labelled child exists yet."""
    names: set[str] = set()
    for family in Metrics().registry.collect():
        names.add(family.name)
        if family.type == "counter":
            names.add(f"{family.name}_total")
        elif family.type == "info":
            names.add(f"{family.name}_info")
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names in `expr`: identifiers not followed by `(` (functions) and not inside
    braces (label names and values) or quotes."""
    text = re.sub(r"\{[^}]*\}", "", expr)
    text = re.sub(r'"[^"]*"', "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    found = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        name = match.group()
        rest = text[match.end() :].lstrip()
        if rest.startswith("(") or name in _PROMQL_WORDS:
            continue
        found.add(name)
    return found
