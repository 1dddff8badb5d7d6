"""Routing: direct inside a federation, through the centrals between federations."""

from __future__ import annotations

import pytest

from core.hops import is_direct_neighbour, may_relay, next_hop, path


@pytest.mark.parametrize(
    ("origin", "recipient", "hops"),
    [
        ("CN-GD", "SG", ["CN", "SG"]),  # province to foreign: through its own central
        ("SG", "CN-GD", ["CN", "CN-GD"]),  # foreign to province: through that province's central
        ("CN-GD", "CN-SH", ["CN-SH"]),  # province to province: direct
        ("CN-GD", "CN", ["CN"]),
        ("CN", "SG", ["SG"]),
        ("CN-GD", "TH-10", ["CN", "TH", "TH-10"]),  # province to foreign province
    ],
)
def test_path(origin: str, recipient: str, hops: list[str]) -> None:
    assert path(origin, recipient) == hops
    assert next_hop(origin, recipient) == hops[0]


def test_may_relay_only_on_the_route_and_not_at_its_end() -> None:
    assert may_relay("CN", "CN-GD", "SG")
    assert may_relay("CN", "SG", "CN-GD")
    assert may_relay("TH", "CN-GD", "TH-10")
    assert not may_relay("CN-SH", "CN-GD", "SG")
    assert not may_relay("SG", "CN-GD", "SG")  # the recipient does not relay
    assert not may_relay("CN", "CN-GD", "CN-SH")  # provinces of one federation talk directly
    assert not may_relay("TH", "CN-GD", "SG")


def test_direct_neighbours() -> None:
    assert is_direct_neighbour("CN-GD", "CN-SH")
    assert is_direct_neighbour("CN-GD", "CN")
    assert is_direct_neighbour("CN", "SG")
    assert not is_direct_neighbour("CN-GD", "SG")
    assert not is_direct_neighbour("SG", "CN-GD")
    assert not is_direct_neighbour("CN", "CN")
