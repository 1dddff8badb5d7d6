"""`swnode rotate` on a running network of two federations (CN with CN-GD and CN-SH; SG), while
CN-GD sends documents to CN-SH and, through CN, to SG: each rotation overlaps the old key with
the new one, no document is lost or delivered twice, a token from before the rotation is still
accepted, evidence from before every rotation still verifies offline, after CN's CA rotation
every node presents a certificate of the new CA and one of the retired CA is refused with
`ca.retired`, and after the `--now` drill an envelope signed with the old key is refused with
`key.retired` (PROTOCOL.md §2.9)."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections import Counter
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from core.algorithms import SigningKey
from core.envelope import Draft, new_message_id, seal
from core.signing import PURPOSE_SIGNING, key_id_of
from core.trust import key_identifier
from federation.tls import TlsIdentity, peer_channel_credentials
from identity.keys import next_key_path, next_tls_paths
from swf.v1 import envelope_pb2 as pb
from swf.v1 import peer_pb2, peer_pb2_grpc
from tests.harness import Network, NetworkFactory, NetworkSpec, eventually, outcome_of, swnode
from tests.identity_client import IdentityClient, new_uscc
from tests.messages import exchange, submit, wait_statuses

pytestmark = pytest.mark.network

POLL_S = 0.5
ACTIVATION = "1.5s"
OVERLAP = "3s"
# A CA rotation: announced for four poll intervals, then every node renews from the new CA
# within the overlap (a poll, a renewal tick, two poll intervals' activation, a key tick).
CA_ACTIVATION_S = 2.0
CA_OVERLAP_S = 10.0


def sealed_with(key: SigningKey, sender: str, recipient: str) -> pb.Envelope:
    """An envelope from `sender` signed with `key` (kept from before a rotation)."""
    t = int(time.time() * 1000)
    (one,) = seal(
        [Draft(recipient, "swnode.test.note", b"signed with a kept key")],
        sender=sender,
        key=key,
        key_id=key_id_of(sender, PURPOSE_SIGNING, key),
        now_ms=t,
        ttl_ms=3_600_000,
        new_id=lambda: new_message_id(t, os.urandom(10)),
    )
    return one.envelope


def received_ids(node_dir: Path) -> Counter[str]:
    with sqlite3.connect(f"file:{node_dir / 'node.db'}?mode=ro", uri=True, timeout=10) as conn:
        return Counter(r[0] for r in conn.execute("SELECT message_id FROM inbox"))


class Traffic:
    """Documents CN-GD keeps sending to CN-SH and SG, a few every few tenths of a second."""

    def __init__(self, net: Network) -> None:
        self.net = net
        self.sent: dict[str, list[str]] = {"CN-SH": [], "SG": []}

    def keep_sending(self, seconds: float) -> None:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            for recipient, ids in self.sent.items():
                ids += submit(self.net.dir("CN-GD"), recipient, 3)
            time.sleep(0.3)

    def all_delivered_once(self) -> None:
        every = self.sent["CN-SH"] + self.sent["SG"]
        wait_statuses(self.net.dir("CN-GD"), every, "delivered", timeout_s=60)
        for recipient, ids in self.sent.items():
            seen = received_ids(self.net.dir(recipient))
            assert all(seen[i] == 1 for i in ids), recipient


def evidence_of(net: Network, message_id: str, out: Path) -> Path:
    done = swnode("receipt", "--dir", str(net.dir("CN-GD")), message_id, "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out


def verifies(net: Network, evidence: Path) -> dict[str, object]:
    checked = swnode(
        "verify-receipt", "--anchor", str(net.root / "CN.anchor.json"), str(evidence), "--json"
    )
    assert checked.returncode == 0, checked.stderr
    verdict: dict[str, object] = json.loads(checked.stdout)
    assert verdict["ok"] and verdict["delivered"], verdict
    return verdict


def rotate(net: Network, node_id: str, key: str, *extra: str) -> str:
    done = swnode("rotate", "--dir", str(net.dir(node_id)), "--key", key, *extra)
    assert done.returncode == 0, done.stderr
    return done.stdout


def in_use(net: Network, node_id: str, purpose: str) -> None:
    """The running node took the new key into use: the pending file was moved in place."""

    def moved() -> None:
        if purpose == "tls":
            assert not any(p.exists() for p in next_tls_paths(net.dir(node_id)))
        else:
            assert not next_key_path(net.dir(node_id), purpose).exists()

    eventually(moved, timeout_s=15)


def issued_by(net: Network, node_id: str, ca: x509.Certificate) -> bool:
    cert = net.keys(node_id).tls_cert
    assert cert is not None
    ski = key_identifier(ca, x509.SubjectKeyIdentifier)
    return key_identifier(cert, x509.AuthorityKeyIdentifier) == ski


def ping_with(net: Network, target: str, identity: TlsIdentity) -> str | None:
    """The reason `target`'s peer port refuses a Ping from `identity` (None if it answers);
    the caller trusts every CA CN ever had, retired ones included."""
    history = net.keys("CN").ca_history
    assert history is not None
    roots = [c.der for c in history.cas]
    with net.channel(target, peer_channel_credentials(identity, roots)) as channel:
        refusal = outcome_of(
            lambda: peer_pb2_grpc.PeerStub(channel).Ping(peer_pb2.PingRequest(), timeout=5)
        )
    return None if refusal is None else (refusal.reason or refusal.details)


def rotate_the_ca(net: Network, traffic: Traffic, evidence: dict[str, Path]) -> None:
    """CN rotates its CA while documents flow: the new CA is announced, every node renews from
    it during the overlap, SG's anchor follows, and the old CA's certificates are refused."""
    old_ca = net.keys("CN").ca_cert
    assert old_ca is not None
    old_gd = net.keys("CN-GD").tls_identity()
    started = time.monotonic()
    said = rotate(
        net, "CN", "ca", "--activation", f"{CA_ACTIVATION_S}s", "--overlap", f"{CA_OVERLAP_S}s"
    )
    assert "new ca key CN/ca/" in said, said
    (fingerprint,) = [
        line.split()[-1] for line in said.splitlines() if "new CA certificate SHA-256" in line
    ]
    assert "new anchor fingerprint" in said
    traffic.keep_sending(CA_ACTIVATION_S + 0.5)
    history = net.keys("CN").ca_history
    assert history is not None and len(history.cas) == 2
    new_ca = history.cas[1].certificate
    assert hashlib.sha256(new_ca.public_bytes(Encoding.DER)).hexdigest() == fingerprint

    def renewed() -> None:
        for node_id in ("CN", "CN-GD", "CN-SH"):
            assert issued_by(net, node_id, new_ca), node_id

    eventually(renewed, timeout_s=CA_OVERLAP_S)
    # keys/ca.crt names the new CA first at every node of CN.
    for node_id in ("CN", "CN-GD", "CN-SH"):
        assert net.keys(node_id).ca_cert == new_ca, node_id
    # Through the rest of the overlap, and past the retirement of the old CA.
    traffic.keep_sending(max(0.0, started + CA_ACTIVATION_S + CA_OVERLAP_S + 1 - time.monotonic()))
    traffic.all_delivered_once()
    for file in evidence.values():
        verifies(net, file)
    # SG followed CN's new CA in its anchor, and said so with its fingerprint.
    assert fingerprint in (net.dir("SG") / "node.log").read_text()
    # A certificate of the retired CA is refused with its reason, even though CN's directory
    # still lists it for CN-GD (the TLS renewal's overlap); the new one is accepted.
    assert ping_with(net, "CN-SH", old_gd) == "ca.retired"
    assert ping_with(net, "CN-SH", net.keys("CN-GD").tls_identity()) is None
    # No refusal after the overlap: new documents reach CN-SH and SG.
    after = submit(net.dir("CN-GD"), "CN-SH", 5) + submit(net.dir("CN-GD"), "SG", 5)
    wait_statuses(net.dir("CN-GD"), after, "delivered", timeout_s=30)


def test_every_key_rotates_while_documents_flow(
    network_factory: NetworkFactory, tmp_path: Path
) -> None:
    net = network_factory(NetworkSpec(provinces=2, foreign=1, poll_interval_s=POLL_S))
    traffic = Traffic(net)
    identity = IdentityClient(net)
    uscc = new_uscc()
    identity.register("CN-GD", uscc)
    token_before = identity.login("CN-GD", uscc).access_token

    traffic.keep_sending(1.0)
    traffic.all_delivered_once()
    evidence = {
        "CN-SH": evidence_of(net, traffic.sent["CN-SH"][0], tmp_path / "before-sh.json"),
        "SG": evidence_of(net, traffic.sent["SG"][0], tmp_path / "before-sg.json"),
    }

    for node_id, key, purpose in [
        ("CN-GD", "tls", "tls"),
        ("CN-GD", "signing", "sig"),
        ("CN-GD", "token", "tok"),
        ("CN", "signing", "sig"),
    ]:
        old = net.keys(node_id).signing_key
        said = rotate(net, node_id, key, "--activation", ACTIVATION, "--overlap", OVERLAP)
        assert f"new {key} key {node_id}/{purpose}/" in said
        traffic.keep_sending(2.0)
        in_use(net, node_id, purpose)
        traffic.keep_sending(3.5)  # through the overlap, and past it
        traffic.all_delivered_once()
        for file in evidence.values():
            verifies(net, file)
        if key == "signing" and node_id == "CN-GD":
            # After the overlap the old key is retired: what it signs now is refused.
            (ack,) = exchange(
                net,
                "CN-SH",
                as_node="CN-GD",
                frames=[[sealed_with(old, "CN-GD", "CN-SH").SerializeToString()]],
            )
            assert ack.refusal.reason == "key.retired", ack
        if key == "token":
            # The token issued before the rotation is accepted until it expires; new tokens
            # are signed with the new key.
            for at in ("CN-GD", "CN-SH"):
                assert identity.whoami(at, token_before).subject == f"{uscc}/alice"
            fresh = identity.login("CN-GD", uscc).access_token
            assert identity.whoami("CN-SH", fresh).subject == f"{uscc}/alice"
        if key == "tls":
            # The new certificate is the one presented: the peers' channels to CN-GD and its
            # channels to them were made anew, and every link carries on.
            for target in ("CN", "CN-SH"):
                assert net.ping_outcome(target, as_node="CN-GD") is None, target
    rotate_the_ca(net, traffic, evidence)
    # The expiry of every certificate and key is a metric; nothing is due within 30 days.
    samples = net.metrics("CN-GD")["swnode_key_expiry_seconds"]
    kinds = {dict(labels)["key"]: value for labels, value in samples.items()}
    assert {"tls", "ca", "directory"} <= set(kinds), kinds
    assert kinds["tls"] > 300 * 86400 and kinds["ca"] > kinds["tls"]
    assert all(dict(labels)["node"] == "CN-GD" for labels in samples)
    assert net.status("CN-GD")["expiring"] == []
    # Evidence exported after the rotations, of a message from before them, verifies too.
    later = evidence_of(net, traffic.sent["SG"][0], tmp_path / "after-sg.json")
    verdict = verifies(net, later)
    assert verdict["message_id"] == traffic.sent["SG"][0]

    # The compromise drill: CN-GD's signing key is retired at once.
    old = net.keys("CN-GD").signing_key
    said = rotate(net, "CN-GD", "signing", "--now")
    assert "retired at" in said

    def old_key_refused() -> None:
        (ack,) = exchange(
            net,
            "CN-SH",
            as_node="CN-GD",
            frames=[[sealed_with(old, "CN-GD", "CN-SH").SerializeToString()]],
        )
        assert ack.refusal.reason == "key.retired", ack

    eventually(old_key_refused, timeout_s=10)
    time.sleep(4 * POLL_S)  # every node's directory lists the new key
    after = {"CN-SH": submit(net.dir("CN-GD"), "CN-SH", 5), "SG": submit(net.dir("CN-GD"), "SG", 5)}
    wait_statuses(net.dir("CN-GD"), after["CN-SH"] + after["SG"], "delivered", timeout_s=30)
    for file in evidence.values():
        verifies(net, file)
    identity.close()
