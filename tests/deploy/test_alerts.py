"""deploy/prometheus: the alert rules load (`promtool check rules`), fire and resolve as their
unit tests say (`promtool test rules`), and ask only for metrics the node exports."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.metric_names import exported_names, metric_names

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool is not installed (scripts/with-promtool installs Debian's prometheus package)",
)


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], cwd=RULES, capture_output=True, text=True, timeout=120, check=False
    )


@needs_promtool
def test_rules_pass_promtool_check() -> None:
    result = promtool("check", "rules", "swnode-alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@needs_promtool
def test_rules_fire_and_resolve_as_their_unit_tests_say() -> None:
    result = promtool("test", "rules", "swnode-alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def rules() -> list[dict[str, str]]:
    doc = yaml.safe_load((RULES / "swnode-alerts.yml").read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def test_every_alert_the_operations_guide_promises_is_there_and_explained() -> None:
    alerts = {rule["alert"] for rule in rules()}
    assert alerts == {
        "SwnodeDirectoryExpiring",
        "SwnodeDirectoryExpired",
        "SwnodeNotServing",
        "SwnodePeerUnreachable",
        "SwnodePeerBacklogGrowing",
        "SwnodeDeadMessages",
        "SwnodeKeyExpiring",
        "SwnodeDatabaseDown",
        "SwnodeReplicaMissing",
    }
    guide = (RULES.parents[1] / "docs" / "OPERATIONS.md").read_text()
    tested = (RULES / "swnode-alerts.test.yml").read_text()
    for alert in alerts:
        assert re.search(rf"^#### {alert}$", guide, re.M), f"OPERATIONS.md does not explain {alert}"
        assert f"alertname: {alert}" in tested, f"no unit test fires {alert}"


def test_rules_ask_only_for_metrics_the_node_exports() -> None:
    exported = exported_names() | {"up"}  # `up` is Prometheus's own, per scraped target
    for rule in rules():
        for name in metric_names(rule["expr"]):
            assert name in exported, f"{rule['alert']} asks for {name}, which no node exports"
