"""A central restored from an older backup never publishes a directory version lower than one
its members hold: the first member to poll tells it, and it publishes above (OPERATIONS.md
section 8, PROTOCOL.md §2.9)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.harness import NetworkFactory, NetworkSpec, eventually, swnode

pytestmark = pytest.mark.network


def test_a_restored_central_publishes_above_what_its_members_hold(
    network_factory: NetworkFactory, tmp_path: Path
) -> None:
    net = network_factory(NetworkSpec(provinces=2, foreign=1, poll_interval_s=0.5))
    backup = tmp_path / "CN-backup.db"
    with sqlite3.connect(net.dir("CN") / "node.db") as live, sqlite3.connect(backup) as copy:
        live.backup(copy)
    backed_up = net.status("CN")["directory"]["version"]

    # Changes after the backup publish newer versions, which the provinces fetch.
    for _ in range(2):
        done = swnode(
            "rotate", "--dir", str(net.dir("CN")), "--key", "signing",
            "--activation", "1h", "--overlap", "1h",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        (net.dir("CN") / "keys" / "signing.next.key").unlink()
    held = backed_up + 2

    def holds(version: int) -> None:
        for province in ("CN-GD", "CN-SH"):
            assert net.status(province)["directory"]["version"] >= version, province

    eventually(lambda: holds(held), timeout_s=10)

    # The central is restored from the backup: its own latest version is the older one.
    net.stop("CN")
    for suffix in ("", "-wal", "-shm"):
        (net.dir("CN") / f"node.db{suffix}").unlink(missing_ok=True)
    backup.replace(net.dir("CN") / "node.db")
    net.start("CN")
    net.wait_healthy(["CN"])

    # The provinces report what they hold; the central continues above it, and nobody sees a
    # rollback.
    def continued() -> None:
        assert net.status("CN")["directory"]["version"] > held
        holds(held + 1)
        for province in ("CN-GD", "CN-SH"):
            error = net.status(province)["directory"]["last_error"]
            assert error is None or "rollback" not in error, (province, error)

    eventually(continued, timeout_s=20)
