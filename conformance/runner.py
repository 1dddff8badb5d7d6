"""`swnode conformance`: play a peer against a node on the wire and check PROTOCOL.md clause by
clause (§9).

The runner takes its identity from a devnet folder (`swnode devnet`): it speaks as another
member of the target's federation, with that member's own keys and certificate, so the target
authenticates it as it would a real peer (§2.6). It fetches the federation's directory from the
central (§2.5) to learn the target's listed certificate (pinned, §0.6) and signing key (receipts,
§4.4). Each clause is independent: a fault of the target fails the clauses that name it, not
the others.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import grpc
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from core import algorithms, envelope, receipts, signing
from core.directory import verify_directory
from core.envelope import Draft, Sealed
from core.errors import SwnodeError
from core.grpc_status import REASON_KEY
from core.ids import Role, federation_of, role_of, tls_name
from core.trust import TrustView
from federation.tls import TlsIdentity, peer_channel_credentials
from identity.ca import issue_certificate, make_csr
from identity.keys import NodeKeys, cert_pem, load_node_keys, private_pem
from swf.v1 import directory_pb2 as dpb
from swf.v1 import envelope_pb2 as pb
from swf.v1 import peer_pb2, peer_pb2_grpc

DOCUMENT_TYPE = "swnode.conformance.probe"
TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Result:
    clause: str
    section: str
    passed: bool
    detail: str = ""
    skipped: bool = False


class Failed(Exception):
    """A clause's expectation that the target did not meet."""


class Skipped(Exception):
    """A clause the devnet given cannot exercise."""


def expect(condition: bool, detail: str) -> None:
    if not condition:
        raise Failed(detail)


@dataclass
class Peer:
    """The runner's side: who it speaks as, and what it learnt about the target."""

    target: str  # HOST:PORT dialled
    target_id: str
    me: str
    keys: NodeKeys
    trust: TrustView
    central_keys: NodeKeys
    # A trusted foreign central of the devnet, with its keys: to call across the border.
    foreign_central: NodeKeys | None = None
    foreign_province: NodeKeys | None = None

    @property
    def entry(self) -> dpb.NodeEntry:
        node = self.trust.node(self.target_id)
        assert node is not None
        return node

    def channel(self, identity: TlsIdentity | None = None) -> grpc.Channel:
        credentials = peer_channel_credentials(
            identity or self.keys.tls_identity(), [self.entry.tls_certificate]
        )
        return grpc.secure_channel(
            self.target,
            credentials,
            options=[("grpc.ssl_target_name_override", tls_name(self.target_id))],
        )

    def stub(self, channel: grpc.Channel) -> peer_pb2_grpc.PeerStub:
        return peer_pb2_grpc.PeerStub(channel)

    def seal(
        self, drafts: list[Draft], *, now_ms: int | None = None, ttl_ms: int = 3_600_000
    ) -> list[Sealed]:
        key = self.keys.signing_key
        when = now_ms if now_ms is not None else int(time.time() * 1000)
        return envelope.seal(
            drafts,
            sender=self.me,
            key=key,
            key_id=signing.key_id_of(self.me, signing.PURPOSE_SIGNING, key),
            now_ms=when,
            ttl_ms=ttl_ms,
            new_id=lambda: envelope.new_message_id(when, os.urandom(10)),
            hash_with=self.keys.profile.digest,
        )

    def probe(self, **kw: Any) -> list[Sealed]:
        return self.seal([Draft(self.target_id, DOCUMENT_TYPE, b"conformance probe")], **kw)

    def exchange(self, frames: list[list[bytes]]) -> list[pb.AckFrame]:
        """Write `frames`, half-close, and read every AckFrame until the call ends (§5.2)."""

        def requests() -> Iterator[pb.EnvelopeFrame]:
            for frame in frames:
                yield pb.EnvelopeFrame(envelopes=frame)

        with self.channel() as channel:
            answers = self.stub(channel).Exchange(requests(), timeout=TIMEOUT_S)
            return list(answers)

    def one_ack(self, raw: bytes) -> pb.Ack:
        acks = self.exchange([[raw]])
        expect(len(acks) == 1 and len(acks[0].acks) == 1, f"expected 1 ack, got {acks}")
        return acks[0].acks[0]

    def check_receipt(self, ack: pb.Ack, sealed: Sealed) -> pb.ReceiptBody:
        expect(ack.HasField("receipt"), f"expected a receipt, got a refusal {ack.refusal.reason}")
        try:
            body = receipts.verify(ack.receipt, self.trust.signing_key)
            receipts.check_for(
                body,
                message_id=sealed.message_id,
                header_sha256=sealed.header_sha256,
                issuer=self.target_id,
            )
        except SwnodeError as exc:
            raise Failed(f"the receipt fails §4.4: {exc.reason}: {exc.message}") from exc
        return body


def refused_with(call: Callable[[], object]) -> tuple[grpc.StatusCode, str | None]:
    try:
        call()
    except grpc.RpcError as exc:
        failed = cast(grpc.Call, exc)
        meta = dict(failed.trailing_metadata() or ())
        reason = meta.get(REASON_KEY)
        return failed.code(), str(reason) if reason is not None else None
    raise Failed("the call succeeded; expected a refusal")


# -- clauses -------------------------------------------------------------------------------------


def ping_as_member(peer: Peer) -> str:
    with peer.channel() as channel:
        answer = peer.stub(channel).Ping(peer_pb2.PingRequest(), timeout=TIMEOUT_S)
    expect(answer.node_id == peer.target_id, f"node_id {answer.node_id!r}")
    expect(answer.directory_version >= 1, f"directory_version {answer.directory_version}")
    return f"node_id {answer.node_id}, directory version {answer.directory_version}"


def _issued(peer: Peer, node_id: str) -> TlsIdentity:
    """A fresh key with a certificate for `node_id` from the real federation CA: the right CA,
    but a certificate no directory lists."""
    ca_key, ca_cert = peer.central_keys.ca_key, peer.central_keys.ca_cert
    assert ca_key is not None and ca_cert is not None
    key = ec.generate_private_key(ec.SECP256R1())
    cert = issue_certificate(
        ca_key=ca_key,
        ca_cert=ca_cert,
        csr=make_csr(node_id, key, ["127.0.0.1"]),
        node_id=node_id,
        now_ms=int(time.time() * 1000),
    )
    return TlsIdentity(key_pem=private_pem(key), chain_pem=cert_pem(cert) + cert_pem(ca_cert))


def _ping_refused(peer: Peer, identity: TlsIdentity, code: grpc.StatusCode, reason: str) -> str:
    with peer.channel(identity) as channel:
        got = refused_with(
            lambda: peer.stub(channel).Ping(peer_pb2.PingRequest(), timeout=TIMEOUT_S)
        )
    expect(got == (code, reason), f"got {got[0].name} {got[1]}")
    return reason


def ping_with_another_certificate(peer: Peer) -> str:
    """The right CA and name, but not the listed certificate: §2.6 step 5."""
    identity = _issued(peer, peer.me)
    return _ping_refused(
        peer, identity, grpc.StatusCode.UNAUTHENTICATED, "peer.certificate_mismatch"
    )


def ping_from_a_stranger(peer: Peer) -> str:
    """A certificate of the right CA for a node no directory lists: §2.6 step 3."""
    stranger = next(
        f"{federation_of(peer.target_id)}-{n}" for n in ("Z9", "Z8", "Z7")
        if peer.trust.node(f"{federation_of(peer.target_id)}-{n}") is None
    )  # fmt: skip
    return _ping_refused(
        peer, _issued(peer, stranger), grpc.StatusCode.UNAUTHENTICATED, "peer.unknown"
    )


def ping_across_the_border(peer: Peer) -> str:
    """A trusted foreign central calling a province, or a foreign province calling a central:
    §2.6 step 7."""
    caller = peer.foreign_central if peer.entry.role == dpb.ROLE_PROVINCE else peer.foreign_province
    if caller is None:
        raise Skipped(
            "the devnet holds no foreign node to call with (swnode devnet up --foreign 1 "
            "--foreign-provinces)"
        )
    identity = caller.tls_identity()
    return _ping_refused(peer, identity, grpc.StatusCode.PERMISSION_DENIED, "peer.cross_border")


def get_directory(peer: Peer) -> str:
    with peer.channel() as channel:
        call = peer.stub(channel).GetDirectory
        if peer.entry.role == dpb.ROLE_PROVINCE:
            code, reason = refused_with(
                lambda: call(peer_pb2.GetDirectoryRequest(), timeout=TIMEOUT_S)
            )
            expect(
                (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "directory.not_central"),
                f"got {code.name} {reason}",
            )
            return "a province: directory.not_central"
        bundle = call(peer_pb2.GetDirectoryRequest(), timeout=TIMEOUT_S)
        expect(not bundle.not_modified, "not_modified to a request without have_digest")
        again = (
            call(peer_pb2.GetDirectoryRequest(have_digest=bundle.digest), timeout=TIMEOUT_S)
            if bundle.digest
            else None
        )
    assert peer.central_keys.directory_public is not None
    verify_directory(
        bundle.own,
        directory_key=peer.central_keys.directory_public,
        federation=federation_of(peer.target_id),
        algorithm=peer.central_keys.profile.key_algorithm,
    )
    if again is None:
        return "own directory verifies (no digest: every poll is answered whole)"
    if not again.not_modified:  # published anew between the two calls: whole, and a new digest
        expect(again.digest != bundle.digest, "the same digest answered whole, not not_modified")
        return "own directory verifies; it changed before the conditional poll"
    expect(
        again.digest == bundle.digest and not again.HasField("own") and not again.foreign,
        "a not_modified answer must carry the digest and no directory",
    )
    return "own directory verifies; an echoed digest is answered not_modified"


def notice_from_a_province(peer: Peer) -> str:
    """The runner speaks as a province: its NotifyDirectory is refused (§2.10), or not served
    at all (the RPC is a SHOULD: such a node polls at its interval)."""
    if role_of(peer.me) == Role.CENTRAL:
        raise Skipped("the runner speaks as a central here")
    with peer.channel() as channel:
        notice = peer_pb2.DirectoryNotice(federation=federation_of(peer.target_id), version=1)
        got = refused_with(lambda: peer.stub(channel).NotifyDirectory(notice, timeout=TIMEOUT_S))
    if got[0] == grpc.StatusCode.UNIMPLEMENTED:
        return "not served: the node polls at its interval"
    expected = (grpc.StatusCode.PERMISSION_DENIED, "directory.notice_not_central")
    expect(got == expected, f"got {got[0].name} {got[1]}")
    return "directory.notice_not_central"


def empty_stream(peer: Peer) -> str:
    acks = peer.exchange([])
    expect(acks == [], f"{len(acks)} ack frames for no frame")
    return "ends OK with no AckFrame"


def acks_in_frame_order(peer: Peer) -> str:
    first, second = peer.probe(), peer.probe()
    frames = [
        [first[0].envelope.SerializeToString(), b"\x0a\x05", second[0].envelope.SerializeToString()]
    ]
    (frame,) = peer.exchange(frames) or [pb.AckFrame()]
    acks = list(frame.acks)
    expect(len(acks) == 3, f"{len(acks)} acks for a frame of 3")
    kinds = [a.WhichOneof("result") for a in acks]
    expect(
        kinds == ["receipt", "refusal", "receipt"]
        and acks[1].refusal.reason == "envelope.malformed",
        f"outcomes in order {kinds}",
    )
    named = [pb.ReceiptBody.FromString(acks[i].receipt.body).message_id for i in (0, 2)]
    expect(named == [first[0].message_id, second[0].message_id], f"receipts name {named}")
    return "receipt, envelope.malformed, receipt"


def delivery_receipt(peer: Peer) -> str:
    (sealed,) = peer.probe()
    body = peer.check_receipt(peer.one_ack(sealed.envelope.SerializeToString()), sealed)
    expect(body.kind == pb.RECEIPT_KIND_DELIVERY, f"kind {body.kind}")
    expect(body.from_node == peer.me, f"from_node {body.from_node!r}")
    return "DELIVERY receipt verifies and names the envelope sent"


def duplicate_gets_first_receipt(peer: Peer) -> str:
    (sealed,) = peer.probe()
    raw = sealed.envelope.SerializeToString()
    first = peer.one_ack(raw)
    again = peer.one_ack(raw)
    expect(first.HasField("receipt") and again.HasField("receipt"), "no receipt")
    expect(
        again.receipt.SerializeToString() == first.receipt.SerializeToString(),
        "the second answer is not the first receipt",
    )
    return "the same receipt bytes"


def _refusal_clause(reason: str, code: int, make: Callable[[Peer], bytes]) -> Callable[[Peer], str]:
    def clause(peer: Peer) -> str:
        ack = peer.one_ack(make(peer))
        expect(ack.HasField("refusal"), "the envelope was accepted")
        got = (ack.refusal.reason, ack.refusal.code, ack.refusal.retryable)
        expect(got == (reason, code, code == 14), f"got {got}")
        return reason

    return clause


def _forged(peer: Peer) -> bytes:
    e = peer.probe()[0].envelope
    e.signature.signature = bytes([e.signature.signature[0] ^ 1]) + e.signature.signature[1:]
    return e.SerializeToString()


def _tampered(peer: Peer) -> bytes:
    e = peer.probe()[0].envelope
    e.payload = b"conformance probf"
    return e.SerializeToString()


def _unknown_key(peer: Peer) -> bytes:
    stranger = algorithms.generate(peer.keys.profile.key_algorithm)
    now = _now_ms()
    (sealed,) = envelope.seal(
        [Draft(peer.target_id, DOCUMENT_TYPE, b"x")],
        sender=peer.me,
        key=stranger,
        key_id=signing.key_id_of(peer.me, signing.PURPOSE_SIGNING, stranger),
        now_ms=now,
        ttl_ms=60_000,
        new_id=lambda: envelope.new_message_id(now, os.urandom(10)),
    )
    return sealed.envelope.SerializeToString()


def _to(recipient: str) -> Callable[[Peer], bytes]:
    def make(peer: Peer) -> bytes:
        (sealed,) = peer.seal([Draft(recipient, DOCUMENT_TYPE, b"x")])
        return sealed.envelope.SerializeToString()

    return make


def _now_ms() -> int:
    return int(time.time() * 1000)


def _ahead(peer: Peer) -> bytes:
    return peer.probe(now_ms=_now_ms() + 3_600_000)[0].envelope.SerializeToString()


def _expired(peer: Peer) -> bytes:
    return peer.probe(now_ms=_now_ms() - 120_000, ttl_ms=60_000)[0].envelope.SerializeToString()


def _no_lifetime(peer: Peer) -> bytes:
    return peer.probe(ttl_ms=0)[0].envelope.SerializeToString()


def _to_myself(peer: Peer) -> bytes:
    return _to(peer.me)(peer)


R = _refusal_clause
CLAUSES: list[tuple[str, str, Callable[[Peer], str]]] = [
    ("Ping from a member answers with the callee's id", "2.6, 5.1", ping_as_member),
    ("a certificate other than the listed one is refused", "2.6 step 5",
     ping_with_another_certificate),
    ("a certificate for a node no directory lists is refused", "2.6 step 3",
     ping_from_a_stranger),
    ("across the border only centrals talk", "2.6 step 7", ping_across_the_border),
    (
        "GetDirectory: a central's own directory (not_modified to its digest), or"
        " directory.not_central",
        "2.7",
        get_directory,
    ),
    ("an Exchange stream with no frame ends OK on half-close", "5.2", empty_stream),
    ("one AckFrame per frame, one Ack per envelope, in frame order", "5.2", acks_in_frame_order),
    ("the final recipient's receipt verifies and is bound to the header", "4.1, 4.4",
     delivery_receipt),
    ("a duplicate is answered with the first receipt", "5.7", duplicate_gets_first_receipt),
    ("a forged signature is refused", "3.6 step 4", R("envelope.bad_signature", 16, _forged)),
    ("a payload that differs from its header is refused", "3.6 step 8",
     R("envelope.payload_mismatch", 16, _tampered)),
    ("a key in no directory is refused", "3.6 step 2a",
     R("envelope.unknown_key", 16, _unknown_key)),
    ("an envelope sealed ahead of the clock is refused", "3.6 step 7a",
     R("envelope.clock_skew", 3, _ahead)),
    ("an expired envelope is refused", "3.6 step 7c", R("envelope.expired", 9, _expired)),
    ("an expiry not after creation is refused", "3.6 step 7b",
     R("envelope.bad_expiry", 3, _no_lifetime)),
    ("an envelope for a node not on this route is refused", "3.6 step 6d",
     R("envelope.misaddressed", 7, _to_myself)),
    ("a directory notice from a province is refused", "2.10", notice_from_a_province),
]  # fmt: skip


# -- setting up ----------------------------------------------------------------------------------


def _node_toml(node_dir: Path) -> dict[str, Any]:
    with (node_dir / "node.toml").open("rb") as file:
        return tomllib.load(file)


def _central_endpoint(netdir: Path, central: str) -> str:
    config = _node_toml(netdir / central)
    return f"{config.get('node', {}).get('advertise_host', '127.0.0.1')}:{config['ports']['peer']}"


def fetch_directory(netdir: Path, federation: str, as_node: str) -> dpb.Directory:
    """`federation`'s directory, fetched from its central's peer port as `as_node` (§2.5) and
    verified with the directory key in the central's folder."""
    keys, central_keys = load_node_keys(netdir / as_node), load_node_keys(netdir / federation)
    assert keys.ca_cert is not None and central_keys.directory_public is not None
    credentials = peer_channel_credentials(
        keys.tls_identity(), [keys.ca_cert.public_bytes(Encoding.DER)]
    )
    with grpc.secure_channel(
        _central_endpoint(netdir, federation),
        credentials,
        options=[("grpc.ssl_target_name_override", tls_name(federation))],
    ) as channel:
        bundle = peer_pb2_grpc.PeerStub(channel).GetDirectory(
            peer_pb2.GetDirectoryRequest(), timeout=TIMEOUT_S
        )
    return verify_directory(
        bundle.own,
        directory_key=central_keys.directory_public,
        federation=federation,
        algorithm=central_keys.profile.key_algorithm,
    )


def connect(target: str, netdir: Path, node_id: str | None = None) -> Peer:
    """The runner's peer: another member of the target's federation from the devnet `netdir`.
    Without `node_id`, the target is the member whose listed peer endpoint is `target`."""
    members = list(json.loads((netdir / "devnet.json").read_text())["nodes"])
    if node_id is None:
        listed = {
            n.peer_endpoint: n.id
            for central in members
            if "-" not in central
            for n in fetch_directory(netdir, central, central).nodes
            if federation_of(n.id) == central
        }
        if target not in listed:
            raise SystemExit(f"no node of {netdir} is listed at {target}: give --node")
        node_id = listed[target]
    federation = federation_of(node_id)
    others = [m for m in members if federation_of(m) == federation and m != node_id]
    if not others:
        raise SystemExit(f"{netdir} has no other member of {federation} to speak as")
    me = next((m for m in others if "-" in m), others[0])
    trust = TrustView.build(me, fetch_directory(netdir, federation, me))
    if trust.node(node_id) is None:
        raise SystemExit(f"{node_id} is not in the directory of {federation}")
    trusted = {a.federation for a in trust.trusted_anchors()}
    foreign = [m for m in members if federation_of(m) in trusted]

    def keys_of(role: str) -> NodeKeys | None:
        found = next((m for m in foreign if ("-" in m) == (role == "province")), None)
        return load_node_keys(netdir / found) if found else None

    return Peer(
        target,
        node_id,
        me,
        load_node_keys(netdir / me),
        trust,
        load_node_keys(netdir / federation),
        keys_of("central"),
        keys_of("province"),
    )


def run(peer: Peer) -> list[Result]:
    results = []
    for clause, section, check in CLAUSES:
        try:
            results.append(Result(clause, section, True, check(peer)))
        except Skipped as exc:
            results.append(Result(clause, section, True, str(exc), skipped=True))
        except Failed as exc:
            results.append(Result(clause, section, False, str(exc)))
        except grpc.RpcError as exc:
            failed = cast(grpc.Call, exc)
            results.append(
                Result(clause, section, False, f"{failed.code().name}: {failed.details()}")
            )
    return results


def render(results: list[Result], *, as_json: bool) -> str:
    if as_json:
        return json.dumps([asdict(r) for r in results], indent=2) + "\n"
    lines = [
        f"{'skip' if r.skipped else 'pass' if r.passed else 'FAIL'}  §{r.section:<12} {r.clause}"
        + (f": {r.detail}" if r.detail else "")
        for r in results
    ]
    passed = sum(r.passed for r in results)
    lines.append(f"{passed}/{len(results)} clauses pass")
    return "\n".join(lines) + "\n"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """`swnode conformance`'s options (registered by node/cli.py)."""
    p.set_defaults(func=cli)
    p.add_argument("--target", help="HOST:PORT of the peer port of the node to check")
    p.add_argument("--dir", type=Path, help="the devnet folder whose keys the runner speaks with")
    p.add_argument("--node", help="the target's node id (default: found by its endpoint)")
    p.add_argument("--json", action="store_true", help="one JSON object per clause")
    p.add_argument("--list", action="store_true", help="list the clauses and their sections")


def cli(args: argparse.Namespace) -> int:
    if args.list:
        for clause, section, _ in CLAUSES:
            print(f"§{section:<12} {clause}")
        return 0
    if not args.target or not args.dir:
        raise SystemExit("swnode conformance: --target and --dir are required")
    results = run(connect(args.target, args.dir, args.node))
    print(render(results, as_json=args.json), end="")
    return 0 if all(r.passed for r in results) else 1
