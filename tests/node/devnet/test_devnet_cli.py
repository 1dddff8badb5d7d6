"""`swnode devnet up|status|stop|start|down`, through the real command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psutil
import pytest

from node.devnet.network import Devnet
from tests.harness import swnode

pytestmark = pytest.mark.network


def rows(root: Path) -> dict[str, dict[str, Any]]:
    done = swnode("devnet", "status", "--dir", str(root), "--json")
    assert done.returncode == 0, done.stderr
    return {r["id"]: r for r in json.loads(done.stdout)}


def test_devnet_lifecycle(tmp_path: Path) -> None:
    root = tmp_path / "devnet"
    try:
        up = swnode(
            "devnet", "up", "--dir", str(root), "--provinces", "1", "--foreign", "0", "--json"
        )
        assert up.returncode == 0, up.stderr
        assert "creating a test network" in up.stderr
        created = {r["id"]: r for r in json.loads(up.stdout)}
        assert list(created) == ["CN", "CN-GD"]
        for node in created.values():
            assert node["healthy"] is True and isinstance(node["pid"], int)
            assert psutil.pid_exists(node["pid"])
            ports = node["ports"]
            assert len({ports["peer"], ports["client"], ports["ops"]}) == 3
        assert rows(root) == created
        table = swnode("devnet", "status", "--dir", str(root)).stdout
        assert [line.split()[3] for line in table.splitlines()[1:]] == ["healthy", "healthy"]
        ca = (root / "CN" / "keys" / "ca.crt").read_bytes()

        # Stop one node; the other keeps serving; the stopped node's folder still answers.
        stopped = swnode("devnet", "stop", "--dir", str(root), "--node", "CN-GD")
        assert stopped.stdout.strip() == "stopped: CN-GD"
        now = rows(root)
        assert (now["CN-GD"]["pid"], now["CN-GD"]["running"], now["CN-GD"]["healthy"]) == (
            None,
            False,
            False,
        )
        assert not psutil.pid_exists(created["CN-GD"]["pid"])
        assert now["CN"]["healthy"] is True and now["CN"]["pid"] == created["CN"]["pid"]
        offline = json.loads(swnode("status", "--dir", str(root / "CN-GD"), "--json").stdout)
        assert offline["running"] is False and offline["directory"]["version"] >= 1

        started = swnode("devnet", "start", "--dir", str(root), "--node", "CN-GD")
        assert started.stdout.strip() == "started: CN-GD"
        now = rows(root)
        assert now["CN-GD"]["healthy"] is True
        assert now["CN-GD"]["pid"] not in (None, created["CN-GD"]["pid"])
        assert now["CN-GD"]["ports"] == created["CN-GD"]["ports"]

        unknown = swnode("devnet", "stop", "--dir", str(root), "--node", "CN-XX")
        assert unknown.returncode == 2
        assert "node: CN-XX is not in this network" in unknown.stderr

        down = swnode("devnet", "down", "--dir", str(root))
        assert down.stdout.strip() == "stopped: CN, CN-GD"
        assert all(r["pid"] is None and not r["running"] for r in rows(root).values())

        # `up` on an existing network starts it again, as it was.
        again = swnode("devnet", "up", "--dir", str(root), "--json")
        assert again.returncode == 0, again.stderr
        assert "starting CN, CN-GD" in again.stderr and "creating" not in again.stderr
        restarted = {r["id"]: r for r in json.loads(again.stdout)}
        assert all(r["healthy"] for r in restarted.values())
        assert (root / "CN" / "keys" / "ca.crt").read_bytes() == ca
    finally:
        if Devnet(root).exists():
            Devnet(root).stop()
