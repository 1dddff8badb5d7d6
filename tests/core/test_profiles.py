"""A mixed border, without a network: CN's federation runs the sm2 profile (SM2 signatures, SM3
digests), SG's ed25519 (Ed25519, SHA-256). Each side verifies the other by the algorithm the
directory declares for the key, never by the key's bytes; what a key does not declare, or an
algorithm this node does not know, is refused with its reason (PROTOCOL.md §0.9)."""

from __future__ import annotations

import hashlib
import itertools

import pytest

from core import algorithms, receipts
from core.algorithms import Digest, KeyAlgorithm, Sm2PrivateKey
from core.anchor import anchor_fingerprint, decode_anchor, encode_anchor
from core.directory import verify_directory
from core.envelope import Accepted, Draft, Limits, verify
from core.errors import SwnodeError
from core.signer import Signer
from core.trust import TrustView
from swf.v1 import directory_pb2 as dpb
from swf.v1 import envelope_pb2 as pb
from tests.factories import HOUR_MS, NOW_MS, Federation

LIMITS = Limits(max_message_bytes=64 * 1024, clock_skew_ms=300_000)


@pytest.fixture(scope="module")
def cn() -> Federation:
    return Federation("CN", ["CN-GD"], crypto="sm2")


@pytest.fixture(scope="module")
def sg() -> Federation:
    return Federation("SG")


def trust_at(node: str, cn: Federation, sg: Federation) -> TrustView:
    if node.startswith("CN"):
        return TrustView.build(node, cn.directory(trusts=[sg]), {"SG": sg.directory(trusts=[cn])})
    return TrustView.build(node, sg.directory(trusts=[cn]), {"CN": cn.directory(trusts=[sg])})


_ids = (f"01900000-0000-7000-8000-{i:012d}" for i in itertools.count())


def seal(fed: Federation, sender: str, recipient: str, payloads: list[bytes]) -> list[pb.Envelope]:
    signer = Signer.of(sender, fed.members[sender].signing_key)
    drafts = [
        Draft(recipient=recipient, document_type="swnode.test.note", payload=p) for p in payloads
    ]
    sealed = signer.seal_envelopes(drafts, now_ms=NOW_MS, ttl_ms=HOUR_MS, new_id=lambda: next(_ids))
    return [s.envelope for s in sealed]


def accept(env: pb.Envelope, trust: TrustView, at: str, previous_hop: str) -> Accepted:
    return verify(
        env, trust=trust, self_id=at, previous_hop=previous_hop, now_ms=NOW_MS, limits=LIMITS
    )


def reason(call: object) -> str:
    assert callable(call)
    with pytest.raises(SwnodeError) as caught:
        call()
    return caught.value.reason


def test_the_directories_declare_each_profile(cn: Federation, sg: Federation) -> None:
    cn_dir, sg_dir = cn.directory(), sg.directory()
    assert cn_dir.directory_key_algorithm == dpb.KEY_ALGORITHM_SM2
    assert cn_dir.digest == dpb.DIGEST_ALGORITHM_SM3
    assert {k.algorithm for n in cn_dir.nodes for k in (*n.signing_keys, *n.token_keys)} == {
        dpb.KEY_ALGORITHM_SM2
    }
    assert all(len(k.public_key) == 65 for n in cn_dir.nodes for k in n.signing_keys)
    # an Ed25519 federation's directory carries no new field: its bytes are v1's
    assert sg_dir.digest == dpb.DIGEST_ALGORITHM_SHA256
    assert sg_dir.directory_key_algorithm == dpb.KEY_ALGORITHM_UNSPECIFIED


def test_sm2_envelopes_cross_to_an_ed25519_federation_and_back(
    cn: Federation, sg: Federation
) -> None:
    (out,) = seal(cn, "CN-GD", "SG", [b"certificate of origin"])
    header = pb.Header.FromString(out.header)
    assert header.payload_sha256 == algorithms.digest(Digest.SM3, b"certificate of origin")
    # CN relays it, SG accepts it: both verify SM2 because CN's directory says so.
    accept(out, trust_at("CN", cn, sg), "CN", "CN-GD")
    at_sg = accept(out, trust_at("SG", cn, sg), "SG", "CN")
    assert at_sg.header_sha256 == algorithms.digest(Digest.SM3, out.header)
    # SG's answer is Ed25519/SHA-256, and CN-GD verifies it by SG's directory.
    (back,) = seal(sg, "SG", "CN-GD", [b"status: used"])
    assert pb.Header.FromString(back.header).payload_sha256 == algorithms.digest(
        Digest.SHA256, b"status: used"
    )
    accept(back, trust_at("CN", cn, sg), "CN", "SG")
    accept(back, trust_at("CN-GD", cn, sg), "CN-GD", "CN")


def test_receipts_cross_too(cn: Federation, sg: Federation) -> None:
    (out,) = seal(cn, "CN-GD", "SG", [b"doc"])
    at_sg = accept(out, trust_at("SG", cn, sg), "SG", "CN")
    signer = Signer.of("SG", sg.members["SG"].signing_key)
    (receipt,) = signer.seal_receipts(
        [
            pb.ReceiptBody(
                message_id=at_sg.message_id,
                header_sha256=at_sg.header_sha256,
                issuer="SG",
                from_node="CN-GD",
                kind=pb.RECEIPT_KIND_DELIVERY,
                received_at_unix_ms=NOW_MS,
                key_id=signer.key_id,
            )
        ]
    )
    trust = trust_at("CN-GD", cn, sg)
    body = receipts.verify(receipt, trust.signing_key)
    receipts.check_for(
        body,
        message_id=at_sg.message_id,
        header_sha256=algorithms.digest(Digest.SM3, out.header),
        issuer="SG",
    )


def test_one_sm2_signature_covers_a_batch(cn: Federation, sg: Federation) -> None:
    batch = seal(cn, "CN-GD", "SG", [f"doc {i}".encode() for i in range(50)])
    assert len({e.signature.signature for e in batch}) == 1
    trust = trust_at("SG", cn, sg)
    for env in batch:
        accept(env, trust, "SG", "CN")


def test_a_key_is_read_only_as_declared(cn: Federation, sg: Federation) -> None:
    (out,) = seal(cn, "CN-GD", "SG", [b"doc"])
    for declared, why in (
        (dpb.KEY_ALGORITHM_ED25519, "envelope.bad_signature"),
        (9, "key.unsupported_algorithm"),
    ):
        directory = cn.directory(trusts=[sg])
        for node in directory.nodes:
            for key in node.signing_keys:
                key.algorithm = declared  # type: ignore[assignment]
        trust = TrustView.build("SG", sg.directory(trusts=[cn]), {"CN": directory})
        assert reason(lambda t=trust: accept(out, t, "SG", "CN")) == why


def test_an_ed25519_key_declared_sm2_verifies_nothing(cn: Federation, sg: Federation) -> None:
    (back,) = seal(sg, "SG", "CN-GD", [b"doc"])
    directory = sg.directory(trusts=[cn])
    for key in directory.nodes[0].signing_keys:
        key.algorithm = dpb.KEY_ALGORITHM_SM2
    trust = TrustView.build("CN", cn.directory(trusts=[sg]), {"SG": directory})
    assert reason(lambda: accept(back, trust, "CN", "SG")) == "envelope.bad_signature"


def test_a_directory_verifies_under_its_declared_algorithm_only(cn: Federation) -> None:
    signed = cn.sign(cn.directory())
    got = verify_directory(
        signed, directory_key=cn.directory_public, federation="CN", algorithm=KeyAlgorithm.SM2
    )
    assert got.digest == dpb.DIGEST_ALGORITHM_SM3
    assert (
        reason(lambda: verify_directory(signed, directory_key=cn.directory_public, federation="CN"))
        == "directory.bad_signature"
    )
    # Signed with the SM2 key, but declaring its key Ed25519: not what the anchor says.
    undeclared = cn.directory()
    undeclared.ClearField("directory_key_algorithm")
    assert (
        reason(
            lambda: verify_directory(
                cn.sign(undeclared),
                directory_key=cn.directory_public,
                federation="CN",
                algorithm=KeyAlgorithm.SM2,
            )
        )
        == "key.algorithm_mismatch"
    )
    unknown_digest = cn.directory()
    unknown_digest.digest = 7  # type: ignore[assignment]
    assert (
        reason(
            lambda: verify_directory(
                cn.sign(unknown_digest),
                directory_key=cn.directory_public,
                federation="CN",
                algorithm=KeyAlgorithm.SM2,
            )
        )
        == "key.unsupported_algorithm"
    )


def test_anchors_bind_the_algorithm(cn: Federation, sg: Federation) -> None:
    anchor = cn.anchor()
    assert decode_anchor(encode_anchor(anchor)) == anchor
    stripped = dpb.Anchor()
    stripped.CopyFrom(anchor)
    stripped.ClearField("directory_key_algorithm")
    stripped.ClearField("digest")
    assert anchor_fingerprint(stripped) != anchor_fingerprint(anchor)
    # the Ed25519 anchor's fingerprint is v1's formula exactly
    plain = sg.anchor()
    v1 = hashlib.sha256(
        b"swnode/anchor/v1\x00SG\x00" + plain.ca_certificate + plain.directory_key
    ).hexdigest()
    assert anchor_fingerprint(plain) == v1
    wrong = dpb.Anchor()
    wrong.CopyFrom(anchor)
    wrong.directory_key_algorithm = 7  # type: ignore[assignment]
    assert reason(lambda: decode_anchor(encode_anchor(wrong))) == "key.unsupported_algorithm"
    short = dpb.Anchor()
    short.CopyFrom(anchor)
    short.directory_key = bytes(32)
    assert reason(lambda: decode_anchor(encode_anchor(short))) == "anchor.malformed"


def test_the_profiles_signers(cn: Federation, sg: Federation) -> None:
    sm2 = Signer.of("CN-GD", cn.members["CN-GD"].signing_key)
    ed = Signer.of("SG", sg.members["SG"].signing_key)
    assert isinstance(sm2.key, Sm2PrivateKey) and sm2.digest is Digest.SM3
    assert ed.digest is Digest.SHA256
    assert sm2.key_id.startswith("CN-GD/sig/") and len(sm2.key_id) == len(ed.key_id) + 3
