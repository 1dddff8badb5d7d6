"""A network as the national devnet builds it, small: CN with four provinces, two foreign
windows with a province each. Every node serves, every id is an ISO 3166 code of the right kind,
and a message from a province reaches a foreign province along province → central → foreign
central → foreign province, with the end-to-end receipt back at its origin."""

from __future__ import annotations

import pytest

from core.ids import Role, federation_of, role_of, validate_node_id
from node.devnet import national
from tests.harness import Network, NetworkFactory, NetworkSpec
from tests.messages import inbox, receipts_kept, send, wait_statuses

pytestmark = pytest.mark.network


@pytest.fixture(scope="module")
def net(module_network_factory: NetworkFactory) -> Network:
    return module_network_factory(NetworkSpec(provinces=4, foreign=2, foreign_provinces=1))


def test_every_node_serves_under_a_valid_national_id(net: Network) -> None:
    assert net.ids == national.network_ids(4, 2, 1)
    assert net.ids == ["CN", "CN-GD", "CN-SH", "CN-ZJ", "CN-AH", "SG", "TH", "SG-01", "TH-10"]
    for node_id in net.ids:
        role = role_of(node_id)
        assert validate_node_id(node_id, role) == node_id
        assert net.config(node_id).role is role
        assert net.healthz(node_id) == (200, {"status": "serving"})
        if role is Role.PROVINCE:
            assert federation_of(node_id) in net.ids  # enrolled with a central in the network


def test_a_message_reaches_a_foreign_province_through_both_centrals(net: Network) -> None:
    message_id = send(net, "CN-AH", "SG-01", "to a province abroad")
    wait_statuses(net.dir("CN-AH"), [message_id], "delivered", timeout_s=60)
    (arrived,) = [r for r in inbox(net.dir("SG-01")) if r["message_id"] == message_id]
    assert (arrived["origin"], arrived["previous_hop"]) == ("CN-AH", "SG")
    # Each hop on the way received it from the one before.
    assert [r["previous_hop"] for r in inbox(net.dir("CN")) if r["message_id"] == message_id] == [
        "CN-AH"
    ]
    assert [r["previous_hop"] for r in inbox(net.dir("SG")) if r["message_id"] == message_id] == [
        "CN"
    ]
    assert ("delivery", "SG-01") in receipts_kept(net.dir("CN-AH"), message_id)
