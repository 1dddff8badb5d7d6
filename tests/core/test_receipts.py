"""Receipts and evidence: proof of delivery that verifies alone, and offline from an anchor."""

from __future__ import annotations

import hashlib

import pytest

from core import evidence, receipts
from core.envelope import Draft, new_message_id, seal
from core.errors import SwnodeError
from core.signing import PURPOSE_SIGNING, key_id, raw_public
from core.trust import TrustView
from swf.v1 import envelope_pb2 as pb
from tests.factories import HOUR_MS, NOW_MS, Federation


@pytest.fixture(scope="module")
def cn() -> Federation:
    return Federation("CN", ["CN-GD"])


@pytest.fixture(scope="module")
def sg() -> Federation:
    return Federation("SG")


def kid(fed: Federation, node: str) -> str:
    return key_id(node, PURPOSE_SIGNING, raw_public(fed.members[node].signing_key))


def envelope(cn: Federation) -> pb.Envelope:
    (s,) = seal(
        [Draft(recipient="SG", document_type="certificate.origin", payload=b"cert")],
        sender="CN-GD",
        key=cn.members["CN-GD"].signing_key,
        key_id=kid(cn, "CN-GD"),
        now_ms=NOW_MS,
        ttl_ms=HOUR_MS,
        new_id=lambda: new_message_id(NOW_MS, bytes(10)),
    )
    return s.envelope


def receipt(
    fed: Federation, issuer: str, env: pb.Envelope, kind: pb.ReceiptKind.ValueType
) -> pb.Receipt:
    header = pb.Header.FromString(env.header)
    body = pb.ReceiptBody(
        message_id=header.message_id,
        header_sha256=hashlib.sha256(env.header).digest(),
        issuer=issuer,
        from_node="CN-GD",
        kind=kind,
        received_at_unix_ms=NOW_MS,
        key_id=kid(fed, issuer),
    )
    (r,) = receipts.seal([body], fed.members[issuer].signing_key, kid(fed, issuer))
    return r


def test_a_receipt_verifies_and_is_bound_to_the_exact_header(
    cn: Federation, sg: Federation
) -> None:
    env = envelope(cn)
    r = receipt(sg, "SG", env, pb.RECEIPT_KIND_DELIVERY)
    trust = TrustView.build("CN-GD", cn.directory(trusts=[sg]), {"SG": sg.directory(trusts=[cn])})
    body = receipts.verify(r, trust.signing_key)
    header = pb.Header.FromString(env.header)
    receipts.check_for(
        body,
        message_id=header.message_id,
        header_sha256=hashlib.sha256(env.header).digest(),
        issuer="SG",
    )
    with pytest.raises(SwnodeError) as wrong:
        receipts.check_for(body, message_id=header.message_id, header_sha256=bytes(32), issuer="SG")
    assert wrong.value.reason == "receipt.wrong_message"
    with pytest.raises(SwnodeError) as other:
        receipts.check_for(
            body,
            message_id=header.message_id,
            header_sha256=hashlib.sha256(env.header).digest(),
            issuer="CN",
        )
    assert other.value.reason == "receipt.wrong_issuer"


def test_a_tampered_receipt_or_an_unknown_key_is_refused(cn: Federation, sg: Federation) -> None:
    r = receipt(sg, "SG", envelope(cn), pb.RECEIPT_KIND_DELIVERY)
    trust = TrustView.build("CN-GD", cn.directory(trusts=[sg]), {"SG": sg.directory(trusts=[cn])})
    tampered = pb.Receipt()
    tampered.CopyFrom(r)
    body = bytearray(r.body)
    body[-3] ^= 1
    tampered.body = bytes(body)
    with pytest.raises(SwnodeError) as bad:
        receipts.verify(tampered, trust.signing_key)
    assert bad.value.reason == "receipt.bad_signature"
    alone = TrustView.build("CN-GD", cn.directory())  # SG not trusted: its key is unknown
    with pytest.raises(SwnodeError) as unknown:
        receipts.verify(r, alone.signing_key)
    assert unknown.value.reason == "receipt.unknown_key"


def evidence_for(cn: Federation, sg: Federation) -> pb.Evidence:
    env = envelope(cn)
    given = [
        receipt(cn, "CN", env, pb.RECEIPT_KIND_HOP),
        receipt(sg, "SG", env, pb.RECEIPT_KIND_DELIVERY),
    ]
    return evidence.build(
        env, given, [cn.sign(cn.directory(trusts=[sg])), sg.sign(sg.directory(trusts=[cn]))]
    )


def test_evidence_verifies_from_either_federations_anchor(cn: Federation, sg: Federation) -> None:
    ev = evidence_for(cn, sg)
    for anchor in (cn.anchor(), sg.anchor()):
        result = evidence.verify(ev, anchor)
        assert result.sender == "CN-GD" and result.recipient == "SG"
        assert [(r.issuer, r.kind) for r in result.receipts] == [("CN", "hop"), ("SG", "delivery")]
        assert result.delivered
        assert {f for f, _ in result.directories} == {"CN", "SG"}


def test_evidence_against_an_unrelated_anchor_or_tampered_fails(
    cn: Federation, sg: Federation
) -> None:
    ev = evidence_for(cn, sg)
    with pytest.raises(SwnodeError) as unrelated:
        evidence.verify(ev, Federation("TH").anchor())
    assert unrelated.value.reason == "evidence.no_directory"
    tampered = pb.Evidence()
    tampered.CopyFrom(ev)
    header = bytearray(ev.header)
    header[5] ^= 1
    tampered.header = bytes(header)
    with pytest.raises(SwnodeError) as bad:
        evidence.verify(tampered, cn.anchor())
    assert bad.value.reason == "evidence.bad_header"
    # A receipt for another message does not pass as evidence for this one.
    other = pb.Evidence()
    other.CopyFrom(ev)
    del other.receipts[:]
    other.receipts.append(receipt(sg, "SG", sealed_other(cn), pb.RECEIPT_KIND_DELIVERY))
    with pytest.raises(SwnodeError) as mismatch:
        evidence.verify(other, cn.anchor())
    assert mismatch.value.reason == "receipt.wrong_message"


def sealed_other(cn: Federation) -> pb.Envelope:
    (s,) = seal(
        [Draft(recipient="SG", document_type="certificate.origin", payload=b"another")],
        sender="CN-GD",
        key=cn.members["CN-GD"].signing_key,
        key_id=kid(cn, "CN-GD"),
        now_ms=NOW_MS,
        ttl_ms=HOUR_MS,
        new_id=lambda: new_message_id(NOW_MS, b"\x01" * 10),
    )
    return s.envelope
