"""Signed messages between running nodes: delivery, relay, receipts as evidence, and refusals.

These tests share one network and leave it as they found it; tests that stop nodes are in
test_message_faults.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path

import pytest

from swf.v1 import envelope_pb2 as pb
from tests.harness import Network, NetworkFactory, NetworkSpec, swnode
from tests.messages import (
    exchange,
    inbox,
    outbox_row,
    receipts_kept,
    seal_as,
    submit,
    wait_statuses,
)

pytestmark = pytest.mark.network


@pytest.fixture(scope="module")
def net(module_network_factory: NetworkFactory) -> Network:
    return module_network_factory(NetworkSpec(provinces=3, foreign=1))


def test_a_province_delivers_to_another_and_the_receipt_is_evidence(
    net: Network, tmp_path: Path
) -> None:
    ids = submit(net.dir("CN-GD"), "CN-SH", 20, payload=b"manifest")
    wait_statuses(net.dir("CN-GD"), ids, "delivered", timeout_s=20)
    received = {r["message_id"]: r for r in inbox(net.dir("CN-SH"))}
    assert set(ids) <= set(received)
    assert all(
        received[i]["origin"] == "CN-GD" and received[i]["status"] == "received" for i in ids
    )
    assert receipts_kept(net.dir("CN-GD"), ids[0]) == [("delivery", "CN-SH")]
    # The receipt, exported, verifies offline against the federation's anchor alone.
    out = tmp_path / "evidence.json"
    exported = swnode("receipt", "--dir", str(net.dir("CN-GD")), ids[0], "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    anchor = net.root / "CN.anchor.json"
    checked = swnode("verify-receipt", "--anchor", str(anchor), str(out), "--json")
    assert checked.returncode == 0, checked.stderr
    verdict = json.loads(checked.stdout)
    assert verdict["ok"] and verdict["delivered"] and verdict["message_id"] == ids[0]
    assert verdict["receipts"][0]["issuer"] == "CN-SH"


def test_evidence_with_a_changed_byte_does_not_verify(net: Network, tmp_path: Path) -> None:
    (mid,) = submit(net.dir("CN-GD"), "CN-SH", 1)
    wait_statuses(net.dir("CN-GD"), [mid], "delivered", timeout_s=20)
    out = tmp_path / "evidence.json"
    assert swnode("receipt", "--dir", str(net.dir("CN-GD")), mid, "--out", str(out)).returncode == 0
    document = json.loads(out.read_text())
    body = bytearray(base64.b64decode(document["receipts"][0]["body"]))
    body[-1] ^= 0x01
    document["receipts"][0]["body"] = base64.b64encode(bytes(body)).decode()
    out.write_text(json.dumps(document))
    checked = swnode("verify-receipt", "--anchor", str(net.root / "CN.anchor.json"), str(out))
    assert checked.returncode == 2
    assert "does not verify" in checked.stderr


def test_a_province_reaches_a_foreign_window_through_its_central(net: Network) -> None:
    ids = submit(net.dir("CN-GD"), "SG", 10, payload=b"certificate of origin")
    wait_statuses(net.dir("CN-GD"), ids, "delivered", timeout_s=30)
    # The origin holds the hop receipt from CN and the end-to-end receipt from SG.
    assert receipts_kept(net.dir("CN-GD"), ids[0]) == [("delivery", "SG"), ("hop", "CN")]
    relay = outbox_row(net.dir("CN"), ids[0])
    assert relay["origin"] == "CN-GD" and relay["next_hop"] == "SG"
    assert relay["status"] == "delivered"
    at_sg = {r["message_id"]: r for r in inbox(net.dir("SG"))}
    assert all(at_sg[i]["origin"] == "CN-GD" and at_sg[i]["previous_hop"] == "CN" for i in ids)
    # And back: SG's window answers a province through both centrals.
    back = submit(net.dir("SG"), "CN-ZJ", 3)
    wait_statuses(net.dir("SG"), back, "delivered", timeout_s=30)


def _count(node_dir: Path, message_id: str) -> int:
    return sum(1 for r in inbox(node_dir) if r["message_id"] == message_id)


def test_a_replay_returns_the_first_receipt_and_is_stored_once(net: Network) -> None:
    (env,) = seal_as(net, "CN-GD", "CN-SH", [b"once"])
    raw = env.SerializeToString()
    first = exchange(net, "CN-SH", as_node="CN-GD", frames=[[raw]])
    again = exchange(net, "CN-SH", as_node="CN-GD", frames=[[raw], [raw, raw]])
    assert first[0].HasField("receipt")
    assert [a.receipt.SerializeToString() for a in again] == [
        first[0].receipt.SerializeToString()
    ] * 3
    mid = pb.Header.FromString(env.header).message_id
    assert _count(net.dir("CN-SH"), mid) == 1


def _flip(data: bytes, at: int) -> bytes:
    b = bytearray(data)
    b[at] ^= 0x01
    return bytes(b)


def test_bad_envelopes_are_refused_with_a_reason_and_nothing_is_stored(net: Network) -> None:
    now = int(time.time() * 1000)
    good, tampered_header, tampered_payload, tampered_sig = seal_as(
        net, "CN-GD", "CN-SH", [b"ok", b"h", b"p", b"s"]
    )
    tampered_header.header = _flip(tampered_header.header, 20)
    tampered_payload.payload = _flip(tampered_payload.payload, 0)
    tampered_sig.signature.signature = _flip(tampered_sig.signature.signature, 1)
    (misaddressed,) = seal_as(net, "CN-GD", "CN-ZJ", [b"not for CN-SH"])
    (skewed,) = seal_as(net, "CN-GD", "CN-SH", [b"future"], now_ms=now + 15 * 60_000)
    (expired,) = seal_as(net, "CN-GD", "CN-SH", [b"old"], now_ms=now - 60_000, ttl_ms=30_000)
    (oversized,) = seal_as(net, "CN-GD", "CN-SH", [b"x" * (4 * 1024 * 1024)])
    (unknown_key,) = seal_as(net, "CN-GD", "CN-SH", [b"who"])
    unknown_key.signature.key_id = "CN-GD/sig/0000000000000000"
    cases = [
        (tampered_header, "envelope.bad_signature"),
        (tampered_payload, "envelope.payload_mismatch"),
        (tampered_sig, "envelope.bad_signature"),
        (misaddressed, "envelope.misaddressed"),
        (skewed, "envelope.clock_skew"),
        (expired, "envelope.expired"),
        (oversized, "envelope.too_large"),
        (unknown_key, "envelope.unknown_key"),
    ]
    before = len(inbox(net.dir("CN-SH")))
    frames = [[good.SerializeToString(), b"\x0a\xff\xff not an envelope"]] + [
        [env.SerializeToString()] for env, _ in cases
    ]
    acks = exchange(net, "CN-SH", as_node="CN-GD", frames=frames)
    assert acks[0].HasField("receipt")
    assert acks[1].refusal.reason == "envelope.malformed"
    got = [(a.refusal.reason, a.refusal.retryable) for a in acks[2:]]
    assert got == [(reason, False) for _, reason in cases]
    assert all(a.refusal.message for a in acks[1:])
    # Only the good one was stored.
    assert len(inbox(net.dir("CN-SH"))) == before + 1
    good_id = pb.Header.FromString(good.header).message_id
    assert inbox(net.dir("CN-SH"))[-1]["message_id"] == good_id
    assert inbox(net.dir("CN-SH"))[-1]["header_sha256"] == hashlib.sha256(good.header).digest()


def test_a_node_cannot_pass_off_another_nodes_message(net: Network) -> None:
    """CN-ZJ holds a genuine CN-GD envelope and tries to deliver it itself."""
    (env,) = seal_as(net, "CN-GD", "CN-SH", [b"forwarded by the wrong node"])
    acks = exchange(net, "CN-SH", as_node="CN-ZJ", frames=[[env.SerializeToString()]])
    assert acks[0].refusal.reason == "envelope.wrong_hop"
