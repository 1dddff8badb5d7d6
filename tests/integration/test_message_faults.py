"""Faults caused on purpose: a receiver killed mid-stream, a peer down for a while, the central
down, a foreign recipient down behind its relay, messages that expire undelivered, a revoked
peer. Each test leaves its network running."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import grpc
import pytest

from tests.harness import Network, NetworkFactory, NetworkSpec, swnode
from tests.messages import (
    exchange,
    inbox,
    outbox_row,
    receipts_kept,
    received_from,
    seal_as,
    statuses,
    submit,
    wait_statuses,
)

pytestmark = [pytest.mark.network, pytest.mark.slow]


UNSEEN = "Task exception was never retrieved"


@pytest.fixture(scope="module")
def net(module_network_factory: NetworkFactory) -> Network:
    return module_network_factory(NetworkSpec(provinces=3, foreign=0))


def peer_failures(node_dir: Path, peer: str) -> int:
    with sqlite3.connect(f"file:{node_dir / 'node.db'}?mode=ro", uri=True) as conn:
        row = conn.execute("SELECT failures FROM peer_state WHERE peer = ?", (peer,)).fetchone()
    return int(row[0]) if row else 0


def test_receiver_killed_mid_stream_gets_every_message_exactly_once(
    network_factory: NetworkFactory,
) -> None:
    net = network_factory(NetworkSpec(provinces=2, foreign=0))
    sender, receiver = net.dir("CN-GD"), net.dir("CN-SH")
    ids: list[str] = []

    def produce() -> None:
        # 2,000 documents of 8 KiB, queued in steps so that they stream for a while.
        for _ in range(20):
            ids.extend(submit(sender, "CN-SH", 100, payload=b"d" * 8192))
            time.sleep(0.05)

    producer = threading.Thread(target=produce)
    producer.start()
    deadline = time.monotonic() + 60
    while len(inbox(receiver)) < 300:
        assert time.monotonic() < deadline, "the stream never got going"
        time.sleep(0.01)
    assert net.devnet.stop("CN-SH", kill=True) == ["CN-SH"]
    killed_at = len(inbox(receiver))
    producer.join()
    assert len(ids) == 2000
    assert killed_at < 2000, "the receiver had everything before it was killed"
    net.start("CN-SH")
    wait_statuses(sender, ids, "delivered", timeout_s=120)
    stored = [r["message_id"] for r in inbox(receiver)]
    assert len(stored) == len(set(stored)) == 2000
    assert set(stored) == set(ids)
    # The sender's tasks ended with their errors seen and handled: asyncio never reports
    # "Task exception was never retrieved" (federation/tasks.py).
    net.stop("CN-GD")  # a clean stop: every task ended, every log line written
    for name in ("node.log", "console.log"):
        path = sender / name
        text = path.read_text() if path.exists() else ""
        assert UNSEEN not in text, text[text.find(UNSEEN) - 200 :][:3000]
    assert "delivery interrupted" in (sender / "node.log").read_text()


def test_a_peer_down_for_a_while_gets_its_messages_when_back(net: Network) -> None:
    net.stop("CN-SH")
    try:
        ids = submit(net.dir("CN-GD"), "CN-SH", 30)
        time.sleep(4)
        waiting = statuses(net.dir("CN-GD"), ids)
        assert set(waiting.values()) <= {"queued", "failed"}, waiting
        assert peer_failures(net.dir("CN-GD"), "CN-SH") >= 2
        row = outbox_row(net.dir("CN-GD"), ids[0])
        assert row["last_error"], "the failure should say why"
        # Another peer is not held up by the one that is down.
        other = submit(net.dir("CN-GD"), "CN-ZJ", 5)
        wait_statuses(net.dir("CN-GD"), other, "delivered", timeout_s=5)
    finally:
        net.start("CN-SH")
        net.wait_healthy(["CN-SH"])
    # Backoff after ~4 s of failures is at most 8 s (0.5 s doubling); allow for the restart.
    back = time.monotonic()
    wait_statuses(net.dir("CN-GD"), ids, "delivered", timeout_s=20)
    assert time.monotonic() - back < 20
    assert peer_failures(net.dir("CN-GD"), "CN-SH") == 0


def test_provinces_keep_talking_while_the_central_is_down(net: Network) -> None:
    net.stop("CN")
    try:
        ids = submit(net.dir("CN-GD"), "CN-SH", 10)
        wait_statuses(net.dir("CN-GD"), ids, "delivered", timeout_s=15)
    finally:
        net.start("CN")
        net.wait_healthy(["CN"])


def test_a_relayed_message_is_delivered_only_when_the_recipient_answers(
    network_factory: NetworkFactory, tmp_path: Path
) -> None:
    """The central's hop receipt is not proof of delivery: while the foreign recipient is down
    the origin shows `acknowledged`, and `delivered` only once the recipient's end-to-end
    receipt is back."""
    net = network_factory(NetworkSpec(provinces=1, foreign=1))
    origin = net.dir("CN-GD")
    net.stop("SG")
    try:
        (mid,) = submit(origin, "SG", 1, payload=b"certificate of origin")
        wait_statuses(origin, [mid], "acknowledged", timeout_s=20)
        assert receipts_kept(origin, mid) == [("hop", "CN")]
        for _ in range(5):
            time.sleep(0.4)
            assert statuses(origin, [mid]) == {mid: "acknowledged"}
        # The central holds it for SG, still undelivered.
        held = outbox_row(net.dir("CN"), mid)
        assert held["next_hop"] == "SG", dict(held)
        assert held["status"] in {"queued", "sent", "failed"}, dict(held)
    finally:
        net.start("SG")
        net.wait_healthy(["SG"])
    wait_statuses(origin, [mid], "delivered", timeout_s=60)
    assert receipts_kept(origin, mid) == [("delivery", "SG"), ("hop", "CN")]
    out = tmp_path / "evidence.json"
    exported = swnode("receipt", "--dir", str(origin), mid, "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    checked = swnode(
        "verify-receipt", "--anchor", str(net.root / "CN.anchor.json"), str(out), "--json"
    )
    assert checked.returncode == 0, checked.stderr
    verdict = json.loads(checked.stdout)
    assert verdict["ok"] and verdict["delivered"] and verdict["message_id"] == mid
    assert sorted((r["issuer"], r["kind"]) for r in verdict["receipts"]) == [
        ("CN", "hop"),
        ("SG", "delivery"),
    ]


def test_an_undeliverable_message_goes_dead_and_is_redriven(net: Network, tmp_path: Path) -> None:
    payload = tmp_path / "doc.txt"
    payload.write_text("licence application")
    net.stop("CN-ZJ")
    try:
        sent = swnode(
            "send",
            "--dir",
            str(net.dir("CN-GD")),
            "--to",
            "CN-ZJ",
            "--type",
            "licence.application",
            "--file",
            str(payload),
            "--ttl",
            "2s",
        )
        assert sent.returncode == 0, sent.stderr
        mid = sent.stdout.strip()
        # Expiry is swept every few seconds.
        wait_statuses(net.dir("CN-GD"), [mid], "dead", timeout_s=20)
        assert "expired" in outbox_row(net.dir("CN-GD"), mid)["last_error"]
        listed = swnode("messages", "--dir", str(net.dir("CN-GD")), "--status", "dead", "--json")
        assert mid in listed.stdout
    finally:
        net.start("CN-ZJ")
        net.wait_healthy(["CN-ZJ"])
    redriven = swnode("redrive", "--dir", str(net.dir("CN-GD")), mid)
    assert redriven.returncode == 0, redriven.stderr
    wait_statuses(net.dir("CN-GD"), [mid], "delivered", timeout_s=20)
    assert [r["message_id"] for r in inbox(net.dir("CN-ZJ"))].count(mid) == 1


def test_a_payload_too_large_is_refused_at_submission(net: Network, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (5 * 1024 * 1024))
    sent = swnode(
        "send",
        "--dir",
        str(net.dir("CN-GD")),
        "--to",
        "CN-SH",
        "--type",
        "swnode.test.note",
        "--file",
        str(big),
    )
    assert sent.returncode == 2
    assert "payload" in sent.stderr and "at most" in sent.stderr


def test_a_revoked_node_can_neither_stream_nor_be_sent_to(
    network_factory: NetworkFactory, tmp_path: Path
) -> None:
    net = network_factory(NetworkSpec(provinces=2, foreign=0))
    # One message from CN-SH arrives while it is a member, so the count below is of something.
    accepted = submit(net.dir("CN-SH"), "CN-GD", 1)
    wait_statuses(net.dir("CN-SH"), accepted, "delivered", timeout_s=20)
    before = received_from(net.dir("CN-GD"), "CN-SH")
    assert before == accepted
    (env,) = seal_as(net, "CN-SH", "CN-GD", [b"after revocation"])
    revoked = swnode("revoke", "--dir", str(net.dir("CN")), "--id", "CN-SH")
    assert revoked.returncode == 0, revoked.stderr
    deadline = time.monotonic() + 10
    while net.status("CN-GD")["peers"] and not any(
        p["id"] == "CN-SH" and p["revoked"] for p in net.status("CN-GD")["peers"]
    ):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    with pytest.raises(grpc.RpcError) as refused:
        exchange(net, "CN-GD", as_node="CN-SH", frames=[[env.SerializeToString()]])
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # Nothing from the revoked node was stored.
    assert received_from(net.dir("CN-GD"), "CN-SH") == before
    # Messages to the revoked node are refused at submission, with the reason.
    doc = tmp_path / "doc"
    doc.write_text("x")
    sent = swnode(
        "send",
        "--dir",
        str(net.dir("CN-GD")),
        "--to",
        "CN-SH",
        "--type",
        "swnode.test.note",
        "--file",
        str(doc),
    )
    assert sent.returncode == 2 and "revoked" in sent.stderr
