"""`scripts/bench-network`, run as an operator would on the smallest network with a foreign
window: it brings the network up, reports every figure its last line promises, and takes down
every node it started. Speed is not asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.node.devnet.test_bench import processes_under

pytestmark = pytest.mark.network

ROOT = Path(__file__).resolve().parents[3]


def test_bench_network_reports_every_figure_and_takes_its_network_down(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "bench_network.py"),
            *("--provinces", "2", "--foreign", "1", "--idle", "2", "--samples", "2"),
            *("--poll-interval", "1"),
        ],
        env={**os.environ, "TMPDIR": str(scratch)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert (figures["nodes"], figures["federations"], figures["stopped"]) == (4, 2, 4)
    assert set(figures["idle"]["per_node"]) == {"CN", "CN-GD", "CN-SH", "SG"}
    assert figures["time_to_healthy_s"] > 0
    assert figures["enrolment_to_every_node_ms"] > 0 and figures["revocation_to_every_node_ms"] > 0
    for flow in (
        "declaration_submit_to_cleared",
        "certificate_of_origin_to_sg_delivered",
        "timeline_query_every_node",
    ):
        assert figures[flow]["n"] >= 2 and figures[flow]["p50_ms"] <= figures[flow]["p99_ms"]
    assert figures["timeline_query_every_node"]["nodes_answering"] == 3  # CN and its provinces
    assert set(figures["directory_bytes"]) == {"CN", "SG", "bundle", "not_modified"}
    assert figures["directory_bytes"]["not_modified"] < 64 < figures["directory_bytes"]["bundle"]
    assert processes_under(scratch) == []
    assert list(scratch.iterdir()) == [], "the bench left its temporary folder"
