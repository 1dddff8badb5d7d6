"""Four nodes in two federations (CN with CN-GD and CN-SH; SG): every node knows every other
from its directories, the foreign federation's directory arrives verified through the pinned
anchor, and every node accepts its direct neighbours on its peer port (across the border,
centrals only)."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

import grpc
import pytest

from tests.harness import Network, eventually, swnode

pytestmark = pytest.mark.network

ROLES = {"CN": "central", "CN-GD": "province", "CN-SH": "province", "SG": "central"}


def settled_view(network: Network, node_id: str) -> dict[str, Any]:
    status = network.status(node_id)
    assert status["healthy"] is True, status
    directory = status["directory"]
    assert directory["valid"] is True and directory["version"] >= 1, directory
    peers = {p["id"]: p for p in status["peers"]}
    assert set(peers) == set(ROLES) - {node_id}
    for peer in peers.values():
        assert peer["role"] == ROLES[peer["id"]], peer
        assert peer["revoked"] is False, peer
        assert peer["reachable"] is True, (node_id, peer)
    return status


def test_every_node_sees_every_other(shared_network: Network) -> None:
    assert sorted(shared_network.ids) == sorted(ROLES)
    views = {n: eventually(partial(settled_view, shared_network, n), timeout_s=15) for n in ROLES}
    cn_version = views["CN"]["directory"]["version"]
    sg_version = views["SG"]["directory"]["version"]
    for node_id in ("CN", "CN-GD", "CN-SH"):
        directory = views[node_id]["directory"]
        assert directory["trusted_federations"] == ["SG"]
        assert directory["foreign"]["SG"]["valid"] is True
        assert directory["foreign"]["SG"]["version"] == sg_version
        assert directory["foreign"]["SG"]["error"] is None
    assert views["SG"]["directory"]["trusted_federations"] == ["CN"]
    assert views["SG"]["directory"]["foreign"]["CN"]["version"] == cn_version
    assert views["CN-GD"]["directory"]["version"] == cn_version


def test_routes_cross_the_border_through_the_centrals(shared_network: Network) -> None:
    routes = {p["id"]: p["route"] for p in shared_network.status("CN-GD")["peers"]}
    assert routes == {"CN": "direct", "CN-SH": "direct", "SG": "via CN"}
    routes = {p["id"]: p["route"] for p in shared_network.status("SG")["peers"]}
    assert routes == {"CN": "direct", "CN-GD": "via CN", "CN-SH": "via CN"}


def test_every_node_accepts_its_direct_neighbours_on_its_peer_port(shared_network: Network) -> None:
    """PROTOCOL.md §2.6 step 7: within a federation everyone, across the border centrals only."""
    for target in ROLES:
        version = shared_network.status(target)["directory"]["version"]
        for caller in set(ROLES) - {target}:
            neighbours = caller[:2] == target[:2] or ROLES[caller] == ROLES[target] == "central"
            if not neighbours:
                refused = shared_network.ping_outcome(target, as_node=caller)
                assert refused is not None, (caller, target)
                assert (refused.code, refused.reason) == (
                    grpc.StatusCode.PERMISSION_DENIED,
                    "peer.cross_border",
                ), (caller, target)
                continue
            answer = shared_network.ping(target, as_node=caller)
            assert answer.node_id == target, (caller, target)
            assert answer.directory_version == version


def test_swnode_status_shows_what_ops_status_serves(shared_network: Network) -> None:
    node_dir = str(shared_network.dir("CN-GD"))
    as_json = swnode("status", "--dir", node_dir, "--json")
    assert as_json.returncode == 0, as_json.stderr
    printed = json.loads(as_json.stdout)
    served = shared_network.status("CN-GD")
    assert printed["id"] == "CN-GD" and printed["running"] is True
    assert printed["directory"]["version"] == served["directory"]["version"]
    assert [p["id"] for p in printed["peers"]] == [p["id"] for p in served["peers"]]
    assert printed["ports"] == served["ports"]

    text = swnode("status", "--dir", node_dir)
    assert text.returncode == 0, text.stderr
    assert "state      running, healthy" in text.stdout
    assert f"directory  v{served['directory']['version']}" in text.stdout
    assert "foreign    SG v" in text.stdout
