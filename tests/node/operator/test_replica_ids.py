"""Which replica of a node answers, and which one sent each message, as an operator sees them:
`swnode status --json` shows the running replica's id, `swnode messages --json` the replica
that sent each outgoing message (tests/integration/test_replicas.py checks two replicas' ids in
the database; this checks what the commands print)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.harness import Network, swnode
from tests.messages import submit, wait_statuses

pytestmark = pytest.mark.network


def swnode_json(*args: str) -> Any:
    run = swnode(*args, "--json")
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_status_shows_the_replica_and_messages_show_which_replica_sent_them(
    shared_network: Network,
) -> None:
    sender, receiver = shared_network.dir("CN-GD"), shared_network.dir("CN-SH")
    status = swnode_json("status", "--dir", str(sender))
    replica = status["replica"]
    assert isinstance(replica, str) and f":{status['pid']}:" in replica, status
    other = swnode_json("status", "--dir", str(receiver))["replica"]
    assert other != replica

    ids = submit(sender, "CN-SH", 3)
    wait_statuses(sender, ids, "delivered", timeout_s=20)
    listed = swnode_json("messages", "--dir", str(sender), "--direction", "out", "--limit", "1000")
    rows = {r["message_id"]: r for r in listed}
    assert {rows[i]["sent_by"] for i in ids} == {replica}
    assert all(rows[i]["status"] == "delivered" and rows[i]["attempts"] == 1 for i in ids)
    # On the receiving side these are another node's messages: no replica of its own sent them.
    received = swnode_json(
        "messages", "--dir", str(receiver), "--direction", "in", "--limit", "1000"
    )
    got = {r["message_id"]: r for r in received}
    assert all(got[i]["sent_by"] is None and got[i]["peer"] == "CN-GD" for i in ids)
