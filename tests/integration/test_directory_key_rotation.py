"""`swnode rotate --key directory` at CN while CN-GD sends to CN-SH and, through CN, to SG: the new
key is announced in a directory the old key signs, then signs; the provinces and SG follow
without enrolling again or an operator trusting a new anchor, no document is lost or delivered
twice, and evidence from before verifies against the old anchor (PROTOCOL.md §2.9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.protobuf import json_format

from swf.v1 import directory_pb2 as dpb
from swf.v1 import envelope_pb2 as pb
from tests.harness import NetworkFactory, NetworkSpec, eventually, swnode
from tests.integration.test_key_rotation import POLL_S, Traffic, evidence_of, verifies

pytestmark = pytest.mark.network


def test_the_directory_key_rotates_and_everyone_follows(
    network_factory: NetworkFactory, tmp_path: Path
) -> None:
    net = network_factory(NetworkSpec(provinces=2, foreign=1, poll_interval_s=POLL_S))
    traffic = Traffic(net)
    traffic.keep_sending(1.0)
    traffic.all_delivered_once()
    before = evidence_of(net, traffic.sent["SG"][0], tmp_path / "before.json")
    old = net.keys("CN").directory_public

    done = swnode("rotate", "--dir", str(net.dir("CN")), "--key", "directory")
    assert done.returncode == 0, done.stderr
    assert "new anchor fingerprint" in done.stdout
    traffic.keep_sending(2.0)

    def followed() -> None:
        new = net.keys("CN").directory_public
        assert new != old
        for province in ("CN-GD", "CN-SH"):
            assert net.keys(province).directory_public == new, province
        # SG holds a directory of CN at least as new as the one CN-GD followed the key with:
        # one signed by the new key, accepted with the old anchor's announcement.
        status = net.status("SG")["directory"]["foreign"]["CN"]
        assert status["valid"] and status["error"] is None, status
        assert status["version"] >= net.status("CN-GD")["directory"]["version"], status

    eventually(followed, timeout_s=20)
    assert "CN signs its directory with its new key; its anchor follows" in net.log("SG")
    traffic.keep_sending(3.0)  # signed by the new key throughout
    traffic.all_delivered_once()
    for node_id in ("CN-GD", "CN-SH", "SG"):
        assert net.healthz(node_id)[0] == 200, node_id

    # Evidence from before still verifies against the old anchor. Evidence exported now carries
    # the link from the old key to the new: what was sealed after the switch verifies against the
    # old anchor (an auditor's, pinned before) as against the new one, which the central exports
    # as before; what was sealed before verifies against the new anchor.
    verifies(net, before)
    new_anchor = tmp_path / "CN.new.anchor.json"
    exported = swnode("anchor", "export", "--dir", str(net.dir("CN")), "--out", str(new_anchor))
    assert exported.returncode == 0, exported.stderr
    after = evidence_of(net, traffic.sent["SG"][-1], tmp_path / "after.json")
    again = evidence_of(net, traffic.sent["SG"][0], tmp_path / "before.again.json")
    for evidence_file in (after, again):
        checked = swnode(
            "verify-receipt", "--anchor", str(new_anchor), str(evidence_file), "--json"
        )
        assert checked.returncode == 0, checked.stderr
        assert json.loads(checked.stdout)["delivered"]
    with_old = verifies(net, after)
    listed = with_old["directories"]
    assert isinstance(listed, list)
    versions = [d["version"] for d in listed if d["federation"] == "CN"]
    assert len(versions) >= 2, with_old  # the link the old key signed, and the newer ones

    # The link altered in the file: the old anchor verifies nothing, and says which directory
    # failed and why.
    ev = json_format.Parse(after.read_text(), pb.Evidence())
    links = []
    for i, raw in enumerate(ev.directories):
        directory = dpb.Directory.FromString(dpb.SignedDirectory.FromString(raw).directory)
        if directory.federation == "CN" and directory.directory_key == old:
            ev.directories[i] = raw[:-1] + bytes([raw[-1] ^ 1])  # its signature's last byte
            links.append(directory.version)
    assert len(links) == 1, links
    tampered = tmp_path / "after.tampered.json"
    tampered.write_text(json_format.MessageToJson(ev))
    refused = swnode(
        "verify-receipt", "--anchor", str(net.root / "CN.anchor.json"), str(tampered), "--json"
    )
    assert refused.returncode != 0
    assert "holds no directory that verifies with the anchor of CN" in refused.stderr
    assert f"version {links[0]}: directory.bad_signature" in refused.stderr, refused.stderr
