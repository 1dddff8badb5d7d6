"""`swnode devnet demo` on the network `scripts/devnet` brings up (CN, CN-GD, CN-SH, SG), through
the real command line: the whole story happens, and the last line says so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from node.devnet.network import Devnet
from tests.harness import swnode

pytestmark = [pytest.mark.network, pytest.mark.slow, pytest.mark.timeout(900)]

# (step, node, status) of every step, in order, as the demo reports them.
STORY = [
    ("enterprise registers", "CN-GD", "active"),
    ("user logs in with the same identity", "CN-SH", "home CN-GD"),
    ("export goods declaration submitted", "CN-SH", "under_review"),
    ("agencies decide the goods declaration", "CN-SH", "cleared"),
    ("certificate of origin application", "CN-SH", "under_review"),
    ("issuing body approves the application", "CN-SH", "approved"),
    ("certificate of origin issued", "CN-SH", None),  # pending, or delivered already
    ("certificate delivered to SG through CN", "CN-SH", "delivered"),
    ("SG verifies the certificate", "SG", "authentic"),
    ("SG customs accepts it", "SG", "accepted"),
    ("SG customs uses it for an import", "SG", "used"),
    ("the answer comes back to the exporter", "CN-SH", "used"),
]


def demo(root: Path) -> dict[str, Any]:
    """Run the demo with --json; its last line, parsed."""
    done = swnode("devnet", "demo", "--dir", str(root), "--json", timeout_s=600)
    lines = done.stdout.strip().splitlines()
    assert lines, f"the demo printed nothing: {done.stderr}"
    result = json.loads(lines[-1])
    assert isinstance(result, dict), lines[-1]
    failed = [s for s in result.get("steps", []) if not s.get("ok")]
    assert done.returncode == (0 if result.get("ok") else 1), done.stderr
    assert result["ok"] is True, f"steps that did not happen: {failed}\n{done.stderr}"
    return result


def check_story(result: dict[str, Any], *, registered: str) -> None:
    steps = result["steps"]
    assert [(s["step"], s["node"]) for s in steps] == [(step, node) for step, node, _ in STORY]
    for got, (step, _, status) in zip(steps, STORY, strict=True):
        assert got["ok"] is True, got
        if step == "enterprise registers":
            assert got["status"] == registered, got
        elif status is not None:
            assert got["status"] == status, got
    issued = steps[6]
    assert issued["status"] in ("pending_delivery", "delivered"), issued
    number = issued["detail"]
    assert number.startswith("RCEP-CN-"), issued
    assert steps[-1]["detail"] == number
    issuer = "-".join(number.split("-")[1:3])  # RCEP-<issuing node>-<year>-<serial>
    assert steps[8]["detail"] == f"signed by {issuer}"
    times = [s["at"] for s in steps]
    assert times == sorted(times) and all(len(t) == len("12:00:00.000") for t in times)


def test_the_demo_runs_the_whole_story_on_the_default_test_network(tmp_path: Path) -> None:
    root = tmp_path / "devnet"
    try:
        up = swnode("devnet", "up", "--dir", str(root), "--json", timeout_s=600)
        assert up.returncode == 0, up.stderr
        status = swnode("devnet", "status", "--dir", str(root), "--json")
        assert status.returncode == 0, status.stderr
        rows = {r["id"]: r for r in json.loads(status.stdout)}
        assert list(rows) == ["CN", "CN-GD", "CN-SH", "SG"]
        assert [rows[n]["role"] for n in rows] == ["central", "province", "province", "central"]
        assert all(r["healthy"] is True for r in rows.values()), rows

        check_story(demo(root), registered="active")
        # `scripts/devnet` again runs the demo again on the same network.
        check_story(demo(root), registered="already registered")
    finally:
        down = swnode("devnet", "down", "--dir", str(root))
        if down.returncode != 0 and Devnet(root).exists():
            Devnet(root).stop()
    assert all(not r["running"] for r in Devnet(root).status())
