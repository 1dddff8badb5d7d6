"""PROTOCOL.md §8 with a synthetic later version: fields and enum values no v1 proto defines are
ignored, signed bytes carrying them still verify and are kept exactly as received, and a
signature made for a v2 domain never verifies under v1."""

from __future__ import annotations

import pytest

from conformance import fixtures as f
from conformance.check import trust_view
from conformance.vectors import directories, single_signed
from core import envelope, merkle, receipts
from core.directory import verify_directory
from core.envelope import ENVELOPE_DOMAIN, Draft, Limits
from core.errors import Unauthenticated
from core.receipts import RECEIPT_DOMAIN
from core.signing import sign
from core.trust import TrustView
from swf.v1 import directory_pb2 as dpb
from swf.v1 import envelope_pb2 as pb

# Field 99, varint 1, and field 100, the bytes "v2": what a later revision might add.
FUTURE = bytes([0x98, 0x06, 0x01, 0xA2, 0x06, 0x02]) + b"v2"
DIRECTORY = b"swnode/directory/v1"
LIMITS = Limits(f.MAX_MESSAGE_BYTES, f.CLOCK_SKEW_MS)


def trust() -> TrustView:
    return trust_view("CN-SH", ["CN", "SG"], directories())


def test_a_header_with_fields_of_a_later_version_is_accepted_and_kept_as_received() -> None:
    (sealed,) = f.seal("CN-GD", [Draft("CN-SH", f.DOCUMENT_TYPE, b"a note")])
    header = sealed.envelope.header + FUTURE
    raw = pb.Envelope(
        header=header,
        payload=b"a note",
        signature=single_signed("CN-GD", ENVELOPE_DOMAIN, header),
        # Unknown fields in the outer envelope too.
    ).SerializeToString() + bytes([0xA2, 0x06, 0x00])
    accepted = envelope.verify(
        envelope.parse_envelope(raw),
        trust=trust(),
        self_id="CN-SH",
        previous_hop="CN-GD",
        now_ms=f.NOW_MS,
        limits=LIMITS,
    )
    assert accepted.envelope.header == header  # stored and forwarded unchanged
    assert accepted.header_sha256 == f.sha256(header)
    assert accepted.header.message_id == sealed.message_id


def test_a_receipt_body_with_fields_of_a_later_version_verifies() -> None:
    body = pb.ReceiptBody(
        message_id="m", header_sha256=bytes(32), issuer="CN-SH", key_id=f.kid("CN-SH"),
        kind=pb.RECEIPT_KIND_DELIVERY,
    ).SerializeToString(deterministic=True) + FUTURE  # fmt: skip
    receipt = pb.Receipt(body=body, signature=single_signed("CN-SH", RECEIPT_DOMAIN, body))
    assert receipts.verify(receipt, trust().signing_key).issuer == "CN-SH"


def test_a_directory_with_fields_and_values_of_a_later_version_is_read_as_v1() -> None:
    directory = dpb.Directory.FromString(f.cn_directory().directory)
    directory.nodes[1].status = 7  # type: ignore[assignment]  # a status v1 does not know
    body = directory.SerializeToString(deterministic=True) + FUTURE
    signed = dpb.SignedDirectory(directory=body, signature=sign(f.key("CN/dir"), DIRECTORY, body))
    got = verify_directory(signed, directory_key=f.public("CN/dir"), federation="CN")
    view = TrustView.build("CN-SH", got)
    odd = got.nodes[1].id
    assert view.node(odd) is not None and not view.is_active(odd)
    assert view.is_active("CN-SH")


def test_a_frame_with_fields_of_a_later_version_keeps_its_envelopes() -> None:
    frame = pb.EnvelopeFrame(envelopes=[b"one", b"two"]).SerializeToString() + FUTURE
    assert list(pb.EnvelopeFrame.FromString(frame).envelopes) == [b"one", b"two"]
    ack = pb.Ack(message_id="m").SerializeToString() + FUTURE
    assert pb.Ack.FromString(ack).WhichOneof("result") is None


def test_a_signature_for_a_later_version_domain_does_not_verify() -> None:
    (sealed,) = f.seal("CN-GD", [Draft("CN-SH", f.DOCUMENT_TYPE, b"a note")])
    header = sealed.envelope.header
    leaf = merkle.leaf_hash(ENVELOPE_DOMAIN, header)
    v2 = sign(f.key("CN-GD"), b"swnode/batch/v2", (1).to_bytes(8, "big") + leaf)
    forged = pb.Envelope(
        header=header,
        payload=b"a note",
        signature=pb.BatchSignature(signature=v2, leaf_count=1, key_id=f.kid("CN-GD")),
    )
    with pytest.raises(Unauthenticated) as refused:
        envelope.verify(
            forged, trust=trust(), self_id="CN-SH", previous_hop="CN-GD", now_ms=f.NOW_MS,
            limits=LIMITS,
        )  # fmt: skip
    assert refused.value.reason == "envelope.bad_signature"
