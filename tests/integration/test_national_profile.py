"""A test network whose CN federation runs the sm2 profile (SM2 signatures, SM3 digests) while
SG keeps ed25519: the demo's whole story crosses the border, every receipt of it verifies offline
with `swnode verify-receipt` against either federation's anchor, and a province whose keys are
not of its federation's profile cannot enrol (PROTOCOL.md §0.9, §1.5)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from conformance import runner
from core import algorithms
from core.algorithms import Digest, Sm2PrivateKey
from swf.v1 import envelope_pb2 as pb
from tests.harness import Network, NetworkFactory, NetworkSpec, swnode
from tests.integration.test_demo import check_story, demo

pytestmark = [pytest.mark.network, pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def net(module_network_factory: NetworkFactory) -> Network:
    return module_network_factory(NetworkSpec(crypto="sm2"))


def messages(net: Network, node: str) -> list[dict[str, object]]:
    listed = swnode("messages", "--dir", str(net.dir(node)), "--json")
    assert listed.returncode == 0, listed.stderr
    rows: list[dict[str, object]] = json.loads(listed.stdout)
    return rows


def evidence(net: Network, node: str, message_id: str, out: Path) -> dict[str, object]:
    exported = swnode("receipt", "--dir", str(net.dir(node)), message_id, "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    document: dict[str, object] = json.loads(out.read_text())
    return document


def verified(anchor: Path, file: Path) -> dict[str, object]:
    checked = swnode("verify-receipt", "--anchor", str(anchor), str(file), "--json")
    assert checked.returncode == 0, checked.stderr
    verdict: dict[str, object] = json.loads(checked.stdout)
    return verdict


def test_each_federation_has_the_keys_of_its_profile(net: Network) -> None:
    for node in ("CN", "CN-GD", "CN-SH"):
        keys = net.keys(node)
        assert isinstance(keys.signing_key, Sm2PrivateKey), node
        assert isinstance(keys.token_key, Sm2PrivateKey), node
    assert isinstance(net.keys("CN").directory_key, Sm2PrivateKey)
    assert isinstance(net.keys("SG").signing_key, Ed25519PrivateKey)
    cn = json.loads((net.root / "CN.anchor.json").read_text())
    assert cn["directoryKeyAlgorithm"] == "KEY_ALGORITHM_SM2"
    assert cn["digest"] == "DIGEST_ALGORITHM_SM3"
    sg = json.loads((net.root / "SG.anchor.json").read_text())
    assert "directoryKeyAlgorithm" not in sg and "digest" not in sg
    # `swnode status` says which profile each federation it holds runs.
    directory = net.status("CN-GD")["directory"]
    assert directory["crypto"] == "sm2" and directory["foreign"]["SG"]["crypto"] == "ed25519"
    assert net.status("SG")["directory"]["foreign"]["CN"]["crypto"] == "sm2"


def test_the_demo_crosses_the_border_and_every_receipt_verifies_offline(
    net: Network, tmp_path: Path
) -> None:
    check_story(demo(net.root), registered="active")
    anchors = [net.root / "CN.anchor.json", net.root / "SG.anchor.json"]
    checked = 0
    for node in ("CN-SH", "SG"):
        outgoing = [m for m in messages(net, node) if m["direction"] == "out"]
        assert outgoing, node
        for row in outgoing:
            out = tmp_path / f"{node}-{row['message_id']}.json"
            document = evidence(net, node, str(row["message_id"]), out)
            for anchor in anchors:
                verdict = verified(anchor, out)
                assert verdict["ok"], (node, row, verdict)
                # delivery receipts travel with hop receipts only (PROTOCOL.md §5.6)
                if row["status"] == "delivered":
                    assert verdict["delivered"], (node, row, verdict)
                assert verdict["message_id"] == row["message_id"]
            checked += 1
            # The header digest every receipt names is the origin federation's.
            header = base64.b64decode(str(document["header"]))
            digest = Digest.SM3 if node.startswith("CN") else Digest.SHA256
            for r in document["receipts"]:  # type: ignore[attr-defined]
                body = pb.ReceiptBody.FromString(base64.b64decode(r["body"]))
                assert body.header_sha256 == algorithms.digest(digest, header)
    certificate = [m for m in messages(net, "CN-SH") if m["document_type"] == "certificate.origin"]
    assert certificate and certificate[0]["recipient"] == "SG"
    assert certificate[0]["status"] == "delivered"
    assert checked >= 3


def test_a_changed_sm2_signature_does_not_verify(net: Network, tmp_path: Path) -> None:
    (row,) = [m for m in messages(net, "CN-SH") if m["document_type"] == "certificate.origin"]
    out = tmp_path / "evidence.json"
    document = evidence(net, "CN-SH", str(row["message_id"]), out)
    signature = document["headerSignature"]
    assert isinstance(signature, dict)
    raw = bytearray(base64.b64decode(signature["signature"]))
    raw[-1] ^= 0x01
    signature["signature"] = base64.b64encode(bytes(raw)).decode()
    out.write_text(json.dumps(document))
    checked = swnode("verify-receipt", "--anchor", str(net.root / "CN.anchor.json"), str(out))
    assert checked.returncode == 2, checked.stdout
    assert "does not verify with its origin's key" in checked.stderr


def test_a_province_of_another_profile_cannot_enrol(net: Network, tmp_path: Path) -> None:
    folder = tmp_path / "CN-ZJ"
    made = swnode("init", "--dir", str(folder), "--id", "CN-ZJ", "--role", "province")
    assert made.returncode == 0, made.stderr
    invitation = swnode("invite", "--dir", str(net.dir("CN")), "--id", "CN-ZJ")
    assert invitation.returncode == 0, invitation.stderr
    central = net.config("CN").client_endpoint
    refused = swnode(
        "enroll", "--dir", str(folder), "--central", central, "--token", invitation.stdout.strip()
    )
    assert refused.returncode == 2, refused.stdout
    assert "runs the sm2 profile" in refused.stderr and "--crypto sm2" in refused.stderr
    # The same province with keys of the profile enrols.
    good = tmp_path / "CN-ZJ-sm2"
    made = swnode(
        "init", "--dir", str(good), "--id", "CN-ZJ", "--role", "province", "--crypto", "sm2"
    )
    assert made.returncode == 0, made.stderr
    invitation = swnode("invite", "--dir", str(net.dir("CN")), "--id", "CN-ZJ")
    enrolled = swnode(
        "enroll", "--dir", str(good), "--central", central, "--token", invitation.stdout.strip()
    )
    assert enrolled.returncode == 0, enrolled.stderr
    assert "enrolled with CN" in enrolled.stdout


def test_the_conformance_runner_passes_against_sm2_nodes(net: Network) -> None:
    """The runner plays members of both federations (PROTOCOL.md §9): CN-GD and CN, SM2/SM3,
    answer every clause as Ed25519 nodes do."""
    for node_id in ("CN-GD", "CN"):
        target = net.config(node_id).peer_endpoint
        results = runner.run(runner.connect(target, net.root))
        assert [r.section for r in results if not r.passed] == [], runner.render(
            results, as_json=False
        )


def test_the_jwks_of_an_sm2_node_serves_its_sm2_token_key(net: Network) -> None:
    status, body = net.ops("CN-GD", "/.well-known/jwks.json")
    assert status == 200
    (key,) = json.loads(body)["keys"]
    assert (key["kty"], key["crv"], key["alg"]) == ("EC", "SM2", "SM2SM3")
    token_key = net.keys("CN-GD").token_key
    assert isinstance(token_key, Sm2PrivateKey)
    point = token_key.public_bytes()
    assert base64.urlsafe_b64decode(key["x"] + "=") == point[1:33]
    status, body = net.ops("SG", "/.well-known/jwks.json")
    assert json.loads(body)["keys"][0]["kty"] == "OKP"
