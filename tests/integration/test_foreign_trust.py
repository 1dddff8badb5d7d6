"""Trusting a foreign federation through its anchor, checked by fingerprint: a wrong fingerprint
or a substituted anchor file changes nothing; the right one brings the foreign directory, verified,
to every node of the federation."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from core.anchor import anchor_fingerprint, encode_anchor
from core.errors import PermissionDenied
from node.operator import admin
from tests.factories import Federation
from tests.harness import Network, NetworkFactory, NetworkSpec, eventually, swnode

pytestmark = pytest.mark.network

POLL_S = 0.5


async def published(network: Network) -> tuple[int, list[str]]:
    """The version and trusted federations of CN's latest published directory."""
    async with admin.central(network.dir("CN")) as (_, authority):
        latest = await authority.latest()
    assert latest is not None
    return latest[1].version, [a.federation for a in latest[1].trusted_federations]


def trusts(network: Network, node_id: str, federations: list[str]) -> dict[str, Any]:
    directory = network.status(node_id)["directory"]
    assert directory["trusted_federations"] == federations, directory
    assert sorted(directory["foreign"]) == federations, directory
    for foreign in directory["foreign"].values():
        assert foreign["valid"] is True, directory
    return dict(directory)


async def test_trust_needs_the_anchor_with_the_agreed_fingerprint(
    network_factory: NetworkFactory, tmp_path: Path
) -> None:
    network = network_factory(NetworkSpec(provinces=1, foreign=1, poll_interval_s=POLL_S))
    # Start from a federation that does not trust SG (devnet exchanged anchors already).
    await admin.trust_remove(network.dir("CN"), "SG")
    eventually(lambda: trusts(network, "CN-GD", []), timeout_s=15)
    assert "SG" not in [p["id"] for p in network.status("CN-GD")["peers"]]

    genuine = tmp_path / "SG.anchor.json"
    fingerprint = await admin.export_anchor(network.dir("SG"), genuine)
    before = await published(network)
    assert before[1] == []

    # 1. The genuine file with a fingerprint that is not its own.
    wrong = "0" * 64
    with pytest.raises(PermissionDenied) as refused:
        await admin.trust_add(network.dir("CN"), genuine, wrong)
    assert (refused.value.reason, refused.value.field) == (
        "anchor.fingerprint_mismatch",
        "fingerprint",
    )
    # 2. A file substituted in transit (another CA and key under SG's name), with the
    #    fingerprint the SG operator read out over the phone.
    substituted = tmp_path / "substituted.anchor.json"
    rogue = Federation("SG").anchor(endpoint=network.config("SG").peer_endpoint)
    substituted.write_text(encode_anchor(rogue))
    assert anchor_fingerprint(rogue) != fingerprint
    with pytest.raises(PermissionDenied) as refused:
        await admin.trust_add(network.dir("CN"), substituted, fingerprint)
    assert refused.value.reason == "anchor.fingerprint_mismatch"
    # 3. The operator's view of the same refusal.
    cli = swnode(
        "trust", "add", "--dir", str(network.dir("CN")), "--anchor", str(substituted),
        "--fingerprint", fingerprint,
    )  # fmt: skip
    assert cli.returncode == 2
    assert (
        f"fingerprint: the anchor file's fingerprint is {anchor_fingerprint(rogue)}" in cli.stderr
    )

    assert await published(network) == before  # nothing was published
    eventually(lambda: trusts(network, "CN", []), timeout_s=15)
    await asyncio.sleep(2 * POLL_S)  # CN-GD has polled since: still nothing
    trusts(network, "CN-GD", [])

    # With the agreed fingerprint: CN publishes the anchor, fetches SG's directory with it, and
    # passes it on; CN-GD verifies it against the anchor in its own directory.
    federation, version = await admin.trust_add(network.dir("CN"), genuine, fingerprint)
    assert (federation, version) == ("SG", before[0] + 1)
    sg_version = network.status("SG")["directory"]["version"]
    for node_id in ("CN", "CN-GD"):
        directory = eventually(partial(trusts, network, node_id, ["SG"]), timeout_s=15)
        assert directory["foreign"]["SG"]["version"] == sg_version
    assert "SG" in [p["id"] for p in network.status("CN-GD")["peers"]]
