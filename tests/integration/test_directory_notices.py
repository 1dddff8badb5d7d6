"""A central tells its members, and the centrals that trust it, of a new directory
(PROTOCOL.md §2.10), so that an enrolment reaches every node long before anyone's next poll; and
a notice from a node that is not a central is refused. Nothing here times how fast: the bound
waited is far below the poll interval (two minutes), which alone would bring the change."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from core.ids import Role
from node.config import load_config, write_config
from node.operator import admin
from swf.v1 import peer_pb2, peer_pb2_grpc
from tests.harness import Network, NetworkFactory, NetworkSpec, eventually, refusal_of

pytestmark = pytest.mark.network

SLOW_POLL_S = 120.0


def versions(net: Network) -> dict[str, int]:
    """CN's directory version as each node holds it (SG: its copy of CN's)."""
    held: dict[str, int] = {}
    for node in ("CN", "CN-GD", "CN-SH", "SG"):
        directory = net.status(node)["directory"]
        if node == "SG":
            held[node] = int(directory.get("foreign", {}).get("CN", {}).get("version", 0))
        else:
            held[node] = int(directory["version"])
    return held


async def test_an_enrolment_reaches_every_node_by_notice_before_any_poll(
    network_factory: NetworkFactory, tmp_path: Path
) -> None:
    net = network_factory(NetworkSpec(provinces=2, foreign=1))
    for node in net.ids:  # from now on, polls come two minutes apart
        net.stop(node)
        write_config(replace(load_config(net.dir(node)), poll_interval_s=SLOW_POLL_S))
    for node in sorted(net.ids, key=lambda n: n == "CN"):  # CN last: it finds SG up
        net.start(node)
    net.wait_healthy()

    def alike() -> dict[str, int]:
        held = versions(net)
        assert len(set(held.values())) == 1, held
        return held

    before = eventually(alike, timeout_s=30)
    central = net.dir("CN")
    newcomer = tmp_path / "CN-ZJ"
    peer, client, ops = admin.free_ports("127.0.0.1", 3)
    await admin.init_node(
        admin.InitOptions(
            node_dir=newcomer,
            node_id="CN-ZJ",
            role=Role.PROVINCE,
            peer_port=peer,
            client_port=client,
            ops_port=ops,
        )
    )
    invitation = await admin.invite(central, "CN-ZJ", "10m")
    await admin.enroll_node(newcomer, load_config(central).client_endpoint, invitation.encode())

    def reached() -> dict[str, int]:
        held = versions(net)
        assert all(held[n] > before[n] for n in held), f"{before} -> {held}"
        return held

    eventually(reached, timeout_s=30)
    eventually(alike, timeout_s=30)


def test_a_notice_from_a_province_is_refused(shared_network: Network) -> None:
    with shared_network.peer_channel("CN-SH", as_node="CN-GD") as channel:
        stub = peer_pb2_grpc.PeerStub(channel)
        refused = refusal_of(
            lambda: stub.NotifyDirectory(
                peer_pb2.DirectoryNotice(federation="CN", version=1 << 40), timeout=5
            )
        )
    assert refused.reason == "directory.notice_not_central"
    assert shared_network.status("CN-SH")["directory"]["version"] < 1 << 40


def test_a_notice_from_the_central_is_answered(shared_network: Network) -> None:
    with shared_network.peer_channel("CN-GD", as_node="CN") as channel:
        answer = peer_pb2_grpc.PeerStub(channel).NotifyDirectory(
            peer_pb2.DirectoryNotice(federation="CN", version=1), timeout=5
        )
    assert answer == peer_pb2.DirectoryNoticeAck()


def test_a_notice_from_a_trusted_foreign_central_is_answered(shared_network: Network) -> None:
    with shared_network.peer_channel("SG", as_node="CN") as channel:
        answer = peer_pb2_grpc.PeerStub(channel).NotifyDirectory(
            peer_pb2.DirectoryNotice(federation="CN", version=1), timeout=5
        )
    assert answer == peer_pb2.DirectoryNoticeAck()
