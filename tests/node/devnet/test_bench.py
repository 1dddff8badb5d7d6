"""`swnode bench`, run as an operator would with a tiny load: it finishes, reports every figure
the last line promises, and leaves nothing running behind it. Speed is not asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.network

FIGURES = {
    "messages",
    "payload_bytes",
    "msgs_per_s",
    "p50_ms",
    "p99_ms",
    "raw_grpc_msgs_per_s",
    "ratio_to_raw_grpc",
    "sender_peak_rss_mb",
    "receiver_peak_rss_mb",
}


def processes_under(folder: Path) -> list[str]:
    """Command lines of live processes that name something under `folder` (the bench's nodes
    and echo server are all given a path in their temporary folders)."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(p.info["cmdline"] or ())
        if str(folder) in cmdline:
            found.append(f"{p.pid}: {cmdline}")
    return found


def test_bench_reports_every_figure_and_leaves_nothing_running(tmp_path: Path) -> None:
    # Its temporary folders go under tmp_path, so whatever it starts can be found by path.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "node", "bench", "--messages", "200", "--payload-bytes", "256"],
        env={**os.environ, "TMPDIR": str(scratch)},
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) > 1, "a table comes before the JSON line"
    figures = json.loads(lines[-1])
    assert set(figures) >= FIGURES, FIGURES - set(figures)
    assert figures["messages"] == 200 and figures["payload_bytes"] == 256
    for key in FIGURES - {"messages", "payload_bytes"}:
        value = figures[key]
        assert isinstance(value, int | float) and value > 0, (key, value)
    assert figures["p50_ms"] <= figures["p99_ms"]
    assert processes_under(scratch) == []
    assert list(scratch.iterdir()) == [], "the bench left its temporary folders"


def test_open_loop_at_a_fixed_rate_reports_its_percentiles_beside_the_maximum(
    tmp_path: Path,
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "node",
            "bench",
            "--payload",
            "1k",
            "--rate",
            "50",
            "--duration",
            "1",
            "--messages",
            "200",
        ],
        env={**os.environ, "TMPDIR": str(scratch)},
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["payload_bytes"] == 1024 and figures["rate_per_s"] == 50
    assert figures["messages"] == 50  # every message offered came back receipted
    assert figures["closed_loop_msgs_per_s"] > 0
    assert 0 < figures["p50_ms"] <= figures["p99_ms"] <= figures["p999_ms"]
    assert processes_under(scratch) == []
    assert list(scratch.iterdir()) == [], "the bench left its temporary folders"
