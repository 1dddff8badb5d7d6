"""deploy/grafana: the dashboard is valid JSON and every expression asks for metrics that
node/metrics.py's registry exports, so a renamed metric cannot leave a panel empty."""

from __future__ import annotations

import json
from pathlib import Path

from tests.deploy.metric_names import exported_names, metric_names

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "swnode-dashboard.json"


def expressions() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def test_every_expression_names_an_exported_metric() -> None:
    exported = exported_names()
    exprs = expressions()
    assert exprs
    for title, expr in exprs:
        names = metric_names(expr)
        assert names, f"{title}: {expr} names no metric"
        for name in names:
            assert name in exported, f"panel {title!r} asks for {name}, which no node exports"


def test_every_exported_metric_has_a_panel() -> None:
    shown = {name for _, expr in expressions() for name in metric_names(expr)}
    families = {n for n in exported_names() if not n.endswith(("_total", "_info"))}
    counters_and_infos = {n for n in exported_names() if n.endswith(("_total", "_info"))}
    for name in families:
        assert name in shown or any(c.startswith(name) for c in counters_and_infos & shown), (
            f"{name} is on no panel"
        )


def test_the_name_finder_sees_through_promql() -> None:
    assert metric_names(
        'sum by (instance, peer) (rate(swnode_messages_answered_total{result="dead"}[5m]))'
    ) == {"swnode_messages_answered_total"}
    assert metric_names("(swnode_directory_expires_at_seconds - time()) / 3600") == {
        "swnode_directory_expires_at_seconds"
    }
